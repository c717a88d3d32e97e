"""The conformance suite against a libnet driver served through Docker's plugin protocol.

The reference driver is served by ``libnet.plugin.PluginServer`` on a unix socket, and the
suite reaches it back through libnet's own Docker-plugin client (``DockerDriver``), so both
ends of the protocol are held to the driver contract.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import libnet
from libnet.drivers.remote.docker import DockerPlugins, PluginDirs
from libnet.drivers.remote.docker_driver import DockerDriver, read_capabilities
from libnet.plugin import PluginServer
from libnet.plugin.wire import NETWORK_DRIVER
from libnet.registry import DriverRegistry
from libnet.testing import DriverConformance

from .reference_driver import ReferenceDriver

PLUGIN = "served-ref"

# Docker's protocol carries an error as a message only, so "unknown ID" errors come back as
# plain plugin errors, not NotFound: the suite's soft warning for that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:.*Unknown IDs.*:libnet.testing.ConformanceWarning")


class TestServedDriverConforms(DriverConformance):
    network_type = "served"
    plugins: ClassVar[DockerPlugins]

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _server(cls) -> Iterator[None]:
        """One served reference driver for the class; its own state lives in memory."""
        folder = Path(tempfile.mkdtemp(prefix="lns", dir="/tmp"))  # short AF_UNIX path
        served = libnet.Controller(plugins="off")
        served.register_driver("ref", ReferenceDriver(), libnet.Capability(libnet.Scope.LOCAL))
        server = PluginServer(
            "ref", name=PLUGIN, socket=folder / f"{PLUGIN}.sock", controller=served
        ).start()
        cls.plugins = DockerPlugins(DriverRegistry(), dirs=PluginDirs.resolve([folder]))
        try:
            yield
        finally:
            server.stop()
            served.close()
            shutil.rmtree(folder, ignore_errors=True)

    def make_driver(self) -> Any:
        """A new client of the served plugin for each controller the suite makes."""
        plugin = self.plugins.activate(PLUGIN, NETWORK_DRIVER)
        return DockerDriver(plugin, read_capabilities(plugin))
