"""A changed resource definition (Pacemaker's digest comparison, scheduler/definition.py).

Outcomes are pinned against crm_simulate 2.1.5 by the cases in tests/scheduler_cases
(param-change-*, monitor-*-change, clone-param-change*, ...); these tests add the orderings,
the notes, the sanitized switch and a round trip through vigil's own status writer.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from vigil.core import digest as D
from vigil.core.events import Command, Execute
from vigil.core.graph import Action, Agent, Transition
from vigil.core.scheduler import schedule
from vigil.core.scheduler.definition import CheckContext, check_history, only_secrets_changed
from vigil.core.scheduler.model import OpSpec, RscSpec
from vigil.core.scheduler.records import OpRecord
from vigil.testing.simnet import SimCluster

from .test_digest import _config, _converge, _pacemaker_actions, _running_on, _set

CASES = Path(__file__).resolve().parents[1] / "scheduler_cases"
NOW_S = 1_750_000_000
INSTANCE = re.compile(r":\d+(?=_)")


def case(name: str) -> etree._Element:
    return etree.parse(str(CASES / f"{name}.xml")).getroot()


def keys(tr: Transition) -> set[str]:
    """Executor actions as "<key> <node>", clone instance numbers removed."""
    return {f"{'Cancel ' if a.task == 'cancel' else ''}{INSTANCE.sub('', a.key)} {a.node}"
            for a in tr.actions if a.kind == "rsc"}


def find(tr: Transition, key: str) -> Action:
    (found,) = [a for a in tr.actions if a.key == key and a.task != "cancel"]
    return found


def before(tr: Transition, first: Action, then: Action) -> bool:
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


# --- orderings and reasons -----------------------------------------------------------------

def test_restart_stops_then_starts_then_monitors() -> None:
    tr = schedule(case("param-change-restart"), NOW_S)
    stop, start, mon = find(tr, "db_stop_0"), find(tr, "db_start_0"), find(tr, "db_monitor_10000")
    assert before(tr, stop, start) and before(tr, start, mon)
    assert dict(start.params) == {"fake": "v2"}
    assert "restart db node1" in tr.summary
    assert "db on node1: db_start_0 definition changed: restart" in tr.notes
    assert "db on node1: db_monitor_10000 definition changed: reschedule" in tr.notes


def test_group_restart_follows_member_order() -> None:
    tr = schedule(case("group-member-param-change"), NOW_S)
    assert not [a for a in tr.actions if a.rsc == "vip"]
    http_stop, app_stop = find(tr, "http_stop_0"), find(tr, "app_stop_0")
    http_start, app_start = find(tr, "http_start_0"), find(tr, "app_start_0")
    assert before(tr, app_stop, http_stop) and before(tr, http_stop, http_start)
    assert before(tr, http_start, app_start)


def test_ordered_dependent_restarts_around_the_changed_resource() -> None:
    tr = schedule(case("param-change-ordered"), NOW_S)
    assert before(tr, find(tr, "app_stop_0"), find(tr, "db_stop_0"))
    assert before(tr, find(tr, "db_start_0"), find(tr, "app_start_0"))


def test_new_monitor_timeout_reschedules_without_cancel_or_restart() -> None:
    tr = schedule(case("monitor-timeout-change"), NOW_S)
    (mon,) = tr.actions
    assert (mon.key, mon.node, mon.interval_ms, mon.timeout_ms) == (
        "db_monitor_10000", "node1", 10000, 30000)
    assert not tr.summary


def test_missing_digest_is_a_change_but_only_for_active_history() -> None:
    assert keys(schedule(case("no-digest-restart"), NOW_S)) == {
        "db_stop_0 node1", "db_start_0 node1", "db_monitor_10000 node1"}
    # the probes that found db stopped on node2/node3 carry digests of a parameter-less db,
    # which would differ now; stopped histories are not compared
    assert keys(schedule(case("param-change-restart"), NOW_S)) == {
        "db_stop_0 node1", "db_start_0 node1", "db_monitor_10000 node1"}


# --- sanitized CIBs (crm_simulate -x, vigilctl simulate) ------------------------------------

def _mask_fake(cib: etree._Element) -> etree._Element:
    """param-change-restart as a crm_report would leave it: ``fake`` listed as a secret,
    with the secure digests of the other (unchanged) parameters."""
    cib = copy.deepcopy(cib)
    for op in cib.iter("lrm_rsc_op"):
        interval = int(op.get("interval") or 0)
        full = D.filter_for_digest(D.call_params([("fake", "v1")], interval, 20000))
        op.set("op-secure-params", " fake ")
        op.set("op-secure-digest", D.secure_digest(full, " fake "))
    return cib


def test_sanitized_ignores_a_change_of_secrets_only() -> None:
    cib = _mask_fake(case("param-change-restart"))
    assert schedule(cib, NOW_S, sanitized=True).is_empty
    # the daemon is never sanitized: a changed secret restarts as Pacemaker's daemon does
    assert "db_start_0 node1" in keys(schedule(cib, NOW_S))


def test_sanitized_still_restarts_when_other_parameters_changed() -> None:
    cib = _mask_fake(case("param-change-restart"))
    params = cib.xpath("//primitive[@id='db']/instance_attributes")[0]
    etree.SubElement(params, "nvpair", id="db-params-x", name="x", value="1")
    assert "db_start_0 node1" in keys(schedule(cib, NOW_S, sanitized=True))


def _rec(task: str, interval_ms: int = 0, **kw: str | None) -> OpRecord:
    return OpRecord(id=f"r_{task}_{interval_ms}", key=f"r_{task}_{interval_ms}", task=task,
                    interval_ms=interval_ms, rc=0, status=0, call_id=1, target_rc=0,
                    last_rc_change=None, exit_reason="", order=0, **kw)  # type: ignore[arg-type]


def test_secure_digest_before_feature_set_3_16_hashes_instance_attributes_only() -> None:
    spec = RscSpec(id="f", kind="primitive", params=(
        ("ip", "1"), ("passwd", "****"), ("pcmk_host_list", "n1"), ("pcmk_reboot_timeout", "9")))
    ctx = CheckContext(spec=spec, maintenance=False, stop_orphan_actions=True,
                       default_timeout_ms=20000)
    fence_ctx = CheckContext(spec=RscSpec(id="f", kind="primitive", params=spec.params,
                                          agent=Agent("stonith", None, "fence_dummy")),
                             maintenance=False, stop_orphan_actions=True,
                             default_timeout_ms=20000)
    old = D.digest_of({"ip": "1"})
    op = _rec("start", secure_digest=old, secure_params=" passwd ", feature_set="3.0.12")
    assert only_secrets_changed(op, fence_ctx)  # fence-device parameters left out
    assert not only_secrets_changed(op, ctx)  # a plain agent keeps pcmk_* names
    assert not only_secrets_changed(_rec("start", secure_params=" passwd "), fence_ctx)


# --- definition.check_history --------------------------------------------------------------

SPEC = RscSpec(id="r", kind="primitive", params=(("a", "1"),), ops=(
    OpSpec(id="m", name="monitor", interval_ms=10000, timeout_ms=20000),
    OpSpec(id="off", name="monitor", interval_ms=30000, timeout_ms=20000, enabled=False)))


def _ctx(**kw: object) -> CheckContext:
    base: dict[str, object] = {"spec": SPEC, "maintenance": False, "stop_orphan_actions": True,
                               "default_timeout_ms": 20000}
    base.update(kw)
    return CheckContext(**base)  # type: ignore[arg-type]


def test_check_history_rules() -> None:
    good_start = _rec("start", digest=D.op_digest([("a", "1")], 0, 20000))
    good_mon = _rec("monitor", 10000, digest=D.op_digest([("a", "1")], 10000, 20000))
    assert not check_history([good_start, good_mon], _ctx()).changed
    # stop, demote and notify are never compared; start-like ops and probes are
    assert not check_history([_rec("stop"), _rec("demote"), _rec("notify")], _ctx()).changed
    for task in ("start", "promote", "monitor", "migrate_from"):
        v = check_history([_rec(task, digest="0" * 32)], _ctx())
        assert v.restart and v.changed and not v.reschedule, task
    v = check_history([good_start, _rec("monitor", 10000, digest="0" * 32)], _ctx())
    assert (v.restart, v.reschedule, v.cancels) == (False, {("monitor", 10000)}, [])
    # a disabled op is no longer configured: cancel it (a change), unless told not to
    v = check_history([good_start, _rec("monitor", 30000)], _ctx())
    assert v.cancels == [("monitor", 30000)] and v.changed and not v.reschedule
    v = check_history([_rec("monitor", 30000)], _ctx(stop_orphan_actions=False))
    assert v.cancels == [] and v.changed
    # maintenance cancels recurring ops and still compares the start
    v = check_history([_rec("start"), good_mon], _ctx(maintenance=True))
    assert v.cancels == [("monitor", 10000)] and v.restart


# --- vigil reads back what vigil wrote ------------------------------------------------------

@pytest.fixture(scope="module")
def settled() -> etree._Element:
    return _converge(_config())


def test_vigil_proposes_nothing_on_its_own_history(settled: etree._Element) -> None:
    assert schedule(settled, NOW_S).is_empty
    assert schedule(settled, NOW_S, sanitized=True).is_empty


def _restart(rsc: str, monitor: str, n: int = 1) -> Counter[str]:
    return Counter({f"{rsc}_stop_0": n, f"{rsc}_start_0": n, f"{rsc}_{monitor}": n})


# (what, xpath, attribute, new value, executor actions expected, by key)
CHANGES = [
    ("parameter", "//primitive[@id='d1']//nvpair[@name='fake']", "value", "changed",
     _restart("d1", "monitor_10000")),
    ("IPaddr2 parameter", "//primitive[@id='ip']//nvpair[@name='nic']", "value", "eth1",
     _restart("ip", "monitor_10000")),
    ("fencing parameter", "//primitive[@id='fence1']//nvpair[@name='delay']", "value", "2",
     _restart("fence1", "monitor_60000")),
    ("escaped parameter", "//primitive[@id='odd']//nvpair[@name='e']", "value", "x",
     _restart("odd", "monitor_60000")),
    ("monitor timeout", "//op[@id='d1-monitor-10s']", "timeout", "31s",
     Counter({"d1_monitor_10000": 1})),
    ("start timeout", "//op[@id='d2-start-0s']", "timeout", "46s", Counter()),
    ("meta-attribute", "//primitive[@id='d2']//nvpair[@name='resource-stickiness']", "value",
     "200", Counter()),
    # every recurring op without a timeout of its own
    ("op_defaults timeout", "//nvpair[@id='opd-t']", "value", "34s",
     Counter({"d2_monitor_15000": 1, "fence1_monitor_60000": 1, "g1_monitor_10000": 1,
              "st_monitor_11000": 3})),
    ("group attribute", "//group[@id='g']//nvpair[@name='passwd']", "value", "new",
     _restart("g1", "monitor_10000") + _restart("g2", "monitor_5000")),
    ("clone attribute", "//clone[@id='cl']//nvpair[@name='op_sleep']", "value", "2",
     _restart("cd", "monitor_20000", 3)),
    ("promotable parameter", "//primitive[@id='st']//nvpair[@name='state']", "value",
     "/run/st2", _restart("st", "monitor_11000", 3)),
]
IDS = [c[0] for c in CHANGES]


def _changed(settled: etree._Element, xpath: str, attr: str, value: str) -> etree._Element:
    cib = copy.deepcopy(settled)
    _set(cib, xpath, attr, value)
    return cib


@pytest.mark.parametrize(("change", "xpath", "attr", "value", "expected"), CHANGES, ids=IDS)
def test_vigil_reacts_to_definition_changes(
        settled: etree._Element, change: str, xpath: str, attr: str, value: str,
        expected: Counter[str]) -> None:
    tr = schedule(_changed(settled, xpath, attr, value), NOW_S)
    got = Counter(INSTANCE.sub("", a.key) for a in tr.actions if a.kind == "rsc")
    assert got == expected, change
    for rsc in {k.split("_")[0] for k in expected if k.endswith("_start_0")}:
        assert all(a.node == _running_on(settled, rsc) or ":" in (a.rsc or "")
                   for a in tr.actions if a.rsc == rsc), "restarted where it runs"


@pytest.mark.parametrize(("change", "xpath", "attr", "value", "expected"), CHANGES, ids=IDS)
def test_crm_simulate_agrees(
        settled: etree._Element, tmp_path: Path, change: str, xpath: str, attr: str,
        value: str, expected: Counter[str]) -> None:
    cib = _changed(settled, xpath, attr, value)
    pacemaker = {INSTANCE.sub("", a) for a in _pacemaker_actions(cib, tmp_path)}
    assert keys(schedule(cib, NOW_S, sanitized=True)) == pacemaker, change


# --- the whole loop: DC, executor results, status writer ------------------------------------

class _LoggedCluster(SimCluster):
    """The simulated cluster, remembering every executor action as "<key> <node>"."""

    def __init__(self) -> None:
        super().__init__(3)
        self.log: list[str] = []

    def _do(self, src: int, cmd: Command) -> None:
        if isinstance(cmd, Execute):
            self.log.append(f"{cmd.action.key} node{src}")
        super()._do(src, cmd)

    def ask(self, **req: object) -> list[str]:
        rid = self.request(1, **req)
        self.run(5000)
        reply = self.reply(1, rid)
        assert reply is not None and reply["ok"], reply
        done, self.log = self.log, []
        return done


def test_cluster_restarts_once_then_settles() -> None:
    sim = _LoggedCluster()
    sim.run(3000)
    sim.ask(op="property_set", name="stonith-enabled", value="false")
    started = sim.ask(op="resource_create", id="db", agent="ocf:pacemaker:Dummy",
                      params={"fake": "v1"}, meta={"resource-stickiness": "100"},
                      ops=[{"name": "monitor", "interval": "10s", "timeout": "20s"}])
    assert "db_start_0 node1" in started
    live = sim.nodes[1].ctrl.cib.find(".//primitive[@id='db']")
    assert live is not None
    prim = copy.deepcopy(live)  # edited here, sent as a client would

    def put(xpath: str, attr: str, value: str) -> list[str]:
        _set(prim, xpath, attr, value)
        return sim.ask(op="cib_put", section="resources", mode="upsert",
                       xml=etree.tostring(prim).decode())

    assert put(".//nvpair[@name='fake']", "value", "v2") == [
        "db_stop_0 node1", "db_start_0 node1", "db_monitor_10000 node1"]
    assert put(".//op[@name='monitor']", "timeout", "30s") == ["db_monitor_10000 node1"]
    assert put(".//meta_attributes/nvpair", "value", "200") == []
    sim.run(20000)
    assert sim.log == []
