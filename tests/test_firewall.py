"""libnet.osl.firewall's logic against a fake iptables (no root, no kernel): what it reads,
the batches it writes, and how a batch that fails part way is undone."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import pytest

from libnet.drivers.bridge.rules import network_rules
from libnet.errors import OSLayerError
from libnet.osl.firewall import Firewall, Rule, parse_save

OWNER = "0123456789ab"
MARK = f"libnet:{OWNER}:net:n1"
EMPTY = (
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\nCOMMIT\n"
    "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
)


class FakeTables:
    """One family's ruleset as text, changed by the batches it is given."""

    def __init__(self, text: str = EMPTY, fail: str | None = None) -> None:
        self.state = parse_save(text)
        self.batches: list[str] = []
        self.fail = fail  # fail a batch touching this table, after the tables before it

    def __call__(self, argv: Sequence[str], stdin: str | None) -> str:
        if argv[0].startswith("ip6"):  # this fake plays IPv4; IPv6 stays empty
            assert argv[0].endswith("-save"), stdin
            return EMPTY
        if argv[0].endswith("-save"):
            return self.save()
        assert list(argv[1:]) == ["--noflush", "--wait=10"] and stdin is not None  # the lock
        self.batches.append(stdin)
        table = ""
        for line in stdin.splitlines():
            if line.startswith("*"):
                table = line[1:]
                if table == self.fail:
                    raise OSLayerError(f"injected failure in table {table}")
            else:
                self._apply(table, line)
        return ""

    def _apply(self, table: str, line: str) -> None:
        chains = self.state.chains.setdefault(table, [])
        if line.startswith(":"):  # declares the chain: creates it, or empties it
            name = line[1:].split()[0]
            chains.extend([] if name in chains else [name])
            self.state.rules[(table, name)] = []
            return
        if line == "COMMIT":
            return
        op, chain, *args = shlex.split(line)
        rules = self.state.rules.setdefault((table, chain), [])
        if op == "-A":
            rules.append(tuple(args))
        elif op == "-I":
            rules.insert(int(args[0]) - 1, tuple(args[1:]))
        elif op == "-D":
            rules.remove(tuple(args))
        elif op == "-F":
            rules.clear()
        elif op == "-X":
            chains.remove(chain)
            del self.state.rules[(table, chain)]

    def save(self) -> str:
        lines = []
        for table, chains in self.state.chains.items():
            lines.append(f"*{table}")
            lines += [f":{c} - [0:0]" for c in chains]
            for chain in chains:
                for words in self.state.rules.get((table, chain), []):
                    quoted = [f'"{w}"' if w.startswith("libnet:") else w for w in words]
                    lines.append(f"-A {chain} {' '.join(quoted)}")
            lines.append("COMMIT")
        return "\n".join(lines) + "\n"


def rules_of(bridge: str = "br0", **kw: bool) -> list[Rule]:
    options = {"internal": False, "icc": True, "masquerade": True, **kw}
    return network_rules(bridge, ["10.1.0.0/24"], comment=MARK, **options)


def test_a_network_is_one_batch_that_makes_the_chains_and_jumps() -> None:
    fake = FakeTables()
    fw = Firewall(OWNER, runner=fake)
    fw.set_rules(MARK, rules_of())
    [batch] = fake.batches
    assert batch.count("COMMIT") == 2  # both tables, one process
    saved = fake.save()
    assert f'-A FORWARD -m comment --comment "libnet:{OWNER}" -j LIBNET-FWD-{OWNER}' in saved
    assert f"-A LIBNET-NAT-{OWNER} -s 10.1.0.0/24 ! -o br0 -m comment" in saved
    fw.set_rules(MARK, rules_of())  # idempotent: nothing to write
    assert len(fake.batches) == 1
    fw.set_rules(MARK, [])
    assert parse_save(fake.save()).rules == parse_save(EMPTY).rules
    assert f"LIBNET-FWD-{OWNER}" not in fake.save()


