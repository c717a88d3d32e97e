"""What every command shares: global options and the controller they open."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from libnet.controller import Controller, PluginMode


@dataclass
class CommandContext:
    """Global options of one ``libnet`` run, and the controller made from them."""

    debug: bool = False
    _controller: Controller | None = field(default=None, repr=False)

    def controller(self, *, plugins: PluginMode = "lazy", **kwargs: Any) -> Controller:
        """The run's controller, made on first use."""
        if self._controller is None:
            self._controller = Controller(plugins=plugins, **kwargs)
        return self._controller

    def close(self) -> None:
        if self._controller is not None:
            self._controller.close()
