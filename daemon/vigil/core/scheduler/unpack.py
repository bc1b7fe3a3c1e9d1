"""Stage 1: CIB -> :class:`ClusterState` (configuration, node states, resource history).

Rules
-----
* Clones are expanded into ``clone-max`` instances (default: the number of configured
  nodes); anonymous instances found in the history are matched the way Pacemaker does: an
  instance already active on the node, else the first instance active nowhere, else a new
  orphan instance (which will be stopped).
* History entries for resources that are not configured are orphans: stopped if active.
* Node history is read for online nodes, and for offline nodes only when fencing is
  enabled (with fencing disabled an offline node's resources count as stopped).
* A resource active on an offline node with fencing enabled makes that node unclean;
  ``on-fail=fence`` makes the node unclean, ``on-fail=standby`` puts it in standby,
  ``on-fail=block`` makes the resource unmanaged, a resource on a maintenance node is
  unmanaged.
* Each active history is then compared with the current definition (:mod:`.definition`):
  restarts, rescheduled or cancelled recurring ops, fail counts to clear.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from lxml import etree

from vigil.core.graph import Agent

from . import scores
from .config import merge_sets, op_timeout_ms, unpack_config
from .definition import CheckContext, check_history
from .history import (
    STARTED,
    STOPPED,
    UNKNOWN,
    UNPROMOTED,
    FailedOp,
    HistoryContext,
    block_failure,
    fail_table,
    only_clean_probe,
    sorted_ops,
    summarize,
)
from .migrate_history import MigrationView, apply_effects, source_role, view_for
from .model import Config, RscSpec
from .multiactive import apply_multiple_active
from .nodes import NodeState, find_node_states, node_state
from .state import ClusterState, Resource, target_role
from .tickets import apply_tickets

Element = etree._Element
_INSTANCE_RE = re.compile(r":\d+$")


def strip_instance(rid: str) -> str:
    return _INSTANCE_RE.sub("", rid)


class _Builder:
    """Mutable scratch space for one unpack; frozen into ClusterState at the end."""

    def __init__(self, config: Config, now_s: float) -> None:
        self.config = config
        self.now_s = now_s
        self.default_timeout_ms = op_timeout_ms(config.op_defaults.get("timeout"))
        self.notes: list[str] = []
        self.opts = config.options
        self.rscs: dict[str, dict[str, Any]] = {}
        self.top: list[str] = []
        self.by_base: dict[str, list[str]] = {}
        self.failed_ops: list[FailedOp] = []
        self.node_updates: dict[str, dict[str, Any]] = {}
        self.fail_tables: dict[str, dict[str, tuple[int, int]]] = {}
        self.migration_view: Callable[[str], MigrationView] | None = None

    # -- resource tree -------------------------------------------------------------
    def meta_for(self, spec: RscSpec, parent_meta: Mapping[str, str]) -> dict[str, str]:
        meta = dict(spec.meta)
        if spec.kind == "clone" and "resource-stickiness" not in meta:
            meta["resource-stickiness"] = self.config.rsc_defaults.get("resource-stickiness", "1")
        for k, v in parent_meta.items():
            meta.setdefault(k, v)
        defaults = self.config.rsc_defaults
        if any(rules for rules, _ in self.config.rsc_default_sets):
            agent = spec.agent
            triple = None if agent is None else (agent.cls, agent.provider, agent.type)
            defaults = merge_sets(self.config.rsc_default_sets, self.now_s,
                                  triple or (None, None, None))
        for k, v in defaults.items():
            meta.setdefault(k, v)
        return meta

    def add(self, spec: RscSpec, parent: str | None, parent_meta: Mapping[str, str],
            instance: int | None = None, orphan: bool = False) -> str:
        rid = spec.id if instance is None else f"{spec.id}:{instance}"
        meta = self.meta_for(spec, parent_meta)
        rec: dict[str, Any] = {
            "id": rid, "base": spec.id, "kind": spec.kind, "spec": spec, "meta": meta,
            "parent": parent, "children": [], "instance": instance, "orphan": orphan,
            "running": [], "role": UNKNOWN, "failed": False, "stop_needed": False,
            "blocked": False, "managed": self._managed(meta), "failure_ignored": False,
            "start_pending": False, "known_on": set(), "next_role": None,
            "banned_nodes": set(), "ban_all": False, "active_recurring": set(),
            "reschedule": set(), "cancels": [], "clear_failcount": set(), "failcounts": {},
            "restart_on": set(), "clear_failcount_late": set(), "histories": {},
            "cleanup_on": set(), "partial_migration": None, "dangling_on": set(),
            "no_migrate": False,
        }
        self.rscs[rid] = rec
        self.by_base.setdefault(spec.id, []).append(rid)
        if parent is None:
            self.top.append(rid)
        else:
            self.rscs[parent]["children"].append(rid)
        if spec.kind == "group":
            for child in spec.children:
                self.add(child, rid, meta, instance, orphan)
        elif spec.kind == "clone":
            for i in range(self.clone_max(meta)):
                self.add(spec.children[0], rid, meta, i)
        return rid

    def _managed(self, meta: Mapping[str, str]) -> bool:
        if self.opts.maintenance_mode or scores.is_true(meta.get("maintenance")):
            return False
        return scores.is_true(meta.get("is-managed"), True)

    def clone_max(self, meta: Mapping[str, str]) -> int:
        default = len(self.config.nodes)
        value = meta.get("clone-max")
        return max(0, scores.lenient_int(value, default)) if value is not None else default

    def clone_of(self, rid: str) -> str | None:
        parent = self.rscs[rid]["parent"]
        while parent is not None:
            if self.rscs[parent]["kind"] == "clone":
                return str(parent)
            parent = self.rscs[parent]["parent"]
        return None

    def ban_target(self, rid: str) -> str:
        """What a hard error bans: the resource itself, but the whole clone for an
        anonymous clone's instance (only those lack Pacemaker's pe_rsc_unique)."""
        clone = self.clone_of(rid)
        if clone is None or self.unique(clone):
            return rid
        while self.rscs[rid]["parent"] is not None:
            rid = self.rscs[rid]["parent"]
        return rid

    def unique(self, clone_id: str) -> bool:
        return scores.is_true(self.rscs[clone_id]["meta"].get("globally-unique"))

    # -- mapping history entries to resources --------------------------------------
    def locations(self, rid: str) -> set[str]:
        rec = self.rscs[rid]
        if rec["kind"] == "primitive":
            return set(rec["running"])
        out: set[str] = set()
        for c in rec["children"]:
            out |= self.locations(c)
        return out

    def member_of(self, instance_id: str, base: str) -> str | None:
        rec = self.rscs[instance_id]
        if rec["kind"] == "primitive":
            return instance_id if rec["base"] == base else None
        for c in rec["children"]:
            found = self.member_of(c, base)
            if found:
                return found
        return None

    def find_for_history(self, lrm_id: str, node: str, lrm: Element) -> str:
        if lrm_id in self.rscs and self.rscs[lrm_id]["kind"] == "primitive":
            clone = self.clone_of(lrm_id)
            if clone is None or self.unique(clone):
                return lrm_id
        base = strip_instance(lrm_id)
        candidates = self.by_base.get(base, [])
        prims = [c for c in candidates if self.rscs[c]["kind"] == "primitive"]
        if not prims:
            return self.orphan(lrm_id, lrm)
        clone = self.clone_of(prims[0])
        if clone is None:
            return prims[0] if lrm_id == base else self.orphan(lrm_id, lrm)
        if self.unique(clone):
            return self.orphan_instance(clone, base, lrm_id)
        return self.anonymous_instance(clone, base, node)

    def anonymous_instance(self, clone: str, base: str, node: str) -> str:
        found: str | None = None
        inactive: str | None = None
        skip_inactive = False
        for inst in self.rscs[clone]["children"]:
            locs = self.locations(inst)
            member = self.member_of(inst, base)
            if locs:
                if node in locs and member is not None:
                    if self.rscs[member]["running"]:
                        skip_inactive = True
                    elif found is None:
                        found = member
            elif not skip_inactive and inactive is None and not self.rscs[inst]["blocked"]:
                inactive = member
        if found is not None:
            return found
        if not skip_inactive and inactive is not None:
            return inactive
        return self.orphan_instance(clone, base, None)

    def orphan_instance(self, clone: str, base: str, lrm_id: str | None) -> str:
        spec = self.rscs[clone]["spec"].children[0]
        n = len(self.rscs[clone]["children"])
        if lrm_id is not None and _INSTANCE_RE.search(lrm_id):
            n = max(n, int(lrm_id.rsplit(":", 1)[1]))
        while f"{spec.id}:{n}" in self.rscs:
            n += 1
        inst = self.add(spec, clone, self.rscs[clone]["meta"], n, orphan=True)
        return self.member_of(inst, base) or inst

    def orphan(self, lrm_id: str, lrm: Element) -> str:
        if lrm_id in self.rscs:
            return lrm_id
        agent = Agent(lrm.get("class", "ocf"), lrm.get("provider"), lrm.get("type", ""))
        spec = RscSpec(id=lrm_id, kind="primitive", agent=agent)
        rid = self.add(spec, None, {}, None, orphan=True)
        if self.opts.stop_orphan_resources:  # stopped everywhere
            self.rscs[rid]["ban_all"] = True
        else:
            self.rscs[rid]["managed"] = False
        return rid

    # -- fail counts ----------------------------------------------------------------
    def failcount(self, rid: str, node: str, attrs: Mapping[str, str]) -> tuple[int, int]:
        table = self.fail_tables.get(node)
        if table is None:
            table = fail_table(attrs)
            self.fail_tables[node] = table
        rec = self.rscs[rid]
        count, last = table.get(rec["base"], (0, 0))
        if rid != rec["base"] and rid in table:
            c2, l2 = table[rid]
            count, last = scores.add(count, c2), max(last, l2)
        return count, last


def _history_order(b: _Builder, nodes: dict[str, NodeState],
                   elements: dict[str, Element]) -> list[str]:
    online = [n for n in elements if nodes[n].online]
    offline = [n for n in elements if not nodes[n].online and b.opts.stonith_enabled]
    return online + offline


def _mark_node(b: _Builder, node: str, **changes: Any) -> None:
    upd = b.node_updates.setdefault(node, {})
    for k, v in changes.items():
        if k == "unclean_reason" and upd.get("unclean_reason"):
            continue
        upd[k] = v


def _process_rsc_state(b: _Builder, rid: str, node: NodeState, h: Any) -> None:
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
    if h.role > STOPPED:
        if node.name not in rec["running"]:
            rec["running"].append(node.name)
        if node.maintenance:
            rec["managed"] = False
        if on_fail in ("demote", "block"):
            rec["failed"] = True
        elif on_fail != "ignore":
            rec["failed"] = rec["stop_needed"] = True


def _unpack_history(b: _Builder, node: NodeState, lrm_rsc: Element) -> None:
    lrm_id = lrm_rsc.get("id")
    if not lrm_id:
        return
    rid = b.find_for_history(lrm_id, node.name, lrm_rsc)
    rec = b.rscs[rid]
    if len(lrm_rsc):
        rec["histories"][node.name] = Agent(lrm_rsc.get("class", "ocf"),
                                            lrm_rsc.get("provider"), lrm_rsc.get("type", ""))
    if only_clean_probe(lrm_rsc) and not rec["meta"].get("failure-timeout"):
        rec["known_on"].add(node.name)
        if rec["role"] == UNKNOWN:
            rec["role"] = STOPPED
        return
    spec: RscSpec = rec["spec"]
    ops = sorted_ops(lrm_rsc, rid)
    raw, last = b.failcount(rid, node.name, node.attrs)
    ft = rec["meta"].get("failure-timeout")
    timeout_s = scores.parse_duration_ms(ft, 0) // 1000 if ft else 0
    effective = raw
    if raw > 0 and timeout_s > 0 and last > 0 and b.now_s > last + timeout_s:
        if not block_failure(spec, ops):
            effective = 0
    rec["failcounts"][node.name] = effective
    ctx = HistoryContext(
        rsc_id=rid, node=node.name, node_online=node.online, spec=spec,
        op_defaults=b.config.op_defaults, stonith_enabled=b.opts.stonith_enabled,
        failure_timeout_s=timeout_s, raw_failcount=raw, effective_failcount=effective,
        now_s=b.now_s, managed=rec["managed"], default_timeout_ms=b.default_timeout_ms,
        migration=b.migration_view(lrm_id) if b.migration_view else None,
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


def _check_definitions(b: _Builder, nodes: Mapping[str, NodeState], cib_feature_set: str | None,
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


def _cleanups(b: _Builder, nodes: Mapping[str, NodeState]) -> None:
    """Histories to delete (``<rsc>_delete_0``): an orphan's (not an anonymous clone
    instance's), and a primitive's whose agent changed; not for a failed resource or on a
    node that cannot run resources (Pacemaker's pcmk__schedule_cleanup)."""
    for rid, rec in b.rscs.items():
        clone = b.clone_of(rid)
        anonymous = clone is not None and not b.unique(clone)
        for node_name, agent in rec["histories"].items():
            node = nodes[node_name]
            if rec["failed"] or not node.can_run:
                continue
            if rec["orphan"] and not anonymous:
                rec["cleanup_on"].add(node_name)
            elif not rec["orphan"] and rec["spec"].agent is not None and (
                    agent.cls, agent.type) != (rec["spec"].agent.cls, rec["spec"].agent.type):
                rec["cleanup_on"].add(node_name)


def _freeze(b: _Builder, promotable_of: Mapping[str, bool]) -> dict[str, Resource]:
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
            no_migrate=rec["no_migrate"],
        )
    return out


def _promotable_map(b: _Builder) -> dict[str, bool]:
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
    b = _Builder(config, now_s)
    for spec in config.resources:
        b.add(spec, None, {})
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
    resources = apply_multiple_active(_freeze(b, _promotable_map(b)), nodes, config.options)
    has_device = any(r.kind == "primitive" and r.agent is not None and r.agent.cls == "stonith"
                     and not r.orphan for r in resources.values()) or b.opts.have_watchdog
    return ClusterState(
        options=config.options, nodes=nodes, resources=resources, top=tuple(b.top),
        locations=config.locations + tuple(promo_bans), colocations=config.colocations,
        orders=config.orders,
        failed_ops=tuple(b.failed_ops), has_fence_device=has_device,
        notes=config.notes + tuple(b.notes),
        now_s=now_s,
        op_timeout_ms=op_timeout_ms(config.op_defaults.get("timeout")),
        fence_timeout_ms=config.fence_timeout_ms,
    )
