"""The DC's transition engine: schedule, dispatch the graph, follow results (sans-IO).

Rules
-----
* When the CIB changed since the last scheduler run and no transition is running, run
  the scheduler on a snapshot (archived for replay) and start its graph.
* Configuration changes, membership changes and unexpected results abort the running
  transition; expected results do not. After a failed action the next run waits
  :data:`RETRY_AFTER_FAILURE_MS`.
* Resource actions go to the node that runs them (``exec``), or to this node's own
  member duties; an action whose node is not a member fails at once. Every action in
  flight has a deadline (its timeout plus :data:`ACTION_GRACE_MS`).
* ``<rsc>_delete_0`` forgets the history of a resource no longer configured (an orphan,
  stopped first) or whose agent changed: nothing runs an agent.
* Fence actions go to :mod:`.fencing.dc`; cluster actions (fail-count expiry) edit the
  status directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import VigilError
from . import cib as C
from . import status as S
from .events import Archive, CancelRecurring, Send
from .graph import Action, Transition
from .messages import Cancel, Exec, ExecRefused, ExecResult, encode
from .scheduler import schedule
from .transition import RunState, TransitionRun

if TYPE_CHECKING:
    from .context import DcHost, NodeContext

RETRY_AFTER_FAILURE_MS = 1000
ACTION_GRACE_MS = 5000


class TransitionEngine:
    def __init__(self, ctx: NodeContext, dc: DcHost) -> None:
        self.ctx = ctx
        self.dc = dc
        self.run: TransitionRun | None = None
        self.transition_id = 0
        self.dirty = False
        self.not_before_ms = 0
        self.deadlines: dict[int, int] = {}  # action id -> deadline_ms
        self.uuid = f"vigil-{ctx.spec.me}-{ctx.incarnation}"

    def changed(self, reason: str, abort: bool = True) -> None:
        """The CIB changed: schedule again; ``abort`` the running transition."""
        self.dirty = True
        if abort and self.run and not self.run.finished:
            self.run.abort(reason)

    def stop(self) -> None:
        """No longer DC: the running transition is abandoned."""
        if self.run and not self.run.finished:
            self.ctx.log("no longer DC: abandoning the running transition", "warning")
        self.reset()

    def reset(self) -> None:
        self.run = None
        self.deadlines.clear()

    def running(self) -> bool:
        return self.run is not None and self.run.state is RunState.RUNNING

    # ------------------------------------------------------------------ ticks
    def tick(self) -> None:
        c = self.ctx
        if self.run:
            for aid, deadline in list(self.deadlines.items()):
                if c.now_ms >= deadline:
                    del self.deadlines[aid]
                    self.not_before_ms = c.now_ms + RETRY_AFTER_FAILURE_MS
                    self._dispatch(self.run.result(aid, False, f"action {aid} timed out"))
            if self.run.finished:
                c.log(f"transition {self.run.transition_id} {self.run.state.value}"
                      + (f": {self.run.abort_reason}" if self.run.abort_reason else ""))
                if self.run.state is RunState.ABORTED:
                    self.dirty = True  # decide again from what is known now
                self.run = None
        if self.run is None and self.dirty and c.now_ms >= self.not_before_ms:
            self._schedule()

    def _schedule(self) -> None:
        c = self.ctx
        self.dirty = False
        snapshot = c.cib
        try:
            graph: Transition = schedule(snapshot, c.wall_s)
        except VigilError as exc:
            c.log(f"the scheduler refused the CIB: {exc}", "error")
            return
        if graph.is_empty:
            return
        self.transition_id += 1
        c.emit(Archive(C.to_bytes(snapshot)))
        c.log(f"transition {self.transition_id}: " + ("; ".join(graph.summary) or
                                                       f"{len(graph.actions)} actions"))
        self.run = TransitionRun(self.transition_id, graph)
        self._dispatch(self.run.step())

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, actions: list[Action]) -> None:
        run = self.run
        assert run is not None
        for action in actions:
            token = f"{run.transition_id}:{action.id}"
            if action.kind == "rsc" and action.task == "delete":
                self._delete(action)
                self._dispatch(run.result(action.id, True))
            elif action.kind == "rsc" and action.task == "cancel":
                self._cancel(action)
                self._dispatch(run.result(action.id, True))
            elif action.kind == "rsc":
                self._exec(token, action)
            elif action.kind == "cluster":
                self._cluster_action(action)
                self._dispatch(run.result(action.id, True))
            elif action.kind == "fence":
                self._fence(token, action)

    def _exec(self, token: str, action: Action) -> None:
        c = self.ctx
        run = self.run
        assert run is not None
        node_id = c.spec.node_id(action.node or "")
        if node_id is None or node_id not in c.membership.members:
            self._dispatch(run.result(action.id, False, f"{action.node} is not a member"))
            return
        self.deadlines[action.id] = c.now_ms + action.timeout_ms + ACTION_GRACE_MS
        msg = Exec(token, action)
        if node_id == c.spec.me:
            c.member.run(node_id, msg)
        else:
            c.emit(Send(node_id, encode(msg)))

    def _fence(self, token: str, action: Action) -> None:
        c = self.ctx
        run = self.run
        assert run is not None
        why = self.dc.fencing.transition_action(token, action)
        if why:
            c.log(f"{action.key}: {why}", "error")
            self.not_before_ms = c.now_ms + 10 * RETRY_AFTER_FAILURE_MS
            self._dispatch(run.result(action.id, False, why))
        else:
            self.deadlines[action.id] = c.now_ms + action.timeout_ms + ACTION_GRACE_MS

    def _delete(self, action: Action) -> None:
        node_id = self.ctx.spec.node_id(action.node or "")
        self.dc.status_edit(f"history of {action.rsc} on {action.node} deleted",
                            lambda cib: S.forget_resource(cib, node_id, action.rsc),
                            abort=False)

    def _cancel(self, action: Action) -> None:
        c = self.ctx
        msg = Cancel(action.history_rsc, action.interval_ms)
        node_id = c.spec.node_id(action.node or "")
        if node_id == c.spec.me:
            c.emit(CancelRecurring(msg.rsc, msg.interval_ms))
        elif node_id is not None and node_id in c.membership.members:
            c.emit(Send(node_id, encode(msg)))

    def _cluster_action(self, action: Action) -> None:
        if action.task == "clear_failcount":
            node_id = self.ctx.spec.node_id(action.node or "")
            self.dc.status_edit(f"failure of {action.rsc} on {action.node} expired",
                                lambda cib: S.clear_failcounts(cib, action.rsc, node_id),
                                abort=False)

    # ------------------------------------------------------------------ results
    def result(self, sender: int, msg: ExecResult) -> None:
        c = self.ctx
        action, result = msg.action, msg.result
        rec = S.OpRecord(action=action, node_id=sender, node=c.name(sender) or "",
                         rc=result.rc, op_status=result.op_status,
                         exit_reason=result.exit_reason, call_id=msg.call_id,
                         transition_id=self.transition_id, exec_ms=result.exec_ms,
                         wall_s=int(msg.wall_s if msg.wall_s is not None else c.wall_s),
                         uuid=self.uuid)
        failed = S.is_failure(action, result.rc, result.op_status)
        expected = not failed and (not action.is_probe or result.rc == action.target_rc)
        what = (f"{action.key} on {rec.node}: rc {result.rc}"
                + (f" ({result.exit_reason})" if result.exit_reason else "")
                + ("" if expected else " - unexpected"))
        self.dc.status_edit(what, lambda cib: S.record_op(cib, rec),
                            abort=msg.kind == "monitor_change" and not expected)
        if self.run and msg.token == f"{self.run.transition_id}:{action.id}":
            self.deadlines.pop(action.id, None)
            if failed:
                self.not_before_ms = c.now_ms + RETRY_AFTER_FAILURE_MS
            self._dispatch(self.run.result(action.id, expected, what))

    def refused(self, msg: ExecRefused) -> None:
        """The node follows another DC (the election has not settled there): nothing ran,
        nothing is recorded; this transition ends and the next one retries."""
        aid = self.current_action(msg.token)
        if self.run and aid is not None:
            self.deadlines.pop(aid, None)
            self.not_before_ms = self.ctx.now_ms + RETRY_AFTER_FAILURE_MS
            self._dispatch(self.run.result(aid, False, msg.reason))

    def fence_action_done(self, token: str, ok: bool, why: str) -> None:
        """Complete the transition's fence action ``token`` names (if it still runs)."""
        aid = self.current_action(token)
        if self.run is not None and aid is not None:
            self.deadlines.pop(aid, None)
            if not ok:
                self.not_before_ms = self.ctx.now_ms + 2 * RETRY_AFTER_FAILURE_MS
            self._dispatch(self.run.result(aid, ok, why))

    def current_action(self, token: str) -> int | None:
        """The action id a ``TRANSITION:ACTION`` token names in the running transition."""
        run = self.run
        prefix = f"{run.transition_id}:" if run is not None else None
        if prefix is None or not token.startswith(prefix):
            return None
        tail = token[len(prefix):]
        return int(tail) if tail.isascii() and tail.isdecimal() else None

    def left(self, node: str) -> None:
        """``node`` left the view: its actions in flight failed."""
        if self.run:
            for action in self.run.pending_on(node):
                self.run.result(action.id, False, f"{action.node} left during {action.key}")
