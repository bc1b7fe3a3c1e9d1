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
"""

from __future__ import annotations

from .actgraph import (
    ASYMMETRICAL,
    IMPLIES_FIRST,
    IMPLIES_THEN,
    OPTIONAL,
    RUNNABLE_LEFT,
    SERIALIZE,
)
from .actions import ActionBuilder
from .colocation import resolve

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
        b.order_keys(first, _first_task(b, first, spec.first_action), then,
                     spec.then_action, flags)
        if spec.symmetrical and spec.kind != "Serialize":
            inv_first = INVERT.get(spec.then_action)
            inv_then = INVERT.get(spec.first_action)
            if inv_first is None or inv_then is None:
                continue
            flags = order_flags(spec.kind, inv_first, "inverse")
            b.order_keys(then, _first_task(b, then, inv_first), first, inv_then, flags)
