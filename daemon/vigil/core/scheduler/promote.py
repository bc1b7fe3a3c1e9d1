"""Promotable clones: choosing which instances are Promoted.

Rules (Pacemaker 2.1.5)
-----------------------
* Before instances are placed, each node's promotion score (``master-<rsc>`` node
  attribute) is added to the instance's score there when positive.
* After placement, each placed instance gets a promotion priority: its promotion score on
  its node (-1 when none is set, so nothing is promoted without a score or a
  ``role=Promoted`` location), plus ``role=Promoted`` location scores, plus role-specific
  colocations. ``target-role=Unpromoted`` prevents promotion.
* Priorities are summed per node into the clone's scores, together with the preferences
  of resources colocated with the Promoted role; instances are ranked by that, and the
  best ones with a non-negative priority are promoted, at most ``promoted-max`` in total
  and ``promoted-node-max`` per node. Without quorum under ``freeze`` or ``demote``
  nothing new is promoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cmp_to_key
from typing import Protocol

from . import scores
from .colocation import Coloc, Colocations
from .history import PROMOTED, STOPPED, UNKNOWN, UNPROMOTED
from .instances import InstanceSorter, cmp_instance, instance_node
from .tree import strip_instance

INF = scores.INFINITY


class PromotionAssigner(InstanceSorter, Protocol):
    """What choosing Promoted instances reads and writes of the assigner."""

    cols: Colocations
    managed: dict[str, bool]
    next_role: dict[str, int]
    promoted: set[str]
    promotion_locations: Mapping[str, Mapping[str, int]]

    def show(self, kind: str, rid: str, table: Mapping[str, int]) -> None: ...

    def has_influence(self, c: Coloc, rid: str | None = None) -> bool: ...

    def merge_weights(self, rid: str, nodes: dict[str, int], attr: str, factor: float,
                      rollback: bool, positive: bool = False) -> dict[str, int]: ...


def _meta_int(a: PromotionAssigner, rid: str, names: tuple[str, ...], default: int) -> int:
    meta = a.state.resources[rid].meta
    for n in names:
        if n in meta:
            return scores.lenient_int(meta[n], default)
    return default


def promoted_max(a: PromotionAssigner, rid: str) -> int:
    return _meta_int(a, rid, ("promoted-max", "master-max"), 1)


def promoted_node_max(a: PromotionAssigner, rid: str) -> int:
    return _meta_int(a, rid, ("promoted-node-max", "master-node-max"), 1)


def _filter_anonymous(a: PromotionAssigner, clone: str, rid: str, node: str) -> bool:
    """Pacemaker's filter_anonymous_instance: True if ``rid`` is the instance active on
    ``node``, or none is active there but some instance has been probed there."""
    base = a.state.resources[rid].base
    members = [leaf for inst in a.state.resources[clone].children
               for leaf in a.state.leaves(inst) if leaf.base == base]
    for leaf in members:
        if node in leaf.running:
            return leaf.id == rid
    return any(node in leaf.known_on for leaf in members)


def promotion_score(a: PromotionAssigner, rid: str, node: str, not_set: int) -> int:
    rsc = a.state.resources[rid]
    if rsc.kind != "primitive":
        score = not_set
        for c in rsc.children:
            cs = promotion_score(a, c, node, not_set)
            score = cs if score == not_set else score + cs
        return score
    top = a.state.top_of(rid)
    unique = scores.is_true(top.meta.get("globally-unique"))
    if not unique and _filter_anonymous(a, top.id, rid, node):
        pass
    elif rsc.running or rsc.known_on:
        if node not in rsc.running and node not in rsc.known_on:
            return not_set
    match = a.allowed[rid].get(node)
    if match is None or match < 0:
        return not_set
    attrs = a.state.nodes[node].attrs
    value = attrs.get(f"master-{rid}")
    if value is None and not unique:
        value = attrs.get(f"master-{strip_instance(rid)}")
    return scores.lenient_int(value) if value is not None else not_set


def add_promotion_scores(a: PromotionAssigner, clone: str) -> None:
    """Add positive promotion scores to instance scores; an instance's priority (used to
    order instances before placement) becomes its best promotion score."""
    if promoted_max(a, clone) == 0:
        return
    for inst in a.state.resources[clone].children:
        for node, weight in list(a.allowed[inst].items()):
            if not a.can_run(node):
                continue
            score = promotion_score(a, inst, node, 0)
            if score > 0:
                a.allowed[inst][node] = scores.add(weight, score)
            prio = a.instance_priority.get(inst, a.state.resources[inst].priority)
            a.instance_priority[inst] = max(prio, score)


def _set_next(a: PromotionAssigner, inst: str, role: int) -> None:
    a.next_role[inst] = role
    for c in a.state.resources[inst].children:
        _set_next(a, c, role)


def _priority(a: PromotionAssigner, clone: str, inst: str, node: str) -> int:
    rsc = a.state.resources[inst]
    nxt = a.next_role.get(inst, UNKNOWN)
    if nxt in (UNPROMOTED, STOPPED):
        prio = -INF
    elif nxt == PROMOTED:
        prio = INF
    else:
        prio = promotion_score(a, inst, node, -1)
    for key in (clone, rsc.base, inst):
        bonus = a.promotion_locations.get(key, {}).get(node)
        if bonus is not None:
            prio = scores.add(prio, bonus)
    for c in a.cols.this_with.get(inst, []):
        if c.dependent_role is None or c.dependent_role < UNPROMOTED:
            continue
        pnode = a.assigned.get(c.primary)
        if pnode is None:
            continue
        attr = c.node_attribute
        if a.state.nodes[node].attrs.get(attr) != a.state.nodes[pnode].attrs.get(attr):
            if c.score >= INF and c.dependent_role == PROMOTED:
                prio = -INF
            continue
        if c.primary_role is not None and c.primary_role != a.next_role.get(c.primary):
            continue
        mult = -1 if c.dependent_role == UNPROMOTED else 1
        prio = scores.add(mult * c.score, prio)
    return prio


def _promotion_order(a: PromotionAssigner, clone: str, placed: dict[str, str],
                     sort_index: dict[str, int]) -> None:
    table = a.allowed[clone]
    for inst, node in placed.items():
        if sort_index[inst] >= 0:
            table[node] = scores.add(sort_index[inst], table.get(node, 0))
    for c in a.cols.this_with.get(clone, []):
        if c.dependent_role == PROMOTED:
            a.allowed[clone] = a.merge_weights(c.primary, a.allowed[clone], c.node_attribute,
                                               c.score / INF, c.score < INF)
    for c in a.cols.with_this.get(clone, []):
        if a.has_influence(c) and c.primary_role == PROMOTED:
            a.allowed[clone] = a.merge_weights(c.dependent, a.allowed[clone],
                                               c.node_attribute, c.score / INF, True, True)
    table = a.allowed[clone]
    for inst, node in placed.items():
        if sort_index[inst] >= 0:
            sort_index[inst] = table.get(node, 0)


def set_instance_roles(a: PromotionAssigner, clone: str) -> None:
    rsc = a.state.resources[clone]
    opts = a.state.options
    placed: dict[str, str] = {}
    priority: dict[str, int] = {}
    sort_index: dict[str, int] = {}
    for inst in rsc.children:
        node = instance_node(a, inst)
        sort_index[inst] = -INF
        if node is None:
            continue
        placed[inst] = node
        priority[inst] = _priority(a, clone, inst, node)
        sort_index[inst] = INF if a.next_role.get(inst) == PROMOTED else priority[inst]
    _promotion_order(a, clone, placed, sort_index)
    for inst, node in placed.items():
        a.show("promotion", inst, {node: sort_index[inst]})

    for inst, prio in priority.items():
        a.instance_priority[inst] = prio
    a.clone_count[clone] = {}  # counts are reused for promoted instances per node

    def cmp(x: str, y: str) -> int:
        if sort_index[x] != sort_index[y]:
            return -1 if sort_index[x] > sort_index[y] else 1
        rx, ry = a.state.resources[x].role, a.state.resources[y].role
        if rx != ry:
            return -1 if rx > ry else 1
        return cmp_instance(a, clone, x, y)

    count: dict[str, int] = {}
    promoted = 0
    limit, node_limit = promoted_max(a, clone), promoted_node_max(a, clone)
    blocked = not opts.have_quorum and opts.no_quorum_policy in ("freeze", "demote")
    for inst in sorted(rsc.children, key=cmp_to_key(cmp)):
        node = placed.get(inst)
        managed = a.managed.get(inst, True)
        ok = node is not None and sort_index[inst] >= 0 and (promoted < limit or not managed)
        if ok and node is not None and not managed:
            # an unmanaged instance stays promoted if it is, and is never promoted
            # (Pacemaker's node_to_be_promoted_on)
            ok = a.state.resources[inst].role == PROMOTED and node in a.allowed.get(clone, {})
        elif ok and node is not None:
            ok = priority.get(inst, -1) >= 0 and a.can_run(node) and \
                count.get(node, 0) < node_limit
        if ok and blocked and (a.state.resources[inst].role < PROMOTED
                               or opts.no_quorum_policy == "demote"):
            ok = False
        if not ok or node is None:
            _set_next(a, inst, UNPROMOTED if node is not None else STOPPED)
            continue
        count[node] = count.get(node, 0) + 1
        _set_next(a, inst, PROMOTED)
        a.promoted.add(inst)
        promoted += 1
