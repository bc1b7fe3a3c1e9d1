"""Stage 1: CIB -> :class:`ClusterState` (configuration, node states, resource history).

Rules
-----
* The resource tree (clone instances, which instance a history entry belongs to,
  orphans, fail counts) is built in :mod:`.tree`. Orphans are stopped if active.
* Node history is read for online nodes, and for offline nodes only when fencing is
  enabled (with fencing disabled an offline node's resources count as stopped).
* A resource active on an offline node with fencing enabled makes that node unclean;
  ``on-fail=fence`` makes the node unclean, ``on-fail=standby`` puts it in standby,
  ``on-fail=block`` makes the resource unmanaged, a resource on a maintenance node is
  unmanaged.
* A filler's failure (on-fail ``restart-container``, the default of a filler's ops)
  requires its container's stop on that node, so the container restarts and with it its
  fillers; a filler's failed stop is taken as done. A filler is colocated with its
  container (+INFINITY) and ordered after it (mandatory, symmetrical).
* With ``shutdown-lock``, a resource active on one cleanly shutting down node, or whose
  history there carries an unexpired ``shutdown-lock`` time and that is active nowhere,
  is locked to that node (see :mod:`.placement`).
* Each active history is then compared with the current definition (:mod:`.definition`):
  restarts, rescheduled or cancelled recurring ops, fail counts to clear.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from lxml import etree

from vigil.core.graph import Agent

from . import scores
from .config import op_timeout_ms, unpack_config
from .definition import CheckContext, check_history
from .history import (
    STARTED,
    STOPPED,
    UNKNOWN,
    UNPROMOTED,
    HistoryContext,
    sorted_ops,
    summarize,
)
from .migrate_history import apply_effects, source_role, view_for
from .model import ColocSpec, OrderSpec, RscSpec
from .multiactive import apply_multiple_active
from .nodes import NodeState, find_node_states, node_state
from .state import ClusterState, Resource, target_role
from .tickets import apply_tickets
from .tree import TreeBuilder

Element = etree._Element


def _block_failure(spec: RscSpec, ops: list[Any]) -> bool:
    blocked = {(o.name, o.interval_ms) for o in spec.ops if (o.on_fail or "") == "block"}
    return any((op.task, op.interval_ms) in blocked and (op.rc != 0 or op.status != 0)
               for op in ops)


def _history_order(b: TreeBuilder, nodes: dict[str, NodeState],
                   elements: dict[str, Element]) -> list[str]:
    online = [n for n in elements if nodes[n].online]
    offline = [n for n in elements if not nodes[n].online and b.opts.stonith_enabled]
    return online + offline


def _mark_node(b: TreeBuilder, node: str, **changes: Any) -> None:
    upd = b.node_updates.setdefault(node, {})
    for k, v in changes.items():
        if k == "unclean_reason" and upd.get("unclean_reason"):
            continue
        upd[k] = v


def _process_rsc_state(b: TreeBuilder, rid: str, node: NodeState, h: Any) -> None:
    """Pacemaker's process_rsc_state: apply one node's summarized history to ``rid``."""
    rec = b.rscs[rid]
    if h.known:
        rec["known_on"].add(node.name)
    unclean = node.unclean or bool(b.node_updates.get(node.name, {}).get("unclean_reason"))
    if (h.role > STOPPED and not node.online and not node.maintenance and rec["managed"]
            and b.opts.stonith_enabled and not unclean):
        reason = f"{rid} is thought to be active there"
        _mark_node(b, node.name, unclean=True, unclean_reason=reason)
    on_fail = "ignore" if unclean else h.on_fail
    if on_fail == "fence" and not unclean:
        _mark_node(b, node.name, unclean=True, unclean_reason=f"{rid} failed there")
    elif on_fail == "standby":
        _mark_node(b, node.name, standby=True)
    elif on_fail == "block":
        rec["managed"] = False
        rec["blocked"] = True
    elif on_fail == "migrate":
        rec["banned_nodes"].add(node.name)
    elif on_fail == "stop":
        rec["next_role"] = STOPPED
    elif on_fail == "demote":
        rec["failed"] = True
    elif on_fail in ("restart", "recover") and h.role > STOPPED:
        rec["failed"] = rec["stop_needed"] = True
    elif on_fail == "restart-container":
        rec["failed"] = rec["stop_needed"] = True
        if rec["container"] is not None:  # its container's stop there is required
            b.rscs[rec["container"]]["stop_required_on"].add(node.name)
    if h.role > STOPPED:
        if node.name not in rec["running"]:
            rec["running"].append(node.name)
        if node.maintenance:
            rec["managed"] = False
        if on_fail in ("demote", "block"):
            rec["failed"] = True
        elif on_fail != "ignore":
            rec["failed"] = rec["stop_needed"] = True


def _only_clean_probe(lrm_rsc: Element) -> bool:
    """True for the common history "probed, not running": one probe that returned 7."""
    ops = list(lrm_rsc)
    if len(ops) != 1:
        return False
    op = ops[0]
    return (op.get("operation") == "monitor" and op.get("interval") in ("0", None)
            and op.get("rc-code") == "7" and op.get("op-status") == "0"
            and (op.get("transition-key") or "::7").split(":")[2:3] == ["7"])


def _unpack_history(b: TreeBuilder, node: NodeState, lrm_rsc: Element) -> None:
    lrm_id = lrm_rsc.get("id")
    if not lrm_id:
        return
    rid = b.find_for_history(lrm_id, node.name, lrm_rsc)
    rec = b.rscs[rid]
    if len(lrm_rsc):
        rec["histories"][node.name] = Agent(lrm_rsc.get("class", "ocf"),
                                            lrm_rsc.get("provider"), lrm_rsc.get("type", ""))
    if _only_clean_probe(lrm_rsc) and not rec["meta"].get("failure-timeout"):
        rec["known_on"].add(node.name)
        if rec["role"] == UNKNOWN:
            rec["role"] = STOPPED
        return
    lock_text = lrm_rsc.get("shutdown-lock") or ""
    lock_s = int(lock_text) if b.opts.shutdown_lock and lock_text.isdigit() else 0
    limit_s = b.opts.shutdown_lock_limit_s
    if lock_s and not (limit_s > 0 and b.now_s > lock_s + limit_s):  # not expired
        rec["lock_node"] = node.name
    spec: RscSpec = rec["spec"]
    ops = sorted_ops(lrm_rsc, rid)
    raw, last = b.failcount(rid, node.name, node.attrs)
    ft = rec["meta"].get("failure-timeout")
    timeout_s = scores.parse_duration_ms(ft, 0) // 1000 if ft else 0
    effective = raw
    if raw > 0 and timeout_s > 0 and last > 0 and b.now_s > last + timeout_s:
        if not _block_failure(spec, ops):
            effective = 0
    rec["failcounts"][node.name] = effective
    ctx = HistoryContext(
        rsc_id=rid, node=node.name, node_online=node.online, spec=spec,
        op_defaults=b.config.op_defaults, stonith_enabled=b.opts.stonith_enabled,
        failure_timeout_s=timeout_s, raw_failcount=raw, effective_failcount=effective,
        now_s=b.now_s, managed=rec["managed"], default_timeout_ms=b.default_timeout_ms,
        migration=b.migration_view(lrm_id) if b.migration_view else None,
        in_container=rec["container"] is not None,
    )
    h = summarize(ops, ctx)
    apply_effects(rec, node.name, h.migrations)
    b.failed_ops.extend(h.failed_ops)
    if h.start_pending:
        rec["start_pending"] = True
    if h.failure_ignored:
        rec["failure_ignored"] = True
    if h.ban_node:
        rec["banned_nodes"].add(node.name)
    if h.ban_all:
        rec["ban_all"] = True
    if h.ban_parent_node or h.ban_parent_all:
        top = b.rscs[b.ban_target(rid)]
        top["banned_nodes"] |= {node.name} if h.ban_parent_node else set()
        top["ban_all"] = top["ban_all"] or h.ban_parent_all
    if h.clear_failcount:
        rec["clear_failcount"].add(node.name)
    if h.clear_next_role and rec["next_role"] is not None and h.next_role is None:
        rec["next_role"] = None
    if h.next_role is not None:
        rec["next_role"] = h.next_role
    for task, interval in h.active_recurring:
        rec["active_recurring"].add((node.name, task, interval))
    for task, interval in h.reschedule:
        rec["reschedule"].add((node.name, task, interval))
    rec.setdefault("check_ops", []).append((node.name, h.check_ops))
    _process_rsc_state(b, rid, node, h)
    rec["role"] = max(rec["role"], source_role(rec, node.name, h.role))


def _check_definitions(b: TreeBuilder, nodes: Mapping[str, NodeState], cib_feature_set: str | None,
                       sanitized: bool) -> None:
    """Compare every active history with the current definition (Pacemaker's
    process_rsc_history): cancels, reschedules, restarts and fail counts to clear."""
    for rid, rec in b.rscs.items():
        for node_name, ops in rec.get("check_ops", []):
            node = nodes[node_name]
            if rec["orphan"] or node_name not in rec["running"]:
                continue
            if not node.can_run and not node.maintenance:
                continue
            maint = (node.maintenance or b.opts.maintenance_mode
                     or scores.is_true(rec["meta"].get("maintenance")))
            ctx = CheckContext(
                spec=rec["spec"], maintenance=maint,
                stop_orphan_actions=b.opts.stop_orphan_actions,
                default_timeout_ms=b.default_timeout_ms, cib_feature_set=cib_feature_set,
                sanitized=sanitized)
            verdict = check_history(ops, ctx)
            for task, interval in verdict.cancels:
                item = (node_name, task, interval)
                if item not in rec["cancels"]:
                    rec["cancels"].append(item)
            for task, interval in verdict.reschedule:
                rec["reschedule"].add((node_name, task, interval))
            if verdict.restart:
                rec["restart_on"].add(node_name)
            if verdict.changed and rec["failcounts"].get(node_name, 0) != 0:
                rec["clear_failcount_late"].add(node_name)
            b.notes.extend(f"{rid} on {node_name}: {r}" for r in verdict.reasons)


def _cleanups(b: TreeBuilder, nodes: Mapping[str, NodeState]) -> None:
    """Histories to delete (``<rsc>_delete_0``): an orphan's (not an anonymous clone
    instance's), and a primitive's whose agent (class, provider or type) changed; not for
    a failed resource or on a node that cannot run resources (Pacemaker's
    pcmk__schedule_cleanup). Where the changed resource is active, its stop is required
    (it restarts; pcmk__rsc_agent_changed)."""
    for rid, rec in b.rscs.items():
        clone = b.clone_of(rid)
        anonymous = clone is not None and not b.unique(clone)
        spec_agent = rec["spec"].agent
        for node_name, agent in rec["histories"].items():
            node = nodes[node_name]
            changed = not rec["orphan"] and spec_agent is not None and (
                agent.cls, agent.provider, agent.type) != (
                spec_agent.cls, spec_agent.provider, spec_agent.type)
            if changed and node_name in rec["running"] and (node.can_run or node.maintenance):
                rec["stop_required_on"].add(node_name)
            if rec["failed"] or not node.can_run:
                continue
            if (rec["orphan"] and not anonymous) or changed:
                rec["cleanup_on"].add(node_name)


def _shutdown_locks(b: TreeBuilder, nodes: Mapping[str, NodeState]) -> None:
    """Pacemaker's pcmk__primitive_shutdown_lock: a lock from the history holds while the
    resource is active nowhere; a resource active on one cleanly shutting down node is
    locked to it. Fence devices are never locked."""
    for rec in b.rscs.values():
        agent = rec["spec"].agent
        if not b.opts.shutdown_lock or rec["kind"] != "primitive" or agent is None \
                or agent.cls == "stonith":
            rec["lock_node"] = None
        elif rec["lock_node"] is not None:
            if rec["running"]:
                rec["lock_node"] = None
        elif len(rec["running"]) == 1:
            node = nodes[rec["running"][0]]
            if node.shutdown and not node.unclean:
                rec["lock_node"] = node.name


def _freeze(b: TreeBuilder, promotable_of: Mapping[str, bool]) -> dict[str, Resource]:
    out: dict[str, Resource] = {}
    for rid, rec in b.rscs.items():
        role = rec["role"]
        if role == UNKNOWN:
            role = STOPPED
        if promotable_of.get(rid) and role == STARTED:
            role = UNPROMOTED
        limit = target_role(rec["meta"], bool(promotable_of.get(rid)))
        next_role = rec["next_role"]
        if limit is not None and (next_role is None or limit < next_role):
            next_role = limit
        out[rid] = Resource(
            id=rid, base=rec["base"], kind=rec["kind"], spec=rec["spec"],
            meta=MappingProxyType(rec["meta"]), parent=rec["parent"],
            children=tuple(rec["children"]), instance=rec["instance"], orphan=rec["orphan"],
            running=tuple(rec["running"]), role=role, failed=rec["failed"],
            stop_needed=rec["stop_needed"], blocked=rec["blocked"], managed=rec["managed"],
            failure_ignored=rec["failure_ignored"], start_pending=rec["start_pending"],
            known_on=frozenset(rec["known_on"]), next_role=next_role,
            banned_nodes=frozenset(rec["banned_nodes"]), ban_all=rec["ban_all"],
            active_recurring=frozenset(rec["active_recurring"]),
            reschedule=frozenset(rec["reschedule"]), cancels=tuple(rec["cancels"]),
            clear_failcount=frozenset(rec["clear_failcount"]),
            failcounts=MappingProxyType(rec["failcounts"]),
            restart_on=frozenset(rec["restart_on"]),
            clear_failcount_late=frozenset(rec["clear_failcount_late"]),
            cleanup_on=frozenset(rec["cleanup_on"]),
            partial_migration=rec["partial_migration"], dangling_on=frozenset(rec["dangling_on"]),
            no_migrate=rec["no_migrate"], container=rec["container"],
            fillers=tuple(rec["fillers"]), stop_required_on=frozenset(rec["stop_required_on"]),
            lock_node=rec["lock_node"],
        )
    return out


def _container_colocations(resources: Mapping[str, Resource]) -> tuple[ColocSpec, ...]:
    """A filler runs with its container (after the configured colocations)."""
    return tuple(ColocSpec(id=f"{r.id}-with-container", rsc=r.id, with_rsc=r.container,
                           score=scores.INFINITY)
                 for r in resources.values() if r.container is not None)


def _container_orders(resources: Mapping[str, Resource]) -> tuple[OrderSpec, ...]:
    """A filler starts after its container, and stops before it."""
    return tuple(OrderSpec(id=f"{r.id}-in-container", first=r.container, then=r.id)
                 for r in resources.values() if r.container is not None)


def _promotable_map(b: TreeBuilder) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for rid in b.rscs:
        top = rid
        while b.rscs[top]["parent"] is not None:
            top = b.rscs[top]["parent"]
        out[rid] = b.rscs[top]["kind"] == "clone" and b.rscs[top]["spec"].promotable
    return out


def unpack(cib: Element, now_s: float, sanitized: bool = False) -> ClusterState:
    """Read ``cib`` into a :class:`ClusterState` (raises CibInvalid on bad input).

    ``sanitized``: the CIB may have masked secrets (crm_simulate on a file); see
    :mod:`.definition`."""
    config = unpack_config(cib, now_s)
    b = TreeBuilder(config, now_s)
    for spec in config.resources:
        b.add(spec, None, {})
    b.resolve_containers()
    status = cib.find("status")
    elements = find_node_states(status, config.nodes)
    nodes = {s.name: node_state(s, elements.get(s.name), config.options) for s in config.nodes}
    online = {n: s.online for n, s in nodes.items()}
    b.migration_view = lambda rid: view_for(elements, online, sorted_ops, rid)
    for name in _history_order(b, nodes, elements):
        for lrm_rsc in elements[name].iterfind("lrm/lrm_resources/lrm_resource"):
            _unpack_history(b, nodes[name], lrm_rsc)
    promo_bans = apply_tickets(
        config.tickets, status, b.rscs, b.by_base, b.opts.stonith_enabled,
        lambda node, why: _mark_node(b, node, unclean=True, unclean_reason=why))
    for name, upd in b.node_updates.items():
        nodes[name] = dataclasses.replace(nodes[name], **upd)
    _check_definitions(b, nodes, cib.get("crm_feature_set"), sanitized)
    _cleanups(b, nodes)
    _shutdown_locks(b, nodes)
    resources = apply_multiple_active(_freeze(b, _promotable_map(b)), nodes, config.options)
    has_device = any(r.kind == "primitive" and r.agent is not None and r.agent.cls == "stonith"
                     and not r.orphan for r in resources.values()) or b.opts.have_watchdog
    return ClusterState(
        options=config.options, nodes=nodes, resources=resources, top=tuple(b.top),
        locations=config.locations + tuple(promo_bans),
        colocations=config.colocations + _container_colocations(resources),
        orders=config.orders + _container_orders(resources),
        failed_ops=tuple(b.failed_ops), has_fence_device=has_device,
        notes=config.notes + tuple(b.notes),
        now_s=now_s,
        op_timeout_ms=op_timeout_ms(config.op_defaults.get("timeout")),
        fence_timeout_ms=config.fence_timeout_ms,
    )
