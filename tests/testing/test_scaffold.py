"""``libnet new-driver``: the package it writes installs and passes its own tests."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from libnet.cli import main
from libnet.errors import InvalidOptionError
from libnet.testing import InstalledPlugin
from libnet.testing._scaffold import FILES, Scaffold, new_driver

from .conftest import REPO

Install = Callable[..., InstalledPlugin]

EXPECTED = {
    "pyproject.toml",
    "README.md",
    ".gitignore",
    "src/libnet_demo/__init__.py",
    "src/libnet_demo/_driver.py",
    "src/libnet_demo/py.typed",
    "tests/conftest.py",
    "tests/test_conformance.py",
    "tests/test_driver.py",
    "docs/writing-drivers.md",
    "docs/hooks.md",
}


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_new_driver_writes_a_complete_package(tmp_path: Path) -> None:
    written = new_driver("demo", tmp_path / "demo")
    assert {p.relative_to(tmp_path / "demo").as_posix() for p in written} == EXPECTED
    assert _files(tmp_path / "demo") == EXPECTED
    pyproject = (tmp_path / "demo" / "pyproject.toml").read_text()
    assert 'name = "libnet-demo"' in pyproject
    assert '[project.entry-points."libnet.drivers"]\n"demo" = "libnet_demo"' in pyproject
    assert (
        "class TestDemoDriverConformance(DriverConformance):"
        in (tmp_path / "demo" / "tests" / "test_conformance.py").read_text()
    )
    for path in written:
        if path.suffix == ".py":
            compile(path.read_text(), str(path), "exec")
        assert "${" not in path.read_text(), path


@pytest.mark.parametrize(
    ("name", "dist", "module", "cls"),
    [
        ("demo", "libnet-demo", "libnet_demo", "DemoDriver"),
        ("my.vlan-net", "libnet-my-vlan-net", "libnet_my_vlan_net", "MyVlanNetDriver"),
        ("4g", "libnet-4g", "libnet_4g", "Net4gDriver"),
    ],
)
def test_names_derive_from_the_network_type(name: str, dist: str, module: str, cls: str) -> None:
    assert Scaffold.for_name(name) == Scaffold(name, dist, module, cls)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("null", "built into libnet"),
        ("Bad Name", "is not valid"),
        ("", "non-empty"),
    ],
)
def test_names_that_cannot_serve_are_refused(name: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        new_driver(name, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_directory_in_use_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(InvalidOptionError, match="is not an empty directory"):
        new_driver("demo", tmp_path)
    assert _files(tmp_path) == {"keep.txt"}


def test_the_default_directory_is_named_after_the_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new-driver", "demo"]) == 0
    assert _files(tmp_path / "libnet-demo") == EXPECTED
    out = capsys.readouterr().out
    assert "libnet-demo/pyproject.toml" in out and "pip install -e '.[test]' && pytest" in out


def test_the_command_reports_a_bad_name_as_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-driver", "host"]) == 1
    assert "network type 'host' is built into libnet" in capsys.readouterr().err


def test_every_template_is_package_data() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"libnet.testing" = ["templates/*/*.tmpl"' in pyproject
    templates = REPO / "libnet" / "testing" / "templates" / "new_driver"
    assert {p.name for p in templates.iterdir()} == set(FILES)


def test_the_generated_tests_pass_against_the_generated_driver(
    tmp_path: Path,
    pytester: pytest.Pytester,
    install_plugin: Install,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In this process: the package's module on sys.path, its entry point installed."""
    new_driver("demo", tmp_path / "demo")
    monkeypatch.syspath_prepend(str(tmp_path / "demo" / "src"))
    monkeypatch.delitem(sys.modules, "libnet_demo", raising=False)
    install_plugin(importlib.import_module("libnet_demo"), "demo", dist="libnet-demo")
    shutil.copytree(tmp_path / "demo" / "tests", pytester.path / "tests")
    result = pytester.runpytest("tests", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=40, skipped=1)


_COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".tox", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)
_OFFLINE = ("NewConnectionError", "Temporary failure in name resolution", "No matching dist")


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIBNET_", "PYTEST_"))}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_a_scaffolded_package_installs_with_pip_and_passes_its_tests(tmp_path: Path) -> None:
    """A fresh virtual environment, pip, the generated tests and the command-line form."""
    libnet_copy = tmp_path / "libnet-src"
    shutil.copytree(REPO, libnet_copy, ignore=_COPY_IGNORE)
    cli = _run(sys.executable, "-m", "libnet", "new-driver", "demo", "--dir", "demo", cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    venv = tmp_path / "venv"
    created = _run(sys.executable, "-m", "venv", str(venv))
    if created.returncode != 0:
        pytest.skip(f"cannot create a virtual environment: {created.stderr.strip()}")
    python = str(venv / "bin" / "python")
    install = _run(
        python, "-m", "pip", "install", "-q", str(libnet_copy), f"{tmp_path / 'demo'}[test]"
    )
    if install.returncode != 0 and any(sign in install.stderr for sign in _OFFLINE):
        pytest.skip(f"no package index reachable: {install.stderr.strip()[-300:]}")
    assert install.returncode == 0, install.stdout + install.stderr
    drivers = _run(str(venv / "bin" / "libnet"), "drivers")
    assert drivers.returncode == 0 and "libnet-demo 0.1.0" in drivers.stdout, drivers
    tests = _run(python, "-m", "pytest", "-p", "no:cacheprovider", cwd=tmp_path / "demo")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "40 passed, 1 skipped" in tests.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    suite = _run(
        python, "-m", "pytest", "-p", "no:cacheprovider", "-p", "libnet.testing",
        "--libnet-driver", "demo", cwd=empty,
    )  # fmt: skip
    assert suite.returncode == 0, suite.stdout + suite.stderr
    assert " passed" in suite.stdout and "failed" not in suite.stdout
