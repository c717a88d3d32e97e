"""libnet's iptables rules: one chain per owner and table, changed in one batch per family.

Why iptables: Docker programs iptables (iptables-nft on Debian 12), and an ``accept`` in an
nftables table of libnet's own cannot override a ``drop`` in another table's base chain, so
rules that must pass traffic on a Docker host have to sit in iptables' own chains.

Where the rules live: each owner (the 12 hex digits of a state, see ARCHITECTURE.md) has
``LIBNET-FWD-<owner>`` in table ``filter``, jumped to from the top of ``DOCKER-USER`` when
that chain exists (Docker's reloads keep it, and it runs before Docker's own rules), else
from the top of ``FORWARD``; and ``LIBNET-NAT-<owner>`` in table ``nat``, jumped to from the
top of ``POSTROUTING``. Every rule carries its owner's mark as a comment; DROP rules come
first in a chain, so a network's DROP is never shadowed by another network's ACCEPT.

How it changes them: one ``iptables-save`` to read (per family), one ``iptables-restore
--noflush`` batch to write, which declares the owner's chain (creating it, or emptying it)
and writes its whole new content; a chain left empty is deleted with its jump. Changes of
one owner are serialized by the caller (a state's operations run one at a time), so a
read-modify-write of the owner's chains is safe; other owners' chains are never written.
``iptables-restore`` commits table by table, so a batch that fails part way is undone by
writing back what the chains held before. All or nothing, per change.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from libnet.errors import OSLayerError

__all__ = [
    "FILTER",
    "NAT",
    "Firewall",
    "Rule",
    "Saved",
    "parse_save",
    "run_tool",
]

FILTER = "filter"
NAT = "nat"
TABLES = (FILTER, NAT)
DOCKER_USER = "DOCKER-USER"
TOOLS = {4: ("iptables-save", "iptables-restore"), 6: ("ip6tables-save", "ip6tables-restore")}
TIMEOUT = 30.0

Runner = Callable[[Sequence[str], str | None], str]
"""Runs a command (argv, standard input) and returns its standard output, or raises."""

Words = tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One rule of an owner's chain in ``table`` for IP ``family`` (4 or 6)."""

    family: int
    table: str
    matches: Words
    target: str
    comment: str

    def words(self) -> Words:
        """The rule as ``iptables-save`` prints it, after ``-A CHAIN``."""
        return (*self.matches, "-m", "comment", "--comment", self.comment, "-j", self.target)


@dataclass(frozen=True)
class Saved:
    """A rule found in an owner's chain: where it is and its words."""

    family: int
    table: str
    words: Words

    @property
    def comment(self) -> str | None:
        return _option(self.words, "--comment")

    @property
    def target(self) -> str | None:
        return _option(self.words, "-j")

    def __str__(self) -> str:
        return (
            f"{'ip6tables' if self.family == 6 else 'iptables'} -t {self.table} {_line(self.words)}"
        )


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
    if re.fullmatch(r"[\w:./,!+=-]+", word):
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


def _ordered(rules: Iterable[Words]) -> list[Words]:
    """DROP rules first (stable), so no ACCEPT of another network shadows them."""
    rules = list(rules)
    return [r for r in rules if _option(r, "-j") == "DROP"] + [
        r for r in rules if _option(r, "-j") != "DROP"
    ]


Contents = dict[str, list[Words]]
"""The rules of the owner's chain in each table."""


