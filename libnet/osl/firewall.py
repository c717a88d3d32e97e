"""libnet's iptables rules: one chain per owner and table, changed in one batch per family.

Why iptables: Docker programs iptables (iptables-nft on Debian 12), and an ``accept`` in an
nftables table of libnet's own cannot override a ``drop`` in another table's base chain, so
rules that must pass traffic on a Docker host have to sit in iptables' own chains.

Where the rules live: each owner (the 12 hex digits of a state, see ARCHITECTURE.md) has
three chains (:data:`CHAINS`): ``LIBNET-FWD-<owner>`` in table ``filter``, jumped to from the
top of ``DOCKER-USER`` when that chain exists (Docker's reloads keep it, and it runs before
Docker's own rules), else from the top of ``FORWARD``; ``LIBNET-NAT-<owner>`` in table
``nat``, jumped to from the top of ``POSTROUTING`` (masquerade); and ``LIBNET-DNAT-<owner>``
in table ``nat``, jumped to from the top of ``PREROUTING`` and ``OUTPUT`` for packets to a
local address (published ports; ``OUTPUT`` leaves loopback destinations alone). Every rule
carries its owner's mark as a comment; DROP rules come first in a chain, so a network's DROP
is never shadowed by another network's ACCEPT.

How it changes them: one ``iptables-save`` to read (per family), one ``iptables-restore
--noflush --wait`` batch to write, which declares each changed chain (creating it, or
emptying it) and writes its whole new content; a chain left empty is deleted with its jumps.
``--wait`` waits for the xtables lock that Docker and other iptables users take, instead of
failing while they hold it. Changes of one owner are serialized by the caller (a state's
operations run one at a time), so a read-modify-write of the owner's chains is safe; other
owners' chains are never written. ``iptables-restore`` commits table by table, so a batch
that fails part way is undone by writing back what the chains held before. All or nothing,
per change.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from libnet.errors import OSLayerError
from libnet.osl import _sys

__all__ = [
    "CHAINS",
    "DNAT",
    "FILTER",
    "FWD",
    "NAT",
    "POST",
    "Chain",
    "Firewall",
    "Rule",
    "Ruleset",
    "Saved",
    "parse_save",
    "run_tool",
    "run_tool_in",
]

FILTER = "filter"
NAT = "nat"
TABLES = (FILTER, NAT)
DOCKER_USER = "DOCKER-USER"
DOCKER_ISOLATION = "DOCKER-ISOLATION-STAGE-2"
"""Docker's chain that drops what enters one of its bridges from another bridge."""
TOOLS = {4: ("iptables-save", "iptables-restore"), 6: ("ip6tables-save", "ip6tables-restore")}
TIMEOUT = 30.0
WAIT = 10
"""Seconds ``iptables-restore`` waits for the xtables lock before it gives up."""

Runner = Callable[[Sequence[str], str | None], str]
"""Runs a command (argv, standard input) and returns its standard output, or raises."""

Words = tuple[str, ...]

LOCAL = ("-m", "addrtype", "--dst-type", "LOCAL")
LOOPBACK = {4: "127.0.0.0/8", 6: "::1/128"}


@dataclass(frozen=True)
class Chain:
    """One kind of an owner's chains: its table, its name's infix, its parent chains."""

    table: str
    infix: str
    parents: tuple[str, ...]

    def jump_matches(self, parent: str, family: int) -> Words:
        """What a jump from ``parent`` matches (before its comment)."""
        if self.infix != "DNAT":
            return ()
        if parent == "OUTPUT":  # the host's own packets; loopback ones stay the host's
            return ("!", "-d", LOOPBACK[family], *LOCAL)
        return LOCAL


FWD = Chain(FILTER, "FWD", ("FORWARD",))
"""Forwarding: jumped to from ``DOCKER-USER`` where it exists, else ``FORWARD``."""
POST = Chain(NAT, "NAT", ("POSTROUTING",))
"""Source NAT (masquerade)."""
DNAT = Chain(NAT, "DNAT", ("PREROUTING", "OUTPUT"))
"""Destination NAT of packets to local addresses (published ports)."""
CHAINS = (FWD, POST, DNAT)
_BY_INFIX = {c.infix: c for c in CHAINS}


def _default_chain(table: str) -> Chain:
    return FWD if table == FILTER else POST


