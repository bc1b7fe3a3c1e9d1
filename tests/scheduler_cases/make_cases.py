#!/usr/bin/env python3
"""Write vigil's own scheduler cases (CIB in the daemon's status format) and, with
``--oracle``, their expected results from crm_simulate 2.1.5 via ``tools/oracle.py``.

    python tests/scheduler_cases/make_cases.py --oracle ../shared/tools/oracle.py

Each case is ``NAME.xml`` (input) and ``NAME.json`` (oracle output, checked by
``tests/unit/test_scheduler_own_cases.py``). Status entries follow what vigild writes
(Pacemaker 2.1.5 format); ``crm_feature_set`` is 3.16.1 because crm_simulate 2.1.5 refuses
to simulate on newer CIBs.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
UUID = "6a1e9b5c-0d7a-4c63-8a2e-1f0f6b1d2e3a"
T0 = 1_700_000_000
# Pacemaker's parameter digests for these agents' ops (no instance attributes, monitors
# with timeout 20s); a missing or different digest makes Pacemaker restart the resource.
DIGEST_OP = "f2317cad3d54cec5d7d7aa7d0bf35cf8"
DIGEST_MONITOR = "4811cef7f7f94e3a35a70be7916cb2fd"
NODES3 = [("1", "node1"), ("2", "node2"), ("3", "node3")]


def pcmk_digest(params: dict[str, str], interval: int = 0, timeout_ms: int = 20000) -> str:
    """Pacemaker's op-digest for plain ASCII parameters (no escaping needed): the MD5 of
    `` <parameters a="1" .../>\\n`` with a recurring op's ``CRM_meta_timeout``."""
    items = dict(params)
    if interval:
        items["CRM_meta_timeout"] = str(timeout_ms)
    attrs = "".join(f' {k}="{items[k]}"' for k in sorted(items))
    return hashlib.md5(f" <parameters{attrs}/>\n".encode(), usedforsecurity=False).hexdigest()


assert pcmk_digest({}) == DIGEST_OP and pcmk_digest({}, 10000) == DIGEST_MONITOR


def op(rsc: str, task: str, call: int, rc: int = 0, interval: int = 0, target: int = 0,
       node: str = "node1", op_id: str | None = None, status: int = 0,
       digest: str | None = None) -> str:
    """One history entry; ``digest`` overrides the digest of a parameter-less op ("" for
    an entry without op-digest)."""
    op_id = op_id or (f"{rsc}_last_0" if interval == 0 else f"{rsc}_{task}_{interval}")
    if digest is None:
        digest = DIGEST_MONITOR if interval else DIGEST_OP
    dg = f'op-digest="{digest}" ' if digest else ""
    return (f'<lrm_rsc_op id="{op_id}" operation_key="{rsc}_{task}_{interval}" '
            f'operation="{task}" transition-key="3:2:{target}:{UUID}" '
            f'transition-magic="{status}:{rc};3:2:{target}:{UUID}" call-id="{call}" '
            f'rc-code="{rc}" op-status="{status}" interval="{interval}" '
            f'last-rc-change="{T0 + call}" exec-time="12" queue-time="0" '
            f'{dg}on_node="{node}"/>')


def lrm(rid: str, ops: list[str], typ: str = "Dummy", cls: str = "ocf",
        prov: str = "pacemaker") -> str:
    p = f' provider="{prov}"' if prov else ""
    return f'<lrm_resource id="{rid}" class="{cls}"{p} type="{typ}">{"".join(ops)}</lrm_resource>'


def running(rid: str, node: str, interval: int = 10000, params: dict[str, str] | None = None,
            timeout_ms: int = 20000, **kw: str) -> str:
    """Started (and monitored) with ``params``: the digests Pacemaker or vigild recorded."""
    ops = [op(rid, "start", 4, node=node, digest=pcmk_digest(params or {}))]
    if interval:
        ops.append(op(rid, "monitor", 5, interval=interval, node=node,
                      digest=pcmk_digest(params or {}, interval, timeout_ms)))
    return lrm(rid, ops, **kw)


def stopped(rid: str, node: str) -> str:
    return lrm(rid, [op(rid, "monitor", 2, rc=7, target=7, node=node)])


def node_state(nid: str, name: str, history: str = "", attrs: dict[str, str] | None = None,
               up: bool = True) -> str:
    if up:
        head = (f'<node_state id="{nid}" uname="{name}" in_ccm="true" crmd="online" '
                f'join="member" expected="member">')
    else:
        head = (f'<node_state id="{nid}" uname="{name}" in_ccm="false" crmd="offline" '
                f'join="down" expected="member">')
    ta = ""
    if attrs:
        pairs = "".join(f'<nvpair id="status-{nid}-{k}" name="{k}" value="{v}"/>'
                        for k, v in attrs.items())
        ta = (f'<transient_attributes id="{nid}"><instance_attributes id="status-{nid}">'
              f'{pairs}</instance_attributes></transient_attributes>')
    return f'{head}{ta}<lrm id="{nid}"><lrm_resources>{history}</lrm_resources></lrm></node_state>'


def prim(rid: str, meta: dict[str, str] | None = None, typ: str = "Dummy",
         cls: str = "ocf", prov: str | None = "pacemaker", mon: bool = True,
         mon_extra: str = "", params: dict[str, str] | None = None,
         mon_interval: str = "10s", mon_timeout: str = "20s") -> str:
    ia = ""
    if params:
        ia = f'<instance_attributes id="{rid}-params">' + "".join(
            f'<nvpair id="{rid}-params-{k}" name="{k}" value="{v}"/>' for k, v in params.items()
        ) + "</instance_attributes>"
    m = ""
    if meta:
        m = f'<meta_attributes id="{rid}-meta">' + "".join(
            f'<nvpair id="{rid}-meta-{k}" name="{k}" value="{v}"/>' for k, v in meta.items()
        ) + "</meta_attributes>"
    ops = ""
    if mon:
        ops = (f'<operations><op id="{rid}-mon" name="monitor" interval="{mon_interval}" '
               f'timeout="{mon_timeout}"{mon_extra}/></operations>')
    p = f' provider="{prov}"' if prov else ""
    return f'<primitive id="{rid}" class="{cls}"{p} type="{typ}">{ia}{m}{ops}</primitive>'


def fence_device() -> str:
    return ('<primitive id="fence1" class="stonith" type="fence_dummy"><operations>'
            '<op id="fence1-mon" name="monitor" interval="60s"/></operations></primitive>')