class Firewall:
    """An owner's iptables chains (``tag``: the owner's 12 hex digits)."""

    def __init__(self, tag: str, runner: Runner | None = None) -> None:
        if not re.fullmatch(r"[0-9a-f]{12}", tag):
            raise ValueError(f"firewall owner {tag!r} must be 12 hex digits")
        self.tag = tag
        self._runner = runner

    def chain(self, table: str) -> str:
        return f"LIBNET-{'FWD' if table == FILTER else 'NAT'}-{self.tag}"

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

    def _families(self) -> list[int]:
        return [f for f in TOOLS if self.missing_tool([f]) is None]

    def _read(self, family: int) -> Ruleset:
        return parse_save(self._run([TOOLS[family][0]]))

    def _contents(self, state: Ruleset) -> Contents:
        return {t: list(state.rules.get((t, self.chain(t)), [])) for t in TABLES}

    def rules(self, families: Iterable[int] | None = None) -> list[Saved]:
        """Every rule of the owner's chains."""
        out: list[Saved] = []
        for family in self._families() if families is None else families:
            for table, rules in self._contents(self._read(family)).items():
                out.extend(Saved(family, table, words) for words in rules)
        return out

    def unhooked(self) -> list[str]:
        """The owner's chains that hold rules but are jumped to from nowhere."""
        out: list[str] = []
        for family in self._families():
            state = self._read(family)
            for table, rules in self._contents(state).items():
                if rules and not self._jumps(table, state):
                    out.append(f"{TOOLS[family][0].split('-')[0]} -t {table} {self.chain(table)}")
        return out

    # -- changes -------------------------------------------------------------------------

    def set_rules(self, comment: str, rules: Sequence[Rule]) -> None:
        """Make the owner's rules carrying ``comment`` exactly ``rules``; all or nothing."""
        wanted = {f: [r for r in rules if r.family == f] for f in TOOLS}
        families = sorted({r.family for r in rules} | set(self._families()))

        def edit(family: int) -> Callable[[Contents], Contents]:
            def apply(old: Contents) -> Contents:
                new = {t: [w for w in old[t] if _option(w, "--comment") != comment] for t in TABLES}
                for rule in wanted[family]:
                    new[rule.table].append(rule.words())
                return new

            return apply

        self._change_all([(f, edit(f)) for f in families])

    def remove(self, saved: Saved) -> None:
        """Remove one rule of the owner's chains; gone already is fine."""

        def drop(old: Contents) -> Contents:
            return {t: [w for w in old[t] if (t, w) != (saved.table, saved.words)] for t in TABLES}

        self._change_all([(saved.family, drop)])

    def _change_all(self, edits: Sequence[tuple[int, Callable[[Contents], Contents]]]) -> None:
        undo: list[Callable[[], None]] = []
        try:
            for family, edit in edits:
                step = self._change(family, edit)
                if step is not None:
                    undo.append(step)
        except BaseException:
            for step in reversed(undo):
                step()
            raise

    def _change(
        self, family: int, edit: Callable[[Contents], Contents]
    ) -> Callable[[], None] | None:
        """Apply ``edit`` to the owner's chains of ``family``; an undo, or None if unchanged."""
        state = self._read(family)
        old = self._contents(state)
        new = {
            t: _ordered(rules) for t, rules in edit({t: list(r) for t, r in old.items()}).items()
        }
        if not self._batch(state, new):
            return None
        try:
            self._write(family, state, new)
        except BaseException:
            self._write_back(family, old)  # the tables committed before the failing one
            raise
        return lambda: self._write_back(family, old)

    def _write_back(self, family: int, contents: Contents) -> None:
        self._write(family, self._read(family), contents)

    def _batch(self, state: Ruleset, contents: Mapping[str, list[Words]]) -> list[str]:
        lines: list[str] = []
        for table in TABLES:
            lines.extend(self._table_batch(table, state, contents[table]))
        return lines

    def _write(self, family: int, state: Ruleset, contents: Mapping[str, list[Words]]) -> None:
        lines = self._batch(state, contents)
        if lines:
            self._run([TOOLS[family][1], "--noflush"], "\n".join(lines) + "\n")

    def _jumps(self, table: str, state: Ruleset) -> list[tuple[str, Words]]:
        chain = self.chain(table)
        return [
            (parent, words)
            for (t, parent), rules in state.rules.items()
            if t == table
            for words in rules
            if _option(words, "-j") == chain
        ]

    def _table_batch(self, table: str, state: Ruleset, rules: list[Words]) -> list[str]:
        chain = self.chain(table)
        exists = chain in state.chains.get(table, [])
        jumps = self._jumps(table, state)
        current = state.rules.get((table, chain), [])
        if rules:
            if exists and jumps and current == rules:
                return []
            lines = [f"*{table}", f":{chain} - [0:0]"]  # creates, or empties, the chain
            lines += [f"-A {chain} {_line(words)}" for words in rules]
            if not jumps:
                jump = ("-m", "comment", "--comment", f"libnet:{self.tag}", "-j", chain)
                lines.append(f"-I {self._parent(table, state)} 1 {_line(jump)}")
            return [*lines, "COMMIT"]
        if not exists and not jumps:
            return []
        lines = [f"*{table}"]
        lines += [f"-D {parent} {_line(words)}" for parent, words in jumps]
        if exists:
            lines += [f"-F {chain}", f"-X {chain}"]
        return [*lines, "COMMIT"]

    @staticmethod
    def _parent(table: str, state: Ruleset) -> str:
        if table == NAT:
            return "POSTROUTING"
        return DOCKER_USER if DOCKER_USER in state.chains.get(FILTER, []) else "FORWARD"