@dataclass(frozen=True)
class Rule:
    """One rule of an owner's chain in ``table`` for IP ``family`` (4 or 6).

    ``chain`` is the kind of chain (:data:`CHAINS`): by default ``FWD`` in ``filter``,
    ``POST`` in ``nat``. ``target_args`` follow the target (``--to-destination ...``).
    """

    family: int
    table: str
    matches: Words
    target: str
    comment: str
    target_args: Words = ()
    chain: Chain | None = None
    needs: str | None = None
    """A chain of another program the rule jumps to: the rule exists only where it does."""

    @property
    def kind(self) -> Chain:
        return self.chain or _default_chain(self.table)

    def words(self) -> Words:
        """The rule as ``iptables-save`` prints it, after ``-A CHAIN``."""
        return (
            *self.matches,
            "-m",
            "comment",
            "--comment",
            self.comment,
            "-j",
            self.target,
            *self.target_args,
        )

    def saved(self) -> Saved:
        return Saved(self.family, self.table, self.words(), self.kind.infix)

    def applies(self, state: Ruleset) -> bool:
        """Whether the rule belongs in ``state`` (the chain it :attr:`needs` is there)."""
        return self.needs is None or self.needs in state.chains.get(self.table, [])


@dataclass(frozen=True)
class Saved:
    """A rule found in an owner's chain: where it is and its words."""

    family: int
    table: str
    words: Words
    infix: str = ""

    @property
    def kind(self) -> Chain:
        return _BY_INFIX.get(self.infix) or _default_chain(self.table)

    @property
    def comment(self) -> str | None:
        return _option(self.words, "--comment")

    @property
    def target(self) -> str | None:
        return _option(self.words, "-j")

    def __str__(self) -> str:
        tool = "ip6tables" if self.family == 6 else "iptables"
        return f"{tool} -t {self.table} -A LIBNET-{self.kind.infix} {_line(self.words)}"


@dataclass
class Ruleset:
    """What ``iptables-save`` printed: the chains of each table and their rules."""

    chains: dict[str, list[str]] = field(default_factory=dict)
    rules: dict[tuple[str, str], list[Words]] = field(default_factory=dict)


def _option(words: Words, name: str) -> str | None:
    for i, word in enumerate(words[:-1]):
        if word == name:
            return words[i + 1]
    return None


