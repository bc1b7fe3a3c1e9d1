"""Clones: instance assignment, clone colocations, probes and clone actions.

Rules (Pacemaker 2.1.5)
-----------------------
* ``clone-max`` instances (default: number of nodes), at most ``clone-node-max`` (default
  1) per node. Instances already active are kept where they are first (instances sorted:
  active before inactive, current node available first, failed ones last); the others are
  assigned like primitives, spreading over the nodes.
* The clone's own colocations are copied to each instance: mandatory or negative ones
  always, finite positive ones only when not every node gets an instance.
* A resource colocated with a clone may run only where an instance runs (+INFINITY), or
  gains the score on each instance's node (finite). With a role (``with-rsc-role=Promoted``)
  only instances of that role count.
* Anonymous clones are probed once per node (the instance known there, else the one
  assigned there, else the first); globally unique clones probe every instance.
* A clone has pseudo actions start/running/stop/stopped (plus promote/promoted/
  demote/demoted when promotable); orderings on the clone apply to its instances.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from . import scores
from .colocation import Coloc
from .history import PROMOTED, STOPPED, UNPROMOTED
from .instances import failed as _failed
from .instances import instance_node, sort_instances
from .instances import running_count as _running_count
from .interleave import PairingAssigner, colocation_partner, interleaves_colocation
from .promote import PromotionAssigner, add_promotion_scores, set_instance_roles

INF = scores.INFINITY


class CloneAssigner(PromotionAssigner, PairingAssigner, Protocol):
    """What assigning a clone's instances reads and writes of the assigner (and calls
    back: a clone's primaries and instances are assigned by the assigner itself)."""

    allocating: set[str]
    capacity: dict[str, dict[str, int]]
    num_assigned: dict[str, int]
    provisional: set[str]

    def allocate(self, rid: str, prefer: str | None = None) -> str | None: ...

    def assign(self, rid: str, chosen: str | None, force: bool = False) -> bool: ...

    def ban_all(self, rid: str) -> None: ...

    def current_node(self, rid: str) -> str | None: ...

    def colocation_match(self, rid: str, c: Coloc, pnode: str | None) -> None: ...

    def role_filter(self, rid: str, c: Coloc) -> bool: ...


def clone_max(a: CloneAssigner, rid: str) -> int:
    rsc = a.state.resources[rid]
    value = rsc.meta.get("clone-max")
    default = len(a.state.nodes)
    return max(0, scores.lenient_int(value, default)) if value is not None else default


def node_max(a: CloneAssigner, rid: str) -> int:
    return max(1, scores.lenient_int(a.state.resources[rid].meta.get("clone-node-max"), 1))


def _update_score(a: CloneAssigner, rid: str, node: str, score: int) -> None:
    table = a.allowed[rid]
    table[node] = scores.add(table.get(node, 0), score)
    for c in a.state.resources[rid].children:
        _update_score(a, c, node, score)


def _append_parent_colocations(a: CloneAssigner, clone: str, inst: str, all_coloc: bool) -> None:
    for c in a.cols.this_with.get(clone, []):
        if all_coloc or c.score < 0 or c.score >= INF:
            lst = a.cols.this_with.setdefault(inst, [])
            if c not in lst:
                lst.append(c)
    for c in a.cols.with_this.get(clone, []):
        if not a.has_influence(c, inst):
            continue
        if all_coloc or c.score < 0:
            lst = a.cols.with_this.setdefault(inst, [])
            if c not in lst:
                lst.append(c)


def _can_run_instance(a: CloneAssigner, clone: str, inst: str, node: str, limit: int) -> bool:
    ok = False
    if a.can_run(node) and not a.state.resources[inst].orphan:
        local = a.allowed[clone].get(node)
        if local is None:
            pass
        elif local < 0:
            _update_score(a, inst, node, local)
            return False
        elif a.clone_count[clone].get(node, 0) < limit:
            ok = True
    if not ok:
        _update_score(a, inst, node, -INF)
    return ok


def _deallocate(a: CloneAssigner, rid: str) -> None:
    node = a.assigned.pop(rid, None)
    a.provisional.add(rid)
    if node is not None and a.state.resources[rid].kind == "primitive":
        a.num_assigned[node] -= 1
        for k, v in a.state.resources[rid].spec.utilization.items():
            a.capacity[node][k] = a.capacity[node].get(k, 0) + v
    for c in a.state.resources[rid].children:
        _deallocate(a, c)


def _allocate_instance(a: CloneAssigner, clone: str, inst: str, prefer: str | None,
                       all_coloc: bool, limit: int) -> bool:
    if inst not in a.provisional:
        return a.assigned.get(inst) is not None
    if inst in a.allocating:
        return False
    _append_parent_colocations(a, clone, inst, all_coloc)
    if prefer is not None:
        local = a.allowed[inst].get(prefer)
        if local is None or local < 0:
            return False
    for node in list(a.allowed[inst]):
        _can_run_instance(a, clone, inst, node, limit)
    backup = dict(a.allowed[inst])
    chosen = a.allocate(inst, prefer)
    if chosen is not None and prefer is not None and chosen != prefer:
        a.allowed[inst] = backup
        # Pacemaker 2.1.5 can only undo a primitive's assignment: a cloned group keeps
        # its members where they went, and that instance is not counted per node
        if a.state.resources[inst].kind == "primitive":
            _deallocate(a, inst)
        chosen = None
    if chosen is not None:
        counts = a.clone_count[clone]
        counts[chosen] = counts.get(chosen, 0) + 1
    return chosen is not None


