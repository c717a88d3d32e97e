"""A host's identity among the hosts sharing a global store: one stable ID per state directory.

The first use of a state directory makes ``host-id`` in it, holding 32 random hex digits;
every later use, by any process, reads the same. The file appears whole (written beside it,
then linked into place), so processes starting together agree on one ID. A host ID given by
the user (``check_host_id``) is 1 to 64 letters, digits, ``.``, ``_`` or ``-``, starting with a
letter or digit.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from pathlib import Path

from libnet.errors import InvalidOptionError, StoreCorruptError, StoreError

__all__ = ["HOST_ID_FILE", "check_host_id", "host_id"]

HOST_ID_FILE = "host-id"

_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_host_id(value: str) -> str:
    """``value`` if it is a valid host ID, else InvalidOptionError saying what one is."""
    if not isinstance(value, str) or not _VALID.fullmatch(value):
        raise InvalidOptionError(
            f"host ID {value!r} is not valid: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def host_id(state_dir: str | os.PathLike[str]) -> str:
    """The host ID of ``state_dir``, made (and the directory, mode 0700) on first use."""
    directory = Path(state_dir)
    path = directory / HOST_ID_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        _create(directory, path)
        text = path.read_text()
    except OSError as e:
        raise StoreError(f"cannot read host ID file {path}: {e.strerror or e}") from e
    value = text.strip()
    if not _VALID.fullmatch(value):
        raise StoreCorruptError(
            f"host ID file {path} holds {value[:80]!r}, not a host ID; libnet did not write "
            "that: put the host's ID back, or remove the file to make a new one (other hosts "
            "will then see a new host)"
        )
    return value


def _create(directory: Path, path: Path) -> None:
    import uuid  # only to make an ID: reading one is cheaper without it

    fresh = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as file:
            file.write(uuid.uuid4().hex + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(fresh, path)
    except FileExistsError:
        pass  # another process made it first: use theirs
    except OSError as e:
        raise StoreError(f"cannot create host ID file {path}: {e.strerror or e}") from e
    finally:
        with contextlib.suppress(FileNotFoundError):
            fresh.unlink()