def test_drop_rules_come_first_and_other_networks_rules_stay() -> None:
    fake = FakeTables()
    fw = Firewall(OWNER, runner=fake)
    fw.set_rules(MARK, rules_of())
    other = f"libnet:{OWNER}:net:n2"
    fw.set_rules(
        other,
        network_rules(
            "br1", ["10.2.0.0/24"], comment=other, internal=True, icc=True, masquerade=True
        ),
    )
    chain = fake.state.rules[("filter", f"LIBNET-FWD-{OWNER}")]
    targets = [words[-1] for words in chain]
    assert targets == ["DROP", "DROP", "DROP", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT"]
    fw.set_rules(other, [])
    targets = [w[-1] for w in fake.state.rules[("filter", f"LIBNET-FWD-{OWNER}")]]
    assert targets == ["DROP", "ACCEPT", "ACCEPT", "ACCEPT"]


def test_the_jump_goes_to_docker_user_at_its_top() -> None:
    fake = FakeTables(
        EMPTY.replace(
            "COMMIT\n*nat", ":DOCKER-USER - [0:0]\n-A DOCKER-USER -j RETURN\nCOMMIT\n*nat", 1
        )
    )
    Firewall(OWNER, runner=fake).set_rules(MARK, rules_of())
    assert fake.state.rules[("filter", "DOCKER-USER")][0][-1] == f"LIBNET-FWD-{OWNER}"
    assert fake.state.rules[("filter", "DOCKER-USER")][-1] == ("-j", "RETURN")
    assert ("filter", "FORWARD") not in fake.state.rules


DOCKER_ISOLATION = (
    ":DOCKER-ISOLATION-STAGE-2 - [0:0]\n-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP\n"
    "-A DOCKER-ISOLATION-STAGE-2 -j RETURN\nCOMMIT\n*nat"
)


def test_what_leaves_goes_through_dockers_isolation_only_where_docker_has_it() -> None:
    """Docker's bridges are kept out of reach by Docker's own isolation chain; the jump to
    it exists only where the chain does, and the check expects it only there."""
    leaving = ("-i", "br0", "!", "-o", "br0")
    plain = FakeTables()
    fw = Firewall(OWNER, runner=plain)
    fw.set_rules(MARK, rules_of())
    assert "DOCKER-ISOLATION" not in plain.save()
    assert all(r.target != "DOCKER-ISOLATION-STAGE-2" for r in fw.applicable(rules_of()))

    docker = FakeTables(EMPTY.replace("COMMIT\n*nat", DOCKER_ISOLATION, 1))
    fw = Firewall(OWNER, runner=docker)
    fw.set_rules(MARK, rules_of())
    chain = docker.state.rules[("filter", f"LIBNET-FWD-{OWNER}")]
    jump = chain.index(
        (*leaving, "-m", "comment", "--comment", MARK, "-j", "DOCKER-ISOLATION-STAGE-2")
    )
    accept = chain.index((*leaving, "-m", "comment", "--comment", MARK, "-j", "ACCEPT"))
    assert jump < accept  # Docker's chain drops before libnet's ACCEPT lets it through
    assert {r.saved() for r in fw.applicable(rules_of())} == {
        s for s in fw.rules([4]) if s.comment == MARK
    }


def test_a_batch_failing_after_its_first_table_is_undone() -> None:
    fake = FakeTables(fail="nat")
    with pytest.raises(OSLayerError, match="injected failure in table nat"):
        Firewall(OWNER, runner=fake).set_rules(MARK, rules_of())
    fake.fail = None
    assert parse_save(fake.save()).rules == parse_save(EMPTY).rules
    assert "LIBNET" not in fake.save()


def test_internal_and_no_icc_and_no_masquerade() -> None:
    words = [(r.table, r.matches, r.target) for r in rules_of(internal=True, icc=False)]
    assert words == [
        ("filter", ("-i", "br0", "!", "-o", "br0"), "DROP"),
        ("filter", ("!", "-i", "br0", "-o", "br0"), "DROP"),
        ("filter", ("-i", "br0", "-o", "br0"), "DROP"),
    ]
    assert all(r.table == "filter" for r in rules_of(masquerade=False))


def test_an_owner_must_be_twelve_hex_digits() -> None:
    with pytest.raises(ValueError, match="12 hex digits"):
        Firewall("nothex")


def test_published_ports_get_a_dnat_chain_jumped_to_from_prerouting_and_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from libnet.drivers.bridge.rules import port_rules, published
    from libnet.portmap import PortBinding

    monkeypatch.setattr(Firewall, "families", lambda self: [4])  # whatever this host has

    fake = FakeTables(
        EMPTY.replace(
            ":POSTROUTING", ":PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING"
        )
    )
    fw = Firewall(OWNER, runner=fake)
    mark = f"libnet:{OWNER}:ep:n1:e1"
    made = [PortBinding(80, 8080, "tcp", "0.0.0.0", container_ip="10.1.0.2")]
    fw.set_rules(mark, port_rules("br0", made, comment=mark))
    chain = f"LIBNET-DNAT-{OWNER}"
    jumps = {
        parent: words
        for (table, parent), rules in fake.state.rules.items()
        for words in rules
        if table == "nat" and words[-1] == chain
    }
    assert jumps["PREROUTING"][:4] == ("-m", "addrtype", "--dst-type", "LOCAL")
    assert jumps["OUTPUT"][:3] == ("!", "-d", "127.0.0.0/8")  # loopback stays the host's
    dnat = fake.state.rules[("nat", chain)]
    assert dnat == [
        (
            "!", "-i", "br0", "-p", "tcp", "-m", "tcp", "--dport", "8080",
            "-m", "comment", "--comment", mark, "-j", "DNAT", "--to-destination", "10.1.0.2:80",
        )
    ]  # fmt: skip
    assert published(fake.state, 4) == [(made[0], mark)]
    assert fw.unhooked() == []

    fake.state.rules[("nat", "OUTPUT")].clear()  # a reload lost one jump
    assert fw.unhooked() == [f"iptables -t nat {chain}"]
    batches = len(fake.batches)
    fw.set_rules(mark, port_rules("br0", made, comment=mark))  # puts back only that jump
    assert len(fake.batches) == batches + 1 and fw.unhooked() == []
    assert fake.batches[-1].count(f"-j {chain}") == 1
    fw.set_rules(mark, [])
    assert "LIBNET" not in fake.save()
