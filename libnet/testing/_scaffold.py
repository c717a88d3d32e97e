"""``libnet new-driver``: write a ready driver package from the templates shipped here."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from libnet.driverapi import DRIVER_API_REQUIREMENT
from libnet.errors import InvalidOptionError
from libnet.registry import check_driver_name

__all__ = ["AUTHOR_DOCS", "Scaffold", "author_doc", "new_driver"]

AUTHOR_DOCS = ("writing-drivers.md", "hooks.md")
"""The author documentation shipped in ``libnet/testing/docs`` (the repository's ``docs/``
holds the same files) and written into every new driver package's ``docs/``."""

BUILTIN = frozenset({"null", "host", "bridge", "remote"})

FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "gitignore.tmpl": ".gitignore",
    "package_init.py.tmpl": "src/{module}/__init__.py",
    "package_driver.py.tmpl": "src/{module}/_driver.py",
    "conftest.py.tmpl": "tests/conftest.py",
    "test_conformance.py.tmpl": "tests/test_conformance.py",
    "test_driver.py.tmpl": "tests/test_driver.py",
}
"""Template file -> path in the new package (``{module}`` is the import name)."""


@dataclass(frozen=True)
class Scaffold:
    """The names a new driver package is made of."""

    name: str
    """The network type, which is also the entry-point name."""
    dist: str
    module: str
    cls: str

    @classmethod
    def for_name(cls, name: str) -> Scaffold:
        try:
            check_driver_name(name)
        except ValueError as exc:
            raise InvalidOptionError(str(exc)) from None
        if name in BUILTIN:
            raise InvalidOptionError(
                f"network type {name!r} is built into libnet; choose another name"
            )
        words = [w for w in re.split(r"[._-]+", name) if w]
        module = "libnet_" + "_".join(words)
        title = "".join(w[:1].upper() + w[1:] for w in words)
        if not title[:1].isalpha():
            title = "Net" + title
        return cls(name, f"libnet-{'-'.join(words)}", module, f"{title}Driver")

    def values(self) -> dict[str, str]:
        prefix = self.name[:5].rstrip(".-_") + "-"
        return {
            "name": self.name,
            "dist": self.dist,
            "module": self.module,
            "cls": self.cls,
            "libnet_requirement": DRIVER_API_REQUIREMENT,
            "ifprefix": prefix,
            "ifdigits": str(min(10, 15 - len(prefix))),
        }


def new_driver(name: str, directory: Path | str | None = None) -> list[Path]:
    """Write a driver package for network type ``name`` into ``directory``.

    ``directory`` (default ``./libnet-NAME``) is created if needed and must be empty.
    Returns the files written.
    """
    scaffold = Scaffold.for_name(name)
    root = Path(directory) if directory is not None else Path(scaffold.dist)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InvalidOptionError(
            f"{root} exists and is not an empty directory; choose another --dir"
        )
    templates = resources.files("libnet.testing") / "templates" / "new_driver"
    values = scaffold.values()
    written: list[Path] = []
    for template, target in FILES.items():
        text = string.Template((templates / template).read_text(encoding="utf-8"))
        path = root / target.format(module=scaffold.module)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.substitute(values), encoding="utf-8")
        written.append(path)
    typed = root / "src" / scaffold.module / "py.typed"
    typed.write_text("")
    written.append(typed)
    for doc in AUTHOR_DOCS:  # the guide of the libnet it was made with, for offline reading
        path = root / "docs" / doc
        path.parent.mkdir(exist_ok=True)
        path.write_text(author_doc(doc), encoding="utf-8")
        written.append(path)
    return written


def author_doc(name: str) -> str:
    """The text of one author document shipped in ``libnet/testing/docs``."""
    return (resources.files("libnet.testing") / "docs" / name).read_text(encoding="utf-8")
