"""``--filter`` and ``--format`` of the ``ls`` commands, run in-process on a private state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _drivers import LOCAL, RecordingDriver

from libnet import Controller
from libnet.cli import main


@pytest.fixture
def state(tmp_path: Path) -> Path:
    with Controller(state_dir=tmp_path, plugins="off") as controller:
        web = controller.new_network("null", "web-front", labels={"tier": "front", "x": ""})
        controller.new_network("host", "web-back", labels={"tier": "back"})
        controller.register_driver("rec", RecordingDriver(), LOCAL)
        controller.new_network("rec", "db")  # its driver is not installed in the command
        web.create_endpoint("api").join(controller.new_sandbox("box-1"))
        web.create_endpoint("idle")
        controller.new_sandbox("other")
    return tmp_path


def cli(state: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    status = main(["--state-dir", str(state), *args])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    return out.splitlines()


def names(state: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    return cli(state, capsys, "network", "ls", "--format", "{{.Name}}", *args)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ((), ["db", "web-back", "web-front"]),
        (("-f", "driver=null"), ["web-front"]),
        (("-f", "name=web"), ["web-back", "web-front"]),  # a part of the name, as Docker's
        (("-f", "label=tier"), ["web-back", "web-front"]),
        (("-f", "label=tier=front"), ["web-front"]),
        (("-f", "label=x="), ["web-front"]),
        (("--filter", "name=back", "--filter", "name=db"), ["db", "web-back"]),  # either
        (("-f", "name=web", "-f", "driver=host"), ["web-back"]),  # both
        (("-f", "scope=global"), []),
    ],
)
def test_network_ls_filters(
    state: Path, capsys: pytest.CaptureFixture[str], filters: tuple[str, ...], expected: list[str]
) -> None:
    assert sorted(names(state, capsys, *filters)) == expected


def test_network_ls_filters_by_id_prefix_and_quiet(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (db,) = cli(state, capsys, "network", "ls", "-q", "--no-trunc", "-f", "name=db")
    assert cli(state, capsys, "network", "ls", "-q", "-f", f"id={db[:5]}") == [db[:12]]


def test_network_ls_formats(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = cli(state, capsys, "network", "ls", "-f", "name=db", "--format", "json")
    assert [json.loads(line)["name"] for line in lines] == ["db"]
    table = cli(state, capsys, "network", "ls", "-f", "name=front",
                "--format", "table {{.Name}}\\t{{.Driver}}\\t{{.Labels}}")  # fmt: skip
    assert [line.split() for line in table] == [
        ["NAME", "DRIVER", "LABELS"],
        ["web-front", "null", "tier=front,x="],
    ]
    default = cli(state, capsys, "network", "ls", "--format", "table", "-f", "name=db")
    assert default[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE", "STATUS"]
    assert names(state, capsys, "-f", "name=db") == ["db"]
    fields = cli(
        state, capsys, "network", "ls", "-f", "name=db", "--format", "{{.Name}}/{{.Scope}}"
    )
    assert fields == ["db/local"]


def test_endpoint_and_sandbox_ls_filter_and_format(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(state, capsys, "endpoint", "ls", "-f", "name=i", "--format", "{{.Name}}") == [
        "api",
        "idle",
    ]
    joined = cli(state, capsys, "endpoint", "ls", "-f", "network=web-front",
                 "--format", "{{.Name}} {{.IPv4Address}}", "-f", "name=api")  # fmt: skip
    assert joined == ["api "]  # the null IPAM gives no address
    boxes = cli(state, capsys, "sandbox", "ls", "-f", "name=box", "--format", "{{.ContainerID}}")
    assert boxes == ["box-1"]
    (box,) = cli(state, capsys, "sandbox", "ls", "-q", "-f", "name=box")
    in_box = cli(
        state, capsys, "endpoint", "ls", "-f", f"sandbox={box[:6]}", "--format", "{{.Name}}"
    )
    assert in_box == ["api"]


def test_drivers_and_ipam_ls_filter_and_format(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = cli(state, capsys, "drivers", "-f", "name=null", "--format", "{{.Name}} {{.Scope}}")
    assert listed == ["null local"]
    ipam = cli(state, capsys, "ipam", "ls", "-f", "source=builtin", "--format", "json")
    assert sorted(json.loads(line)["name"] for line in ipam) == ["default", "null"]


def test_unknown_filter_key_is_a_usage_error(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--state-dir", str(state), "network", "ls", "-f", "colour=red"])
    assert exc.value.code == 2
    assert "unknown filter 'colour' in 'colour=red'; use one of: driver" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("{{.Colour}}", "--format names the unknown field .Colour; fields: .ID, .Name"),
        ("jsno", "--format 'jsno' is not 'table', 'json' or a template such as '{{.Name}}'"),
    ],
)
def test_bad_format_is_one_clear_error(
    state: Path, capsys: pytest.CaptureFixture[str], fmt: str, message: str
) -> None:
    assert main(["--state-dir", str(state), "network", "ls", "--format", fmt]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"libnet: error: {message}")