def _distribute(a: CloneAssigner, clone: str, children: list[str]) -> None:
    maximum, limit = clone_max(a, clone), node_max(a, clone)
    a.clone_count[clone] = {}
    available = sum(1 for n in a.allowed[clone] if a.can_run(n))
    all_coloc = maximum < available
    allocated = 0
    for inst in children:
        if allocated >= maximum:
            break
        cur, n = _running_count(a, inst)
        if cur is None or inst not in a.provisional or _failed(a, inst):
            continue
        if cur not in a.allowed[clone]:
            continue
        if _can_run_instance(a, clone, inst, cur, limit) and \
                _allocate_instance(a, clone, inst, cur, all_coloc, limit):
            allocated += 1
    for inst in children:
        if inst not in a.provisional:
            continue
        if allocated >= maximum:
            a.ban_all(inst)
            _unassign(a, inst)
        elif _allocate_instance(a, clone, inst, None, all_coloc, limit):
            allocated += 1
        else:
            _unassign(a, inst)


def _unassign(a: CloneAssigner, rid: str) -> None:
    rsc = a.state.resources[rid]
    current = a.current_node(rid) if rsc.kind == "primitive" else None
    if current is not None and not a.managed[rid]:
        # an unmanaged instance stays where it is, whatever its clone decided
        # (pcmk__primitive_assign assigns it to its current node)
        if rid in a.provisional:
            a.next_role[rid] = rsc.role
            a.assign(rid, current, force=True)
        return
    a.provisional.discard(rid)
    a.assigned[rid] = None
    a.next_role[rid] = STOPPED
    for c in rsc.children:
        _unassign(a, c)


def allocate_clone(a: CloneAssigner, rid: str, prefer: str | None) -> str | None:
    if rid not in a.provisional or rid in a.allocating:
        return None
    clone = a.state.resources[rid]
    if clone.spec.promotable:
        add_promotion_scores(a, rid)
    a.allocating.add(rid)
    for c in list(a.cols.this_with.get(rid, [])):
        a.allocate(c.primary)
    for c in list(a.cols.with_this.get(rid, [])):
        if a.has_influence(c):
            a.allowed[rid] = a.merge_weights(c.dependent, a.allowed[rid], c.node_attribute,
                                             c.score / INF, True, True)
    a.show("clone", rid, a.allowed[rid])
    for inst in clone.children:
        if not a.state.resources[inst].orphan:
            a.show("clone", inst, a.allowed[inst])
    a.clone_count[rid] = {}
    children = sort_instances(a, rid, list(clone.children))
    _distribute(a, rid, children)
    if clone.spec.promotable:
        set_instance_roles(a, rid)
    a.allocating.discard(rid)
    a.provisional.discard(rid)
    a.assigned[rid] = None
    return None


def apply_clone_primary(a: CloneAssigner, rid: str, c: Coloc) -> None:
    """``rid`` (dependent) is colocated with the clone ``c.primary``."""
    clone = a.state.resources[c.primary]
    if c.primary in a.provisional:
        return
    if clone.spec.promotable and c.primary_role is not None:
        nodes = []
        for inst in clone.children:
            node = instance_node(a, inst)
            if node is None:
                continue
            role = a.next_role.get(inst, UNPROMOTED)
            if role == c.primary_role or (c.primary_role == UNPROMOTED and role != PROMOTED):
                if c.score < INF:
                    _add_matching(a, rid, node, c)
                nodes.append(node)
        if c.score >= INF and (c.dependent_role != PROMOTED or c.primary_role != PROMOTED):
            _exclude(a, rid, nodes)
        return
    if interleaves_colocation(a, c.dependent, c.primary):
        other = colocation_partner(a, rid, c.primary)
        if other is not None:
            paired = dataclasses.replace(c, primary=other)
            if a.role_filter(rid, paired):
                a.colocation_match(rid, paired, instance_node(a, other))
        elif c.score >= INF:
            a.assign(rid, None, force=True)
        return
    nodes = [n for n in (instance_node(a, i) for i in clone.children) if n is not None]
    if c.score >= INF:  # blocked instances do not count
        _exclude(a, rid, [n for i in clone.children if (n := instance_node(a, i)) is not None
                          and not any(leaf.blocked for leaf in a.state.leaves(i))])
        return
    for node in nodes:
        a.colocation_match(rid, c, node)


def _add_matching(a: CloneAssigner, rid: str, node: str, c: Coloc) -> None:
    value = a.state.nodes[node].attrs.get(c.node_attribute)
    for n, w in a.allowed[rid].items():
        if a.state.nodes[n].attrs.get(c.node_attribute) == value:
            a.allowed[rid][n] = scores.add(w, c.score)


def _exclude(a: CloneAssigner, rid: str, nodes: list[str]) -> None:
    for n in a.allowed[rid]:
        if n not in nodes:
            a.allowed[rid][n] = -INF
