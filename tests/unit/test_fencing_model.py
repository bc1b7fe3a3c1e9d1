"""The pure fencing rules (vigil.core.fencing: the model and the history)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from vigil.core.fencing import model as f
from vigil.core.fencing.history import FenceHistory, entry


def dev(id_: str, *params: tuple[str, str], agent: str = "fence_x", prio: int = 0) -> f.FenceDevice:
    return f.FenceDevice(id_, agent, tuple(params), prio)


def test_host_list_and_map_parsing() -> None:
    d = dev("d", ("pcmk_host_list", "node1, node2;node3  node4"))
    assert d.host_list == {"node1", "node2", "node3", "node4"}
    d = dev("d", ("pcmk_host_map", "node1:plug1;node2=2,3; node3:"))
    assert d.host_map == {"node1": "plug1", "node2": "2,3", "node3": "node3"}
    assert d.plug_for("node2") == "2,3" and d.plug_for("other") == "other"


def test_host_check_defaults_follow_pacemaker() -> None:
    both = frozenset({"list", "status"})
    assert dev("d", ("pcmk_host_list", "n1")).host_check(both) == "static-list"
    assert dev("d", ("pcmk_host_map", "n1:1")).host_check(both) == "static-list"
    assert dev("d").host_check(both) == "dynamic-list"
    assert dev("d").host_check(frozenset({"status"})) == "status"
    assert dev("d").host_check(frozenset()) == "none"
    assert dev("d", ("pcmk_host_check", "none"), ("pcmk_host_list", "n1")).host_check(both) == (
        "none"
    )


def test_can_fence_by_mode() -> None:
    d = dev("d", ("pcmk_host_map", "node2:p2"))
    assert f.can_fence(d, "node2", "static-list")[0]
    ok, why = f.can_fence(d, "node5", "static-list")
    assert not ok and "node5" in why
    assert f.can_fence(d, "node2", "dynamic-list", frozenset({"p2", "x"}))[0]
    assert not f.can_fence(d, "node2", "dynamic-list", frozenset({"node3"}))[0]
    assert not f.can_fence(d, "node2", "dynamic-list", None)[0]
    assert f.can_fence(d, "node2", "status", status_rc=2)[0]
    assert not f.can_fence(d, "node2", "status", status_rc=1)[0]
    assert f.can_fence(d, "anyone", "none")[0]


def test_host_argument() -> None:
    assert dev("d").host_argument(frozenset({"plug", "port"})) == "plug"
    assert dev("d").host_argument(frozenset({"port"})) == "port"
    assert dev("d").host_argument(frozenset()) is None
    assert dev("d", ("pcmk_host_argument", "uuid")).host_argument(frozenset()) == "uuid"
    assert dev("d", ("pcmk_host_argument", "none")).host_argument(frozenset({"plug"})) is None


def test_agent_stdin() -> None:
    d = dev(
        "d",
        ("ip", "10.0.0.9"),
        ("pcmk_host_map", "node2:7"),
        ("pcmk_reboot_action", "off"),
        ("action", "ignored"),
    )
    lines = f.agent_stdin(d, "reboot", "node2", "plug").decode().splitlines()
    assert lines == ["action=off", "ip=10.0.0.9", "plug=7", "nodename=node2"]
    assert f.agent_stdin(d, "list", None, "plug").decode().splitlines() == [
        "action=list",
        "ip=10.0.0.9",
    ]
    fixed = dev("d", ("port", "9"))
    assert "port=node2" not in f.agent_stdin(fixed, "off", "node2", "port").decode()


def test_timeouts_retries_delay() -> None:
    d = dev(
        "d",
        ("pcmk_reboot_timeout", "90s"),
        ("pcmk_off_retries", "0"),
        ("pcmk_delay_base", "2s"),
        ("pcmk_delay_max", "500ms"),
    )
    assert d.timeout_ms("reboot") == 90_000 and d.timeout_ms("off") == f.DEFAULT_TIMEOUT_MS
    assert d.retries("off") == 0 and d.retries("reboot") == f.DEFAULT_RETRIES
    assert d.delay_ms() == (2000, 500)


def test_parse_duration_ms() -> None:
    assert f.parse_duration_ms("60", 1) == 60_000
    assert f.parse_duration_ms("90s", 1) == 90_000
    assert f.parse_duration_ms("500ms", 1) == 500
    assert f.parse_duration_ms("2min", 1) == 120_000
    assert f.parse_duration_ms("1.5s", 1) == 1500
    assert f.parse_duration_ms(None, 7) == 7 and f.parse_duration_ms("soon", 7) == 7


def test_metadata_and_list_parsing() -> None:
    xml = (
        '<resource-agent name="fence_x"><parameters><parameter name="plug"/>'
        '<parameter name="ip"/></parameters><actions><action name="list"/>'
        '<action name="reboot"/></actions></resource-agent>'
    )
    assert f.parse_metadata(xml) == ({"list", "reboot"}, {"plug", "ip"})
    assert f.parse_metadata("garbage <") == (frozenset(), frozenset())
    assert f.parse_list_output("node1,alias1\nnode2\n\n 7 , seven\n") == {
        "node1",
        "alias1",
        "node2",
        "7",
        "seven",
    }


def test_action_ok() -> None:
    assert f.action_ok("reboot", 0) and not f.action_ok("reboot", 1)
    assert f.action_ok("status", 2) and not f.action_ok("status", 1)
    assert not f.action_ok("off", None)


def test_plan_without_topology_orders_by_priority_then_id() -> None:
    devices = {d.id: d for d in (dev("b"), dev("a"), dev("hi", prio=10), dev("no"))}
    chosen, notes = f.plan("n1", devices, (), ["b", "a", "hi", "ghost"])
    assert chosen == (("hi",), ("a",), ("b",)) and notes == ()


def test_plan_with_topology() -> None:
    devices = {d.id: d for d in (dev("ipmi"), dev("pdu1"), dev("pdu2"))}
    levels = (
        f.FenceLevel(2, ("pdu1", "pdu2"), target="n1"),
        f.FenceLevel(1, ("ipmi",), target="n1"),
        f.FenceLevel(3, ("gone",), target="n1"),
        f.FenceLevel(1, ("pdu1",), target_pattern="n[0-9]+x"),
    )
    chosen, notes = f.plan("n1", devices, levels, [])
    assert chosen == (("ipmi",), ("pdu1", "pdu2"))
    assert len(notes) == 1 and "gone" in notes[0]
    assert f.plan("n7x", devices, levels, [])[0] == (("pdu1",),)
    assert f.plan("other", devices, levels, ["ipmi"])[0] == (("ipmi",),)


def test_level_steps() -> None:
    assert f.level_steps(("a",), "reboot") == (("a", "reboot"),)
    steps = f.level_steps(("a", "b"), "reboot")
    assert steps == (("a", "off"), ("b", "off"), ("a", "on"), ("b", "on"))
    assert f.level_steps(("a", "b"), "off") == (("a", "off"), ("b", "off"))


def test_from_cib_xml() -> None:
    resources = ET.fromstring(
        """<resources>
        <primitive id="f1" class="stonith" type="fence_dummy">
          <instance_attributes id="f1-ia">
            <nvpair id="a" name="pcmk_host_list" value="n1 n2"/>
            <nvpair id="b" name="status_file" value="/tmp/s"/>
          </instance_attributes>
          <meta_attributes id="f1-ma"><nvpair id="c" name="priority" value="5"/></meta_attributes>
        </primitive>
        <primitive id="web" class="ocf" provider="vigil" type="Dummy"/>
        </resources>"""
    )
    devices = f.devices_from_xml(resources)
    assert list(devices) == ["f1"]
    assert devices["f1"].agent == "fence_dummy" and devices["f1"].priority == 5
    assert devices["f1"].host_list == {"n1", "n2"}
    topo = ET.fromstring(
        """<fencing-topology>
        <fencing-level id="l1" index="1" target="n1" devices="f1,f2"/>
        <fencing-level id="l2" index="2" target-pattern="n.*" devices="f3"/>
        <fencing-level id="bad" index="x" target="n1" devices="f4"/>
        </fencing-topology>"""
    )
    assert f.levels_from_xml(topo) == (
        f.FenceLevel(1, ("f1", "f2"), "n1", ""),
        f.FenceLevel(2, ("f3",), "", "n.*"),
    )
    assert f.levels_from_xml(None) == ()


def test_history_merges_states_of_one_fencing_bounds_and_last_fenced() -> None:
    h = FenceHistory(limit=5)
    h.merge(entry("n2", "reboot", "pending", "", "n1", 100.0, None))
    h.merge(entry("n3", "off", "pending", "", "n1", 101.0, None))
    h.merge(entry("n2", "reboot", "success", "f1", "n1", 100.0, 105.5))
    assert [(e["target"], e["state"], e["completed"]) for e in h] == [
        ("n2", "success", 105.5), ("n3", "pending", None)]
    assert set(h.entries[0]) == {"target", "action", "state", "device", "origin",
                                 "requested", "completed", "reason"}
    for i in range(10):
        h.merge(entry("n", "on", "pending", "", "x", float(i), None))
    assert len(h) == 5 and h.entries[-1]["requested"] == 9.0
    h.fenced(2, 1000)
    assert h.fenced_within(2, 1500, 600) and not h.fenced_within(2, 1700, 600)
    h.heard_again(2)
    assert not h.fenced_within(2, 1001, 600)
