"""The author documentation stays true: generated hook reference, anchors, test table."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

from libnet.testing import DriverConformance
from libnet.testing._contract import DOC, SECTIONS

from .conftest import REPO

DOCS = REPO / "docs"


def _gen_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_hooks", DOCS / "gen_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the Markdown headings."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"#{1,6} (.*)", line)
        if match:
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def test_the_hook_reference_is_generated_from_the_hook_specs() -> None:
    rendered = _gen_hooks().render()
    assert (DOCS / "hooks.md").read_text() == rendered, (
        "docs/hooks.md is out of date: run python docs/gen_hooks.py"
    )
    assert "## `libnet_driver_init`" in rendered


def test_every_section_a_failure_names_exists() -> None:
    anchors = _anchors((REPO / DOC).read_text())
    missing = [s.anchor for s in SECTIONS if s.anchor not in anchors]
    assert not missing, f"{DOC} has no heading for {missing}"


def test_every_link_inside_the_author_documentation_resolves() -> None:
    text = (DOCS / "writing-drivers.md").read_text()
    anchors = _anchors(text)
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links and not [a for a in links if a not in anchors]
    assert (DOCS / "hooks.md").exists() and "](hooks.md)" in text


def test_every_suite_test_is_listed_in_the_documentation() -> None:
    text = (DOCS / "writing-drivers.md").read_text()
    tests = [name for name in dir(DriverConformance) if name.startswith("test_")]
    assert len(tests) >= 25
    assert not [t for t in tests if f"`{t}" not in text]


def test_the_author_docs_shipped_in_the_package_are_the_repositorys() -> None:
    from libnet.testing._scaffold import AUTHOR_DOCS, author_doc

    for name in AUTHOR_DOCS:
        assert author_doc(name) == (DOCS / name).read_text(), (
            f"libnet/testing/docs/{name} differs from docs/{name}: copy docs/{name} over it"
        )


def test_the_author_docs_cover_logging_threads_configuration_and_kernel_objects() -> None:
    text = (DOCS / "writing-drivers.md").read_text()
    for heading in (
        "## Configuration",
        "## Logging and output",
        "## Threads and asyncio",
        "## Kernel objects and `libnet doctor`",
        "## Versions and name conflicts",
    ):
        assert f"\n{heading}\n" in text, heading
    for name in ("logging.getLogger(__name__)", "run_coroutine_threadsafe", "kernel_orphans"):
        assert name in text, name
    assert "DRIVER_API_VERSION" in text