def cib(props: dict[str, str], resources: str, status: str, constraints: str = "",
        quorum: bool = True, nodes: list[tuple[str, str]] = NODES3,
        node_attrs: dict[str, dict[str, str]] | None = None, stickiness: int | None = None) -> str:
    p = "".join(f'<nvpair id="opt-{k}" name="{k}" value="{v}"/>' for k, v in props.items())
    ns = []
    for nid, name in nodes:
        attrs = (node_attrs or {}).get(name)
        inner = ""
        if attrs:
            inner = f'<instance_attributes id="nodes-{nid}">' + "".join(
                f'<nvpair id="nodes-{nid}-{k}" name="{k}" value="{v}"/>' for k, v in attrs.items()
            ) + "</instance_attributes>"
        ns.append(f'<node id="{nid}" uname="{name}">{inner}</node>')
    defaults = ""
    if stickiness is not None:
        defaults = ('<rsc_defaults><meta_attributes id="rsc-options"><nvpair '
                    f'id="rsc-options-stick" name="resource-stickiness" value="{stickiness}"/>'
                    '</meta_attributes></rsc_defaults>')
    return (f'<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.7" epoch="7" '
            f'num_updates="0" admin_epoch="0" have-quorum="{1 if quorum else 0}" dc-uuid="2">'
            f'<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">{p}'
            f'</cluster_property_set></crm_config><nodes>{"".join(ns)}</nodes>'
            f'<resources>{resources}</resources><constraints>{constraints}</constraints>'
            f'{defaults}</configuration><status>{status}</status></cib>\n')


NO_FENCING = {"stonith-enabled": "false"}
WEB = prim("vip") + prim("http")
GROUP = f'<group id="web">{WEB}</group>'


def all_stopped(rids: list[str], node: str) -> str:
    return "".join(stopped(r, node) for r in rids)


def cases() -> dict[str, str]:
    out: dict[str, str] = {}
    # 1. nothing known anywhere: probes on every node, then starts
    out["cold-start"] = cib(NO_FENCING, prim("db") + GROUP,
                            "".join(node_state(i, n) for i, n in NODES3))
    # 2. a new node joins a running cluster: probes only there, nothing moves (stickiness)
    out["probes-new-node"] = cib(NO_FENCING, prim("db") + GROUP, (
        node_state("1", "node1", running("db", "node1") + all_stopped(["vip", "http"], "node1"))
        + node_state("2", "node2", running("vip", "node2") + running("http", "node2")
                     + stopped("db", "node2"))
        + node_state("3", "node3")), stickiness=100)
    # 3. steady: everything known and in place, a weaker preference elsewhere: no action
    out["steady-stickiness"] = cib(NO_FENCING, prim("db"), (
        node_state("1", "node1", running("db", "node1"))
        + node_state("2", "node2", stopped("db", "node2"))
        + node_state("3", "node3", stopped("db", "node3"))),
        '<rsc_location id="db-prefers-3" rsc="db" node="node3" score="50"/>', stickiness=100)
    # 4. same without stickiness: the preference wins, db moves (stop before start)
    out["location-move"] = cib(NO_FENCING, prim("db"), (
        node_state("1", "node1", running("db", "node1"))
        + node_state("2", "node2", stopped("db", "node2"))
        + node_state("3", "node3", stopped("db", "node3"))),
        '<rsc_location id="db-prefers-3" rsc="db" node="node3" score="50"/>')
    # 5. node lost, fencing disabled: the group is taken as stopped and restarts elsewhere
    hist1 = running("vip", "node1") + running("http", "node1")
    out["lost-node-no-fencing"] = cib(NO_FENCING, GROUP, (
        node_state("1", "node1", hist1, up=False)
        + node_state("2", "node2", all_stopped(["vip", "http"], "node2"))
        + node_state("3", "node3", all_stopped(["vip", "http"], "node3"))), stickiness=100)
    # 6. node lost, fencing enabled with a device: fence it, then move
    out["lost-node-fencing"] = cib({"stonith-enabled": "true"}, fence_device() + GROUP, (
        node_state("1", "node1", hist1, up=False)
        + node_state("2", "node2", running("fence1", "node2", 60000, cls="stonith",
                                           typ="fence_dummy", prov="")
                     + all_stopped(["vip", "http"], "node2"))
        + node_state("3", "node3", lrm("fence1", [op("fence1", "monitor", 2, rc=7, target=7,
                                                     node="node3")], "fence_dummy",
                                       "stonith", "")
                     + all_stopped(["vip", "http"], "node3"))), stickiness=100)
    steady3 = (node_state("1", "node1", running("db", "node1") + stopped("app", "node1"))
               + node_state("2", "node2", all_stopped(["db", "app"], "node2"))
               + node_state("3", "node3", all_stopped(["db", "app"], "node3")))
    # 7-9. quorum lost with each policy (db runs, app is new)
    for policy in ("stop", "freeze", "ignore"):
        out[f"no-quorum-{policy}"] = cib(
            {"stonith-enabled": "false", "no-quorum-policy": policy}, prim("db") + prim("app"),
            steady3, quorum=False)
    # 10. failed recurring monitor: recover in place (stop, start, monitor)
    failed = lrm("db", [op("db", "start", 4), op("db", "monitor", 6, rc=7, interval=10000),
                        op("db", "monitor", 6, rc=7, interval=10000,
                           op_id="db_last_failure_0")])
    fc = {"fail-count-db#monitor_10000": "1", "last-failure-db#monitor_10000": str(T0 + 6)}
    others = (node_state("2", "node2", stopped("db", "node2"))
              + node_state("3", "node3", stopped("db", "node3")))
    out["failed-monitor-recover"] = cib(NO_FENCING, prim("db"),
                                        node_state("1", "node1", failed, fc) + others)
    # 11. same with migration-threshold=1: recover onto another node
    out["failed-monitor-threshold"] = cib(
        NO_FENCING, prim("db", {"migration-threshold": "1"}),
        node_state("1", "node1", failed, fc) + others)
    # 12. failed start: start-failure-is-fatal bans the node, start elsewhere
    bad_start = lrm("db", [op("db", "start", 4, rc=1), op("db", "start", 4, rc=1,
                                                          op_id="db_last_failure_0")])
    out["failed-start-moves"] = cib(NO_FENCING, prim("db"), node_state(
        "1", "node1", bad_start, {"fail-count-db#start_0": "INFINITY",
                                  "last-failure-db#start_0": str(T0 + 4)}) + others)
    # 13. group moves together when its node goes standby (members in order)
    out["group-standby-move"] = cib(NO_FENCING, GROUP, (
        node_state("1", "node1", hist1)
        + node_state("2", "node2", all_stopped(["vip", "http"], "node2"))
        + node_state("3", "node3", all_stopped(["vip", "http"], "node3"))),
        node_attrs={"node1": {"standby": "on"}}, stickiness=100)
    # 14. target-role=Stopped on the first group member stops the whole group
    out["group-member-stopped"] = cib(
        NO_FENCING, f'<group id="web">{prim("vip", {"target-role": "Stopped"})}'
        f'{prim("http")}</group>', (
            node_state("1", "node1", hist1)
            + node_state("2", "node2", all_stopped(["vip", "http"], "node2"))
            + node_state("3", "node3", all_stopped(["vip", "http"], "node3"))))
    # 15. on-fail=stop on the monitor: stop and stay stopped
    out["monitor-on-fail-stop"] = cib(
        NO_FENCING, prim("db", mon_extra=' on-fail="stop"'),
        node_state("1", "node1", failed, fc) + others)
    # 16. anonymous clone on two nodes, third node new: probe and start there
    clone = ('<clone id="ping-clone">' + prim("ping") + "</clone>")
    out["clone-new-node"] = cib(NO_FENCING, clone, (
        node_state("1", "node1", running("ping", "node1"))
        + node_state("2", "node2", running("ping", "node2"))
        + node_state("3", "node3")))
    # 17. colocation + ordering: app with db, db before app, both cold
    out["colocated-ordered"] = cib(NO_FENCING, prim("db") + prim("app"),
                                   "".join(node_state(i, n) for i, n in NODES3),
                                   '<rsc_colocation id="app-with-db" rsc="app" with-rsc="db" '
                                   'score="INFINITY"/><rsc_order id="db-then-app" first="db" '
                                   'then="app" kind="Mandatory"/>'
                                   '<rsc_location id="db-on-2" rsc="db" node="node2" score="10"/>')
    # 18. node in maintenance: leave its resource alone, cancel its monitor
    out["node-maintenance"] = cib(NO_FENCING, prim("db"), (
        node_state("1", "node1", running("db", "node1"))
        + node_state("2", "node2", stopped("db", "node2"))
        + node_state("3", "node3", stopped("db", "node3"))),
        node_attrs={"node1": {"maintenance": "true"}})
    # 19. no quorum + freeze: app cannot start, so web (colocated with it) must stop too
    out["freeze-colocated-stop"] = cib(
        {"stonith-enabled": "false", "no-quorum-policy": "freeze"}, prim("app") + prim("web"),
        node_state("1", "node1", stopped("app", "node1") + running("web", "node1"))
        + node_state("2", "node2", stopped("app", "node2") + stopped("web", "node2")),
        '<rsc_colocation id="web-with-app" rsc="web" with-rsc="app" score="INFINITY"/>',
        quorum=False, nodes=NODES3[:2])
    # 20. promotable clone: the promoted node is lost, another instance is promoted
    stateful = ('<clone id="db-clone"><meta_attributes id="dbc-meta"><nvpair id="dbc-p" '
                'name="promotable" value="true"/></meta_attributes>'
                '<primitive id="db" class="ocf" provider="pacemaker" type="Stateful">'
                '<operations><op id="db-mon-p" name="monitor" interval="9s" role="Promoted" '
                'timeout="20s"/><op id="db-mon-u" name="monitor" interval="11s" '
                'role="Unpromoted" timeout="20s"/></operations></primitive></clone>')
    promoted = lrm("db", [op("db", "promote", 6, node="node1"),
                          op("db", "monitor", 7, rc=8, interval=9000, target=8, node="node1")],
                   "Stateful")
    unpromoted = [lrm("db", [op("db", "start", 4, node=n),
                             op("db", "monitor", 5, interval=11000, node=n)], "Stateful")
                  for n in ("node2", "node3")]
    master = {"master-db": "10"}
    out["promotable-failover"] = cib(NO_FENCING, stateful, (
        node_state("1", "node1", promoted, master, up=False)
        + node_state("2", "node2", unpromoted[0], {"master-db": "5"})
        + node_state("3", "node3", unpromoted[1], master)))
    out.update(definition_cases())
    out.update(rule_cases())
    out.update(migration_cases())
    out.update(interleave_cases())
    out.update(utilization_cases())
    out.update(parity_cases())
    out.update(differential_cases())
    return out


