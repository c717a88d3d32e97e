"""Moved to :mod:`libnet.dockerplugin.plugins`; kept for existing imports."""

from libnet.dockerplugin.plugins import *  # noqa: F403
from libnet.dockerplugin.plugins import __all__ as __all__
