"""The etcd:// URL form and EtcdConfig's checks (no etcd needed)."""

from __future__ import annotations

import pytest

from libnet.errors import InvalidOptionError
from libnet.store import EtcdConfig, parse_etcd_url


def test_hosts_ports_and_prefix() -> None:
    config = parse_etcd_url("etcd://127.0.0.1:2379,10.0.0.2:22379,db/cluster/a")
    assert config.endpoints == (("127.0.0.1", 2379), ("10.0.0.2", 22379), ("db", 2379))
    assert config.prefix == "cluster/a/"
    assert not config.tls
    assert config.url == "etcd://127.0.0.1:2379,10.0.0.2:22379,db:2379/cluster/a"


def test_defaults_are_port_2379_prefix_libnet_and_a_5_second_timeout() -> None:
    config = parse_etcd_url("etcd://h")
    assert (config.endpoints, config.prefix, config.timeout) == ((("h", 2379),), "libnet/", 5.0)


def test_ipv6_hosts_go_in_brackets() -> None:
    config = parse_etcd_url("etcd://[::1]:2379,[fd00::2]")
    assert config.endpoints == (("::1", 2379), ("fd00::2", 2379))
    assert config.url.startswith("etcd://[::1]:2379,[fd00::2]:2379/")


def test_etcds_with_ca_client_certificate_user_and_timeout() -> None:
    config = parse_etcd_url(
        "etcds://alice:s%40cret@h1:2379,h2:2379/p?ca=/ca.pem&cert=/c.pem&key=/k.pem&timeout=1.5"
    )
    assert config.tls
    assert (config.ca_file, config.cert_file, config.key_file) == ("/ca.pem", "/c.pem", "/k.pem")
    assert (config.user, config.password, config.timeout) == ("alice", "s@cret", 1.5)
    assert "s@cret" not in repr(config)
    assert "s@cret" not in config.url


def test_user_and_password_as_options() -> None:
    config = parse_etcd_url("etcd://h?user=bob&password=pw")
    assert (config.user, config.password) == ("bob", "pw")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h:2379", "must start with etcd:// or etcds://"),
        ("h:2379", "must start with etcd://"),
        ("etcd://h?tls=1", "unknown option"),
        ("etcd://h?timeout=soon", "not a number of seconds"),
        ("etcd://h?timeout=0", "positive number"),
        ("etcd://h:99999", "not a HOST:PORT"),
        ("etcd://h:port", "is not HOST\\[:PORT\\]"),
        ("etcd://h,,g", "is not HOST\\[:PORT\\]"),
        ("etcd://h?ca=/ca.pem", "use an etcds:// URL"),
        ("etcds://h?cert=/c.pem", "both 'cert' and 'key'"),
        ("etcd://h?user=bob", "both a user and a password"),
    ],
)
def test_bad_urls_are_refused_saying_why(url: str, message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        parse_etcd_url(url)


def test_messages_never_show_the_password() -> None:
    with pytest.raises(InvalidOptionError) as info:
        parse_etcd_url("etcd://bob:hunter2@h?password=hunter3&bogus=1")
    assert "hunter2" not in str(info.value)
    assert "hunter3" not in str(info.value)


def test_config_needs_an_endpoint_and_a_prefix_ending_in_slash() -> None:
    with pytest.raises(InvalidOptionError, match="at least one endpoint"):
        EtcdConfig(endpoints=())
    for prefix in ("libnet", "", "/"):
        with pytest.raises(InvalidOptionError, match="must be a name ending with '/'"):
            EtcdConfig(endpoints=(("h", 2379),), prefix=prefix)