def definition_cases() -> dict[str, str]:
    """The definition changed since the resources started (e.g. cib_resource edited it):
    each history carries the digests of the parameters it ran with."""
    out: dict[str, str] = {}
    v1, v2 = {"fake": "v1"}, {"fake": "v2"}
    idle = (node_state("2", "node2", stopped("db", "node2"))
            + node_state("3", "node3", stopped("db", "node3")))
    # 21. a started primitive's parameter changed: restart it in place
    out["param-change-restart"] = cib(NO_FENCING, prim("db", params=v2), node_state(
        "1", "node1", running("db", "node1", params=v1)) + idle, stickiness=100)
    # 22. a history without op-digest counts as changed (Pacemaker restarts too)
    bare = lrm("db", [op("db", "start", 4, digest=""), op("db", "monitor", 5, interval=10000)])
    out["no-digest-restart"] = cib(NO_FENCING, prim("db"), node_state("1", "node1", bare)
                                   + idle, stickiness=100)
    # 23. only meta attributes changed (not passed to the agent): nothing to do
    out["meta-change-only"] = cib(NO_FENCING, prim("db", {
        "resource-stickiness": "200", "migration-threshold": "3", "target-role": "Started"},
        params=v1), node_state("1", "node1", running("db", "node1", params=v1)) + idle)
    # 24. the monitor's timeout changed: reschedule the monitor, no restart, no cancel
    out["monitor-timeout-change"] = cib(NO_FENCING, prim("db", mon_timeout="30s"), node_state(
        "1", "node1", running("db", "node1")) + idle, stickiness=100)
    # 25. the monitor's interval changed: cancel the old one, start the new one
    out["monitor-interval-change"] = cib(NO_FENCING, prim("db", mon_interval="20s"), node_state(
        "1", "node1", running("db", "node1")) + idle, stickiness=100)
    # 26. the middle group member changed: it and the later member restart, in order
    web3 = f'<group id="web">{prim("vip")}{prim("http", params=v2)}{prim("app")}</group>'
    out["group-member-param-change"] = cib(NO_FENCING, web3, node_state("1", "node1", (
        running("vip", "node1") + running("http", "node1", params=v1)
        + running("app", "node1")))
        + node_state("2", "node2", all_stopped(["vip", "http", "app"], "node2"))
        + node_state("3", "node3", all_stopped(["vip", "http", "app"], "node3")),
        stickiness=100)
    # 27. mandatory order db then app: db changed, so app restarts after it
    out["param-change-ordered"] = cib(
        NO_FENCING, prim("db", params=v2) + prim("app"),
        node_state("1", "node1", running("db", "node1", params=v1) + running("app", "node1"))
        + node_state("2", "node2", all_stopped(["db", "app"], "node2"))
        + node_state("3", "node3", all_stopped(["db", "app"], "node3")),
        '<rsc_order id="db-then-app" first="db" then="app" kind="Mandatory"/>', stickiness=100)
    # 28. the clone's parameter changed: every instance restarts where it runs
    clone = '<clone id="ping-clone">' + prim("ping", params=v2) + "</clone>"
    out["clone-param-change"] = cib(NO_FENCING, clone, "".join(
        node_state(i, n, running("ping", n, params=v1)) for i, n in NODES3))
    # 29. same, but node1 and node3 already run the new definition: only node2 restarts
    out["clone-param-change-one-node"] = cib(NO_FENCING, clone, "".join(
        node_state(i, n, running("ping", n, params=v1 if n == "node2" else v2))
        for i, n in NODES3))
    # 30. changed while it has a fail count: restart and clear the fail count
    fc = {"fail-count-db#monitor_10000": "1", "last-failure-db#monitor_10000": str(T0 + 3)}
    out["param-change-failcount"] = cib(NO_FENCING, prim("db", params=v2), node_state(
        "1", "node1", running("db", "node1", params=v1), fc) + idle, stickiness=100)
    # 31. same with migration-threshold=1: the ban still holds in this transition, db moves
    out["param-change-failcount-threshold"] = cib(
        NO_FENCING, prim("db", {"migration-threshold": "1"}, params=v2), node_state(
            "1", "node1", running("db", "node1", params=v1), fc) + idle, stickiness=100)
    # 32. failed monitor whose last failure ran with the old definition: the fail count is
    # cleared before thresholds are checked, so db recovers in place despite threshold 1
    failed = lrm("db", [op("db", "start", 4, digest=pcmk_digest(v1)),
                        op("db", "monitor", 6, rc=7, interval=10000,
                           digest=pcmk_digest(v1, 10000)),
                        op("db", "monitor", 6, rc=7, interval=10000, op_id="db_last_failure_0",
                           digest=pcmk_digest(v1, 10000))])
    fc6 = {"fail-count-db#monitor_10000": "1", "last-failure-db#monitor_10000": str(T0 + 6)}
    out["failed-param-change-threshold"] = cib(
        NO_FENCING, prim("db", {"migration-threshold": "1"}, params=v2),
        node_state("1", "node1", failed, fc6) + idle)
    # 33. unmanaged: no restart, but the monitor is rescheduled with the new parameters
    out["param-change-unmanaged"] = cib(NO_FENCING, prim("db", {"is-managed": "false"},
                                                         params=v2),
                                        node_state("1", "node1", running("db", "node1",
                                                                         params=v1)) + idle)
    # 34. no quorum with freeze: the restart cannot start again, so db only stops
    out["param-change-no-quorum-freeze"] = cib(
        {"stonith-enabled": "false", "no-quorum-policy": "freeze"}, prim("db", params=v2),
        node_state("1", "node1", running("db", "node1", params=v1)) + idle, quorum=False)
    return out


