"""The built-in ``cni`` driver: installed CNI plugins (or a conflist) run for each join."""

from libnet.drivers.cni.driver import NAME, CniDriver, init

__all__ = ["NAME", "CniDriver", "init"]
