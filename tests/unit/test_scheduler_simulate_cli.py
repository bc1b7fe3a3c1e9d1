"""``vigilctl simulate`` (vigil.cli.simulate): options, output formats, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigil.cli.simulate import main
from vigil.core.scheduler.render import summary_text

CASES = Path(__file__).resolve().parents[1] / "scheduler_cases"
NOW = ["--now", "1750000000"]


def sim(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["simulate", *args, *NOW])
    out = capsys.readouterr()
    return rc, out.out, out.err


def case(name: str) -> str:
    return str(CASES / f"{name}.xml")


def test_json_has_oracle_keys_and_fencing(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = sim(capsys, "--xml-file", case("lost-node-fencing"), "--json")
    data = json.loads(out)
    assert rc == 0
    assert {"placements", "roles", "actions", "fencing", "summary"} <= set(data)
    assert data["fencing"] == ["node1"] and data["fencing_ops"] == ["reboot node1"]
    assert data["placements"]["web"] == ["node3"]
    assert "vip_start_0 node3" in data["actions"]
    assert data["nodes"]["node1"] == ["offline", "unclean"]


def test_show_scores(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = sim(capsys, "--xml-file", case("location-move"), "--json", "--show-scores")
    assert rc == 0
    assert json.loads(out)["scores"]["primitive"]["db"]["node3"] == 50


def test_node_fail_moves_resources_off(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = sim(capsys, "--xml-file", case("steady-stickiness"), "--json",
                     "--node-fail", "node1")
    data = json.loads(out)
    assert rc == 0 and data["placements"]["db"] == ["node3"]
    assert all(not a.endswith(" node1") for a in data["actions"])


def test_op_fail_injects_a_failed_monitor(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = sim(capsys, "--xml-file", case("steady-stickiness"), "--json",
                     "--op-fail", "db_monitor_10000@node1=7")
    data = json.loads(out)
    assert rc == 0 and data["summary"] == ["recover db node1"]
    assert "db_stop_0 node1" in data["actions"]


def test_set_quorum_false_stops_everything(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = sim(capsys, "--xml-file", case("steady-stickiness"), "--json",
                     "--set-quorum", "false")
    assert rc == 0 and json.loads(out)["summary"] == ["stop db node1"]


def test_human_output_and_dot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dot = tmp_path / "graph.dot"
    rc, out, _ = sim(capsys, "--xml-file", case("location-move"), "--dot", str(dot))
    assert rc == 0
    assert "Transition Summary:" in out
    assert "* Move       db" in out and "( node1 -> node3 )" in out
    text = dot.read_text()
    assert text.startswith(' digraph "g" {')
    assert '"db_stop_0 node1" -> "db_start_0 node3"' in text


@pytest.mark.parametrize("content,needle", [
    (None, "cannot read"),
    ("<cib", "not well-formed"),
    ("<cib><configuration><resources/><constraints><rsc_location id='l' rsc='x' "
     "node='n' score='1'/></constraints></configuration></cib>", "rsc_location id='l'"),
])
def test_bad_input_exits_2_with_a_message(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          content: str | None, needle: str) -> None:
    path = tmp_path / "cib.xml"
    if content is not None:
        path.write_text(content)
    rc, out, err = sim(capsys, "--xml-file", str(path))
    assert rc == 2 and needle in err and "Traceback" not in err


def test_bad_op_fail_spec_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = sim(capsys, "--xml-file", case("cold-start"), "--op-fail", "nonsense")
    assert rc == 2 and "--op-fail" in err


def test_summary_text_formats() -> None:
    assert summary_text("move web node1->node2") == \
        "  * Move       web                  ( node1 -> node2 )"
    assert summary_text("start app node2 [blocked]").endswith("( node2 )  blocked")
    assert summary_text("fence(reboot) node1") == "  * Fence (reboot) node1"
    assert "Stopped -> Promoted node2" in summary_text(
        "promote ms:1 node2 (Stopped->Promoted)")


def test_json_shows_a_definition_change(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = sim(capsys, "--xml-file", case("group-member-param-change"), "--json")
    data = json.loads(out)
    assert rc == 0 and data["summary"] == ["restart app node1", "restart http node1"]
    assert {"http_stop_0 node1", "http_start_0 node1", "app_stop_0 node1",
            "app_start_0 node1"} <= set(data["actions"])
    assert not [a for a in data["actions"] if a.startswith("vip_")]
    assert "http on node1: http_start_0 definition changed: restart" in data["notes"]
    rc, out, _ = sim(capsys, "--xml-file", case("monitor-interval-change"), "--json")
    data = json.loads(out)
    assert data["actions"] == ["Cancel db_monitor_10000 node1", "db_monitor_20000 node1"]
    assert data["notes"] == ["db on node1: db_monitor_10000 no longer configured: cancel"]


def test_simulate_reads_the_file_as_sanitized(capsys: pytest.CaptureFixture[str]) -> None:
    """As crm_simulate -x: a change confined to the secrets an op lists in op-secure-params
    (a CIB with masked passwords) restarts nothing."""
    shared = CASES.parents[2] / "shared" / "pacemaker-scheduler-cases" / "xml"
    if not (shared / "on-fail-ignore.xml").is_file():
        pytest.skip(f"shared Pacemaker cases not found at {shared}")
    rc, out, _ = sim(capsys, "--xml-file", str(shared / "on-fail-ignore.xml"), "--json")
    assert rc == 0 and json.loads(out)["actions"] == []



DATED_CIB = """<cib execution-date="1106179200" have-quorum="1"><configuration>
<crm_config><cluster_property_set id="o">
<nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes><node id="node1" uname="node1"/><node id="node2" uname="node2"/></nodes>
<resources><primitive id="rsc1" class="ocf" provider="heartbeat" type="Dummy"/></resources>
<constraints><rsc_location id="before-2010" rsc="rsc1">
<rule id="r" score="100" boolean-op="and">
<expression id="e" attribute="#uname" operation="eq" value="node2"/>
<date_expression id="d" operation="lt" end="2010-01-01"/></rule></rsc_location>
</constraints></configuration><status>
<node_state id="node1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
<node_state id="node2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
</status></cib>"""


def test_now_defaults_to_the_execution_date(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    """As crm_simulate: without --now, date rules are judged at the CIB's execution-date
    (2005 here, so the rule holds); an explicit --now wins."""
    path = tmp_path / "dated.xml"
    path.write_text(DATED_CIB)
    assert main(["simulate", "--xml-file", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["placements"]["rsc1"] == ["node2"]
    rc, out, _ = sim(capsys, "--xml-file", str(path), "--json")
    assert rc == 0 and json.loads(out)["placements"]["rsc1"] == ["node1"]