def rule_cases() -> dict[str, str]:
    """Rules of Pacemaker's scheduler beyond the basics (node health, clone-min, sets,
    requires, rsc_defaults rules, notifications)."""
    out: dict[str, str] = {}
    cold = "".join(node_state(i, n) for i, n in NODES3)
    # 35. migrate-on-red: a red #health attribute bans node1, except for a resource with
    # allow-unhealthy-nodes=true
    out["node-health-red"] = cib(
        {**NO_FENCING, "node-health-strategy": "migrate-on-red"},
        prim("db") + prim("agent", {"allow-unhealthy-nodes": "true"}),
        node_state("1", "node1", running("db", "node1") + running("agent", "node1"),
                   {"#health-disk": "red"})
        + node_state("2", "node2", all_stopped(["db", "agent"], "node2"))
        + node_state("3", "node3", all_stopped(["db", "agent"], "node3")), stickiness=100)
    # 36. progressive: yellow scores node-health-yellow (node2 is out), a number adds to
    # the location scores (node3's +10 beats node1's preference of 5)
    out["node-health-progressive"] = cib(
        {**NO_FENCING, "node-health-strategy": "progressive", "node-health-yellow": "-50"},
        prim("db"), node_state("1", "node1") + node_state("2", "node2", "", {
            "#health-cpu": "yellow"}) + node_state("3", "node3", "", {"#health-cpu": "10"}),
        '<rsc_location id="db-on-1" rsc="db" node="node1" score="5"/>')
    # 37. clone-min=3 with only two nodes available: the ordered app cannot start
    ping = ('<clone id="ping-clone"><meta_attributes id="pc-meta"><nvpair id="pc-min" '
            'name="clone-min" value="3"/></meta_attributes>' + prim("ping") + "</clone>")
    out["clone-min-blocks"] = cib(
        NO_FENCING, ping + prim("app"), cold,
        '<rsc_order id="ping-then-app" first="ping-clone" then="app"/>',
        node_attrs={"node3": {"standby": "on"}})
    # 38. require-all=false in an order set: c starts once a or b can (a is stopped; with
    # require-all c would be blocked)
    out["order-set-require-any"] = cib(
        NO_FENCING, prim("a", {"target-role": "Stopped"}) + prim("b") + prim("c"), cold,
        '<rsc_order id="any"><resource_set id="any-1" sequential="false" '
        'require-all="false"><resource_ref id="a"/><resource_ref id="b"/></resource_set>'
        '<resource_set id="any-2"><resource_ref id="c"/></resource_set></rsc_order>')
    # 39. no quorum (stop): a fence device with requires=nothing still starts
    out["fence-requires-nothing"] = cib(
        {"stonith-enabled": "true", "no-quorum-policy": "stop"},
        fence_device().replace("</operations>", '</operations><meta_attributes id="f-meta">'
                               '<nvpair id="f-req" name="requires" value="nothing"/>'
                               '</meta_attributes>') + prim("db"),
        node_state("1", "node1") + node_state("2", "node2"), quorum=False,
        nodes=NODES3[:2])
    # 40. rsc_defaults rules with rsc_expression: only ocf:pacemaker:Dummy is unmanaged
    rules = ('<rsc_defaults><meta_attributes id="dummy-off"><rule id="dummy-off-r" '
             'score="INFINITY"><rsc_expression id="dummy-off-e" class="ocf" '
             'provider="pacemaker" type="Dummy"/></rule><nvpair id="dummy-off-n" '
             'name="target-role" value="Stopped"/></meta_attributes></rsc_defaults>')
    out["rsc-defaults-rsc-expression"] = cib(
        NO_FENCING, prim("db") + prim("web", typ="Stateful"), cold).replace(
        "</configuration>", rules + "</configuration>")
    # 41. notify=true clone gains an instance: pre/post start notifications
    nclone = ('<clone id="ping-clone"><meta_attributes id="pc-meta"><nvpair id="pc-notify" '
              'name="notify" value="true"/></meta_attributes>' + prim("ping") + "</clone>")
    out["clone-notify-start"] = cib(NO_FENCING, nclone, (
        node_state("1", "node1", running("ping", "node1"))
        + node_state("2", "node2", running("ping", "node2"))
        + node_state("3", "node3", stopped("ping", "node3"))))
    return out


