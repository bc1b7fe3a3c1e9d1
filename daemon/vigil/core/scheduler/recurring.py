"""Recurring operations of one resource (Pacemaker 2.1.5 ``pcmk__create_recurring_actions``).

Rules
-----
* A name and interval configured twice for a resource (even for different roles) is a
  configuration error: neither op is scheduled nor cancelled.
* Resources in maintenance, or headed for a node in maintenance, get no recurring ops.
* An op for an active role runs on the node the resource is assigned to, after its start
  (and promote). One already running there stays as is unless it must be rescheduled or
  the start is required. An op whose role does not match the next role is cancelled
  where it runs.
* An op for ``role=Stopped`` (primitives that are not anonymous clone instances) runs on
  every other node, expecting "not running" (rc 7), after the resource's probe and stop
  there; it is unrunnable on a node that is offline or unclean, and already running
  instances are left alone. On the node where the resource will run it is cancelled,
  before the start.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from . import scores
from .actgraph import IMPLIES_THEN, OPTIONAL, RUNNABLE_LEFT, Act
from .history import PROMOTED, STARTED, STOPPED, UNPROMOTED
from .ports import Building

_ROLE = {"Promoted": PROMOTED, "Unpromoted": UNPROMOTED, "Started": STARTED,
         "Stopped": STOPPED}


class MonitorBuilder(Building, Protocol):
    """What creating recurring monitors uses of the action builder."""

    next_role: dict[str, int]

    def in_maintenance(self, rid: str) -> bool: ...

    def managed(self, rid: str) -> bool: ...

    def order_from_key(self, first_rid: str, first_task: str, then: Act, flags: int) -> None: ...

    def order_to_key(self, first: Act, then_rid: str, then_task: str, flags: int) -> None: ...

    def rsc_action(self, rid: str, task: str, node: str | None, optional: bool,
                   interval_ms: int = 0, key: str | None = None) -> Act: ...


def op_key(rid: str, task: str, interval_ms: int) -> str:
    return f"{rid}_{task}_{interval_ms}"


def create(b: MonitorBuilder, rid: str, start: Act | None, node: str | None) -> None:
    """``start``: the resource's start on ``node`` when it will be active (or is
    unmanaged), else None (only ``role=Stopped`` ops then)."""
    rsc = b.state.resources[rid]
    if b.in_maintenance(rid):
        return
    if node is not None and b.state.nodes[node].maintenance:
        start = None
    count = Counter((op.name, op.interval_ms) for op in rsc.spec.ops)
    for op in rsc.spec.ops:
        if op.interval_ms <= 0 or not op.enabled or count[(op.name, op.interval_ms)] > 1:
            continue
        if op.role == "Stopped":
            for_inactive(b, rid, node, op.name, op.interval_ms)
        elif start is not None:
            for_active(b, rid, start, node, op.name, op.interval_ms, op.role)


def for_active(b: MonitorBuilder, rid: str, start: Act, node: str | None, name: str,
               interval_ms: int, role_name: str | None) -> None:
    rsc = b.state.resources[rid]
    next_role = b.next_role[rid]
    key = op_key(rid, name, interval_ms)
    is_optional = start.optional
    active = node is not None and (node, name, interval_ms) in rsc.active_recurring
    if not active or (node, name, interval_ms) in rsc.reschedule:
        is_optional = False
    op_role = _ROLE.get(role_name or "")
    if (next_role == PROMOTED and op_role is None) or \
            (op_role is not None and op_role != next_role):
        if is_optional and node is not None:
            cancel = b.rsc_action(rid, "cancel", node, False, interval_ms, key=key)
            cancel.interval_ms = interval_ms
            after = {STARTED: "stop" if next_role == STOPPED else "promote",
                     UNPROMOTED: "stop" if next_role == STOPPED else "promote",
                     PROMOTED: "demote"}.get(rsc.role)
            if rsc.role in (STARTED, UNPROMOTED) and next_role not in (STOPPED, PROMOTED):
                after = None
            if after:
                b.order_to_key(cancel, rid, after, RUNNABLE_LEFT)
        return
    mon = b.rsc_action(rid, name, node, is_optional, interval_ms, key=key)
    if not start.runnable or node is None or not b.state.nodes[node].online \
            or b.state.nodes[node].unclean:
        mon.runnable = False
    if next_role == PROMOTED:
        mon.target_rc = 8
    if node is None or b.managed(rid):
        b.order_from_key(rid, "start", mon, IMPLIES_THEN | RUNNABLE_LEFT)
        if next_role == PROMOTED:
            b.order_from_key(rid, "promote", mon, OPTIONAL | RUNNABLE_LEFT)
        elif rsc.role == PROMOTED:
            b.order_from_key(rid, "demote", mon, OPTIONAL | RUNNABLE_LEFT)


def for_inactive(b: MonitorBuilder, rid: str, node: str | None, name: str,
                 interval_ms: int) -> None:
    rsc = b.state.resources[rid]
    top = b.state.top_of(rid)
    if top.kind == "clone" and not scores.is_true(top.meta.get("globally-unique")):
        return  # not supported for anonymous clones (Pacemaker 2.1.5)
    key = op_key(rid, name, interval_ms)
    managed = b.managed(rid)
    for stop_node, state in b.state.nodes.items():
        active = (stop_node, name, interval_ms) in rsc.active_recurring
        if stop_node == node:
            if active:
                cancel = b.rsc_action(rid, "cancel", node, False, interval_ms, key=key)
                cancel.interval_ms = interval_ms
                if b.next_role[rid] in (STARTED, UNPROMOTED):
                    b.order_to_key(cancel, rid, "start", RUNNABLE_LEFT)
            continue
        mon = b.rsc_action(rid, name, stop_node, active, interval_ms, key=key)
        mon.target_rc = 7
        if managed:
            probe = b.g.find(op_key(rid, "monitor", 0), stop_node)
            if probe is not None:
                b.g.order(probe, mon, RUNNABLE_LEFT)
        for stop in b.g.rsc_actions(rid, "stop", stop_node, any_node=False):
            if not stop.optional and not mon.optional and not managed:
                mon.optional = True
            if not stop.runnable:
                mon.runnable = False
            if managed:
                b.g.order(stop, mon, IMPLIES_THEN | RUNNABLE_LEFT)
        if not state.online or state.unclean:
            mon.runnable = False
