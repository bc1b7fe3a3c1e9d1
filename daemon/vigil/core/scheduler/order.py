"""User ordering constraints (``rsc_order``) turned into action orderings.

Rules
-----
* ``kind=Mandatory`` (or a non-zero score, the default): ``then`` waits for ``first``; a
  required ``first`` makes ``then`` required; an unrunnable ``first`` start/promote makes
  ``then`` unrunnable. ``symmetrical`` (default true) adds the inverse ordering: ``then``
  is stopped before ``first``, and a required stop of ``first`` requires a stop of ``then``.
* ``symmetrical=false`` mandatory orders block ``then`` while ``first`` cannot run,
  unless ``then`` is already where it should be.
* ``kind=Optional`` (or score 0) only orders actions that happen anyway.
* When ``first`` is a group or clone, its completion markers are used (start ->
  running, stop -> stopped, ...).
* A clone ``first`` with ``clone-min=N`` (or the order's ``require-all=false``, N=1), and
  a set with ``require-all=false``, go through an "any of" pseudo action: every instance's
  (member's) action is ordered before it, and it is runnable once N of them are; ``then``
  follows it as it would follow ``first`` (Pacemaker's clone_min_ordering and
  order_rsc_sets). Interleaving does not apply then.
"""

from __future__ import annotations

from . import scores
from .actgraph import (
    ASYMMETRICAL,
    IMPLIES_FIRST,
    IMPLIES_THEN,
    IMPLIES_THEN_PRINTED,
    INTERLEAVED,
    ONE_OR_MORE,
    OPTIONAL,
    RUNNABLE_LEFT,
    SERIALIZE,
    Act,
)
from .actions import ActionBuilder, op_key
from .colocation import resolve
from .interleave import interleaves_order, order_interleaved
from .migration import order_equivalents
from .model import OrderSpec

INVERT = {"start": "stop", "stop": "start", "promote": "demote", "demote": "promote",
          "promoted": "demoted", "demoted": "promoted", "running": "stopped",
          "stopped": "running"}
COMPLETE = {"start": "running", "stop": "stopped", "promote": "promoted",
            "demote": "demoted"}


def order_flags(kind: str, first_action: str, symmetry: str) -> int:
    flags = OPTIONAL
    if kind == "Serialize":
        return flags | SERIALIZE
    if kind != "Mandatory":
        return flags
    if symmetry == "asymmetric":
        return flags | ASYMMETRICAL
    if symmetry == "inverse":
        return flags | IMPLIES_FIRST
    flags |= IMPLIES_THEN
    if first_action in ("start", "promote"):
        flags |= RUNNABLE_LEFT
    return flags


def _first_task(b: ActionBuilder, rid: str, task: str) -> str:
    if b.state.resources[rid].kind in ("group", "clone"):
        return COMPLETE.get(task, task)
    return task


def _min_instances(b: ActionBuilder, rid: str, spec: OrderSpec) -> int:
    rsc = b.state.resources[rid]
    if rsc.kind != "clone":
        return 0
    text = rsc.meta.get("clone-min")
    if text is not None:
        return max(0, scores.lenient_int(text, 0))
    return 0 if spec.require_all else 1


def _any_of(b: ActionBuilder, key: str, needed: int) -> tuple[Act, bool]:
    act, created = b.g.add(key, None, "any-of", None, True, "pseudo")
    if created:
        act.pseudo = True
        act.runnable = True
        act.required_before = needed
    return act, created


def _order_into(b: ActionBuilder, rid: str, task: str, then: Act) -> None:
    firsts = b.g.rsc_actions(rid, task)
    if not firsts:
        if task == "stop" and not b.state.resources[rid].running:
            return
        firsts = [b.g.add_detached(op_key(rid, task), rid, task)]
    for f in firsts:
        b.g.order(f, then, ONE_OR_MORE | IMPLIES_THEN_PRINTED)


def apply_user_orders(b: ActionBuilder) -> None:
    for spec in b.state.orders:
        first, then = resolve(b.state, spec.first), resolve(b.state, spec.then)
        if first == then:
            continue
        symmetry = "symmetric" if spec.symmetrical else "asymmetric"
        if spec.kind != "Mandatory" and not spec.symmetrical:
            symmetry = "asymmetric"
        flags = order_flags(spec.kind, spec.first_action, symmetry)
        if spec.kind != "Mandatory":
            flags &= ~ASYMMETRICAL
        needed = _min_instances(b, first, spec) if spec.relaxed is None else 1
        if needed > 0:
            key = f"relaxed:{spec.relaxed or spec.id}"
            gate, created = _any_of(b, key, needed)
            if spec.relaxed is None:
                for inst in b.state.resources[first].children:
                    _order_into(b, inst, spec.first_action, gate)
            else:
                _order_into(b, first, _first_task(b, first, spec.first_action), gate)
            b.order_to_key(gate, then, spec.then_action, flags | RUNNABLE_LEFT)
        else:
            _order(b, first, _first_task(b, first, spec.first_action), then,
                   spec.then_action, flags)
        if spec.symmetrical and spec.kind != "Serialize":
            inv_first = INVERT.get(spec.then_action)
            inv_then = INVERT.get(spec.first_action)
            if inv_first is None or inv_then is None:
                continue
            flags = order_flags(spec.kind, inv_first, "inverse")
            _order(b, then, _first_task(b, then, inv_first), first, inv_then, flags)


def _order(b: ActionBuilder, first: str, first_task: str, then: str, then_task: str,
           flags: int) -> None:
    if interleaves_order(b, first, then, then_task):
        order_interleaved(b, first, first_task, then, then_task, flags)
        flags |= INTERLEAVED
    b.order_keys(first, first_task, then, then_task, flags)
    order_equivalents(b, first, first_task, then, then_task)
