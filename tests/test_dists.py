"""The test helper that fakes installed distributions behaves like pip-installed ones."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from _dists import DRIVER_GROUP, FakeDists

if sys.version_info >= (3, 12):
    from importlib import metadata
else:
    import importlib_metadata as metadata


def test_an_installed_distribution_is_found_with_its_version_and_entry_points(
    dists: FakeDists,
) -> None:
    dists.install("Libnet_Fake", "1.2", entry_points={"fake": "libnet_fake:plugin"}, modules={})
    dist = metadata.distribution("libnet-fake")
    assert (dist.metadata["Name"], dist.version) == ("Libnet_Fake", "1.2")
    (ep,) = [ep for ep in dist.entry_points if ep.group == DRIVER_GROUP]
    assert (ep.name, ep.value) == ("fake", "libnet_fake:plugin")


def test_requirements_are_written_to_the_metadata(dists: FakeDists) -> None:
    dists.install("libnet-fake", requires=("libnet>=0.1,<2",))
    assert metadata.distribution("libnet-fake").requires == ["libnet>=0.1,<2"]


def test_modules_are_importable_and_listed_in_the_record(dists: FakeDists) -> None:
    dists.install("libnet-fake", modules={"libnet_fake.sub": "VALUE = 7\n"})
    assert importlib.import_module("libnet_fake.sub").VALUE == 7
    files = {f.as_posix() for f in metadata.distribution("libnet-fake").files or []}
    assert {"libnet_fake/__init__.py", "libnet_fake/sub.py"} <= files


def test_a_site_made_later_comes_first_on_sys_path(dists: FakeDists) -> None:
    older, newer = dists.site("older"), dists.site("newer")
    assert sys.path.index(str(newer)) < sys.path.index(str(older))


def test_close_forgets_the_plugin_modules(tmp_path: Path) -> None:
    fake = FakeDists(tmp_path)
    fake.install("libnet-fake", modules={"libnet_fake_mod.sub": "", "libnet_fake_top": ""})
    importlib.import_module("libnet_fake_mod.sub")
    importlib.import_module("libnet_fake_top")
    fake.close()
    assert not [m for m in sys.modules if m.startswith(("libnet_fake_mod", "libnet_fake_top"))]


def test_after_close_a_module_of_the_same_name_is_imported_afresh(tmp_path: Path) -> None:
    for value in (1, 2):
        fake = FakeDists(tmp_path / str(value))
        fake.install("libnet-fake", modules={"libnet_fake_again": f"number = {value}\n"})
        assert importlib.import_module("libnet_fake_again").number == value
        fake.close()


def test_imported_tells_whether_a_plugin_module_was_imported(dists: FakeDists) -> None:
    dists.install("libnet-fake", modules={"libnet_fake": "VALUE = 1\n"})
    assert not dists.imported("libnet_fake")
    module = importlib.import_module("libnet_fake")
    assert dists.imported("libnet_fake")
    assert dists.module("libnet_fake") is module
