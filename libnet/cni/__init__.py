"""libnet as a CNI plugin: ``libnet-cni`` runs any libnet driver for a container runtime.

The command is :func:`libnet.cni._main.main`; this package imports nothing else on purpose,
so that a runtime's call pays only for what its command needs.
"""