def mig_op(rsc: str, task: str, call: int, node: str, source: str, target: str,
           rc: int = 0) -> str:
    """A migrate_to or migrate_from entry, with its migration source and target."""
    return op(rsc, task, call, rc=rc, node=node, op_id=f"{rsc}_{task}_0").replace(
        "/>", f' migrate_source="{source}" migrate_target="{target}"/>')


def migration_cases() -> dict[str, str]:
    """Live migration (allow-migrate=true): migrate_to/migrate_from instead of stop/start."""
    out: dict[str, str] = {}
    vm = prim("vm", {"allow-migrate": "true"})
    to_node2 = '<rsc_location id="vm-on-2" rsc="vm" node="node2" score="100"/>'
    # 42. a migratable resource moves: migrate_to node1, migrate_from node2, stop node1
    out["migrate-move"] = cib(NO_FENCING, vm, (
        node_state("1", "node1", running("vm", "node1"))
        + node_state("2", "node2", stopped("vm", "node2"))), to_node2, nodes=NODES3[:2])
    # 43. db (not migratable) moves too and is ordered before vm: vm's stop must follow
    # db's real stop, so vm cannot migrate and moves by stop and start
    out["migrate-blocked-by-order"] = cib(NO_FENCING, prim("db") + vm, (
        node_state("1", "node1", running("vm", "node1") + running("db", "node1"))
        + node_state("2", "node2", all_stopped(["vm", "db"], "node2"))),
        to_node2 + '<rsc_location id="db-on-2" rsc="db" node="node2" score="100"/>'
        '<rsc_order id="db-then-vm" first="db" then="vm"/>', nodes=NODES3[:2])
    # 44. migrate_to node1 -> node2 done, migrate_from not yet: the migration continues
    partial = lrm("vm", [op("vm", "start", 4, node="node1"),
                         mig_op("vm", "migrate_to", 6, "node1", "node1", "node2")])
    out["migrate-partial-continue"] = cib(NO_FENCING, vm, (
        node_state("1", "node1", partial) + node_state("2", "node2", stopped("vm", "node2"))),
        to_node2, nodes=NODES3[:2])
    # 45. migrate_to and migrate_from both done, the source never stopped: stop it there
    dangling_to = lrm("vm", [op("vm", "start", 4, node="node1"),
                             mig_op("vm", "migrate_to", 6, "node1", "node1", "node2")])
    dangling_from = lrm("vm", [op("vm", "monitor", 2, rc=7, target=7, node="node2"),
                               mig_op("vm", "migrate_from", 7, "node2", "node1", "node2"),
                               op("vm", "monitor", 8, interval=10000, node="node2")])
    out["migrate-dangling"] = cib(NO_FENCING, vm, (
        node_state("1", "node1", dangling_to) + node_state("2", "node2", dangling_from)),
        to_node2, nodes=NODES3[:2])
    # 46. a clone instance stops on node1 (standby) while vm, ordered after the clone, moves
    # to node2: the clone's stop lets vm migrate (no instance restarts)
    dlm = '<clone id="dlm-clone">' + prim("dlm") + "</clone>"
    out["migrate-after-clone-stop"] = cib(NO_FENCING, dlm + vm, (
        node_state("1", "node1", running("vm", "node1") + running("dlm", "node1"))
        + node_state("2", "node2", stopped("vm", "node2") + running("dlm", "node2"))),
        '<rsc_order id="dlm-then-vm" first="dlm-clone" then="vm"/>', nodes=NODES3[:2],
        node_attrs={"node1": {"standby": "on"}})
    return out


def interleave_cases() -> dict[str, str]:
    """Interleaved clones pair their instances per node; have-watchdog (SBD)."""
    out: dict[str, str] = {}
    inter = ('<meta_attributes id="b-meta"><nvpair id="b-inter" name="interleave" '
             'value="true"/></meta_attributes>')
    clones = ('<clone id="a-clone">' + prim("a") + "</clone>"
              + '<clone id="b-clone">' + inter + prim("b") + "</clone>")
    cons = ('<rsc_colocation id="b-with-a" rsc="b-clone" with-rsc="a-clone" score="INFINITY"/>'
            '<rsc_order id="a-then-b" first="a-clone" then="b-clone"/>')
    # 47. a cannot run on node3 and b is only ordered after a: b's instance there has no
    # partner, so the mandatory ordering keeps it stopped
    out["interleave-unpaired-stopped"] = cib(
        NO_FENCING, clones, "".join(node_state(i, n) for i, n in NODES3),
        '<rsc_order id="a-then-b" first="a-clone" then="b-clone"/>'
        '<rsc_location id="a-not-3" rsc="a-clone" node="node3" score="-INFINITY"/>')
    # 48. a's instance on node1 failed: only b's instance on node1 restarts
    failed_a = lrm("a", [op("a", "start", 4, node="node1"),
                         op("a", "monitor", 5, rc=7, interval=10000, node="node1")])
    out["interleave-restart-one"] = cib(NO_FENCING, clones, (
        node_state("1", "node1", failed_a + running("b", "node1"))
        + node_state("2", "node2", running("a", "node2") + running("b", "node2"))),
        cons, nodes=NODES3[:2])
    # 49. have-watchdog=true with fencing enabled and no device: SBD self-fencing counts
    # as a device, so resources are managed and start
    out["watchdog-counts-as-device"] = cib(
        {"stonith-enabled": "true", "have-watchdog": "true"}, prim("db"),
        node_state("1", "node1") + node_state("2", "node2"), nodes=NODES3[:2])
    return out


