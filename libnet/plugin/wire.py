"""Moved to :mod:`libnet.dockerplugin.api`; kept for existing imports."""

from libnet.dockerplugin.api import *  # noqa: F403
from libnet.dockerplugin.api import __all__ as __all__
