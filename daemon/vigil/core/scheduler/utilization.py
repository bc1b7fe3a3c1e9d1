"""Utilization: capacity checks when a resource is assigned (placement-strategy other
than ``default``).

Rules (Pacemaker 2.1.5 pcmk__ban_insufficient_capacity)
-------------------------------------------------------
* A resource is checked together with the resources it must share a node with: those
  linked to it by +INFINITY colocations that affect placement (roles must match), in both
  directions and transitively (a clone's non-clone dependents excepted). Of those, the
  ones not yet assigned count: a primitive its own utilization, a group every member's, a
  clone one instance's.
* If some available node (score >= 0) has room for that sum, every available node
  without room is banned. Otherwise only nodes without room for the resource alone are
  banned, and the node with the most free capacity is preferred on equal scores.
* A node has room when, for each attribute the resources use, its remaining capacity
  (a missing attribute counts 0) covers the need.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cmp_to_key
from typing import Protocol

from . import scores
from .colocation import Coloc, Colocations
from .ports import Placing

INF = scores.INFINITY


class CapacityAssigner(Placing, Protocol):
    """What the capacity checks and the assignment order read of the assigner."""

    capacity: dict[str, dict[str, int]]
    cols: Colocations
    next_role: dict[str, int]
    provisional: set[str]

    def can_run_any(self, table: Mapping[str, int]) -> bool: ...

    def compare_capacity(self, a: str, b: str) -> int: ...

    def current_node(self, rid: str) -> str | None: ...


def _own(a: CapacityAssigner, rid: str, cols: list[Coloc], attr: str) -> list[Coloc]:
    """Colocations of ``rid`` itself, not those of its group moved onto a member."""
    return [c for c in cols if getattr(c, attr) == rid
            or a.state.resources[getattr(c, attr)].kind != "group"]


def _group_cols(a: CapacityAssigner, rid: str) -> tuple[list[Coloc], list[Coloc]]:
    rsc = a.state.resources[rid]
    if rsc.kind != "group" or not rsc.children:
        return (a.cols.this_with.get(rid, []), a.cols.with_this.get(rid, []))
    first, last = rsc.children[0], rsc.children[-1]
    this = a.cols.this_with.get(rid, []) + [
        c for c in a.cols.this_with.get(first, []) if c.dependent == rid]
    with_ = a.cols.with_this.get(rid, []) + [
        c for c in a.cols.with_this.get(last, []) if c.primary == rid]
    return this, with_


def _affects(a: CapacityAssigner, c: Coloc) -> bool:
    if c.score <= 0:
        return True
    if c.dependent_role is not None and c.dependent_role != a.next_role.get(c.dependent):
        return False
    return c.primary_role is None or c.primary_role == a.next_role.get(c.primary)


def colocated(a: CapacityAssigner, rid: str, orig: str, acc: list[str]) -> list[str]:
    """Pacemaker's colocated_resources: ``rid`` and what must share its node."""
    if rid in acc:
        return acc
    rsc = a.state.resources[rid]
    if rsc.kind == "group":
        for member in rsc.children:
            colocated(a, member, orig, acc)
        this, with_ = _group_cols(a, rid)
    else:
        this = _own(a, rid, a.cols.this_with.get(rid, []), "dependent")
        with_ = _own(a, rid, a.cols.with_this.get(rid, []), "primary")
    if rid not in acc:
        acc.append(rid)
    for c in this:
        if c.primary != orig and c.score >= INF and _affects(a, c):
            colocated(a, c.primary, orig, acc)
    for c in with_:
        dep = c.dependent
        if dep == orig or (rsc.kind == "clone" and a.state.resources[dep].kind != "clone"):
            continue
        if c.score >= INF and _affects(a, c):
            colocated(a, dep, orig, acc)
    return acc


def _add(a: CapacityAssigner, rid: str, rscs: list[str], need: dict[str, int]) -> None:
    rsc = a.state.resources[rid]
    if rid not in a.provisional:
        return
    if rsc.kind == "primitive":
        for k, v in rsc.spec.utilization.items():
            need[k] = need.get(k, 0) + v
    elif rsc.kind == "group":
        for m in rsc.children:
            if m in a.provisional and m not in rscs:
                _add(a, m, rscs, need)
    elif rsc.kind == "clone" and rsc.children:
        existing = False
        for child in rsc.children:
            if child in rscs:
                existing = True
            elif any(m in rscs for m in a.state.resources[child].children):
                _add(a, child, rscs, need)
                existing = True
        if not existing:
            _add(a, rsc.children[0], rscs, need)


