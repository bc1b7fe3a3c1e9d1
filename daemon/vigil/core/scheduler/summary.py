"""The "Transition Summary": one crm_simulate-style line per resource decision.

Rules (Pacemaker 2.1.5 ``rsc_action_default``)
----------------------------------------------
* Unmanaged resources, and resources neither active nor assigned, get no line.
* Same role before and after: "migrate" with a runnable ``migrate_from``; nothing if the
  start is optional, "stop" if the start cannot run, "move"/"recover" (failed) when the
  node changes, "recover" or "restart" in place.
* Otherwise: "stop" when going to Stopped or the start cannot run, "recover", "move",
  "restart" (required stop), "demote", "promote", "start".
* Lines are ``<action> <rsc> <node>``, ``<action> <rsc> <from>-><to>``, with
  ``(<role>-><next role>)`` for promotable resources and `` [blocked]`` for actions that
  cannot run. Fencing reads ``fence(<action>) <node>``.
"""

from __future__ import annotations

from .actgraph import Act
from .actions import ActionBuilder
from .history import PROMOTED, ROLE_NAMES, STARTED, STOPPED, UNPROMOTED


def _first(acts: list[Act]) -> Act | None:
    return acts[0] if acts else None


class _Line:
    def __init__(self, b: ActionBuilder, rid: str, current: str | None,
                 nxt: str | None) -> None:
        rsc = b.state.resources[rid]
        self.rid = rid
        self.role = rsc.role
        if rsc.running and self.role == STOPPED:
            self.role = STARTED
        self.next_role = b.next_role.get(rid, STOPPED)
        self.current = current
        self.next = nxt

    def item(self, change: str, origin: str | None, dest: str | None, act: Act | None,
             source: Act | None = None) -> str:
        need_role = self.role > STARTED or self.next_role > UNPROMOTED
        same_host = origin is not None and origin == dest
        same_role = self.role == self.next_role
        r, nr = ROLE_NAMES[self.role], ROLE_NAMES[self.next_role]
        line = f"{change} {self.rid}"
        if need_role and origin is None:
            line += f" {dest} ({r}->{nr})"
        elif origin is None:
            line += f" {dest}"
        elif need_role and dest is None:
            line += f" {origin} ({r}->?)"
        elif dest is None:
            line += f" {origin}"
        elif need_role and same_role and same_host:
            line += f" {origin} ({r}->?)"
        elif same_role and same_host:
            line += f" {origin}"
        elif need_role and same_role:
            line += f" {origin}->{dest} ({r}->?)"
        elif same_role:
            line += f" {origin}->{dest}"
        elif same_host:
            line += f" {origin} ({r}->{nr})"
        else:
            line += f" {origin}->{dest} ({r}->{nr})"
        if act is not None and not act.runnable:
            line += " [blocked]"
        return line


def rsc_lines(b: ActionBuilder, rid: str) -> list[str]:
    rsc = b.state.resources[rid]
    current, _ = b.find_active_on(rid)
    nxt = None if rid in b.inhibited else b.asg.node.get(rid)
    if current is None and rsc.orphan:
        return []
    if not b.managed(rid) or (current is None and nxt is None):
        return []
    ln = _Line(b, rid, current, nxt)
    moving = current is not None and nxt is not None and current != nxt
    start = _first(b.g.rsc_actions(rid, "start", nxt, any_node=False)) if nxt else None
    start_node = current if start is not None and start.runnable else None
    stop = _first(b.g.rsc_actions(rid, "stop", start_node, any_node=start_node is None))
    promote = _first(b.g.rsc_actions(rid, "promote", nxt, any_node=False)) if nxt else None
    demote = _first(b.g.rsc_actions(rid, "demote", nxt, any_node=False)) if nxt else None
    failed = rsc.failed
    if ln.role == ln.next_role:
        if nxt is None:
            return []
        migrate = _first(b.g.rsc_actions(rid, "migrate_from", nxt, any_node=False))
        if migrate is not None and current is not None and migrate.runnable:
            return [ln.item("migrate", current, nxt, start)]
        if start is None or start.optional:
            if demote is not None and promote is not None and not demote.optional \
                    and not promote.optional:
                return [ln.item("re-promote", current, nxt, promote, demote)]
            return []
        if not start.runnable:
            return [ln.item("stop", current, None, stop)]
        if moving and current is not None:
            return [ln.item("recover" if failed else "move", current, nxt, stop)]
        if failed:
            return [ln.item("recover", current, None, stop)]
        return [ln.item("restart", current, None, start)]
    if stop is not None and (ln.next_role == STOPPED
                             or (start is not None and not start.runnable)):
        out = []
        for node in rsc.running:
            op = _first(b.g.rsc_actions(rid, "stop", node, any_node=False))
            out.append(ln.item("stop", node, None, op))
        return out
    if stop is not None and failed and rsc.stop_needed:
        return [ln.item("recover", current, nxt, stop, start)]
    if moving:
        return [ln.item("move", current, nxt, stop)]
    if stop is not None and not stop.optional:
        return [ln.item("restart", current, nxt, start)]
    if ln.role == PROMOTED:
        return [ln.item("demote", current, nxt, demote)]
    if ln.next_role == PROMOTED:
        return [ln.item("promote", current, nxt, promote)]
    if ln.role == STOPPED and ln.next_role > STOPPED:
        return [ln.item("start", current, nxt, start)]
    return []


def summary_lines(b: ActionBuilder, fenced: list[str]) -> list[str]:
    out = [f"fence({b.opts.stonith_action}) {n}" for n in fenced]
    for rsc in b.state.resources.values():
        if rsc.kind == "primitive":
            out.extend(rsc_lines(b, rsc.id))
    return sorted(out)
