"""Other hosts follow: deletions reach the drivers of the hosts that had set a network up,
and the whole etcd cluster restarted gives every controller its state back.

Each host is a Controller with its own state directory, on one real etcd.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from _etcd import EtcdCluster

from libnet import Controller, Network
from libnet.driverapi import Capability, IPAMData, Scope
from libnet.drivers.null import NullDriver


class Recording(NullDriver):
    """The null driver (one network at most), recording the networks it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.held: set[str] = set()

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        super().create_network(nid, options, ipv4_data, ipv6_data)
        self.held.add(nid)

    def delete_network(self, nid: str) -> None:
        super().delete_network(nid)
        self.held.discard(nid)


Host = tuple[Controller, Recording]


@pytest.fixture
def hosts(tmp_path: Path, etcd1: EtcdCluster) -> Iterator[Callable[[str], Host]]:
    url = etcd1.url(f"follow-{uuid.uuid4().hex[:8]}/")
    with ExitStack() as stack:

        def make(name: str) -> Host:
            ctl = stack.enter_context(Controller(state_dir=tmp_path / name, global_store=url))
            driver = Recording()
            ctl.register_driver("gnull", driver, Capability(Scope.GLOBAL))
            return ctl, driver

        yield make


def test_a_network_deleted_on_a_leaves_no_driver_state_on_b(
    hosts: Callable[[str], Host],
) -> None:
    (a, _), (b, on_b) = hosts("a"), hosts("b")
    first = a.new_network("gnull", "shared")
    b.network("shared").create_endpoint("on-b").delete()  # B's driver set it up
    assert on_b.held == {first.id}
    a.network("shared").delete()
    assert b.networks() == []
    assert on_b.held == set()  # B listed: its driver dropped the deleted network


def test_a_name_made_again_on_a_works_on_b_without_a_listing_between(
    hosts: Callable[[str], Host],
) -> None:
    (a, _), (b, on_b) = hosts("a"), hosts("b")
    first = a.new_network("gnull", "again")
    b.network("again").create_endpoint("on-b").delete()
    a.network("again").delete()
    second = a.new_network("gnull", "again")  # the null driver holds one network at most
    ep = b.network_by_id(second.id).create_endpoint("on-b")  # B never listed meanwhile
    assert on_b.held == {second.id}
    assert first.id != second.id
    ep.delete()
    a.network("again").delete()


def test_a_network_b_still_sees_is_kept_in_its_driver(hosts: Callable[[str], Host]) -> None:
    (a, _), (b, on_b) = hosts("a"), hosts("b")
    net = a.new_network("gnull", "kept")
    b.network("kept").create_endpoint("on-b")
    assert [n.name for n in b.networks()] == ["kept"]
    assert on_b.held == {net.id}


def test_the_whole_cluster_restarted_gives_controllers_their_state_back(
    tmp_path: Path, new_etcd: Callable[..., EtcdCluster]
) -> None:
    cluster = new_etcd(3)
    url = cluster.url("restart/")
    with Controller(state_dir=tmp_path / "a", global_store=url) as ctl:
        ctl.register_driver("gnull", NullDriver(), Capability(Scope.GLOBAL))
        net = ctl.new_network("gnull", "survivor", ipam={"config": [{"subnet": "10.91.0.0/24"}]})
        made = {net.create_endpoint(f"ep{i}").info()["address"] for i in range(3)}
        before = net.to_dict()
        host_a = ctl.host_id
    cluster.restart()  # every member stopped, then started again on its data directory
    with Controller(state_dir=tmp_path / "b", global_store=url) as ctl:
        ctl.register_driver("gnull", NullDriver(), Capability(Scope.GLOBAL))
        assert [(n.name, n.scope) for n in ctl.networks()] == [("survivor", "global")]
        after = ctl.network("survivor").to_dict()
        assert {k: v for k, v in after.items() if k != "kernel"} == {
            k: v for k, v in before.items() if k != "kernel"
        }
        assert {e["host"] for e in after["endpoints"].values()} == {host_a}
        # The allocator's state came back too: a new endpoint gets a fresh address.
        fresh = ctl.network("survivor").create_endpoint("after").info()["address"]
        assert fresh not in made