def _word(word: str) -> str:
    if re.fullmatch(r"[\w:./,!+=\[\]-]+", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _line(words: Iterable[str]) -> str:
    return " ".join(_word(w) for w in words)


def parse_save(text: str) -> Ruleset:
    """Read ``iptables-save`` output."""
    out = Ruleset()
    table = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            table = line[1:]
            out.chains.setdefault(table, [])
        elif line.startswith(":"):
            out.chains.setdefault(table, []).append(line[1:].split()[0])
        elif line.startswith("-A "):
            words = shlex.split(line)
            out.rules.setdefault((table, words[1]), []).append(tuple(words[2:]))
    return out


def run_tool(argv: Sequence[str], stdin: str | None) -> str:
    """Run an iptables tool; OSLayerError with its message if it fails."""
    try:
        done = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OSLayerError(f"cannot run {argv[0]}: {exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise OSLayerError(f"{' '.join(argv)} failed: {detail}")
    return done.stdout


def run_tool_in(netns: str) -> Runner:
    """A runner of the iptables tools inside the network namespace at ``netns`` (its file):
    a short-lived thread enters it and starts the tool, which inherits the namespace."""

    def run(argv: Sequence[str], stdin: str | None) -> str:
        def enter_and_run() -> str:
            try:
                fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                what = f"cannot open network namespace {netns}: {exc.strerror}"
                raise OSLayerError(what) from exc
            try:
                _sys.setns(fd, _sys.CLONE_NEWNET)
            finally:
                os.close(fd)
            return run_tool(argv, stdin)

        return _sys.in_thread(enter_and_run)

    return run


def _ordered(rules: Iterable[Words]) -> list[Words]:
    """DROP rules first (stable), so no ACCEPT of another network shadows them."""
    rules = list(rules)
    return [r for r in rules if _option(r, "-j") == "DROP"] + [
        r for r in rules if _option(r, "-j") != "DROP"
    ]


Contents = dict[str, list[Words]]
"""The rules of the owner's chain of each kind (by infix)."""


class Firewall:
    """An owner's iptables chains (``tag``: the owner's 12 hex digits), in this process's
    network namespace or in the one whose file is ``netns``."""

    def __init__(self, tag: str, runner: Runner | None = None, netns: str | None = None) -> None:
        if not re.fullmatch(r"[0-9a-f]{12}", tag):
            raise ValueError(f"firewall owner {tag!r} must be 12 hex digits")
        self.tag = tag
        self._runner = runner if runner is not None or netns is None else run_tool_in(netns)

    def chain(self, kind: Chain | str) -> str:
        """The name of the owner's chain of ``kind`` (a table name gives its default kind)."""
        chain = kind if isinstance(kind, Chain) else _default_chain(kind)
        return f"LIBNET-{chain.infix}-{self.tag}"

    def _run(self, argv: Sequence[str], stdin: str | None = None) -> str:
        return (self._runner or run_tool)(argv, stdin)

    @staticmethod
    def missing_tool(families: Iterable[int]) -> str | None:
        """The first iptables tool that ``families`` need and this host lacks, or None."""
        for family in sorted(set(families)):
            for tool in TOOLS[family]:
                if shutil.which(tool) is None:
                    return tool
        return None

    def families(self) -> list[int]:
        """The IP families whose tools this host has."""
        return [f for f in TOOLS if self.missing_tool([f]) is None]

    def read(self, family: int) -> Ruleset:
        """The whole ruleset of ``family`` (one ``iptables-save``)."""
        return parse_save(self._run([TOOLS[family][0]]))

    def _contents(self, state: Ruleset) -> Contents:
        return {c.infix: list(state.rules.get((c.table, self.chain(c)), [])) for c in CHAINS}

    def rules(self, families: Iterable[int] | None = None) -> list[Saved]:
        """Every rule of the owner's chains."""
        out: list[Saved] = []
        for family in self.families() if families is None else families:
            for infix, rules in self._contents(self.read(family)).items():
                table = _BY_INFIX[infix].table
                out.extend(Saved(family, table, words, infix) for words in rules)
        return out

    def unhooked(self) -> list[str]:
        """The owner's chains that hold rules but miss a jump from one of their parents."""
        out: list[str] = []
        for family in self.families():
            state = self.read(family)
            for chain, rules in zip(CHAINS, self._contents(state).values(), strict=True):
                if rules and self._missing_jumps(chain, family, state):
                    tool = TOOLS[family][0].split("-")[0]
                    out.append(f"{tool} -t {chain.table} {self.chain(chain)}")
        return out

    def problems(
        self, wanted: Sequence[Rule], comment: str, saved: Sequence[Saved], jumps: bool = True
    ) -> list[str]:
        """What differs between the rules carrying ``comment`` in ``saved`` (what
        :meth:`rules` gave) and ``wanted``; with ``jumps``, the owner's chains not jumped to."""
        if not wanted:
            return []
        missing = self.missing_tool({r.family for r in wanted})
        if missing:
            return [f"firewall rules cannot be checked: {missing} is not installed"]
        have = {s for s in saved if s.comment == comment}
        want = {r.saved() for r in wanted}
        problems = [f"firewall rule is missing: {s}" for s in sorted(want - have, key=str)]
        problems += [f"firewall rule is not expected: {s}" for s in sorted(have - want, key=str)]
        if jumps:
            problems += [f"firewall chain is not jumped to: {c}" for c in self.unhooked()]
        return problems

    # -- changes -------------------------------------------------------------------------

    def set_rules(
        self,
        comment: str,
        rules: Sequence[Rule],
        *,
        families: Iterable[int] | None = None,
        current: Mapping[int, Ruleset] | None = None,
    ) -> None:
        """Make the owner's rules carrying ``comment`` exactly ``rules``; all or nothing.

        ``families``: only these hold rules with ``comment`` (default: every family whose
        tools are installed); ``current``: what :meth:`read` just gave, read again if absent.
        """
        known = self.families() if families is None else families
        families = sorted({r.family for r in rules} | set(known))
        states = dict(current or {})
        for family in {r.family for r in rules if r.needs} - set(states):
            states[family] = self.read(family)
        wanted = {
            f: [r for r in rules if r.family == f and (f not in states or r.applies(states[f]))]
            for f in TOOLS
        }

        def edit(family: int) -> Callable[[Contents], Contents]:
            def apply(old: Contents) -> Contents:
                new = {k: [w for w in old[k] if _option(w, "--comment") != comment] for k in old}
                for rule in wanted[family]:
                    new[rule.kind.infix].append(rule.words())
                return new

            return apply

        self._change_all([(f, edit(f)) for f in families], states)

    def applicable(self, rules: Sequence[Rule]) -> list[Rule]:
        """``rules`` less those whose needed chain this host lacks (one read per family)."""
        families = {r.family for r in rules if r.needs}
        states = {f: self.read(f) for f in families}
        return [r for r in rules if r.family not in states or r.applies(states[r.family])]

    def remove(self, saved: Saved) -> None:
        """Remove one rule of the owner's chains; gone already is fine."""

        def drop(old: Contents) -> Contents:
            return {
                k: [w for w in old[k] if (k, w) != (saved.kind.infix, saved.words)] for k in old
            }

        self._change_all([(saved.family, drop)])

    def _change_all(
        self,
        edits: Sequence[tuple[int, Callable[[Contents], Contents]]],
        current: Mapping[int, Ruleset] | None = None,
    ) -> None:
        undo: list[Callable[[], None]] = []
        try:
            for family, edit in edits:
                step = self._change(family, edit, (current or {}).get(family))
                if step is not None:
                    undo.append(step)
        except BaseException:
            for step in reversed(undo):
                step()
            raise

    def _change(
        self, family: int, edit: Callable[[Contents], Contents], state: Ruleset | None = None
    ) -> Callable[[], None] | None:
        """Apply ``edit`` to the owner's chains of ``family`` (whose ruleset ``state`` is,
        read if None); an undo, or None if unchanged."""
        state = state if state is not None else self.read(family)
        old = self._contents(state)
        new = {
            k: _ordered(rules) for k, rules in edit({k: list(r) for k, r in old.items()}).items()
        }
        if not self._batch(family, state, new):
            return None
        try:
            self._write(family, state, new)
        except BaseException:
            self._write_back(family, old)  # the tables committed before the failing one
            raise
        return lambda: self._write_back(family, old)

    def _write_back(self, family: int, contents: Contents) -> None:
        self._write(family, self.read(family), contents)

    def _batch(self, family: int, state: Ruleset, contents: Mapping[str, list[Words]]) -> list[str]:
        lines: list[str] = []
        for table in TABLES:
            body: list[str] = []
            for chain in CHAINS:
                if chain.table == table:
                    body.extend(self._chain_batch(chain, family, state, contents[chain.infix]))
            if body:
                lines += [f"*{table}", *body, "COMMIT"]
        return lines

    def _write(self, family: int, state: Ruleset, contents: Mapping[str, list[Words]]) -> None:
        lines = self._batch(family, state, contents)
        if lines:
            argv = [TOOLS[family][1], "--noflush", f"--wait={WAIT}"]
            self._run(argv, "\n".join(lines) + "\n")

    def _jumps(self, chain: Chain, state: Ruleset) -> list[tuple[str, Words]]:
        name = self.chain(chain)
        return [
            (parent, words)
            for (t, parent), rules in state.rules.items()
            if t == chain.table
            for words in rules
            if _option(words, "-j") == name
        ]

    def _jump(self, chain: Chain, parent: str, family: int) -> Words:
        comment = ("-m", "comment", "--comment", f"libnet:{self.tag}")
        return (*chain.jump_matches(parent, family), *comment, "-j", self.chain(chain))

    def _parents(self, chain: Chain, state: Ruleset) -> tuple[str, ...]:
        if chain is FWD and DOCKER_USER in state.chains.get(FILTER, []):
            return (DOCKER_USER,)
        return chain.parents

    def _missing_jumps(self, chain: Chain, family: int, state: Ruleset) -> list[str]:
        """The parents of ``chain`` without its jump (the FWD chain needs only one)."""
        have = {parent for parent, _ in self._jumps(chain, state)}
        if chain is FWD:
            return [] if have else list(self._parents(chain, state))
        return [p for p in chain.parents if p not in have]

    def _chain_batch(
        self, chain: Chain, family: int, state: Ruleset, rules: list[Words]
    ) -> list[str]:
        name = self.chain(chain)
        exists = name in state.chains.get(chain.table, [])
        jumps = self._jumps(chain, state)
        current = state.rules.get((chain.table, name), [])
        if rules:
            missing = self._missing_jumps(chain, family, state)
            if exists and not missing and current == rules:
                return []
            lines = [f":{name} - [0:0]"]  # creates, or empties, the chain
            lines += [f"-A {name} {_line(words)}" for words in rules]
            for parent in missing:
                lines.append(f"-I {parent} 1 {_line(self._jump(chain, parent, family))}")
            return lines
        if not exists and not jumps:
            return []
        lines = [f"-D {parent} {_line(words)}" for parent, words in jumps]
        if exists:
            lines += [f"-F {name}", f"-X {name}"]
        return lines
