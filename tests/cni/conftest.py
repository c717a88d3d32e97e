"""Fixtures of the CNI tests: a throwaway host namespace, container namespaces, a state dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _cni import Host, add_netns, del_netns, unavailable, unique


@pytest.fixture(autouse=True)
def _needs_cni() -> None:
    reason = unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def host() -> Iterator[Host]:
    """The namespace plugins run in: their bridges and firewall rules stay inside it."""
    name = unique("cnih-")
    add_netns(name)
    yield Host(name)
    del_netns(name)


@pytest.fixture
def netns() -> Iterator[Callable[[], str]]:
    """Make container namespaces; all are removed at the end (if still there)."""
    made: list[str] = []

    def make() -> str:
        name = unique("cnic-")
        made.append(name)
        return add_netns(name)

    yield make
    for name in made:
        del_netns(name)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"
