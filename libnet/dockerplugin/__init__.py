"""Docker's plugin protocol, both directions.

- :mod:`~libnet.dockerplugin.api`: the messages on the wire and their JSON codec;
- client side, reaching plugins the engine would reach: :mod:`~.discovery` (finding a
  plugin by name), :mod:`~.client` (HTTP calls, activation, restart detection),
  :mod:`~.driver` (:class:`DockerDriver`, a network driver served by a plugin),
  :mod:`~.ipam` (:class:`DockerIpam`) and :mod:`~.plugins` (:class:`DockerPlugins`, which
  finds, activates and registers them for a controller);
- :mod:`~libnet.dockerplugin.server`: serving a libnet driver to a Docker Engine.

The client side depends only on the driver and IPAM contracts, the registry, the store
and the errors; the server sits above the controller, which it creates.
"""
