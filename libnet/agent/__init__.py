"""``libnet agent``: the per-host loop that keeps the node lease and programs overlay peers."""

from libnet.agent._agent import Agent

__all__ = ["Agent"]
