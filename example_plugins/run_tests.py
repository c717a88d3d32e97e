"""Install each example plugin into a fresh virtual environment with pip and run its tests.

Usage: ``python example_plugins/run_tests.py [NAME ...]`` (default: every example).
Exit status is non-zero if any example's installation or tests fail.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def examples(names: list[str]) -> list[Path]:
    found = sorted(p.parent for p in HERE.glob("*/pyproject.toml"))
    if names:
        found = [p for p in found if p.name in names]
        missing = set(names) - {p.name for p in found}
        if missing:
            sys.exit(f"run_tests.py: no example named {', '.join(sorted(missing))}")
    return found


def run_one(example: Path) -> int:
    with tempfile.TemporaryDirectory(prefix=f"{example.name}-") as tmp:
        env_dir = Path(tmp) / "venv"
        venv.EnvBuilder(with_pip=True).create(env_dir)
        python = str(env_dir / "bin" / "python")
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, str(ROOT), str(example), "pytest"], check=True)
        print(f"== {example.name}: pytest", flush=True)
        return subprocess.run([python, "-m", "pytest", "-ra", str(example / "tests")]).returncode


def main() -> int:
    failed = []
    for example in examples(sys.argv[1:]):
        print(f"== {example.name}: installing into a fresh virtual environment", flush=True)
        try:
            status = run_one(example)
        except subprocess.CalledProcessError as exc:
            print(f"== {example.name}: installation failed ({exc})", flush=True)
            status = 1
        if status not in (0,):
            failed.append(example.name)
    if failed:
        print(f"examples failed: {', '.join(failed)}", flush=True)
        return 1
    print("examples passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
