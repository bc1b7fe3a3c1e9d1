"""The resource tree while the CIB is unpacked: records, clone instances, orphans.

Mutable scratch space for one :func:`.unpack.unpack`, frozen into
:class:`~.state.Resource` values at its end.

Rules
-----
* Every configured resource gets a record with its effective meta attributes: its own,
  then its parent's, then ``rsc_defaults`` (sets with rules evaluated for its agent); a
  clone's ``resource-stickiness`` defaults to 1. Groups add their members, clones
  ``clone-max`` instances (``rsc:N``; default: the number of configured nodes).
* A history entry belongs to: the primitive of that id (not anonymously cloned); for an
  anonymous clone, the instance already active on the node, else the first instance
  active nowhere, else a new orphan instance; for a unique clone, an orphan instance of
  that number; else a new orphan resource (stopped everywhere, or left unmanaged with
  ``stop-orphan-resources=false``).
* A fail count is the base resource's plus, for an instance, the instance's own.
* A primitive with a ``container`` meta attribute (its own or a parent's) naming another
  resource is a *filler* of that container (see :mod:`.unpack`); a Pacemaker Remote
  connection as container is not supported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree

from vigil.core.graph import Agent

from . import scores
from .config import merge_sets, op_timeout_ms
from .history import UNKNOWN, FailedOp, fail_table
from .migrate_history import MigrationView
from .model import Config, RscSpec

Element = etree._Element
_INSTANCE_RE = re.compile(r":\d+$")


def strip_instance(rid: str) -> str:
    return _INSTANCE_RE.sub("", rid)


class TreeBuilder:
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
            "no_migrate": False, "container": None, "fillers": [], "stop_required_on": set(),
            "lock_node": None,
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

    def resolve_containers(self) -> None:
        """Link each primitive with a ``container`` meta attribute (its own or inherited)
        to that resource, unless it names itself or a Pacemaker Remote connection."""
        for rid, rec in self.rscs.items():
            cid = rec["meta"].get("container")
            if rec["kind"] != "primitive" or not cid or cid == rid or cid not in self.rscs:
                continue
            if "remote-node" in self.rscs[cid]["meta"]:
                continue
            rec["container"] = cid
            self.rscs[cid]["fillers"].append(rid)

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
