"""Shell completion: ``libnet completion bash|zsh`` prints a script that asks the hidden
``libnet __complete WORDS...`` for the candidates of the last word.

Candidates are subcommands, options, and the names of networks, endpoints and sandboxes
read from the state (never created: no state file, no names). Nothing is printed on
failure, so a broken state never puts an error in the middle of a command line.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from libnet.cli._context import PROG, CommandContext, resolve_state_dir
from libnet.errors import LibnetError

_BASH = """\
# bash completion for libnet; load it with: source <(libnet completion bash)
_libnet_complete() {
    local IFS=$'\\n'
    COMPREPLY=($("${COMP_WORDS[0]}" __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _libnet_complete libnet
"""

_ZSH = """\
#compdef libnet
# zsh completion for libnet; load it with: source <(libnet completion zsh) after compinit,
# or save it as _libnet in a directory of $fpath.
_libnet() {
    local -a reply
    reply=("${(@f)$("${words[1]}" __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    compadd -a reply
}
if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then
    _libnet "$@"
else
    compdef _libnet libnet
fi
"""

SCRIPTS = {"bash": _BASH, "zsh": _ZSH}


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], root: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description="Print the completion script of SHELL. Load it in the current shell "
        f"with: source <({PROG} completion bash) (zsh: after compinit). It completes "
        "commands, options, and network, endpoint and sandbox names from the state.",
    )
    p.add_argument("shell", choices=sorted(SCRIPTS), metavar="SHELL", help="bash or zsh")
    p.set_defaults(func=_print_script)

    hidden = sub.add_parser("__complete")  # no help: not listed
    hidden.add_argument("words", nargs=argparse.REMAINDER)
    hidden.set_defaults(func=lambda args, ctx: _complete(root, args.words))


def _print_script(args: argparse.Namespace, ctx: CommandContext) -> int:
    print(SCRIPTS[args.shell], end="")
    return 0


def _complete(root: argparse.ArgumentParser, words: Sequence[str]) -> int:
    words = list(words[1:] if words[:1] == ["--"] else words) or [""]
    for candidate in candidates(root, words):
        print(candidate)
    return 0


def candidates(root: argparse.ArgumentParser, words: Sequence[str]) -> list[str]:
    """The completions of ``words[-1]`` after ``words[:-1]`` (the words after ``libnet``)."""
    *done, current = words
    parser, pending = root, False
    positionals: list[str] = []
    for word in done:
        if pending:
            pending = False
        elif word.startswith("-"):
            action = parser._option_string_actions.get(word)
            pending = action is not None and action.nargs != 0
        elif word in _commands(parser):
            parser, positionals = _commands(parser)[word], []
        else:
            positionals.append(word)
    if pending:
        return []  # an option's value: the shell completes file names
    if current.startswith("-"):
        found = [
            o for a in parser._actions if a.help != argparse.SUPPRESS for o in a.option_strings
        ]
    elif _commands(parser):
        found = [name for name in _commands(parser) if not name.startswith("_")]
    else:
        found = _names(_metavar(parser, len(positionals)), positionals, _state_dir(done))
    return sorted(c for c in set(found) if c.startswith(current))


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _metavar(parser: argparse.ArgumentParser, index: int) -> str | None:
    """The metavar of the positional argument that word ``index`` (from 0) fills."""
    for action in parser._actions:
        if action.option_strings:
            continue
        if action.nargs in ("+", "*", argparse.REMAINDER) or index == 0:
            return action.metavar if isinstance(action.metavar, str) else None
        index -= 1
    return None


def _state_dir(words: Sequence[str]) -> Path:
    given = None
    for before, word in zip(["", *words], words, strict=False):
        if before == "--state-dir":
            given = word
        elif word.startswith("--state-dir="):
            given = word.partition("=")[2]
    return resolve_state_dir(given)


def _names(metavar: str | None, positionals: Sequence[str], state_dir: Path) -> list[str]:
    """Names of the objects ``metavar`` stands for, read from the state if it exists."""
    if metavar not in ("NETWORK", "ENDPOINT", "SANDBOX") or not (state_dir / "state.db").exists():
        return []
    try:
        from libnet.controller import Controller

        with Controller(state_dir=state_dir, plugins="off") as controller:
            if metavar == "SANDBOX":
                return [box.container_id for box in controller.sandboxes()]
            if metavar == "NETWORK":
                return [net.name for net in controller.networks()]
            networks = [controller.network(positionals[0])] if positionals else []
            return [ep.name for net in networks for ep in net.endpoints()]
    except (LibnetError, OSError):
        return []
