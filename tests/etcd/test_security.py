"""EtcdStore on secured etcd: TLS with a client certificate, and user/password auth."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from _etcd import EtcdCluster

from libnet.errors import StoreError, StoreUnavailableError
from libnet.store import EtcdLocks, EtcdStore

NewEtcd = Callable[..., EtcdCluster]


def test_tls_with_a_client_certificate(new_etcd: NewEtcd) -> None:
    cluster = new_etcd(1, tls=True)
    certs = cluster.certs
    url = cluster.url(
        "tls", ca=str(certs["ca.pem"]), cert=str(certs["client.pem"]), key=str(certs["client.key"])
    )
    with EtcdStore(url) as store:
        created = store.atomic_put("k", b"v", None)
        assert store.get("k") == created
        with EtcdLocks(store, ttl=5).acquire("n1") as lock, store.transaction(fence=lock) as txn:
            txn.put("k", b"w")
        assert store.get("k").value == b"w"


def test_tls_without_the_client_certificate_or_the_ca_is_refused(new_etcd: NewEtcd) -> None:
    cluster = new_etcd(1, tls=True)
    no_client_cert = cluster.url("tls", ca=str(cluster.certs["ca.pem"]), timeout="1")
    with EtcdStore(no_client_cert) as store, pytest.raises(StoreUnavailableError):
        store.get("k")
    unknown_ca = cluster.url("tls", timeout="1")  # the system's CAs do not know the test CA
    with EtcdStore(unknown_ca) as store, pytest.raises(StoreError, match="ca= option") as info:
        store.get("k")
    assert not isinstance(info.value, StoreUnavailableError)  # not worth retrying


def test_missing_tls_files_are_named() -> None:
    with pytest.raises(StoreError, match="cannot load the etcd TLS files"):
        EtcdStore("etcds://127.0.0.1:1/x?ca=/nonexistent/ca.pem")


def _etcdctl(cluster: EtcdCluster, *args: str) -> None:
    endpoint = f"http://{cluster.members[0].endpoint}"
    subprocess.run(["etcdctl", f"--endpoints={endpoint}", *args], check=True, capture_output=True)


def test_user_and_password(new_etcd: NewEtcd) -> None:
    cluster = new_etcd(1)
    _etcdctl(cluster, "user", "add", "root:rootpw")
    _etcdctl(cluster, "auth", "enable")
    endpoint = cluster.members[0].endpoint
    with EtcdStore(f"etcd://root:rootpw@{endpoint}/auth") as store:
        created = store.atomic_put("k", b"v", None)
        assert store.get("k") == created
        with store.transaction() as txn:
            txn.put("k", b"w")
        assert store.list("") == [store.get("k")]
    with EtcdStore(f"etcd://root:wrong@{endpoint}/auth") as store:
        with pytest.raises(StoreError, match="authentication failed") as info:
            store.get("k")
        assert "wrong" not in str(info.value)
    anonymous = pytest.raises(StoreError, match=r"requires authentication.*USER:PASSWORD@")
    with EtcdStore(f"etcd://{endpoint}/auth") as store, anonymous:
        store.get("k")
