"""vigil's own scheduler cases (tests/scheduler_cases): same outcome as crm_simulate 2.1.5,
and the orderings the transition runner relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from vigil.core.graph import Action, Transition
from vigil.core.scheduler import schedule
from vigil.core.scheduler.render import transition_json

from .test_scheduler_pacemaker_cases import compare

CASES = Path(__file__).resolve().parents[1] / "scheduler_cases"
NOW_S = 1_750_000_000
NAMES = sorted(p.stem for p in CASES.glob("*.xml"))


def run(name: str) -> Transition:
    return schedule(etree.parse(str(CASES / f"{name}.xml")).getroot(), NOW_S, sanitized=True)


def test_there_are_enough_cases() -> None:
    assert len(NAMES) >= 10
    assert all((CASES / f"{n}.json").is_file() for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_case_matches_crm_simulate(name: str) -> None:
    expected = json.loads((CASES / f"{name}.json").read_text())
    got = transition_json(run(name))
    assert compare(expected, got) == []
    assert sorted(got["summary"]) == sorted(expected["summary"])
    assert got["cluster_actions"] == expected["cluster_actions"]


def find(tr: Transition, key: str, node: str | None = None) -> Action:
    matches = [a for a in tr.actions if a.key == key and (node is None or a.node == node)]
    assert len(matches) == 1, f"{key} on {node}: {matches}"
    return matches[0]


def before(tr: Transition, first: Action, then: Action) -> bool:
    """True if ``then`` (transitively) requires ``first``."""
    by_id = {a.id: a for a in tr.actions}
    todo, seen = list(then.requires), set()
    while todo:
        i = todo.pop()
        if i == first.id:
            return True
        if i not in seen:
            seen.add(i)
            todo.extend(by_id[i].requires)
    return False


def test_cold_start_probes_before_starts_and_group_in_order() -> None:
    tr = run("cold-start")
    vip, http = find(tr, "vip_start_0"), find(tr, "http_start_0")
    assert vip.node == http.node
    assert before(tr, vip, http)
    for node in ("node1", "node2", "node3"):
        assert before(tr, find(tr, "vip_monitor_0", node), vip)
        assert find(tr, "vip_monitor_0", node).target_rc == 7
    mon = find(tr, "http_monitor_10000")
    assert before(tr, http, mon) and mon.interval_ms == 10000 and mon.timeout_ms == 20000


def test_move_stops_before_starting() -> None:
    tr = run("location-move")
    assert before(tr, find(tr, "db_stop_0", "node1"), find(tr, "db_start_0", "node3"))


def test_fencing_precedes_recovery_and_implies_stops() -> None:
    tr = run("lost-node-fencing")
    fence = [a for a in tr.actions if a.kind == "fence"]
    assert [(a.task, a.node) for a in fence] == [("reboot", "node1")]
    start = find(tr, "vip_start_0", "node3")
    assert before(tr, fence[0], start)
    stops = [a for a in tr.actions if a.task == "stop" and a.node == "node1"]
    assert stops and all(a.kind == "pseudo" for a in stops)


def test_recover_in_place_orders_stop_start_monitor() -> None:
    tr = run("failed-monitor-recover")
    stop, start = find(tr, "db_stop_0", "node1"), find(tr, "db_start_0", "node1")
    mon = find(tr, "db_monitor_10000", "node1")
    assert before(tr, stop, start) and before(tr, start, mon)
    assert start.agent is not None and start.agent.spec == "ocf:pacemaker:Dummy"


def test_migration_orders_migrate_to_from_then_stop_and_monitor() -> None:
    tr = run("migrate-move")
    to, frm = find(tr, "vm_migrate_to_0", "node1"), find(tr, "vm_migrate_from_0", "node2")
    stop, mon = find(tr, "vm_stop_0", "node1"), find(tr, "vm_monitor_10000", "node2")
    assert before(tr, to, frm) and before(tr, frm, stop) and before(tr, frm, mon)
    assert dict(to.meta)["migrate_source"] == "node1"
    assert dict(to.meta)["migrate_target"] == dict(frm.meta)["migrate_target"] == "node2"
    start = [a for a in tr.actions if a.key == "vm_start_0"]
    assert [a.kind for a in start] == ["pseudo"]
    cont = run("migrate-partial-continue")
    assert not [a for a in cont.actions if a.task == "migrate_to"]
    assert before(cont, find(cont, "vm_migrate_from_0", "node2"),
                  find(cont, "vm_stop_0", "node1"))


def test_steady_state_has_nothing_to_do() -> None:
    assert run("steady-stickiness").is_empty


def find_instance(tr: Transition, base: str, op: str, node: str) -> Action:
    """A clone instance's action (keys carry the instance number: ``db:1_promote_0``)."""
    matches = [a for a in tr.actions if a.node == node and a.task != "cancel"
               and a.rsc is not None and a.rsc.split(":")[0] == base
               and a.key == f"{a.rsc}_{op}"]
    assert len(matches) == 1, f"{base} {op} on {node}: {matches}"
    return matches[0]


def test_promotable_failover_promotes_with_promoted_monitor() -> None:
    tr = run("promotable-failover")
    promote = find_instance(tr, "db", "promote_0", "node3")
    mon = find_instance(tr, "db", "monitor_9000", "node3")
    assert mon.target_rc == 8 and before(tr, promote, mon)
    cancel = [a for a in tr.actions if a.task == "cancel" and a.node == "node3"]
    assert [a.interval_ms for a in cancel] == [11000] and before(tr, cancel[0], promote)
    assert tr.roles["db"] == {"Promoted": ("node3",), "Unpromoted": ("node2",)}
    assert dict(promote.meta)["clone_max"] == "3"


def test_notes_explain_blocked_actions() -> None:
    tr = run("no-quorum-freeze")
    assert "blocked: start app node2" in tr.notes
