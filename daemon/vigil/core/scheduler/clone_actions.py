"""Clone actions: probes, pseudo actions and internal orderings of clones.

See :mod:`.clones` for the rules.
"""

from __future__ import annotations

from typing import Protocol

from . import scores
from .actgraph import (
    IMPLIES_FIRST_PRINTED,
    IMPLIES_THEN_PRINTED,
    OPTIONAL,
    RUNNABLE_LEFT,
    Act,
)
from .notify import NotifyBuilder, create_pseudo_ops


class CloneBuilder(NotifyBuilder, Protocol):
    """What a clone's probes, pseudo actions and internal orderings use of the action
    builder (and call back: an instance's probe is a primitive's)."""

    def order_keys(self, first_rid: str, first_task: str, then_rid: str, then_task: str,
                   flags: int) -> None: ...

    def probe_primitive(self, rid: str, node: str, top: str) -> bool: ...

    def pseudo(self, rid: str, task: str) -> Act: ...


def probe_clone(b: CloneBuilder, rid: str, node: str) -> None:
    clone = b.state.resources[rid]
    if scores.is_true(clone.meta.get("globally-unique")):
        for inst in clone.children:
            for leaf in b.state.leaves(inst):
                b.probe_primitive(leaf.id, node, rid)
        return
    child = None
    for inst in clone.children:
        if any(node in leaf.known_on for leaf in b.state.leaves(inst)):
            child = inst
            break
    if child is None:
        for inst in clone.children:
            if b.asg.node.get(inst) == node or any(
                    b.asg.node.get(leaf.id) == node for leaf in b.state.leaves(inst)):
                child = inst
                break
    if child is None:
        candidates = [c for c in clone.children if not b.state.resources[c].orphan]
        if not candidates:
            return
        child = candidates[0]
    for leaf in b.state.leaves(child):
        b.probe_primitive(leaf.id, node, rid)


def _status(b: CloneBuilder, inst: str) -> tuple[bool, bool, bool]:
    """(stopping, starting, active) of a clone instance, from its actions."""
    stopping = starting = active = False
    for leaf in b.state.leaves(inst):
        if leaf.running:
            active = True
        for a in b.g.by_rsc.get(leaf.id, []):
            if a.task == "stop" and not a.optional:
                stopping = True
            elif a.task == "start" and not a.optional:
                starting = True
    return stopping, starting, active


def create_clone(b: CloneBuilder, rid: str) -> None:
    clone = b.state.resources[rid]
    any_start = any_stop = any_active = False
    dependents_migrate = True  # unless an instance restarts
    for inst in clone.children:
        stopping, starting, active = _status(b, inst)
        any_start |= starting
        any_stop |= stopping
        any_active |= active
        dependents_migrate &= not (stopping and starting)
    start = b.pseudo(rid, "start")
    start.optional = not any_start
    running = b.pseudo(rid, "running")
    running.optional = not any_start
    running.runnable = any_active or any_start
    stop = b.pseudo(rid, "stop")
    stop.optional = not any_stop
    stop.migrate_runnable = dependents_migrate
    stopped = b.pseudo(rid, "stopped")
    stopped.optional = not any_stop
    if clone.spec.promotable:
        promoting = demoting = False
        for inst in clone.children:
            for leaf in b.state.leaves(inst):
                for a in b.g.by_rsc.get(leaf.id, []):
                    if a.task == "promote" and not a.optional:
                        promoting = True
                    if a.task == "demote" and not a.optional:
                        demoting = True
        for task, optional in (("promote", not promoting), ("promoted", not promoting),
                               ("demote", not demoting), ("demoted", not demoting)):
            b.pseudo(rid, task).optional = optional
    create_pseudo_ops(b, rid)


def clone_constraints(b: CloneBuilder, rid: str) -> None:
    clone = b.state.resources[rid]
    b.order_keys(rid, "stopped", rid, "start", OPTIONAL)
    b.order_keys(rid, "start", rid, "running", RUNNABLE_LEFT)
    b.order_keys(rid, "stop", rid, "stopped", RUNNABLE_LEFT)
    if clone.spec.promotable:
        b.order_keys(rid, "demoted", rid, "stop", OPTIONAL)
        b.order_keys(rid, "running", rid, "promote", RUNNABLE_LEFT)
        b.order_keys(rid, "demoted", rid, "start", OPTIONAL)
        b.order_keys(rid, "running", rid, "stop", OPTIONAL)
    for inst in clone.children:
        b.order_keys(rid, "start", inst, "start", RUNNABLE_LEFT | IMPLIES_FIRST_PRINTED)
        b.order_keys(inst, "start", rid, "running", IMPLIES_THEN_PRINTED)
        b.order_keys(rid, "stop", inst, "stop", IMPLIES_FIRST_PRINTED)
        b.order_keys(inst, "stop", rid, "stopped", IMPLIES_THEN_PRINTED)
        if clone.spec.promotable:
            b.order_keys(inst, "demote", inst, "promote", OPTIONAL)
            b.order_keys(rid, "promote", inst, "promote", OPTIONAL)
            b.order_keys(inst, "promote", rid, "promoted", OPTIONAL)
            b.order_keys(rid, "demote", inst, "demote", IMPLIES_FIRST_PRINTED)
            b.order_keys(inst, "demote", rid, "demoted", IMPLIES_THEN_PRINTED)
