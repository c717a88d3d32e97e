"""The ``libnet`` command."""

from libnet.cli._main import main

__all__ = ["main"]
