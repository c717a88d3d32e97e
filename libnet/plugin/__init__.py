"""Moved to :mod:`libnet.dockerplugin.server` (and the wire types to
:mod:`libnet.dockerplugin.api`); kept for existing imports."""

from libnet.dockerplugin.server import *  # noqa: F403
from libnet.dockerplugin.server import __all__ as __all__
