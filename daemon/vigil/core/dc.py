"""The DC's duties: own the CIB, keep status true to membership, schedule, run transitions.

Rules
-----
* A partition without quorum has a DC too: it schedules with ``have-quorum=0`` (so
  no-quorum-policy applies: resources stop by default) but refuses client writes and never
  opens a new term; when its partition gains quorum it synchronises again.
* A new DC is *syncing* until it holds the newest CIB any member advertises (it pulls it);
  it neither writes nor schedules before that. A pull that is not answered is repeated
  with whoever holds the newest replica then: a DC never carries on with an older copy.
* Status follows membership: a member that joins (or restarted) gets a fresh history
  (its resources will be probed); a member that is lost keeps ``expected=member`` and is
  therefore unclean; one that said ``leave`` is cleanly down, and so is one fenced
  successfully (by this DC, an earlier one or a peer: :mod:`.fencing.history`)
  within ``FENCED_MEMBER_GRACE_MS``, its resource history forgotten. A joining member
  gets the fencing history. A member heard following another DC while it did not hear
  this one (cut off one way, it made itself a minority DC and stopped its resources)
  has its history forgotten when it follows this DC again: its resources are probed,
  so the cluster's belief converges to what the agents say.
* Every CIB change is sent to all members at once; a member whose heartbeat shows another
  version gets the CIB again (at most every two heartbeat intervals).
* Writes are acknowledged only once a majority of votes has *saved* the new CIB (the DC's
  own copy counts once its disk took it, see :mod:`.disk`): a DC cut off into a minority
  never acknowledges, so an acknowledged write survives the DC's death and any
  partition. Members' acknowledgements still count after the DC handed its role over.
* Terms: each quorate DC takes a term above every term it has seen when it takes over
  (never on a mere view change: a DC about to lose quorum must not outrank the next
  majority). A DC without quorum neither opens a term nor moves the version. Replicas
  are ranked by (admin_epoch, term, epoch, num_updates): after a partition heals, what a majority DC
  wrote beats what a cut-off DC wrote, even with a lower epoch. The DC then moves its
  epoch past every member's, so no replica's version ever goes backwards.
* Scheduling: when the CIB changed since the last scheduler run and no transition is
  running, run the scheduler on a snapshot (archived for replay) and start its graph.
  Configuration changes, membership changes and unexpected results abort the running
  transition; expected results do not. After a failed action the next run waits a second.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import CibInvalid, Unavailable, VigilError, error_reply
from . import cib as C
from . import status as S
from .cibops import WRITE_OPS
from .codec import action_from_dict, action_to_dict, result_from_dict
from .events import Archive, FenceDone, Send
from .fencing.dc import DcFencing
from .graph import Action, Transition
from .membership import ViewChange
from .transition import RunState, TransitionRun

if TYPE_CHECKING:
    from .controller import Controller

RETRY_AFTER_FAILURE_MS = 1000
ACTION_GRACE_MS = 5000
WRITE_ACK_TIMEOUT_MS = 5000
Respond = Callable[[dict[str, Any]], None]


@dataclass
class PendingWrite:
    respond: Respond
    reply: dict[str, Any]
    deadline_ms: int
    version: tuple[int, int, int] = (0, 0, 0)
    acked: set[int] = field(default_factory=set)


FENCED_MEMBER_GRACE_MS = 60000  # a fenced member leaves the view within this


class DcDuties:
    def __init__(self, ctrl: Controller) -> None:
        self.ctrl = ctrl
        self.active = False
        self.synced = False
        self.sync_deadline_ms = 0
        self.run: TransitionRun | None = None
        self.transition_id = 0
        self.dirty = False
        self.not_before_ms = 0
        self.deadlines: dict[int, int] = {}  # action id -> deadline_ms
        self.sent: dict[int, tuple[tuple[int, int, int], int]] = {}  # node -> (version, at_ms)
        self.leaving: set[int] = set()
        self.writes: dict[int, PendingWrite] = {}
        self.pids = itertools.count(1)
        self.fencing = DcFencing(self)
        self.synced_quorate = False
        self.diverged: set[int] = set()  # members seen following another DC, deaf to us
        self.uuid = f"vigil-{ctrl.spec.me}-{ctrl.incarnation}"

    # ------------------------------------------------------------------ role changes
    def take_over(self) -> None:
        c = self.ctrl
        self.active, self.synced, self.run = True, False, None
        best = max(c.membership.members, key=lambda n: (c.rank(n), n == c.spec.me))
        if best != c.spec.me and c.rank(best) > c.rank(c.spec.me):
            self._pull(best)
        else:
            self._synced()

    def new_term(self) -> None:
        """A term above every term seen, unique to this node (two DCs never share one)."""
        c = self.ctrl
        top = max([c.term, *c.peer_terms.values()]) >> 16
        c.term = ((top + 1) << 16) | c.spec.me

    def bump(self, cib: C.Element) -> None:
        """Count a status change. Without quorum the version stays: what a minority DC
        records (its stops) must never outrank what the majority holds."""
        if self.ctrl.membership.quorate:
            C.bump_updates(cib)

    def _pull(self, node: int) -> None:
        c = self.ctrl
        c.log(f"pulling the CIB {list(c.rank(node))} from {c.name(node)} "
              f"(mine is {list(c.rank(c.spec.me))})")
        self.synced = False
        self.sync_deadline_ms = c.now_ms + max(c.spec.join_timeout_ms, 1000)
        c.emit(Send(node, {"t": "cib_pull"}))

    def resign(self) -> None:
        if self.run and not self.run.finished:
            self.ctrl.log("no longer DC: abandoning the running transition", "warning")
        self.active, self.synced, self.run = False, False, None
        self.deadlines.clear()
        self.fencing.resign()
        self.diverged.clear()
        # writes already sent out stay open: the members' acknowledgements still count
        # (a majority that saved a write keeps it, whoever is DC next), until the deadline

    def _synced(self, prior: tuple[int, int, int] | None = None) -> None:
        """The DC holds the newest replica; ``prior``: the version it held before it
        adopted a pulled one (its epoch is moved past that too: never back)."""
        c = self.ctrl
        self.synced = True
        self.synced_quorate = c.membership.quorate
        if self.synced_quorate:  # only a majority DC opens a new term (see module rules)
            self.new_term()
        new = copy.deepcopy(c.cib)
        if self.synced_quorate:
            self._move_epoch_past_members(new, prior)
        added = C.ensure_nodes(new, sorted((n, name) for n, name in c.spec.names.items()
                                           if n not in c.unseen_added))
        if added is not None:
            new = added
        self._sync_membership(new, joined=frozenset())
        self.bump(new)
        c.log(f"I am the DC with CIB {list(C.version(new))}")
        c.set_cib(new, "DC took over")

    def _sync_membership(self, cib: C.Element, joined: frozenset[int]) -> None:
        c = self.ctrl
        members = c.membership.members
        for node_id, name in c.spec.names.items():
            online = node_id in members
            ns = cib.find(f"status/node_state[@id='{node_id}']")
            was_online = ns is not None and ns.get("in_ccm") == "true"
            if online and (node_id in joined or not was_online):
                S.clear_lrm(cib, node_id)
                S.set_attr(cib, node_id, name, "shutdown", None)
                self.leaving.discard(node_id)
            if online or ns is not None or node_id == c.spec.me:
                # fenced (by this DC, an earlier one or a peer) and not back since: its
                # leaving the view is that fencing's effect, not a failure to fence again
                just_fenced = c.history.fenced_within(node_id, c.now_ms,
                                                      FENCED_MEMBER_GRACE_MS)
                expected = "down" if node_id in self.leaving or just_fenced else None
                if just_fenced and not online:
                    S.clear_lrm(cib, node_id)
                    S.set_attr(cib, node_id, name, "shutdown", None)
                S.set_member(cib, node_id, name, online, expected)
        cib.set("have-quorum", "1" if c.membership.quorate else "0")
        cib.set("dc-uuid", str(c.spec.me))

    def nodes_reconfigured(self, removed: list[int]) -> None:
        """List added nodes in the CIB; forget removed ones (like ``crm_node --remove``)."""
        c = self.ctrl
        if not self.synced:
            return
        new = copy.deepcopy(c.cib)
        for node_id in removed:
            for path in (f"configuration/nodes/node[@id='{node_id}']",
                         f"status/node_state[@id='{node_id}']"):
                for elem in new.findall(path):
                    parent = elem.getparent()
                    if parent is not None:
                        parent.remove(elem)
        # added nodes are listed when they first join: listed but never seen, a node is
        # unclean to the scheduler (startup fencing) and would be fenced before it booted
        if removed:
            C.bump_epoch(new)
            c.set_cib(new, "the node list changed")

    def view_changed(self, change: ViewChange) -> None:
        if not (self.active and self.synced):
            return
        c = self.ctrl
        if change.quorate and not self.synced_quorate:
            c.log("the partition gained quorum: synchronising the CIB again as a new term")
            self.take_over()
            return
        new = copy.deepcopy(c.cib)
        if change.joined:
            listed = C.ensure_nodes(new, sorted((n, c.spec.names[n]) for n in change.joined
                                                if n in c.spec.names))
            if listed is not None:  # a node added at run time is listed once it is seen
                new = listed
        self._sync_membership(new, change.joined | change.restarted)
        self.bump(new)
        if len(c.history):
            for node in sorted(change.joined | change.restarted):
                c.emit(Send(node, {"t": "fence_history", "entries": c.fence_history}))
        for node in change.left:
            self.sent.pop(node, None)
            self.fencing.origin_left(c.name(node) or "")
            if self.run:
                for action in self.run.pending_on(c.name(node) or ""):
                    self.run.result(action.id, False, f"{action.node} left during {action.key}")
        c.set_cib(new, "membership changed")

    # ------------------------------------------------------------------ CIB flow
    def cib_changed(self, reason: str, abort: bool = True) -> None:
        self.dirty = True
        if abort and self.run and not self.run.finished:
            self.run.abort(reason)
        self.replicate()

    def replicate(self, pid: int | None = None) -> None:
        c = self.ctrl
        msg: dict[str, Any] = {"t": "cib", "xml": C.to_bytes(c.cib).decode(), "term": c.term}
        if pid is not None:
            msg["pid"] = pid
        version = C.version(c.cib)
        for node in c.membership.members - {c.spec.me}:
            self.sent[node] = (version, c.now_ms)
            c.emit(Send(node, msg))

    def _move_epoch_past_members(self, cib: C.Element,
                                 prior: tuple[int, int, int] | None = None) -> None:
        """Give the CIB an epoch above every replica known (and ``prior``, this node's
        own before it adopted ``cib``), so adopting it never goes back."""
        c = self.ctrl
        admin, epoch, _ = C.version(cib)
        versions = [(admin, epoch)] + [v[:2] for v in c.peer_versions.values()]
        if prior is not None:
            versions.append(prior[:2])
        top_admin = max(a for a, _ in versions)
        top_epoch = max(e for a, e in versions if a == top_admin)
        C.set_version(cib, (top_admin, top_epoch + 1, 0))

    def peer_version(self, node: int) -> None:
        c = self.ctrl
        if not self.synced:
            return
        if c.rank(node) > c.rank(c.spec.me):
            self._pull(node)  # a member holds a newer replica than the DC
            return
        mine = C.version(c.cib)
        if c.peer_versions.get(node) == mine and c.peer_terms.get(node) == c.term:
            return
        other = c.peer_versions.get(node, (0, 0, 0))
        if (c.membership.quorate and c.peer_terms.get(node, 0) != c.term
                and other[:2] >= mine[:2]):
            # a replica from another DC's term (a healed partition) with an epoch as high
            # as ours: move past it so that adopting ours never takes that node back
            new = copy.deepcopy(c.cib)
            self._move_epoch_past_members(new)
            c.log(f"moving the epoch past {c.name(node)}'s {list(other)}")
            c.set_cib(new, "epoch moved past a member's")
            return
        last = self.sent.get(node)
        if last and last[0] == mine and c.now_ms - last[1] < 2 * c.spec.heartbeat_interval_ms:
            return
        self.sent[node] = (mine, c.now_ms)
        c.emit(Send(node, {"t": "cib", "xml": C.to_bytes(c.cib).decode(), "term": c.term}))

    def peer_claim(self, node: int) -> None:
        """A member's heartbeat: note whether it follows another DC without hearing this
        one, and re-probe it once it follows this DC again (see the module rules)."""
        c = self.ctrl
        if not self.synced or node not in c.membership.members:
            return
        claim = c.claims.get(node)
        if claim not in (None, c.spec.me) and not c.hears_me.get(node, False):
            if node not in self.diverged:
                c.log(f"{c.name(node)} follows {c.name(claim)} and does not hear this DC")
            self.diverged.add(node)
        elif claim == c.spec.me and node in self.diverged:
            self.diverged.discard(node)
            new = copy.deepcopy(c.cib)
            S.clear_lrm(new, node)
            self.bump(new)
            c.log(f"{c.name(node)} follows this DC again after following another: what "
                  "runs there is probed again")
            c.set_cib(new, f"{c.name(node)} back from another DC")

    def write(self, req: dict[str, Any], respond: Respond) -> None:
        """Apply a client write; respond once a majority holds it (or with an error)."""
        c = self.ctrl
        if not self.synced:
            respond(error_reply(Unavailable("the DC is still synchronising the CIB; retry")))
            return
        if not c.membership.quorate:
            respond(error_reply(Unavailable(
                "this partition has no quorum: the cluster refuses changes until it has")))
            return
        if req.get("op") == "fence":
            self.fencing.manual_request(req, respond)
            return
        if req.get("op") == "resource_cleanup":
            respond(self._cleanup(req))
            return
        handler = WRITE_OPS.get(str(req.get("op")))
        if handler is None:
            respond(error_reply(CibInvalid(f"unknown operation {req.get('op')!r}")))
            return
        try:
            new, result = handler(c.cib, req)
        except VigilError as exc:
            respond(error_reply(exc))
            return
        reply = {"ok": True, "result": result}
        if new is None:
            respond(reply)
            return
        c.log(f"CIB {result['version']}: {req.get('op')} applied")
        pid = next(self.pids)
        self.writes[pid] = PendingWrite(respond, reply, c.now_ms + WRITE_ACK_TIMEOUT_MS,
                                        C.version(new))
        c.cib = new
        c.emit_persist()
        self.dirty = True
        if self.run and not self.run.finished:
            self.run.abort(f"{req.get('op')} from a client")
        self.replicate(pid)
        self._check_write(pid)

    def _cleanup(self, req: dict[str, Any]) -> dict[str, Any]:
        """Forget a resource's failures and history (on one node or all): it is re-probed."""
        c = self.ctrl
        rsc = req.get("id")
        node = req.get("node")
        node_id = c.spec.node_id(str(node)) if node else None
        if node and node_id is None:
            return error_reply(CibInvalid(f"no node named {node!r}"))
        if rsc is not None and C.find_id(c.cib, str(rsc)) is None:
            return error_reply(CibInvalid(f"no resource with id {rsc!r}"))

        def edit(cib: C.Element) -> None:
            S.clear_failcounts(cib, rsc, node_id)
            for ns in cib.iterfind("status/node_state"):
                if node_id is not None and ns.get("id") != str(node_id):
                    continue
                for lr in list(ns.iterfind("lrm/lrm_resources/lrm_resource")):
                    if rsc is None or lr.get("id") == rsc:
                        parent = lr.getparent()
                        if parent is not None:
                            parent.remove(lr)

        self.status_edit(f"cleanup of {rsc or 'all resources'} on {node or 'all nodes'}", edit)
        return {"ok": True, "result": {"version": list(C.version(c.cib))}}

    def acked(self, sender: int, msg: dict[str, Any]) -> None:
        """A member saved a write (also heard after this node stopped being DC)."""
        pending = self.writes.get(int(msg["pid"]))
        if pending is not None:
            pending.acked.add(sender)
            self._check_write(int(msg["pid"]))

    def saved(self) -> None:
        """This node saved a version: writes waiting for its own copy may be held now."""
        for pid in list(self.writes):
            self._check_write(pid)

    def _check_write(self, pid: int) -> None:
        c = self.ctrl
        pending = self.writes.get(pid)
        if pending is None:
            return
        mine = {c.spec.me} if c.disk.saved >= pending.version else set()
        if c.membership.is_majority(frozenset(pending.acked | mine)):
            del self.writes[pid]
            pending.respond(pending.reply)

    def _fail_writes(self, why: str) -> None:
        for pid in list(self.writes):
            pending = self.writes.pop(pid)
            pending.respond(error_reply(Unavailable(
                f"{why}; the change may or may not persist - read the CIB and retry")))

    # ------------------------------------------------------------------ messages
    def message(self, sender: int, kind: str, msg: dict[str, Any]) -> None:
        c = self.ctrl
        if kind == "cib_push":
            self._on_push(sender, msg)
        elif kind == "write":
            rid = msg["rid"]
            self.write(msg["req"], lambda reply: c.emit(
                Send(sender, {"t": "write_reply", "rid": rid, "reply": reply})))
        elif kind in ("exec_result", "monitor_change"):
            self._on_result(sender, kind, msg)
        elif kind == "exec_refused":
            # the node follows another DC (the election has not settled there): nothing
            # ran, nothing is recorded; this transition ends and the next one retries
            aid = self._current_action(str(msg.get("token", "")))
            if self.run and aid is not None:
                self.deadlines.pop(aid, None)
                self.not_before_ms = c.now_ms + RETRY_AFTER_FAILURE_MS
                self._dispatch(self.run.result(aid, False, str(msg.get("reason", "refused"))))
        elif kind == "shutdown":
            self.status_edit(f"{c.name(sender)} is shutting down", lambda cib: S.set_attr(
                cib, sender, c.name(sender) or "", "shutdown", str(msg.get("wall_s", 1))))
        elif kind == "leave":
            self.leaving.add(sender)
            self.status_edit(f"{c.name(sender)} left cleanly", lambda cib: (
                S.set_member(cib, sender, c.name(sender) or "", False, "down"),
                S.clear_lrm(cib, sender)))

    def _on_push(self, sender: int, msg: dict[str, Any]) -> None:
        c = self.ctrl
        if self.synced:
            return
        new = C.parse(str(msg["xml"]), f"CIB pushed by {c.name(sender)}")
        term = int(msg.get("term", 0))
        a, e, n = C.version(new)
        prior = C.version(c.cib)
        if (a, term, e, n) > c.rank(c.spec.me):
            c.cib = new
            c.term = term
        self._synced(prior)

    def status_edit(self, reason: str, edit: Any, abort: bool = True) -> None:
        if not self.synced:
            return
        new = copy.deepcopy(self.ctrl.cib)
        edit(new)
        self.bump(new)
        self.ctrl.cib = new
        self.ctrl.log(reason)
        self.ctrl.emit_persist()
        self.cib_changed(reason, abort)

    def _on_result(self, sender: int, kind: str, msg: dict[str, Any]) -> None:
        c = self.ctrl
        action = action_from_dict(msg["action"])
        result = result_from_dict(msg["result"])
        rec = S.OpRecord(action=action, node_id=sender, node=c.name(sender) or "",
                         rc=result.rc, op_status=result.op_status,
                         exit_reason=result.exit_reason, call_id=int(msg.get("call_id", 0)),
                         transition_id=self.transition_id, exec_ms=result.exec_ms,
                         wall_s=int(msg.get("wall_s", c.wall_s)), uuid=self.uuid)
        failed = S.is_failure(action, result.rc, result.op_status)
        expected = not failed and (not action.is_probe or result.rc == action.target_rc)
        what = (f"{action.key} on {rec.node}: rc {result.rc}"
                + (f" ({result.exit_reason})" if result.exit_reason else "")
                + ("" if expected else " - unexpected"))
        self.status_edit(what, lambda cib: S.record_op(cib, rec),
                          abort=kind == "monitor_change" and not expected)
        token = str(msg.get("token", ""))
        if self.run and token == f"{self.run.transition_id}:{action.id}":
            self.deadlines.pop(action.id, None)
            if failed:
                self.not_before_ms = c.now_ms + RETRY_AFTER_FAILURE_MS
            self._dispatch(self.run.result(action.id, expected, what))

    # ------------------------------------------------------------------ scheduling
    def tick(self) -> None:
        c = self.ctrl
        if any(c.now_ms >= w.deadline_ms for w in self.writes.values()):
            self._fail_writes("a majority did not confirm the write in time")
        if not self.active:
            return
        if not self.synced:
            if c.now_ms >= self.sync_deadline_ms:
                # never continue with an older copy: ask again whoever is best now (an
                # unreachable node leaves the view after the deadtime and is skipped then)
                c.log("the CIB pull was not answered: asking again", "warning")
                self.take_over()
            return
        self.fencing.tick()
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
        from .scheduler import schedule

        c = self.ctrl
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

    def _dispatch(self, actions: list[Action]) -> None:
        c = self.ctrl
        run = self.run
        assert run is not None
        for action in actions:
            token = f"{run.transition_id}:{action.id}"
            if action.kind == "rsc" and action.task == "delete":
                # forget the history of a resource that is no longer configured (an
                # orphan, stopped first) or whose agent changed: nothing runs an agent
                node_id = c.spec.node_id(action.node or "")
                self.status_edit(f"history of {action.rsc} on {action.node} deleted",
                                 lambda cib, n=node_id, r=action.rsc: S.forget_resource(
                                     cib, n, r), abort=False)
                self._dispatch(run.result(action.id, True))
            elif action.kind == "rsc" and action.task == "cancel":
                self._send_to_node(action, {"t": "cancel", "rsc": action.rsc,
                                            "interval_ms": action.interval_ms})
                self._dispatch(run.result(action.id, True))
            elif action.kind == "rsc":
                node_id = c.spec.node_id(action.node or "")
                if node_id is None or node_id not in c.membership.members:
                    self._dispatch(run.result(action.id, False, f"{action.node} is not a member"))
                    continue
                self.deadlines[action.id] = c.now_ms + action.timeout_ms + ACTION_GRACE_MS
                if node_id == c.spec.me:
                    c._exec(node_id, {"action": action_to_dict(action), "token": token})
                else:
                    c.emit(Send(node_id, {"t": "exec", "token": token,
                                          "action": action_to_dict(action)}))
            elif action.kind == "cluster":
                self._cluster_action(action)
                self._dispatch(run.result(action.id, True))
            elif action.kind == "fence":
                why = self.fencing.transition_action(token, action)
                if why:
                    c.log(f"{action.key}: {why}", "error")
                    self.not_before_ms = c.now_ms + 10 * RETRY_AFTER_FAILURE_MS
                    self._dispatch(run.result(action.id, False, why))
                else:
                    self.deadlines[action.id] = c.now_ms + action.timeout_ms + ACTION_GRACE_MS

    def fence_done(self, ev: FenceDone) -> None:
        ok = self.fencing.done(ev)
        self.fence_action_done(ev.token, ok, f"fencing {ev.target}: {ev.reason}")

    def fence_action_done(self, token: str, ok: bool, why: str) -> None:
        """Complete the transition's fence action ``token`` names (if it still runs)."""
        aid = self._current_action(token)
        if self.run is not None and aid is not None:
            self.deadlines.pop(aid, None)
            if not ok:
                self.not_before_ms = self.ctrl.now_ms + 2 * RETRY_AFTER_FAILURE_MS
            self._dispatch(self.run.result(aid, ok, why))

    def _current_action(self, token: str) -> int | None:
        """The action id a ``TRANSITION:ACTION`` token names in the running transition."""
        run = self.run
        if run is None or not token.startswith(f"{run.transition_id}:"):
            return None
        return int(token.split(":")[1])

    def _send_to_node(self, action: Action, msg: dict[str, Any]) -> None:
        c = self.ctrl
        node_id = c.spec.node_id(action.node or "")
        if node_id == c.spec.me:
            c._on_message(node_id, msg)
        elif node_id is not None and node_id in c.membership.members:
            c.emit(Send(node_id, msg))

    def _cluster_action(self, action: Action) -> None:
        c = self.ctrl
        if action.task == "clear_failcount":
            node_id = c.spec.node_id(action.node or "")
            self.status_edit(f"failure of {action.rsc} on {action.node} expired",
                              lambda cib: S.clear_failcounts(cib, action.rsc, node_id),
                              abort=False)

    @property
    def state(self) -> str:
        if not self.active:
            return "member"
        if not self.synced:
            return "syncing"
        if self.run and self.run.state is RunState.RUNNING:
            return "running"
        return "idle"
