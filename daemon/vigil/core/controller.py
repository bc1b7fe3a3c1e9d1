"""The node controller: one sans-IO object per node that turns events into commands.

Every node runs the same controller; one of them is also the DC (see :mod:`.dc`). The
controller is the node context (:mod:`.context`): it owns the clock, the membership, the
peer table, the election's result, the CIB replica and the fencing history, and hands
each event to the role it concerns.

Theory of operation
-------------------
* Membership: heartbeats (``hb``) every ``heartbeat_interval_ms`` carry the sender's DC
  belief, saved CIB version, view and second opinions; :class:`.membership.Membership`
  judges liveness on every tick.
* Election: after any change, :func:`.election.choose_dc` decides who the DC is.
* CIB: every node holds a replica (:mod:`.replica`). Only the DC writes; it sends the
  whole CIB (``cib``) to members after each change and to any member whose heartbeat
  shows another version. A new DC first pulls the newest CIB any member advertises
  (``cib_pull``/``cib_push``) before it writes or schedules.
* Client requests: :mod:`.clients`. Actions and shutdown: :mod:`.member`. Fencing:
  :mod:`.fencing` (history entries from any member are merged; a joining node gets the
  DC's history).
* Peer messages are decoded once (:func:`.messages.decode`); a malformed one is dropped
  and logged, never half-applied.

Each step logs a sentence saying what was decided and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..errors import CibInvalid, ProtocolError
from . import cib as C
from . import messages as M
from .clients import ClientRequests
from .dc import DcDuties
from .election import choose_dc
from .events import (
    AgentDone,
    Broadcast,
    CancelRecurring,
    ClientRequest,
    Command,
    Disconnect,
    Event,
    FenceDone,
    Heartbeat,
    Log,
    MonitorChanged,
    PeerMessage,
    Reconfigure,
    Saved,
    Send,
    ShutdownRequested,
    Tick,
)
from .fencing.gate import FenceGate, ack_reply
from .fencing.history import FenceHistory
from .fencing.peer import PeerFencing
from .member import MemberDuties
from .membership import Membership, ViewChange
from .peers import PeerTable
from .replica import Replica
from .spec import ClusterSpec

__all__ = ["ClusterSpec", "Controller"]

FD_TROUBLE_MS = 10000  # a node whose accept() failed is in trouble this long after


class Controller:
    def __init__(self, spec: ClusterSpec, incarnation: int, cib: C.Element | None,
                 now_ms: int, counters: Callable[[], dict[str, int]] | None = None,
                 term: int = 0) -> None:
        self.spec = spec
        self.incarnation = incarnation
        self._out: list[Command] = []
        self.replica = Replica(cib, term, self.emit, self.log)
        self.membership = Membership(
            spec.me, spec.votes, spec.deadtime_ms, spec.heartbeat_interval_ms,
            spec.expected_votes, spec.two_node, spec.wait_for_all,
            spec.last_man_standing, spec.lms_window_ms,
        )
        self.peers = PeerTable(spec.me)
        self.history = FenceHistory()  # the cluster's fencing history, as heard here
        self._now_ms = now_ms
        self._wall_s = 0.0
        self._dc: int | None = None
        self.started_ms = now_ms
        self.first_tick = True
        self.was_quorate = False
        self.last_hb_ms = -10**9
        self.view_changed_ms = now_ms
        self.counters = counters or (lambda: {})
        self.accept_errors_seen = 0
        self.fd_trouble_until_ms = -10**9
        self.stale_messages = 0  # from a process of a peer that has since restarted
        # the membership view's number: (sequence, node that numbered it). The DC numbers
        # each view it sees (above every number heard); members adopt it when their own
        # member list is the DC's. Agreed when every member reports the same number.
        self.view_id: tuple[int, int] = (0, 0)
        self.view_members: frozenset[int] = frozenset()
        self.last_expected_votes: int | None = None
        self.unseen_added: set[int] = set()  # added by a reload, not yet heard from
        # a node's boot that was fenced: anything it sent that arrives later (a stream its
        # kernel delivers once the link is back) is dropped
        self.left_incarnation: dict[int, int] = {}
        self.dead_incarnation: dict[int, int] = {}
        self.clients = ClientRequests(self)
        self.member = MemberDuties(self)
        self.peer_fencing = PeerFencing(self)
        self.fence_gate = FenceGate(self)
        self.duties = DcDuties(self)

    # ------------------------------------------------------------------ the context
    @property
    def now_ms(self) -> int:
        return self._now_ms

    @property
    def wall_s(self) -> float:
        return self._wall_s

    @property
    def dc(self) -> int | None:
        return self._dc

    @property
    def is_dc(self) -> bool:
        return self._dc == self.spec.me

    @property
    def cib(self) -> C.Element:
        return self.replica.cib

    @property
    def term(self) -> int:
        return self.replica.term

    @property
    def fence_history(self) -> list[dict[str, Any]]:
        """The fencing history, oldest first (read-only: :attr:`history` merges)."""
        return list(self.history.entries)

    def emit(self, cmd: Command) -> None:
        self._out.append(cmd)

    def log(self, text: str, level: str = "info") -> None:
        self._out.append(Log(level, text))

    def name(self, node_id: int | None) -> str | None:
        return None if node_id is None else self.spec.names.get(node_id, f"node-{node_id}")

    def set_cib(self, new: C.Element, reason: str) -> None:
        """Hold and save a new CIB; the DC also replicates it (and aborts its transition)."""
        self.replica.store(new)
        if self.is_dc:
            self.duties.cib_changed(reason)

    def rank(self, node_id: int) -> tuple[int, int, int, int]:
        """Which replica is newest: (admin_epoch, DC term, epoch, num_updates)."""
        if node_id == self.spec.me:
            return self.replica.rank()
        a, e, n = self.peers.versions.get(node_id, (0, 0, 0))
        return (a, self.peers.terms.get(node_id, 0), e, n)

    def fenced(self, target: str) -> None:
        """``target`` was fenced: the boot it was running is over."""
        node = self.spec.node_id(target)
        if node is None:
            return
        boot = (self.membership.incarnation_of(node) if node in self.membership.members
                else self.left_incarnation.get(node, 0))
        self.dead_incarnation[node] = max(self.dead_incarnation.get(node, 0), boot)
        self.history.fenced(node, self.now_ms)

    def fence_finished(self, entry: dict[str, Any]) -> None:
        """A fencing carried out by this node for the DC, or by another node, ended."""
        if entry["state"] == "success" and entry["action"] != "on":
            self.fenced(str(entry["target"]))
        if self.is_dc:
            self.duties.fencing.outcome(entry)

    def view_agreed(self) -> bool:
        """Every member reports this node's view number (and it numbers this view)."""
        if self.view_members != self.membership.members or self.view_id == (0, 0):
            return False
        return all(self.peers.views.get(n) == self.view_id
                   for n in self.membership.members if n != self.spec.me)

    # ------------------------------------------------------------------ events
    def handle(self, event: Event) -> list[Command]:
        self._out = []
        try:
            self._dispatch(event)
        except ProtocolError as exc:
            self.log(f"dropped a malformed message: {exc}", "warning")
        out, self._out = self._out, []
        return out

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, Tick):
            self._now_ms, self._wall_s = event.now_ms, event.wall_s
            self._on_tick()
        elif isinstance(event, Heartbeat):
            self._on_heartbeat(event)
        elif isinstance(event, PeerMessage):
            if (0 < event.incarnation < self.membership.incarnation_of(event.sender)
                    or 0 < event.incarnation <= self.dead_incarnation.get(event.sender, 0)):
                # sent by a process of that node that has since died (a stream that
                # outlived it): acting on it would record results that are no longer true
                self.stale_messages += 1
                return
            self._on_message(event.sender, event.msg)
        elif isinstance(event, ClientRequest):
            self.clients.request(event.rid, event.request)
        elif isinstance(event, AgentDone):
            self.member.report(event.token, event.action, event.result, "exec_result")
        elif isinstance(event, MonitorChanged):
            self.member.report("", event.action, event.result, "monitor_change")
        elif isinstance(event, ShutdownRequested):
            self.member.shutdown(event.reason)
        elif isinstance(event, Reconfigure):
            self._reconfigure(event)
        elif isinstance(event, Saved):
            self._on_saved(event)
        elif isinstance(event, FenceDone):
            self._on_fence_done(event)

    def _on_fence_done(self, event: FenceDone) -> None:
        if self.peer_fencing.done(event):
            return  # carried out for the DC's own fencing
        if self.is_dc:
            self.duties.fence_done(event)
        else:
            self.log(f"fencing of {event.target} finished after this node stopped being "
                     f"DC: ok={event.ok}", "warning")

    def _on_saved(self, ev: Saved) -> None:
        sends, said = self.replica.disk.on_saved(ev)
        for send in sends:
            self.emit(send)
        if said:
            self.log(said, "error" if ev.error else "info")
            self.last_hb_ms = -10**9  # tell the others at once
        if self.is_dc:
            self.duties.writes.saved()

    # ------------------------------------------------------------------ membership
    def _on_tick(self) -> None:
        if self.first_tick:
            # the join timeout counts from when the node can hear, not from start-up
            self.started_ms = self.view_changed_ms = self.now_ms
            self.first_tick = False
        change = self.membership.tick(self.now_ms)
        if change:
            self.log(f"view changed: {self._describe(change.left, 'lost')} ({change.reason}); "
                     f"members {self._names(change.members)}, quorate={change.quorate}")
            for node in change.left:
                self.peers.lost(node)
                self.left_incarnation[node] = self.membership.incarnation_of(node)
                self.emit(Disconnect(node))
            self._view_changed(change)
        expected = self.membership.expected_votes
        if expected != self.last_expected_votes:
            if self.last_expected_votes is not None:
                self.log(f"expected votes now {expected} (last man standing; configured "
                         f"{self.membership.configured_expected})")
            self.last_expected_votes = expected
        self._number_view()
        self._watch_accept_errors()
        self.replica.retry_save(self.now_ms)
        if self.now_ms - self.last_hb_ms >= self.spec.heartbeat_interval_ms:
            self.last_hb_ms = self.now_ms
            self.emit(Broadcast(self._heartbeat()))
        self._elect()
        self.clients.expire()
        self.fence_gate.tick()
        self.duties.tick()
        self.member.tick()

    def _heartbeat(self) -> dict[str, Any]:
        # the version advertised is the newest one saved (see :mod:`.disk`)
        disk = self.replica.disk
        hb: dict[str, Any] = {
            "t": "hb", "c": self.spec.cluster_name, "dc": self.dc, "v": list(disk.saved),
            "term": self.term, "m": sorted(self.membership.members),
            "q": self.membership.quorate, "vw": list(self.view_id),
            "hd": self.membership.heard_ages(self.now_ms), "fa": 1}
        if self.replica.version != disk.saved:
            hb["vh"] = list(self.replica.version)  # held, not (yet) saved
        hb.update(self.troubles())
        return hb

    def troubles(self) -> dict[str, str]:
        """What keeps this node from doing its work: ``disk``, ``fds`` -> why."""
        out = {}
        if self.replica.disk.error is not None:
            out["disk"] = self.replica.disk.error
        if self.now_ms < self.fd_trouble_until_ms:
            out["fds"] = ("accepting connections fails (out of file descriptors): its "
                          "control socket and peer port cannot take new clients")
        return out

    def _watch_accept_errors(self) -> None:
        """Accept failures counted by the shell mark this node in trouble for a while."""
        errors = sum(v for k, v in self.counters().items() if k.startswith("accept_errors_"))
        if errors > self.accept_errors_seen:
            if self.now_ms >= self.fd_trouble_until_ms:
                self.log("accepting connections fails (out of file descriptors): this node "
                         "says so in its heartbeat and is not fit to be DC", "error")
                self.last_hb_ms = -10**9
            self.fd_trouble_until_ms = self.now_ms + FD_TROUBLE_MS
        self.accept_errors_seen = errors

    def _on_heartbeat(self, event: Heartbeat) -> None:
        try:
            self._heard(event)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ProtocolError(f"heartbeat from node {event.sender}: {exc!r}") from exc

    def _heard(self, event: Heartbeat) -> None:
        if event.now_ms is not None:
            self._now_ms = max(self.now_ms, event.now_ms)
        hb = M.decode_heartbeat(event.msg)
        if hb.cluster != self.spec.cluster_name or event.sender == self.spec.me:
            return
        change = self.membership.heartbeat(event.sender, event.incarnation, self.now_ms,
                                           event.msg)
        self.peers.heard(event.sender, hb)
        if (hb.view is not None and event.sender == self.dc and not self.is_dc
                and hb.members is not None
                and frozenset(hb.members) == self.membership.members):
            self.view_id = hb.view
            self.view_members = self.membership.members
        if change:
            self.unseen_added -= change.joined
            for node in change.joined | change.restarted:
                self.history.heard_again(node)  # back from its fencing
            for node in change.restarted:
                self.emit(Disconnect(node))
            what = [self._describe(change.joined, "joined"),
                    self._describe(change.restarted, "restarted")]
            self.log(f"view changed: {', '.join(w for w in what if w)}; members "
                     f"{self._names(change.members)}, quorate={change.quorate}")
            self._view_changed(change)
        self._elect()
        if self.is_dc:
            self.duties.peer_claim(event.sender)
            self.duties.peer_version(event.sender)

    def _view_changed(self, change: ViewChange) -> None:
        self.view_changed_ms = self.now_ms
        self.duties.view_changed(change)
        if change.quorate and not self.was_quorate and self.is_dc:
            # a DC chosen without quorum gives up its claim when a merge brings quorum,
            # so that the DC the majority already follows stays (stability)
            self.log("the partition gained quorum: giving up the DC role of the minority")
            self._dc = None
            self.duties.resign()
            self.last_hb_ms = -10**9
        self.was_quorate = change.quorate

    def _reconfigure(self, ev: Reconfigure) -> None:
        """Nodes added to or removed from the configuration while running."""
        old = self.spec
        if ev.names.get(old.me) != old.my_name:
            self.log("reload refused: this node's own id or name changed (restart instead)",
                     "error")
            return
        added = sorted(set(ev.names) - set(old.names))
        removed = sorted(set(old.names) - set(ev.names))
        renamed = [n for n in set(ev.names) & set(old.names) if ev.names[n] != old.names[n]]
        if renamed:
            self.log(f"reload refused: node ids {renamed} changed names (remove them, then "
                     "add them under the new name)", "error")
            return
        self.spec = replace(old, names=dict(ev.names), votes=dict(ev.votes),
                            expected_votes=ev.expected_votes)
        m = self.membership
        m.fixed_expected = ev.expected_votes
        for node in added:
            m.add_peer(node, ev.votes.get(node, 1), self.now_ms)
            self.unseen_added.add(node)
        change = None
        for node in removed:
            change = m.remove_peer(node, self.now_ms) or change
            self.peers.forget(node)
            self.emit(Disconnect(node))
            self.unseen_added.discard(node)
        m.reconfigure()
        self.log(f"configuration reloaded: nodes added {[ev.names[n] for n in added]}, "
                 f"removed {[old.names[n] for n in removed]}; expected votes "
                 f"{m.expected_votes}")
        if change:
            self._view_changed(change)
        if self.is_dc and (added or removed):
            self.duties.nodes_reconfigured(removed)

    def _number_view(self) -> None:
        """The DC gives each new view a number above every number it has heard."""
        if not self.is_dc or self.view_members == self.membership.members:
            return
        top = max([self.view_id[0], *(v[0] for v in self.peers.views.values())])
        self.view_id = (top + 1, self.spec.me)
        self.view_members = self.membership.members
        self.last_hb_ms = -10**9  # announce it at once

    def _elect(self) -> None:
        if self.first_tick:
            return  # not running yet: heartbeats are only being collected
        started = (self.now_ms - self.started_ms >= self.spec.join_timeout_ms
                   or len(self.membership.members) == len(self.spec.names))
        quiet = self.now_ms - self.view_changed_ms >= 2 * self.spec.heartbeat_interval_ms
        p = self.peers
        electorate = frozenset(n for n in self.membership.members
                               if n == self.spec.me or p.hears_me.get(n, False))
        unfit = p.unfit | ({self.spec.me} if self.troubles() else frozenset())
        dc, reason = choose_dc(self.spec.me, electorate, self.membership.quorate,
                               self.dc, p.claims, started and quiet, p.claim_quorate, unfit)
        if dc == self.dc:
            return
        was_dc = self.is_dc
        self.log(f"DC is now {self.name(dc)}: {reason}")
        self._dc = dc
        if was_dc:
            self.duties.resign()
        if self.is_dc:
            self.duties.take_over()
        self.last_hb_ms = -10**9  # tell the others at once
        if dc is not None:
            self.member.new_dc()

    # ------------------------------------------------------------------ messages
    def _on_message(self, sender: int, raw: dict[str, Any]) -> None:
        msg = M.decode(raw)
        try:
            self._route(sender, msg)
        except CibInvalid as exc:  # a CIB this node refuses to parse is never adopted
            raise ProtocolError(f"{raw.get('t')!r} from node {sender}: {exc}") from exc
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            # decode() is the boundary; this is the net under it: a peer's input never
            # escapes handle()
            raise ProtocolError(f"{raw.get('t')!r} from node {sender}: missing or bad "
                                f"field ({exc!r})") from exc

    def _route(self, sender: int, msg: M.Message) -> None:
        if isinstance(msg, M.CibCopy):
            if sender == self.dc:
                self.replica.from_dc(sender, msg)
        elif isinstance(msg, M.CibPull):
            self.emit(Send(sender, M.encode(M.CibPush(C.to_bytes(self.cib).decode(),
                                                      self.term))))
        elif isinstance(msg, M.Exec):
            self.member.run(sender, msg)
        elif isinstance(msg, M.FenceEvent):
            if sender in self.membership.members:
                self.history.merge(msg.entry)
                ack_reply(self, sender, msg)
                if msg.entry["state"] != "pending":
                    self.fence_finished(msg.entry)
        elif isinstance(msg, M.FenceAck):
            self.fence_gate.acked(sender, msg.key)
        elif isinstance(msg, M.FenceHistoryCopy):
            if sender in self.spec.names:
                # past fencings, for the record only; sent as this node joins, often
                # before it has heard the sender's heartbeat
                for entry in msg.entries:
                    self.history.merge(entry)
        elif isinstance(msg, M.FenceRun):
            self.peer_fencing.run_for(sender, msg)
        elif isinstance(msg, M.Cancel):
            self.emit(CancelRecurring(msg.rsc, msg.interval_ms))
        elif isinstance(msg, M.CibAck):
            self.duties.writes.acked(sender, msg.pid)
        elif isinstance(msg, M.WriteReply):
            self.clients.answered(msg.rid, msg.reply)
        elif self.is_dc:
            self.duties.message(sender, msg)

    # ------------------------------------------------------------------ helpers
    def _names(self, ids: frozenset[int]) -> str:
        return ",".join(sorted(str(self.name(i)) for i in ids)) or "-"

    def _describe(self, ids: frozenset[int], verb: str) -> str:
        return f"{self._names(ids)} {verb.strip()}" if ids else ""
