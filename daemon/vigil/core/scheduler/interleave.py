"""Interleaved clones (meta ``interleave=true``): instances paired per node.

Rules (Pacemaker 2.1.5 find_compatible_child, multi_update_interleave_actions)
-----------------------------------------------------------------------------
* An instance's *location* is its one node: where it runs ("current", for orderings
  whose first is a stop or demote) or where it was assigned; an instance on several
  nodes, or blocked, has none.
* An instance's *partner* in another clone is the first instance of that clone located
  on the instance's node; an instance with no location tries its allowed nodes, best
  score first.
* Colocation ``A-clone with B-clone`` when A is interleaved (and both allow as many
  instances per node): each A instance is colocated with its partner only; with no
  partner, a mandatory colocation leaves the instance stopped.
* Ordering ``A-clone then B-clone`` when the clone whose instances wait is interleaved
  (B's, or A's for an ordering whose then is a stop or demote): each B instance's action
  is ordered after its partner's, instead of after the whole clone. A B instance without
  partner cannot become active when the ordering is mandatory (its start is unrunnable,
  its stop required); for a stop or demote ordering it is simply not ordered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from . import scores
from .actgraph import IMPLIES_THEN, RUNNABLE_LEFT
from .ports import Assignment, Building, HasState

INF = scores.INFINITY
ATOMIC = {"running": "start", "stopped": "stop", "promoted": "promote", "demoted": "demote"}


class PairingAssigner(HasState, Protocol):
    """What pairing instances for a colocation reads of the assigner."""

    assigned: dict[str, str | None]

    def sorted_nodes(self, rid: str, active: bool = True) -> list[str]: ...


class PairingBuilder(Building, Protocol):
    """What pairing instances for an ordering reads and writes of the action builder."""

    asg: Assignment
    inhibited: set[str]

    def kind(self, rid: str) -> str: ...


def copies_per_node(meta: Mapping[str, str]) -> int:
    return scores.lenient_int(meta.get("clone-node-max"), 1)


def _nodes(b: HasState, rid: str, current: bool,
           assigned: Mapping[str, str | None]) -> set[str]:
    rsc = b.state.resources[rid]
    if rsc.kind != "primitive":
        out: set[str] = set()
        for c in rsc.children:
            out |= _nodes(b, c, current, assigned)
        return out
    if current:
        return set(rsc.running)
    node = assigned.get(rid)
    return {node} if node is not None else set()


def location(b: HasState, rid: str, current: bool,
             assigned: Mapping[str, str | None]) -> str | None:
    nodes = _nodes(b, rid, current, assigned)
    return next(iter(nodes)) if len(nodes) == 1 else None


def _blocked(b: HasState, rid: str) -> bool:
    return any(leaf.blocked for leaf in b.state.leaves(rid))


def partner(b: HasState, inst: str, clone: str, current: bool,
            assigned: Mapping[str, str | None], ranked: list[str]) -> str | None:
    """The instance of ``clone`` on ``inst``'s node (Pacemaker's find_compatible_child)."""
    here = location(b, inst, current, assigned)
    candidates = [here] if here is not None else ranked
    for node in candidates:
        for other in b.state.resources[clone].children:
            if not _blocked(b, other) and location(b, other, current, assigned) == node:
                return other
    return None


# -- ordering (action stage) -----------------------------------------------------------
def interleaves_order(b: PairingBuilder, first: str, then: str, then_task: str) -> bool:
    if first == then or b.kind(first) != "clone" or b.kind(then) != "clone":
        return False
    owner = first if then_task in ("stop", "demote") else then
    return scores.is_true(b.state.resources[owner].meta.get("interleave"))


def _ranked(b: PairingBuilder, rid: str) -> list[str]:
    table = b.asg.allowed.get(rid, {})
    runnable = {n for n, s in b.state.nodes.items() if s.can_run}

    def key(n: str) -> tuple[int, int, str]:
        weight = table[n] if n in runnable else -INF
        return (-weight, b.asg.num_assigned.get(n, 0), n)

    return sorted(table, key=key)


def order_interleaved(b: PairingBuilder, first: str, first_task: str, then: str,
                      then_task: str, flags: int) -> None:
    """Order each of ``then``'s instances after its partner in ``first``."""
    current = first_task in ("stopped", "demoted")
    assigned = b.asg.node
    for inst in b.state.resources[then].children:
        other = partner(b, inst, first, current, assigned, _ranked(b, inst))
        if other is None:
            if not current and flags & (RUNNABLE_LEFT | IMPLIES_THEN):
                inhibit(b, inst)
            continue
        task = first_task if b.kind(other) != "primitive" else ATOMIC.get(first_task,
                                                                          first_task)
        firsts = b.g.rsc_actions(other, task)
        thens = b.g.rsc_actions(inst, then_task)
        if firsts and thens:
            b.g.order(firsts[0], thens[0], flags)


def inhibit(b: PairingBuilder, inst: str) -> None:
    """Pacemaker's pcmk__assign_resource(instance, NULL): it will not be active."""
    for leaf in b.state.leaves(inst):
        b.inhibited.add(leaf.id)
        for act in b.g.by_rsc.get(leaf.id, []):
            if act.task == "stop":
                act.optional = False
            elif act.task == "start":
                act.runnable = False
            elif act.interval_ms > 0 and act.target_rc != 7 and act.task != "cancel":
                act.runnable = False


# -- colocation (assignment stage) -----------------------------------------------------
def interleaves_colocation(a: HasState, dependent: str, primary: str) -> bool:
    dep, pri = a.state.resources[dependent], a.state.resources[primary]
    if dep.kind != "clone" or not scores.is_true(dep.meta.get("interleave")):
        return False
    return copies_per_node(dep.meta) == copies_per_node(pri.meta)


def colocation_partner(a: PairingAssigner, inst: str, primary: str) -> str | None:
    ranked = a.sorted_nodes(inst, active=False)
    return partner(a, inst, primary, False, a.assigned, ranked)
