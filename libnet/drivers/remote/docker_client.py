"""Moved to :mod:`libnet.dockerplugin.client`; kept for existing imports."""

from libnet.dockerplugin.client import *  # noqa: F403
from libnet.dockerplugin.client import __all__ as __all__
