"""A stable host ID per state directory (issue 13, host identity)."""

from __future__ import annotations

import re
import stat
import threading
from pathlib import Path

import pytest

from libnet.errors import InvalidOptionError, StoreCorruptError, StoreError
from libnet.store.hostid import HOST_ID_FILE, check_host_id, host_id


def test_first_use_makes_a_random_id_and_later_uses_read_it(tmp_path: Path) -> None:
    state_dir = tmp_path / "lib" / "libnet"
    first = host_id(state_dir)
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert host_id(state_dir) == first
    assert (state_dir / HOST_ID_FILE).read_text() == first + "\n"
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700


def test_two_state_directories_are_two_hosts(tmp_path: Path) -> None:
    assert host_id(tmp_path / "a") != host_id(tmp_path / "b")


def test_threads_using_a_new_directory_at_once_agree_and_leave_nothing_beside_it(
    tmp_path: Path,
) -> None:
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def use() -> None:
        barrier.wait()
        seen.append(host_id(tmp_path))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert len(set(seen)) == 1
    assert [p.name for p in tmp_path.iterdir()] == [HOST_ID_FILE]


def test_an_id_written_by_hand_is_used(tmp_path: Path) -> None:
    (tmp_path / HOST_ID_FILE).write_text("rack2-host7\n")
    assert host_id(tmp_path) == "rack2-host7"


@pytest.mark.parametrize("content", ["", "\n", "two words", "x" * 65, "-leading-dash"])
def test_a_file_that_holds_no_host_id_is_refused_and_left_alone(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / HOST_ID_FILE
    path.write_text(content)
    with pytest.raises(StoreCorruptError, match="not a host ID") as info:
        host_id(tmp_path)
    assert str(path) in str(info.value)
    assert path.read_text() == content


def test_a_state_directory_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match=r"cannot (read|create) host ID file"):
        host_id(tmp_path / "file" / "libnet")


@pytest.mark.parametrize("value", ["host-a", "a", "Node_1.example", "0" * 64])
def test_valid_host_ids(value: str) -> None:
    assert check_host_id(value) == value


@pytest.mark.parametrize("value", ["", "a b", "-a", ".a", "a/b", "0" * 65, None])
def test_invalid_host_ids_are_refused_saying_what_one_is(value: object) -> None:
    with pytest.raises(InvalidOptionError, match="1 to 64 letters, digits"):
        check_host_id(value)  # type: ignore[arg-type]
