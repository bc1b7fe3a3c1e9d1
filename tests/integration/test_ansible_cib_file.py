"""vigil.cluster.cib_resource against a CIB file, run through ansible-playbook.

What a user checks: changed on the first run and not on the second, check mode writes
nothing, diff mode shows before and after, an update keeps the resource's id, delete works,
and bad input fails clearly and leaves the file byte-identical.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from .ansible_run import run_module

WEB: dict[str, Any] = {
    "id": "web",
    "agent": "ocf:vigil:http",
    "params": {"docroot": "/srv/www", "port": 8080, "ip": "127.0.0.1"},
    "ops": [{"name": "monitor", "interval": "2s", "timeout": "10s"}],
}

GROUP_CIB = """<cib admin_epoch="0" epoch="3" num_updates="0">
  <configuration><crm_config/><nodes/><resources>
    <group id="g1"><primitive id="a" class="ocf" provider="vigil" type="Dummy"/></group>
  </resources><constraints/></configuration><status/></cib>
"""


def resource(tmp_path: Path, **params: Any) -> dict[str, Any]:
    check = params.pop("_check", False)
    diff = params.pop("_diff", False)
    return run_module(tmp_path, "vigil.cluster.cib_resource", params, check=check, diff=diff)


def version(path: Path) -> tuple[int, int]:
    cib = ET.parse(path).getroot()
    return int(cib.get("admin_epoch", "0")), int(cib.get("epoch", "0"))


@pytest.fixture
def cib_file(tmp_path: Path) -> Path:
    return tmp_path / "cib.xml"


def test_create_then_rerun_is_unchanged(tmp_path: Path, cib_file: Path) -> None:
    first = resource(tmp_path, cib_file=str(cib_file), **WEB)
    assert first["changed"] is True and first["action"] == "create", first
    assert first["resource"]["agent"] == "ocf:vigil:http"
    assert first["resource"]["params"] == {"docroot": "/srv/www", "port": "8080", "ip": "127.0.0.1"}
    prim = ET.parse(cib_file).getroot().find("configuration/resources/primitive")
    assert prim is not None and prim.get("id") == "web"
    assert prim.find("operations/op").get("id") == "web-monitor-interval-2s"
    before = cib_file.read_bytes()

    second = resource(tmp_path, cib_file=str(cib_file), **WEB)
    assert second["changed"] is False and second["action"] == "none", second
    assert cib_file.read_bytes() == before


def test_check_mode_predicts_and_writes_nothing(tmp_path: Path, cib_file: Path) -> None:
    predicted = resource(tmp_path, cib_file=str(cib_file), _check=True, **WEB)
    assert predicted["changed"] is True and predicted["action"] == "create"
    assert not cib_file.exists()

    resource(tmp_path, cib_file=str(cib_file), **WEB)
    before = cib_file.read_bytes()
    update = dict(WEB, params=dict(WEB["params"], port=9090))
    predicted = resource(tmp_path, cib_file=str(cib_file), _check=True, **update)
    assert predicted["changed"] is True and predicted["resource"]["params"]["port"] == "9090"
    assert cib_file.read_bytes() == before
    same = resource(tmp_path, cib_file=str(cib_file), _check=True, **WEB)
    assert same["changed"] is False


def test_diff_mode_shows_before_and_after(tmp_path: Path, cib_file: Path) -> None:
    created = resource(tmp_path, cib_file=str(cib_file), _diff=True, **WEB)
    assert created["diff"]["before"] == ""
    assert (
        '<primitive id="web" class="ocf" provider="vigil" type="http">' in created["diff"]["after"]
    )

    update = dict(WEB, params=dict(WEB["params"], port=9090))
    updated = resource(tmp_path, cib_file=str(cib_file), _diff=True, **update)
    assert 'name="port" value="8080"' in updated["diff"]["before"]
    assert 'name="port" value="9090"' in updated["diff"]["after"]
    assert "--- before" in updated["_stdout"] and "+++ after" in updated["_stdout"]


def test_update_in_place_keeps_ids(tmp_path: Path, cib_file: Path) -> None:
    resource(tmp_path, cib_file=str(cib_file), **WEB)
    epoch = version(cib_file)
    update = dict(WEB, params=dict(WEB["params"], port=9090), meta={"resource-stickiness": 100})
    result = resource(tmp_path, cib_file=str(cib_file), **update)
    assert result["changed"] is True and result["action"] == "update"
    assert version(cib_file) == (epoch[0], epoch[1] + 1)
    prims = ET.parse(cib_file).getroot().findall("configuration/resources/primitive")
    assert len(prims) == 1 and prims[0].get("id") == "web"
    port = prims[0].find("instance_attributes/nvpair[@name='port']")
    assert port.get("id") == "web-instance_attributes-port" and port.get("value") == "9090"
    assert (
        prims[0].find("meta_attributes/nvpair").get("id")
        == "web-meta_attributes-resource-stickiness"
    )


def test_omitted_options_are_kept(tmp_path: Path, cib_file: Path) -> None:
    resource(tmp_path, cib_file=str(cib_file), **WEB)
    before = cib_file.read_bytes()
    result = resource(tmp_path, cib_file=str(cib_file), id="web", agent="ocf:vigil:http")
    assert result["changed"] is False and result["resource"]["params"]["port"] == "8080"
    assert cib_file.read_bytes() == before


def test_delete(tmp_path: Path, cib_file: Path) -> None:
    resource(tmp_path, cib_file=str(cib_file), **WEB)
    predicted = resource(tmp_path, cib_file=str(cib_file), id="web", state="absent", _check=True)
    assert predicted["changed"] is True and predicted["action"] == "delete"
    assert ET.parse(cib_file).getroot().find(".//primitive[@id='web']") is not None

    deleted = resource(tmp_path, cib_file=str(cib_file), id="web", state="absent")
    assert deleted["changed"] is True and deleted["resource"] is None
    assert deleted["removed"] == ["web"]
    assert ET.parse(cib_file).getroot().find(".//primitive[@id='web']") is None
    before = cib_file.read_bytes()
    again = resource(tmp_path, cib_file=str(cib_file), id="web", state="absent")
    assert again["changed"] is False
    assert cib_file.read_bytes() == before


@pytest.mark.parametrize(
    "change, words",
    [
        ({"agent": "vigil:http"}, "is not 'ocf:PROVIDER:TYPE'"),
        ({"ops": [{"name": "monitor", "interval": "often"}]}, "ops[0].interval"),
        ({"ops": [{"interval": "10s"}]}, "'name' is required"),
        (
            {"ops": [{"name": "monitor", "interval": "10s"}, {"name": "monitor", "interval": 10}]},
            "duplicates ops[0]",
        ),
        ({"id": "9web"}, "not a valid XML id"),
        ({"id": "g1"}, "already used by a <group>"),
        ({"agent": None}, "state is present but all of the following are missing: agent"),
    ],
)
def test_bad_input_fails_clearly_and_changes_nothing(
    tmp_path: Path, cib_file: Path, change: dict[str, Any], words: str
) -> None:
    cib_file.write_text(GROUP_CIB)
    before = cib_file.read_bytes()
    params = dict(WEB, **change)
    if params["agent"] is None:
        del params["agent"]
    result = resource(tmp_path, cib_file=str(cib_file), **params)
    assert result.get("failed") is True, result
    assert words in result["msg"], result["msg"]
    assert result["changed"] is False
    assert cib_file.read_bytes() == before


def test_module_defaults_group_sets_the_cib_file(tmp_path: Path, cib_file: Path) -> None:
    result = run_module(
        tmp_path,
        "vigil.cluster.cib_resource",
        WEB,
        play_extra={
            "module_defaults": {"group/vigil.cluster.cluster": {"cib_file": str(cib_file)}}
        },
    )
    assert result["changed"] is True
    assert ET.parse(cib_file).getroot().find(".//primitive[@id='web']") is not None