def utilization_cases() -> dict[str, str]:
    """placement-strategy with utilization: colocated resources, assignment order."""
    out: dict[str, str] = {}

    def util(rid: str, cpu: int, meta: dict[str, str] | None = None) -> str:
        return prim(rid, meta).replace("</primitive>", (
            f'<utilization id="{rid}-util"><nvpair id="{rid}-cpu" name="cpu" value="{cpu}"/>'
            "</utilization></primitive>"))

    caps = {"node1": {"cpu": "2"}, "node2": {"cpu": "4"}}

    def with_caps(text: str) -> str:
        for nid, name in NODES3[:2]:
            pairs = "".join(f'<nvpair id="u-{nid}-{k}" name="{k}" value="{v}"/>'
                            for k, v in caps[name].items())
            text = text.replace(f'<node id="{nid}" uname="{name}">',
                                f'<node id="{nid}" uname="{name}"><utilization '
                                f'id="u-{nid}">{pairs}</utilization>')
        return text

    strategy = {**NO_FENCING, "placement-strategy": "utilization"}
    # 50. db and app (+INFINITY with db) need 2 cpu each: only node2 holds both, so db
    # goes there although node1 would fit db alone (and comes first by name)
    out["utilization-colocated"] = with_caps(cib(
        strategy, util("db", 2) + util("app", 2),
        node_state("1", "node1") + node_state("2", "node2"),
        '<rsc_colocation id="app-with-db" rsc="app" with-rsc="db" score="INFINITY"/>',
        nodes=NODES3[:2]))
    # 51. with a strategy, a running resource with a higher score where it runs is
    # assigned first: small (running on node2, stickiness) keeps node2, big fits nowhere
    out["utilization-order-current"] = with_caps(cib(
        strategy, util("big", 4) + util("small", 3),
        node_state("1", "node1", stopped("big", "node1") + stopped("small", "node1"))
        + node_state("2", "node2", stopped("big", "node2") + running("small", "node2")),
        nodes=NODES3[:2], stickiness=10))
    # 52. active on two nodes with multiple-active=stop_unexpected: only the copy on the
    # node it is not assigned to stops; the expected one is not restarted
    unexpected = prim("db", {"multiple-active": "stop_unexpected"})
    out["stop-unexpected-copy"] = cib(NO_FENCING, unexpected, (
        node_state("1", "node1", running("db", "node1"))
        + node_state("2", "node2", running("db", "node2"))),
        '<rsc_location id="db-on-1" rsc="db" node="node1" score="100"/>', nodes=NODES3[:2])
    # 53. multiple-active=stop_only: active on two nodes, it is stopped on both for good
    stop_only = prim("db", {"multiple-active": "stop_only"})
    out["multiple-active-stop-only"] = cib(NO_FENCING, stop_only, (
        node_state("1", "node1", running("db", "node1"))
        + node_state("2", "node2", running("db", "node2"))), nodes=NODES3[:2])
    # 54. unmanaged and active on two nodes: its start stays optional, so its monitor
    # (already running) is not started again
    unmanaged = prim("db", {"is-managed": "false"})
    out["unmanaged-multiple-active"] = cib(NO_FENCING, unmanaged, (
        node_state("1", "node1", running("db", "node1"))
        + node_state("2", "node2", running("db", "node2"))), nodes=NODES3[:2])
    return out


def parity_cases() -> dict[str, str]:
    """Rules learnt from Pacemaker's regression suite (issue 15)."""
    out: dict[str, str] = {}
    # 55. app lives in box (container meta): its monitor failed, so box restarts (its stop
    # there is required) and app recovers after it; app is never probed, it follows box
    box = prim("box") + prim("app", {"container": "box"})
    failed_app = lrm("app", [op("app", "start", 4, node="node1"),
                             op("app", "monitor", 5, rc=1, interval=10000, node="node1")])
    out["container-filler-failed"] = cib(NO_FENCING, box, (
        node_state("1", "node1", running("box", "node1") + failed_app)
        + node_state("2", "node2", stopped("box", "node2"))), nodes=NODES3[:2], stickiness=100)
    # 56. the fence device provides unfencing: db then requires it, and node2, never
    # unfenced (no #node-unfenced), is unfenced ("on") before db and the device are probed
    # or started there; node1 was unfenced already
    scsi = ('<primitive id="fence1" class="stonith" type="fence_dummy"><meta_attributes '
            'id="fence1-meta"><nvpair id="fence1-provides" name="provides" value="unfencing"/>'
            '</meta_attributes><operations><op id="fence1-mon" name="monitor" interval="60s"/>'
            '</operations></primitive>')
    fence_hist = running("fence1", "node1", 60000, cls="stonith", typ="fence_dummy", prov="")
    out["unfence-new-node"] = cib({"stonith-enabled": "true"}, scsi + prim("db"), (
        node_state("1", "node1", fence_hist + running("db", "node1"),
                   attrs={"#node-unfenced": "1700000000"})
        + node_state("2", "node2")), nodes=NODES3[:2], stickiness=100)
    # 57. db's start on node1 is still in flight (call-id -1, op-status -1): db counts as
    # active there and the start stays in the graph (with its monitor); app's pending
    # start sorts after its completed stop (a pending op is the newest unless an older
    # transition number says otherwise), so app too is starting there
    pending = lrm("db", [op("db", "start", -1, rc=-1, status=-1, node="node1")])
    app = lrm("app", [op("app", "start", -1, rc=-1, status=-1, node="node1"),
                      op("app", "stop", 6, node="node1")])
    out["pending-start"] = cib(NO_FENCING, prim("db") + prim("app"), (
        node_state("1", "node1", pending + app)
        + node_state("2", "node2", all_stopped(["db", "app"], "node2"))), nodes=NODES3[:2],
        stickiness=100)
    # 58. db's monitor returned OCF_DEGRADED (190): a warning, not a failure; nothing is
    # recovered
    degraded = lrm("db", [op("db", "start", 4, node="node1"),
                          op("db", "monitor", 5, rc=190, interval=10000, node="node1")])
    out["degraded-monitor-ok"] = cib(NO_FENCING, prim("db"), (
        node_state("1", "node1", degraded) + node_state("2", "node2", stopped("db", "node2"))),
        nodes=NODES3[:2], stickiness=100)
    # 59. no-quorum-policy=suicide in a partition that lost quorum (no-quorum-panic: it had
    # quorum before): every online node of the partition is fenced
    dev = running("fence1", "node1", 60000, cls="stonith", typ="fence_dummy", prov="")
    out["suicide-no-quorum"] = cib(
        {"stonith-enabled": "true", "no-quorum-policy": "suicide"}, fence_device() + prim("db"),
        node_state("1", "node1", dev + running("db", "node1"))
        + node_state("2", "node2", stopped("db", "node2") + stopped("fence1", "node2")),
        quorum=False, nodes=NODES3[:2], stickiness=100).replace(
        'have-quorum="0"', 'have-quorum="0" no-quorum-panic="1"')
    # 60. shutdown-lock=true: node1 shuts down cleanly; db, active there, is locked to it:
    # it stops and waits for node1 instead of starting on node2
    out["shutdown-lock-holds"] = cib(
        {**NO_FENCING, "shutdown-lock": "true"}, prim("db"),
        node_state("1", "node1", running("db", "node1"), attrs={"shutdown": str(T0)})
        + node_state("2", "node2", stopped("db", "node2")), nodes=NODES3[:2])
    return out


