"""The DC's duties: own the CIB, keep status true to membership, schedule, run transitions.

The DC's parts: :mod:`.dcrun` (the transition engine), :mod:`.dcwrites` (client writes and
their acknowledgements), :mod:`.fencing.dc` (fencing); this module coordinates them.

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
  successfully (by this DC, an earlier one or a peer: :mod:`.fencing.history`) within
  :data:`FENCED_MEMBER_GRACE_MS`, its resource history forgotten. A joining member
  gets the fencing history. A member heard following another DC while it did not hear
  this one (cut off one way, it made itself a minority DC and stopped its resources)
  has its history forgotten when it follows this DC again: its resources are probed,
  so the cluster's belief converges to what the agents say.
* Every CIB change is sent to all members at once; a member whose heartbeat shows another
  version gets the CIB again (at most every two heartbeat intervals).
* Terms: each quorate DC takes a term above every term it has seen when it takes over
  (never on a mere view change: a DC about to lose quorum must not outrank the next
  majority). A DC without quorum neither opens a term nor moves the version. Replicas
  are ranked by (admin_epoch, term, epoch, num_updates): after a partition heals, what a
  majority DC wrote beats what a cut-off DC wrote, even with a lower epoch. The DC then
  moves its epoch past every member's (and past what it held itself before a pull), so
  no replica's version ever goes backwards.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import CibInvalid, Unavailable, VigilError, error_reply
from . import cib as C
from . import status as S
from .cibops import WRITE_OPS
from .dcrun import TransitionEngine
from .dcwrites import PendingWrites, cleanup
from .events import FenceDone, Send
from .fencing.dc import DcFencing
from .membership import ViewChange
from .messages import (
    CibCopy,
    CibPull,
    CibPush,
    ExecRefused,
    ExecResult,
    FenceHistoryCopy,
    Leave,
    Message,
    Shutdown,
    Write,
    WriteReply,
    encode,
)
from .transition import TransitionRun

if TYPE_CHECKING:
    from .context import NodeContext

Respond = Callable[[dict[str, Any]], None]
FENCED_MEMBER_GRACE_MS = 60000  # a fenced member leaves the view within this
TROUBLED_RESEND_MS = 10000  # the CIB to a member whose disk fails, at most this often


class DcDuties:
    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.active = False
        self.synced = False
        self.synced_quorate = False
        self.sync_deadline_ms = 0
        self.sent: dict[int, tuple[tuple[int, int, int], int]] = {}  # node -> (version, at_ms)
        self.leaving: set[int] = set()
        self.diverged: set[int] = set()  # members seen following another DC, deaf to us
        self.engine = TransitionEngine(ctx, self)
        self.writes = PendingWrites(ctx)
        self.fencing = DcFencing(ctx, self)

    @property
    def run(self) -> TransitionRun | None:
        return self.engine.run

    # ------------------------------------------------------------------ role changes
    def take_over(self) -> None:
        c = self.ctx
        self.active, self.synced = True, False
        self.engine.reset()
        best = max(c.membership.members, key=lambda n: (c.rank(n), n == c.spec.me))
        if best != c.spec.me and c.rank(best) > c.rank(c.spec.me):
            self._pull(best)
        else:
            self._synced()

    def new_term(self) -> int:
        """A term above every term seen, unique to this node (two DCs never share one)."""
        c = self.ctx
        top = max([c.term, *c.peers.terms.values()]) >> 16
        return ((top + 1) << 16) | c.spec.me

    def bump(self, cib: C.Element) -> None:
        """Count a status change. Without quorum the version stays: what a minority DC
        records (its stops) must never outrank what the majority holds."""
        if self.ctx.membership.quorate:
            C.bump_updates(cib)

    def _pull(self, node: int) -> None:
        c = self.ctx
        c.log(f"pulling the CIB {list(c.rank(node))} from {c.name(node)} "
              f"(mine is {list(c.rank(c.spec.me))})")
        self.synced = False
        self.sync_deadline_ms = c.now_ms + max(c.spec.join_timeout_ms, 1000)
        c.emit(Send(node, encode(CibPull())))

    def resign(self) -> None:
        self.engine.stop()
        self.active, self.synced = False, False
        self.fencing.resign()
        self.diverged.clear()
        # writes already sent out stay open (:mod:`.dcwrites`), until their deadline

    def _synced(self, prior: tuple[int, int, int] | None = None) -> None:
        """The DC holds the newest replica; ``prior``: the version it held before it
        adopted a pulled one (its epoch is moved past that too: never back)."""
        c = self.ctx
        self.synced = True
        self.synced_quorate = c.membership.quorate
        if self.synced_quorate:  # only a majority DC opens a new term (see module rules)
            c.replica.set_term(self.new_term())
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
        c = self.ctx
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
        c = self.ctx
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
        c = self.ctx
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
            history = encode(FenceHistoryCopy(tuple(c.history)))
            for node in sorted(change.joined | change.restarted):
                c.emit(Send(node, history))
        for node in change.left:
            self.sent.pop(node, None)
            self.fencing.origin_left(c.name(node) or "")
            self.engine.left(c.name(node) or "")
        c.set_cib(new, "membership changed")

    # ------------------------------------------------------------------ CIB flow
    def cib_changed(self, reason: str, abort: bool = True) -> None:
        self.engine.changed(reason, abort)
        self.replicate()

    def replicate(self, pid: int | None = None) -> None:
        c = self.ctx
        msg = encode(CibCopy(C.to_bytes(c.cib).decode(), c.term, pid))
        version = C.version(c.cib)
        for node in c.membership.members - {c.spec.me}:
            self.sent[node] = (version, c.now_ms)
            c.emit(Send(node, msg))

    def _move_epoch_past_members(self, cib: C.Element,
                                 prior: tuple[int, int, int] | None = None) -> None:
        """Give the CIB an epoch above every replica known (and ``prior``, this node's
        own before it adopted ``cib``), so adopting it never goes back."""
        c = self.ctx
        admin, epoch, _ = C.version(cib)
        versions = [(admin, epoch)] + [c.peers.newest(n)[:2] for n in c.peers.versions]
        if prior is not None:
            versions.append(prior[:2])
        top_admin = max(a for a, _ in versions)
        top_epoch = max(e for a, e in versions if a == top_admin)
        C.set_version(cib, (top_admin, top_epoch + 1, 0))

    def peer_version(self, node: int) -> None:
        c = self.ctx
        if not self.synced:
            return
        if c.rank(node) > c.rank(c.spec.me):
            self._pull(node)  # a member holds a newer replica than the DC
            return
        mine = C.version(c.cib)
        if c.peers.versions.get(node) == mine and c.peers.terms.get(node) == c.term:
            return
        other = c.peers.newest(node)
        if (c.membership.quorate and c.peers.terms.get(node, 0) != c.term
                and other[:2] >= mine[:2]):
            # a replica from another DC's term (a healed partition) with an epoch as high
            # as ours: move past it so that adopting ours never takes that node back
            new = copy.deepcopy(c.cib)
            self._move_epoch_past_members(new)
            c.log(f"moving the epoch past {c.name(node)}'s {list(other)}")
            c.set_cib(new, "epoch moved past a member's")
            return
        last = self.sent.get(node)
        # a member whose disk fails retries its save itself: resend only now and then
        wait_ms = (TROUBLED_RESEND_MS if "disk" in c.peers.troubles.get(node, {})
                   else 2 * c.spec.heartbeat_interval_ms)
        if last and last[0] == mine and c.now_ms - last[1] < wait_ms:
            return
        self.sent[node] = (mine, c.now_ms)
        c.emit(Send(node, encode(CibCopy(C.to_bytes(c.cib).decode(), c.term))))

    def peer_claim(self, node: int) -> None:
        """A member's heartbeat: note whether it follows another DC without hearing this
        one, and re-probe it once it follows this DC again (see the module rules)."""
        c = self.ctx
        if not self.synced or node not in c.membership.members:
            return
        claim = c.peers.claims.get(node)
        if claim not in (None, c.spec.me) and not c.peers.hears_me.get(node, False):
            if node not in self.diverged:
                c.log(f"{c.name(node)} follows {c.name(claim)} and does not hear this DC")
            self.diverged.add(node)
        elif claim == c.spec.me and node in self.diverged:
            self.diverged.discard(node)
            self.status_edit(f"{c.name(node)} follows this DC again after following "
                             "another: what runs there is probed again",
                             lambda cib: S.clear_lrm(cib, node))

    def status_edit(self, reason: str, edit: Any, abort: bool = True) -> None:
        if not self.synced:
            return
        c = self.ctx
        new = copy.deepcopy(c.cib)
        edit(new)
        self.bump(new)
        c.log(reason)
        c.replica.store(new)
        self.cib_changed(reason, abort)

    # ------------------------------------------------------------------ writes
    def write(self, req: dict[str, Any], respond: Respond) -> None:
        """Apply a client write; respond once a majority holds it (or with an error)."""
        c = self.ctx
        if not self.synced:
            respond(error_reply(Unavailable("the DC is still synchronising the CIB; retry")))
            return
        if not c.membership.quorate:
            respond(error_reply(Unavailable(
                "this partition has no quorum: the cluster refuses changes until it has")))
            return
        op = str(req.get("op"))
        if op == "fence":
            self.fencing.manual_request(req, respond)
            return
        try:
            if op == "resource_cleanup":
                what, edit = cleanup(c, req)
                self.status_edit(what, edit)
                respond({"ok": True, "result": {"version": list(C.version(c.cib))}})
                return
            handler = WRITE_OPS.get(op)
            if handler is None:
                raise CibInvalid(f"unknown operation {req.get('op')!r}")
            new, result = handler(c.cib, req)
        except VigilError as exc:
            respond(error_reply(exc))
            return
        reply = {"ok": True, "result": result}
        if new is None:
            respond(reply)
            return
        c.log(f"CIB {result['version']}: {op} applied")
        pid = self.writes.track(respond, reply, C.version(new))
        c.replica.store(new)
        self.engine.changed(f"{op} from a client")
        self.replicate(pid)
        self.writes.check(pid)

    # ------------------------------------------------------------------ messages
    def message(self, sender: int, msg: Message) -> None:
        c = self.ctx
        if isinstance(msg, CibPush):
            self._on_push(sender, msg)
        elif isinstance(msg, Write):
            rid = msg.rid
            self.write(msg.req, lambda reply: c.emit(
                Send(sender, encode(WriteReply(rid, reply)))))
        elif isinstance(msg, ExecResult):
            self.engine.result(sender, msg)
        elif isinstance(msg, ExecRefused):
            self.engine.refused(msg)
        elif isinstance(msg, Shutdown):
            self.status_edit(f"{c.name(sender)} is shutting down", lambda cib: S.set_attr(
                cib, sender, c.name(sender) or "", "shutdown", str(msg.wall_s)))
        elif isinstance(msg, Leave):
            self.leaving.add(sender)
            self.status_edit(f"{c.name(sender)} left cleanly", lambda cib: (
                S.set_member(cib, sender, c.name(sender) or "", False, "down"),
                S.clear_lrm(cib, sender)))

    def _on_push(self, sender: int, msg: CibPush) -> None:
        c = self.ctx
        if self.synced:
            return
        new = C.parse(msg.xml, f"CIB pushed by {c.name(sender)}")
        a, e, n = C.version(new)
        prior = C.version(c.cib)
        if (a, msg.term, e, n) > c.rank(c.spec.me):
            c.replica.hold(new, msg.term)
        self._synced(prior)

    # ------------------------------------------------------------------ ticks
    def tick(self) -> None:
        c = self.ctx
        self.writes.expire()
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
        self.engine.tick()

    def fence_done(self, ev: FenceDone) -> None:
        ok = self.fencing.done(ev)
        self.engine.fence_action_done(ev.token, ok, f"fencing {ev.target}: {ev.reason}")

    def fence_action_done(self, token: str, ok: bool, why: str) -> None:
        self.engine.fence_action_done(token, ok, why)

    @property
    def state(self) -> str:
        if not self.active:
            return "member"
        if not self.synced:
            return "syncing"
        if self.engine.running():
            return "running"
        return "idle"
