"""``python -m libnet``: the same as the ``libnet`` command."""

import sys

from libnet.cli import main

sys.exit(main())
