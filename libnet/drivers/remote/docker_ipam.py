"""Moved to :mod:`libnet.dockerplugin.ipam`; kept for existing imports."""

from libnet.dockerplugin.ipam import *  # noqa: F403
from libnet.dockerplugin.ipam import __all__ as __all__
