"""How the plugin is activated: an option always, everything else only when asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("libnet.controller", "libnet.testing._plugin", "libnet.testing._suite", "pluggy")


def _pytest(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LIBNET_", "PYTEST_"))}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_autoloaded_module_imports_nothing_heavy() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import libnet.testing._autoload"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "libnet.testing._autoload" in imported
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_without_asking_only_the_option_is_there(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_plugin_state(request):
            manager = request.config.pluginmanager
            assert manager.has_plugin("libnet")  # the pytest11 entry point
            assert not manager.has_plugin("libnet.testing")
            assert request.config.getoption("libnet_driver") is None

        def test_fixtures_are_absent(install_plugin):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'install_plugin' not found*"])


def test_pytest_plugins_in_a_conftest_activates_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["libnet.testing"]')
    pytester.makepyfile(
        """
        def test_fixtures(libnet_controller, make_controller, install_plugin, broken_distribution):
            assert libnet_controller.networks() == []
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.slow
def test_the_command_line_form_runs_the_suite_in_an_empty_directory(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, "-p", "libnet.testing", "--libnet-driver", "null", "-W", "error")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "TestDriverConformance::test_lifecycle_in_order PASSED" in _verbose(tmp_path, "null")
    assert "failed" not in proc.stdout and " passed" in proc.stdout


def _verbose(cwd: Path, driver: str) -> str:
    return _pytest(cwd, "-p", "libnet.testing", "--libnet-driver", driver, "-v").stdout


@pytest.mark.slow
def test_the_command_line_form_works_with_plugin_autoloading_disabled(tmp_path: Path) -> None:
    proc = _pytest(
        tmp_path,
        "-p",
        "libnet.testing",
        "--libnet-driver",
        "host",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_the_command_line_form_runs_next_to_the_tests_named(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text("def test_mine():\n    pass\n")
    proc = _pytest(tmp_path, "-p", "libnet.testing", "--libnet-driver", "null", "test_mine.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = _pytest(
        tmp_path, "-p", "libnet.testing", "--libnet-driver", "null", "test_mine.py", "-v"
    ).stdout
    assert "test_mine.py::test_mine PASSED" in listed
    assert "TestDriverConformance::test_lifecycle_in_order PASSED" in listed


@pytest.mark.slow
def test_the_option_without_the_plugin_is_a_usage_error(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, "--libnet-driver", "null")
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--libnet-driver null needs libnet's pytest plugin: run pytest -p libnet.testing" in (
        proc.stderr
    )


@pytest.mark.slow
def test_an_unknown_driver_is_a_usage_error_listing_the_available_ones(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, "-p", "libnet.testing", "--libnet-driver", "nope")
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert "no installed driver serves network type 'nope' (available: " in proc.stderr
    assert "null" in proc.stderr


@pytest.mark.slow
def test_the_option_is_declared_once_when_both_modules_are_active(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, "-p", "libnet.testing", "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("--libnet-driver=NAME") == 1
