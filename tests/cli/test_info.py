"""``libnet info``: the host ID, the stores and their health, counts."""

from __future__ import annotations

import json
from pathlib import Path

from libnet import Controller

from .conftest import run


def test_info_shows_the_host_id_the_stores_and_counts(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Controller(state_dir=state, host_id="host-one") as c:
        c.new_network("null", "n1")
    data = json.loads(
        run("--state-dir", str(state), "--host-id", "host-one", "info", "--json", cwd=tmp_path)
        .ok()
        .stdout
    )
    assert data["host_id"] == "host-one"
    assert data["local_store"]["health"] == "healthy"
    assert data["global_store"] is None
    assert data["networks"] == {"total": 1, "local": 1}
    assert "null" in data["network_drivers"]
    text = run("--state-dir", str(state), "info", cwd=tmp_path).ok().stdout
    assert "Global store: none (give --global-store or LIBNET_GLOBAL_STORE)" in text
    assert (state / "host-id").exists()  # made on first use, as the host's ID
