"""Moved to :mod:`libnet.dockerplugin.driver`; kept for existing imports."""

from libnet.dockerplugin.driver import *  # noqa: F403
from libnet.dockerplugin.driver import __all__ as __all__
