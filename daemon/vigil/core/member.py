"""A member's duties: run what the DC asks, report results, leave cleanly (sans-IO).

Rules
-----
* Only the DC this node follows may run actions here; a node that has not seen the
  election yet takes the asker's word (it is joining). Anything else is refused
  (``exec_refused``) and nothing runs.
* A stop cancels the resource's recurring monitors first.
* A result goes back to the node that asked, even before this node has seen it win the
  election; without any DC, results are kept (the newest :data:`UNREPORTED_KEPT`) for the
  next DC.
* Shutdown: ask the DC to move this node's resources away (``shutdown``, repeated every
  two seconds in case the DC changes), wait until none is active here (or
  :data:`SHUTDOWN_TIMEOUT_MS`), say ``leave`` to every member and exit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ProtocolError
from .events import CancelRecurring, Execute, Exit, Send
from .execmodel import AgentResult
from .graph import Action
from .messages import Exec, ExecRefused, ExecResult, Leave, Message, Shutdown, encode
from .statusview import active_on

if TYPE_CHECKING:
    from .context import NodeContext

SHUTDOWN_TIMEOUT_MS = 120000
UNREPORTED_KEPT = 64  # results kept for the next DC while there is none


class MemberDuties:
    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.call_id = 0
        self.exec_origin: dict[str, int] = {}  # token -> the DC that asked for the action
        self.unreported: list[ExecResult] = []  # finished while there was no DC
        self.shutdown_since: int | None = None

    # ------------------------------------------------------------------ actions
    def run(self, sender: int, msg: Exec) -> None:
        c = self.ctx
        action = msg.action
        if action.node != c.spec.my_name:
            raise ProtocolError(f"action {action.key} is for {action.node}, not for me")
        if c.dc is not None and sender not in (c.dc, c.spec.me):
            why = (f"refused: {c.name(sender)} is not the DC this node follows "
                   f"({c.name(c.dc)})")
            c.log(f"{action.key} {why}", "warning")
            c.emit(Send(sender, encode(ExecRefused(msg.token, why))))
            return
        if action.task == "stop" and action.history_rsc:
            c.emit(CancelRecurring(action.history_rsc))
        if sender != c.spec.me:
            self.exec_origin[msg.token] = sender
        c.emit(Execute(msg.token, action))

    def report(self, token: str, action: Action, result: AgentResult, kind: str) -> None:
        c = self.ctx
        self.call_id += 1
        msg = ExecResult(kind, token, action, result, self.call_id, int(c.wall_s))
        origin = self.exec_origin.pop(token, None) if token else None
        if origin is not None and origin in c.membership.members:
            c.emit(Send(origin, encode(msg)))
            return
        if c.dc is None:
            c.log(f"{action.key} finished (rc {result.rc}) while there is no DC: "
                  "the next DC will be told", "warning")
            self.unreported = [*self.unreported, msg][-UNREPORTED_KEPT:]
            return
        self.to_dc(msg)

    def new_dc(self) -> None:
        """A DC is known again: it gets the results kept while there was none."""
        pending, self.unreported = self.unreported, []
        for msg in pending:
            self.to_dc(msg)

    def to_dc(self, msg: Message) -> None:
        c = self.ctx
        if c.is_dc:
            c.duties.message(c.spec.me, msg)
        elif c.dc is not None:
            c.emit(Send(c.dc, encode(msg)))

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, reason: str) -> None:
        c = self.ctx
        if self.shutdown_since is not None:
            return
        self.shutdown_since = c.now_ms
        c.log(f"shutting down ({reason}): moving resources away first")
        self.to_dc(Shutdown(int(c.wall_s)))

    def tick(self) -> None:
        c = self.ctx
        if self.shutdown_since is None:
            return
        waited = c.now_ms - self.shutdown_since
        active = active_on(c.cib, c.spec.my_name, c.wall_s)
        if c.dc is not None and active and waited < SHUTDOWN_TIMEOUT_MS:
            if waited % 2000 < c.spec.heartbeat_interval_ms:
                self.to_dc(Shutdown(int(c.wall_s)))  # repeated in case the DC changed
            return
        if active:
            c.log(f"leaving with resources still active here: {', '.join(active)}",
                  "warning")
        if c.is_dc:
            c.duties.message(c.spec.me, Leave())
        for node in c.membership.members - {c.spec.me}:
            c.emit(Send(node, encode(Leave())))
        c.emit(CancelRecurring(None))
        c.emit(Exit("shutdown complete"))
        self.shutdown_since = None