class FailingNull(Recording):
    """Its endpoints cannot be made."""

    def create_endpoint(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("no room for an endpoint")


def test_a_failed_endpoint_on_a_global_network_gives_its_address_back(
    tmp_path: Path, etcd1: EtcdCluster
) -> None:
    url = etcd1.url(f"fail-{uuid.uuid4().hex[:8]}/")
    with Controller(state_dir=tmp_path, global_store=url) as ctl:
        ctl.register_driver("gnull", FailingNull(), Capability(Scope.GLOBAL))
        net = ctl.new_network("gnull", "refusing", ipam={"config": [{"subnet": "10.92.0.0/24"}]})
        (pool,) = net._rec().ipam["ipv4"]
        ipam = ctl.resolve_ipam("default").driver
        before = set(ipam.addresses(pool["pool_id"]))  # type: ignore[attr-defined]
        with pytest.raises(Exception, match="no room"):
            net.create_endpoint("never")
        assert set(ipam.addresses(pool["pool_id"])) == before  # type: ignore[attr-defined]
        assert ctl.global_store is not None
        assert ctl.global_store.list("global/claim/") == []
        assert net.endpoints() == []


def test_global_default_pools_are_configured_apart_and_shared_by_the_hosts(
    tmp_path: Path, etcd1: EtcdCluster
) -> None:
    url = etcd1.url(f"pools-{uuid.uuid4().hex[:8]}/")
    pools = {
        "global_address_pools": [{"base": "10.124.0.0/16", "size": 24}],
        "local_address_pools": [{"base": "10.50.0.0/24", "size": 25}],
    }

    def subnet(net: Network) -> str:
        return str(net.to_dict()["ipam"]["config"][0]["subnet"])

    with (
        Controller(state_dir=tmp_path / "a", global_store=url, **pools) as a,
        Controller(state_dir=tmp_path / "b", global_store=url, **pools) as b,
    ):
        for ctl in (a, b):  # the null driver serves one network: one type per network
            for kind in ("g1", "g2"):
                ctl.register_driver(kind, NullDriver(), Capability(Scope.GLOBAL))
        assert subnet(a.new_network("g1", "g1")) == "10.124.0.0/24"
        assert subnet(a.new_network("null", "l1", ipam={"driver": "default"})) == "10.50.0.0/25"
        assert subnet(b.new_network("g2", "g2")) == "10.124.1.0/24"  # A's is taken
        assert subnet(b.new_network("null", "l2", ipam={"driver": "default"})) == "10.50.0.0/25"


class Refusing(NullDriver):
    """Its networks cannot be made."""

    def create_network(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("no room for a network")


def test_a_failed_global_network_gives_its_pool_and_gateway_back(
    tmp_path: Path, etcd1: EtcdCluster
) -> None:
    url = etcd1.url(f"refused-{uuid.uuid4().hex[:8]}/")
    ipam = {"config": [{"subnet": "10.93.0.0/24", "aux_addresses": {"r": "10.93.0.9"}}]}
    with Controller(state_dir=tmp_path, global_store=url) as ctl:
        ctl.register_driver("refusing", Refusing(), Capability(Scope.GLOBAL))
        ctl.register_driver("gnull", NullDriver(), Capability(Scope.GLOBAL))
        assert ctl.global_store is not None
        before = ctl.global_store.list("")
        with pytest.raises(Exception, match="no room"):
            ctl.new_network("refusing", "never", ipam=ipam)
        assert ctl.global_store.list("global/claim/") == []
        assert [p.key for p in ctl.global_store.list("ipam/")] == [p.key for p in before]
        assert ctl.new_network("gnull", "after", ipam=ipam).name == "after"  # pool is free
