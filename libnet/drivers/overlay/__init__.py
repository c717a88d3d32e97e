"""The ``overlay`` driver: VXLAN networks across hosts, a peer database and VNI allocation."""

from libnet.drivers.overlay.driver import CAPABILITY, NAME, VXLANID_LIST, OverlayDriver, init
from libnet.drivers.overlay.netlink import Links, Peer
from libnet.drivers.overlay.peerdb import PeerDB, PeerRecord, parse_peer_key
from libnet.drivers.overlay.vni import VniAllocator

__all__ = [
    "CAPABILITY",
    "NAME",
    "VXLANID_LIST",
    "Links",
    "OverlayDriver",
    "Peer",
    "PeerDB",
    "PeerRecord",
    "VniAllocator",
    "init",
    "parse_peer_key",
]