def _room(a: CapacityAssigner, node: str, need: Mapping[str, int]) -> bool:
    have = a.capacity[node]
    return all(have.get(k, 0) >= v for k, v in need.items())


def ban_insufficient_capacity(a: CapacityAssigner, rid: str) -> str | None:
    """Ban nodes without room; return the most capable node when none has room for
    everything colocated with ``rid``."""
    if a.state.options.placement_strategy == "default":
        return None
    rscs = colocated(a, rid, rid, [])
    need: dict[str, int] = {}
    for r in rscs:
        _add(a, r, rscs, need)
    table = a.allowed[rid]
    available = [n for n, w in table.items() if a.can_run(n) and w >= 0]
    most: str | None = None
    for n in available:
        if most is None or a.compare_capacity(n, most) < 0:
            most = n
    if any(_room(a, n, need) for n in available):
        alone, most = need, None
    else:
        alone = dict(a.state.resources[rid].spec.utilization)
    for n in available:
        if not _room(a, n, alone):
            table[n] = scores.add(table[n], -INF)
    return most


def assignment_order(a: CapacityAssigner, tops: tuple[str, ...]) -> list[str]:
    """Top-level resources by priority; with a placement strategy, then by the score on
    their current node, then by their scores node by node (Pacemaker's
    pcmk__sort_resources, with nodes in name order or, balanced, free capacity first)."""
    by_priority = [r for _, r in sorted(
        enumerate(tops), key=lambda p: (-a.state.resources[p[1]].priority, p[0]))]
    strategy = a.state.options.placement_strategy
    if strategy == "default":
        return by_priority
    def node_cmp(x: str, y: str) -> int:
        ux, uy = a.can_run(x), a.can_run(y)
        if ux != uy:
            return -1 if ux else 1
        if strategy == "balanced" and (c := a.compare_capacity(x, y)):
            return c
        return -1 if x < y else 1 if x > y else 0

    nodes = sorted(a.state.nodes, key=cmp_to_key(node_cmp))
    tables = {rid: _with_primaries(a, rid, None, "#uname", 1.0, set()) or a.allowed[rid]
              for rid in tops}

    def weight(rid: str, node: str | None) -> int:
        table = tables[rid]
        return table[node] if node is not None and node in table else -INF

    def cmp(r1: str, r2: str) -> int:
        p1, p2 = a.state.resources[r1].priority, a.state.resources[r2].priority
        if p1 != p2:
            return -1 if p1 > p2 else 1
        w1, w2 = weight(r1, a.current_node(r1)), weight(r2, a.current_node(r2))
        if w1 != w2:
            return -1 if w1 > w2 else 1
        for n in nodes:
            w1, w2 = weight(r1, n), weight(r2, n)
            if w1 != w2:
                return -1 if w1 > w2 else 1
        return 0

    return sorted(by_priority, key=cmp_to_key(cmp))


def _with_primaries(a: CapacityAssigner, rid: str, work: dict[str, int] | None, attr: str,
                    factor: float, seen: set[str]) -> dict[str, int] | None:
    """``rid``'s scores with those of what it is colocated with folded in (Pacemaker's
    pcmk__add_colocated_node_scores, "this with" direction); None to roll back."""
    if rid in seen:
        return work
    seen.add(rid)
    try:
        table = a.allowed[rid]
        if work is None:
            out = dict(table)
        else:
            out = dict(work)
            for n, w in out.items():
                value = a.state.nodes[n].attrs.get(attr)
                best = max((mw for m, mw in table.items() if a.can_run(m)
                            and a.state.nodes[m].attrs.get(attr) == value), default=-INF)
                if factor < 0 and best < 0:
                    continue
                wf = factor * best
                weight = int(wf - 0.5) if wf < 0 else int(wf + 0.5)
                if weight == 0 and best != 0:
                    weight = 1 if factor > 0 else -1
                out[n] = scores.add(weight, w)
        if not a.can_run_any(out):
            return None if work is not None else out
        multiplier = -1.0 if factor < 0 else 1.0
        for c in a.cols.this_with.get(rid, []):
            merged = _with_primaries(a, c.primary, out, c.node_attribute,
                                     multiplier * c.score / INF, seen)
            if merged is not None:
                out = merged
        return out
    finally:
        seen.discard(rid)
