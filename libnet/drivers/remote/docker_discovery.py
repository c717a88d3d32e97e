"""Moved to :mod:`libnet.dockerplugin.discovery`; kept for existing imports."""

from libnet.dockerplugin.discovery import *  # noqa: F403
from libnet.dockerplugin.discovery import __all__ as __all__
