"""Run the ``libnet`` command in a subprocess, exactly as a user would, on a private state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from libnet import Controller


@dataclass(frozen=True)
class Result:
    """What one run of the command left: exit status, standard output and standard error."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def ok(self) -> Result:
        """Assert the run succeeded with nothing on stderr; return self for chaining."""
        assert (self.returncode, self.stderr) == (0, ""), self
        return self

    def json(self) -> Any:
        """The standard output, parsed as JSON."""
        return json.loads(self.ok().stdout)

    def lines(self) -> list[str]:
        return self.ok().stdout.splitlines()

    def error(self, *fragments: str) -> str:
        """Assert a one-line ``libnet: error:`` (status 1, no traceback) naming ``fragments``."""
        assert self.returncode == 1, self
        assert "Traceback" not in self.stderr, self
        lines = self.stderr.splitlines()
        assert len(lines) == 1, self
        assert lines[0].startswith("libnet: error: "), self
        for fragment in fragments:
            assert fragment in lines[0], self
        return lines[0]

    def usage_error(self, *fragments: str) -> str:
        """Assert an argparse usage error (status 2) whose last line names ``fragments``."""
        assert self.returncode == 2, self
        assert "Traceback" not in self.stderr, self
        last = self.stderr.splitlines()[-1]
        for fragment in fragments:
            assert fragment in last, self
        return last


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's libnet settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
    env.update(extra)
    return env


def run(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path, input: str | None = None
) -> Result:
    """Run ``python -m libnet ARGS`` (``cwd`` keeps a source checkout off ``sys.path``)."""
    proc = subprocess.run(
        [sys.executable, "-m", "libnet", *args],
        env=dict(env) if env is not None else clean_env(),
        cwd=cwd,
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)


class Libnet:
    """The command bound to one state directory: ``libnet("network", "ls")``."""

    def __init__(self, state_dir: Path, cwd: Path) -> None:
        self.state_dir = state_dir
        self.cwd = cwd

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return run("--state-dir", str(self.state_dir), *args, cwd=self.cwd, input=input)

    @contextmanager
    def api(self) -> Iterator[Controller]:
        """A controller on the same state, to set up what a test does not exercise."""
        with Controller(state_dir=self.state_dir, plugins="off") as controller:
            yield controller


@pytest.fixture
def libnet(tmp_path: Path) -> Libnet:
    """``libnet --state-dir TMP/state ...`` in a subprocess."""
    return Libnet(tmp_path / "state", tmp_path)