NOW = 1_750_000_000  # the differential cases carry it as execution-date


def dated(text: str) -> str:
    return text.replace('dc-uuid="2"', f'dc-uuid="2" execution-date="{NOW}"', 1)


def differential_cases() -> dict[str, str]:
    """Rules the random-CIB differential test (``vigil.testing.cibgen``) found vigil getting
    wrong, each reduced to a small case."""
    out: dict[str, str] = {}
    idle = (node_state("2", "node2", stopped("db", "node2"))
            + node_state("3", "node3", stopped("db", "node3")))
    cold = "".join(node_state(i, n) for i, n in NODES3)
    # a timeout is never ISO 8601 for Pacemaker 2.1.5: PT40S is the 20 s default, which the
    # recorded monitor digest carries, so nothing changes
    out["op-timeout-iso"] = cib(NO_FENCING, prim("db", mon_timeout="PT40S"), node_state(
        "1", "node1", running("db", "node1", timeout_ms=20000)) + idle, stickiness=100)
    # a probe finding invalid parameters (rc 2) or no agent (rc 5) means "not running" and a
    # ban of that node: nothing to stop, db starts elsewhere
    def probe(rc: int) -> str:
        return lrm("db", [op("db", "monitor", 2, rc=rc, target=7),
                          op("db", "monitor", 2, rc=rc, target=7, op_id="db_last_failure_0")])

    out["probe-invalid-param"] = cib(NO_FENCING, prim("db"), node_state("1", "node1", probe(2))
                                     + node_state("2", "node2", probe(5))
                                     + node_state("3", "node3"))
    # a group member's fatal error (rc 6) bans that member everywhere, not its group: the
    # members before it still start
    web = f'<group id="web">{prim("vip")}{prim("http")}{prim("app")}</group>'
    fatal = lrm("app", [op("app", "monitor", 2, rc=6, target=7),
                        op("app", "monitor", 2, rc=6, target=7, op_id="app_last_failure_0")])
    out["group-member-fatal-error"] = cib(NO_FENCING, web, node_state("1", "node1", fatal)
                                          + node_state("2", "node2") + node_state("3", "node3"))
    # a recurring monitor returning OCF_DEGRADED (190) counts as success: no recovery
    degraded = lrm("db", [op("db", "start", 4),
                          op("db", "monitor", 5, rc=190, interval=10000)])
    out["monitor-degraded"] = cib(NO_FENCING, prim("db"),
                                  node_state("1", "node1", degraded) + idle, stickiness=100)
    # a resource that stops has no cancellation of its unconfigured monitor (Pacemaker makes
    # a resource assigned nowhere lose its recurring actions, cancellations included)
    stale = lrm("db", [op("db", "start", 4), op("db", "monitor", 5, interval=25000)])
    out["stale-monitor-stopping"] = cib(NO_FENCING, prim("db", {"target-role": "Stopped"}),
                                        node_state("1", "node1", stale) + idle)
    # the fence device failed to start on a lost node being fenced: not multiply active
    # (it requires only quorum: only online clean nodes count), no restart where it runs
    dev = running("fence1", "node2", 60000, cls="stonith", typ="fence_dummy", prov="")
    dev_failed = lrm("fence1", [op("fence1", "start", 3, rc=1, node="node1"),
                                op("fence1", "start", 3, rc=1, node="node1",
                                   op_id="fence1_last_failure_0")],
                     "fence_dummy", "stonith", "")
    out["fence-device-failed-on-lost-node"] = cib(
        {"stonith-enabled": "true"}, fence_device() + prim("db"),
        node_state("1", "node1", dev_failed + running("db", "node1"), up=False)
        + node_state("2", "node2", dev + stopped("db", "node2"))
        + node_state("3", "node3", lrm("fence1", [op("fence1", "monitor", 2, rc=7, target=7,
                                                      node="node3")], "fence_dummy",
                                       "stonith", "") + stopped("db", "node3")))
    # last-failure is a time, not a score: a failure 30 s old is within failure-timeout=60s,
    # so migration-threshold=1 still bans node1 and db moves
    failed = lrm("db", [op("db", "start", 4), op("db", "monitor", 6, rc=7, interval=10000),
                        op("db", "monitor", 6, rc=7, interval=10000,
                           op_id="db_last_failure_0")])
    out["failure-timeout-recent"] = dated(cib(
        NO_FENCING, prim("db", {"migration-threshold": "1", "failure-timeout": "60s"}),
        node_state("1", "node1", failed, {"fail-count-db#monitor_10000": "1",
                                          "last-failure-db#monitor_10000": str(NOW - 30)})
        + idle))
    # a start still pending is shown in the graph where the resource stays; older than the
    # failure-timeout (and without fail count) it is ignored instead: probe again
    pending = lrm("db", [op("db", "start", -1, rc=193, status=-1)])
    out["start-pending-shown"] = dated(cib(NO_FENCING, prim("db"),
                                           node_state("1", "node1", pending) + idle))
    out["start-pending-expired"] = dated(cib(NO_FENCING, prim("db", {"failure-timeout": "60s"}),
                                             node_state("1", "node1", pending) + idle))
    # resource-discovery=exclusive (in a set, and by rule): probes only there, and the
    # resources may run only there; never on a group: none of its members is probed there
    out["discovery-exclusive"] = cib(
        NO_FENCING, prim("db") + prim("api") + web, cold,
        '<rsc_location id="excl" node="node3" score="0" resource-discovery="exclusive">'
        '<resource_set id="excl-set"><resource_ref id="db"/></resource_set></rsc_location>'
        '<rsc_location id="excl-rule" rsc="api" resource-discovery="exclusive"><rule '
        'id="excl-r" score="0"><expression id="excl-e" attribute="#uname" operation="ne" '
        'value="node1"/></rule></rsc_location>'
        '<rsc_location id="never" rsc="web" node="node2" score="0" '
        'resource-discovery="never"/>')
    # location rsc-pattern: an unanchored regular expression over top-level ids, ! inverts
    out["location-rsc-pattern"] = cib(
        NO_FENCING, prim("db1") + prim("db2") + prim("api") + web, cold,
        '<rsc_location id="dbs" rsc-pattern="^db" node="node2" score="100"/>'
        '<rsc_location id="others" rsc-pattern="!db" node="node3" score="200"/>')
    # no-quorum-policy=suicide without no-quorum-panic behaves as stop (db stops, the fence
    # device does not start); with it, every online node of the partition is fenced
    sui = cib({"stonith-enabled": "true", "no-quorum-policy": "suicide"},
              fence_device() + prim("db"),
              node_state("1", "node1", running("db", "node1") + lrm("fence1", [op(
                  "fence1", "monitor", 2, rc=7, target=7)], "fence_dummy", "stonith", ""))
              + node_state("2", "node2", stopped("db", "node2"))
              + node_state("3", "node3", up=False), quorum=False)
    out["no-quorum-suicide"] = sui
    out["no-quorum-suicide-panic"] = sui.replace('dc-uuid="2"',
                                                 'dc-uuid="2" no-quorum-panic="1"', 1)
    # a rule's score-attribute that a node lacks scores -INFINITY there: node1 (first by
    # name on a tie of 0) is out, db starts on node2
    out["score-attribute-missing"] = cib(
        NO_FENCING, prim("db"), cold,
        '<rsc_location id="by-weight" rsc="db"><rule id="by-weight-r" '
        'score-attribute="weight"><expression id="by-weight-e" attribute="#uname" '
        'operation="ne" value="nodeX"/></rule></rsc_location>',
        node_attrs={"node2": {"weight": "0"}, "node3": {"weight": "0"}})
    # unmanaged, no quorum, policy stop: its optional start is unrunnable, so no monitor
    out["unmanaged-no-quorum-monitor"] = cib(
        {"stonith-enabled": "false", "no-quorum-policy": "stop"},
        prim("db", {"is-managed": "false"}),
        node_state("1", "node1", lrm("db", [op("db", "start", 4)])) + idle, quorum=False)
    # multiple-active=block: active on two nodes, it is left unmanaged and blocked (no
    # role=Stopped monitors); the default stop_start would stop both and start one
    two = prim("db", {"multiple-active": "block"},
               mon_extra='/><op id="db-mon-s" name="monitor" interval="17s" role="Stopped" '
                         'timeout="20s"')
    out["multiple-active-block"] = cib(NO_FENCING, two, (
        node_state("1", "node1", running("db", "node1"))
        + node_state("2", "node2", running("db", "node2"))
        + node_state("3", "node3", stopped("db", "node3"))))
    # an unmanaged clone of a group: a member that failed to start where its group instance
    # cannot run stays assigned there, and gets its monitor
    cg = ('<clone id="cg"><meta_attributes id="cg-meta"><nvpair id="cg-unm" '
          'name="is-managed" value="false"/></meta_attributes><group id="g">'
          + prim("ga") + prim("gb") + "</group></clone>")
    gb_failed = lrm("gb", [op("gb", "start", 4, rc=1), op("gb", "start", 4, rc=1,
                                                        op_id="gb_last_failure_0")])
    out["clone-group-unmanaged-member"] = cib(NO_FENCING, cg, (
        node_state("1", "node1", stopped("ga", "node1") + gb_failed)
        + node_state("2", "node2", all_stopped(["ga", "gb"], "node2"))), nodes=NODES3[:2])
    # an unmanaged promotable clone: the Promoted instance stays promoted although its
    # promotion score is negative and its node is in standby; the Unpromoted one with the
    # best score is not promoted
    ms = ('<clone id="ms"><meta_attributes id="ms-meta"><nvpair id="ms-p" name="promotable" '
          'value="true"/><nvpair id="ms-u" name="is-managed" value="false"/>'
          '</meta_attributes><primitive id="st" class="ocf" provider="pacemaker" '
          'type="Stateful"><operations><op id="st-mon-p" name="monitor" interval="9s" '
          'role="Promoted" timeout="20s"/><op id="st-mon-u" name="monitor" interval="11s" '
          'role="Unpromoted" timeout="20s"/></operations></primitive></clone>')
    st_promoted = lrm("st", [op("st", "promote", 6, node="node1"),
                             op("st", "monitor", 7, rc=8, interval=9000, target=8,
                                node="node1")], "Stateful")
    st_unpromoted = lrm("st", [op("st", "start", 4, node="node2"),
                               op("st", "monitor", 5, interval=11000, node="node2")],
                        "Stateful")
    out["promotable-unmanaged-promoted"] = cib(NO_FENCING, ms, (
        node_state("1", "node1", st_promoted, {"master-st": "-1", "standby": "on"})
        + node_state("2", "node2", st_unpromoted, {"master-st": "100"})), nodes=NODES3[:2])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--oracle", metavar="ORACLE_PY", help="also write NAME.json via oracle.py")
    ap.add_argument("names", nargs="*", help="only these cases (default: all)")
    opts = ap.parse_args()
    for name, text in cases().items():
        if opts.names and name not in opts.names:
            continue
        xml = HERE / f"{name}.xml"
        xml.write_text(text)
        if opts.oracle:
            res = subprocess.run([sys.executable, opts.oracle, str(xml), "--scores"],
                                 capture_output=True, text=True, check=False)
            (HERE / f"{name}.json").write_text(res.stdout)
            print(name, "ok" if '"error"' not in res.stdout else "ORACLE ERROR")
    return 0


if __name__ == "__main__":
    sys.exit(main())
