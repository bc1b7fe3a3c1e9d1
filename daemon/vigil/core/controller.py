"""The node controller: one sans-IO object per node that turns events into commands.

Every node runs the same controller; one of them is also the DC (see :mod:`.dc`).

Theory of operation
-------------------
* Membership: heartbeats (``hb``) every ``heartbeat_interval_ms`` carry the sender's DC
  belief and CIB version; :class:`.membership.Membership` judges liveness on every tick.
* Election: after any change, :func:`.election.choose_dc` decides who the DC is.
* CIB: every node holds a replica. Only the DC writes; it sends the whole CIB (``cib``) to
  members after each change and to any member whose heartbeat shows another version. A
  new DC first pulls the newest CIB any member advertises (``cib_pull``/``cib_push``)
  before it writes or schedules.
* Client writes go to the DC (``write``/``write_reply``); reads are answered locally
  (:mod:`.clients`). A request to fence the DC is carried out by a peer
  (:mod:`.peerfence`): a member asked for it runs it itself; the DC asked for it hands it
  to another member (``fence_run``).
* Fencing history entries (``fence_event``) are accepted from any member and merged; a
  node that joins gets the DC's history (``fence_history``).
* Actions: the DC sends ``exec`` to the node that must run an action; that node runs it
  and sends ``exec_result`` back to whoever is DC when it finishes. Recurring monitors
  report changes with ``monitor_change``.
* Shutdown: the node asks the DC to move its resources away (``shutdown``), waits until
  none is active on it (or the shutdown timeout passes), says ``leave`` and exits.

Each step logs a sentence saying what was decided and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..errors import CibInvalid, ProtocolError
from . import cib as C
from .clients import ClientRequests
from .codec import action_from_dict, action_to_dict, result_to_dict
from .dc import DcDuties
from .disk import Disk
from .election import choose_dc
from .events import (
    AgentDone,
    Broadcast,
    CancelRecurring,
    ClientRequest,
    Command,
    Disconnect,
    Event,
    Execute,
    Exit,
    FenceDone,
    Heartbeat,
    Log,
    MonitorChanged,
    PeerMessage,
    Persist,
    Reconfigure,
    Saved,
    Send,
    ShutdownRequested,
    Tick,
)
from .fencing.gate import FenceGate, ack_reply
from .fencing.history import FenceHistory
from .fencing.peer import PeerFencing
from .membership import Membership
from .statusview import active_on

SHUTDOWN_TIMEOUT_MS = 120000
UNREPORTED_KEPT = 64  # results kept for the next DC while there is none


@dataclass(frozen=True)
class ClusterSpec:
    cluster_name: str
    me: int
    names: dict[int, str]
    votes: dict[int, int]
    heartbeat_interval_ms: int = 200
    deadtime_ms: int = 1000
    join_timeout_ms: int = 2000
    expected_votes: int | None = None
    two_node: bool = False
    wait_for_all: bool = False
    last_man_standing: bool = False
    lms_window_ms: int = 10000

    @property
    def my_name(self) -> str:
        return self.names[self.me]

    def node_id(self, name: str) -> int | None:
        return next((i for i, n in self.names.items() if n == name), None)


class Controller:
    def __init__(self, spec: ClusterSpec, incarnation: int, cib: C.Element | None,
                 now_ms: int, counters: Callable[[], dict[str, int]] | None = None,
                 term: int = 0) -> None:
        self.spec = spec
        self.incarnation = incarnation
        self.term = term
        self.cib = cib if cib is not None else C.new_cib()
        self.membership = Membership(
            spec.me, spec.votes, spec.deadtime_ms, spec.heartbeat_interval_ms,
            spec.expected_votes, spec.two_node, spec.wait_for_all,
            spec.last_man_standing, spec.lms_window_ms,
        )
        self.started_ms = now_ms
        self.now_ms = now_ms
        self.wall_s = 0.0
        self.dc: int | None = None
        self.claims: dict[int, int | None] = {}
        self.was_quorate = False
        self.first_tick = True
        self.claim_quorate: dict[int, bool] = {}
        self.hears_me: dict[int, bool] = {}
        self.peer_versions: dict[int, tuple[int, int, int]] = {}
        self.peer_terms: dict[int, int] = {}
        self.last_hb_ms = -10**9
        self.view_changed_ms = now_ms
        self.call_id = 0
        self.clients = ClientRequests(self)
        self.shutdown_since: int | None = None
        self.history = FenceHistory()  # the cluster's fencing history, as heard here
        self.peer_fencing = PeerFencing(self)
        self.fence_gate = FenceGate(self)
        self.refused_cib: tuple[tuple[int, int, int], int] | None = None
        self.disk = Disk(saved=C.version(self.cib) if cib is not None else (0, 0, 0))
        self.unfit: set[int] = set()  # peers whose heartbeat says their disk fails
        self.counters = counters or (lambda: {})
        self.stale_messages = 0  # from a process of a peer that has since restarted
        # the membership view's number: (sequence, node that numbered it). The DC numbers
        # each view it sees (above every number heard); members adopt it when their own
        # member list is the DC's. Agreed when every member reports the same number.
        self.view_id: tuple[int, int] = (0, 0)
        self.view_members: frozenset[int] = frozenset()
        self.peer_views: dict[int, tuple[int, int]] = {}
        self.last_expected_votes: int | None = None
        self.unseen_added: set[int] = set()  # added by a reload, not yet heard from
        # a node's boot that was fenced: anything it sent that arrives later (a stream its
        # kernel delivers once the link is back) is dropped
        self.left_incarnation: dict[int, int] = {}
        self.dead_incarnation: dict[int, int] = {}
        self.exec_origin: dict[str, int] = {}  # token -> the DC that asked for the action
        self.unreported: list[dict[str, Any]] = []  # results finished while there was no DC
        self.duties = DcDuties(self)
        self._out: list[Command] = []

    # ------------------------------------------------------------------ plumbing
    def emit(self, cmd: Command) -> None:
        self._out.append(cmd)

    def log(self, text: str, level: str = "info") -> None:
        self._out.append(Log(level, text))

    def name(self, node_id: int | None) -> str | None:
        return None if node_id is None else self.spec.names.get(node_id, f"node-{node_id}")

    @property
    def fence_history(self) -> list[dict[str, Any]]:
        """The fencing history, oldest first (read-only: :attr:`history` merges)."""
        return list(self.history.entries)

    @property
    def is_dc(self) -> bool:
        return self.dc == self.spec.me

    def set_cib(self, new: C.Element, reason: str) -> None:
        """Adopt a new CIB replica: persist it; the DC also replicates it."""
        self.cib = new
        self.emit_persist()
        if self.is_dc:
            self.duties.cib_changed(reason)

    def emit_persist(self) -> None:
        self.emit(Persist(C.to_bytes(self.cib), C.version(self.cib), self.term))

    def rank(self, node_id: int) -> tuple[int, int, int, int]:
        """Which replica is newest: (admin_epoch, DC term, epoch, num_updates)."""
        if node_id == self.spec.me:
            a, e, n = C.version(self.cib)
            return (a, self.term, e, n)
        a, e, n = self.peer_versions.get(node_id, (0, 0, 0))
        return (a, self.peer_terms.get(node_id, 0), e, n)

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
            self.now_ms, self.wall_s = event.now_ms, event.wall_s
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
            self._report(event.token, event.action, event.result, "exec_result")
        elif isinstance(event, MonitorChanged):
            self._report("", event.action, event.result, "monitor_change")
        elif isinstance(event, ShutdownRequested):
            self._on_shutdown(event.reason)
        elif isinstance(event, Reconfigure):
            self._reconfigure(event)
        elif isinstance(event, Saved):
            self._on_saved(event)
        elif isinstance(event, FenceDone):
            if self.peer_fencing.done(event):
                return  # carried out for the DC's own fencing
            if self.is_dc:
                self.duties.fence_done(event)
            else:
                self.log(f"fencing of {event.target} finished after this node stopped being "
                         f"DC: ok={event.ok}", "warning")

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
                self.claims.pop(node, None)
                self.left_incarnation[node] = self.membership.incarnation_of(node)
                self.emit(Disconnect(node))
            self.view_changed_ms = self.now_ms
            self.duties.view_changed(change)
            self._quorum_gained(change)
        expected = self.membership.expected_votes
        if expected != self.last_expected_votes:
            if self.last_expected_votes is not None:
                self.log(f"expected votes now {expected} (last man standing; configured "
                         f"{self.membership.configured_expected})")
            self.last_expected_votes = expected
        self._number_view()
        if self.now_ms - self.last_hb_ms >= self.spec.heartbeat_interval_ms:
            self.last_hb_ms = self.now_ms
            self.emit(Broadcast(self._heartbeat()))
        self._elect()
        self.clients.expire()
        self.fence_gate.tick()
        self.duties.tick()
        self._shutdown_progress()

    def _on_saved(self, ev: Saved) -> None:
        sends, said = self.disk.on_saved(ev)
        for send in sends:
            self.emit(send)
        if said:
            self.log(said, "error" if ev.error else "info")
            self.last_hb_ms = -10**9  # tell the others at once
        if self.is_dc:
            self.duties.saved()

    def _heartbeat(self) -> dict[str, Any]:
        hb = self._heartbeat_fields()
        if self.disk.error is not None:
            hb["disk"] = self.disk.error
        return hb

    def _heartbeat_fields(self) -> dict[str, Any]:
        # the version advertised is the newest one saved (see :mod:`.disk`)
        return {"t": "hb", "c": self.spec.cluster_name, "dc": self.dc,
                "v": list(self.disk.saved), "term": self.term,
                "m": sorted(self.membership.members),
                "q": self.membership.quorate, "vw": list(self.view_id),
                "hd": self.membership.heard_ages(self.now_ms)}

    def _on_heartbeat(self, hb: Heartbeat) -> None:
        if hb.now_ms is not None:
            self.now_ms = max(self.now_ms, hb.now_ms)
        msg = hb.msg
        if msg.get("c") != self.spec.cluster_name or hb.sender == self.spec.me:
            return
        change = self.membership.heartbeat(hb.sender, hb.incarnation, self.now_ms, msg)
        dc = msg.get("dc")
        self.claims[hb.sender] = dc if isinstance(dc, int) and not isinstance(dc, bool) else None
        self.claim_quorate[hb.sender] = msg.get("q") is True
        if msg.get("disk"):
            self.unfit.add(hb.sender)
        else:
            self.unfit.discard(hb.sender)
        heard = msg.get("m")
        self.hears_me[hb.sender] = isinstance(heard, list) and self.spec.me in heard
        version = _ints(msg.get("v"), 3)
        if version is not None:
            self.peer_versions[hb.sender] = (version[0], version[1], version[2])
        term = msg.get("term")
        if isinstance(term, int):
            self.peer_terms[hb.sender] = term
        view = _ints(msg.get("vw"), 2)
        if view is not None:
            self.peer_views[hb.sender] = (view[0], view[1])
            members = _ints(heard, None)
            if (hb.sender == self.dc and not self.is_dc and members is not None
                    and frozenset(members) == self.membership.members):
                self.view_id = (view[0], view[1])
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
            self.view_changed_ms = self.now_ms
            self.duties.view_changed(change)
            self._quorum_gained(change)
        self._elect()
        if self.is_dc:
            self.duties.peer_claim(hb.sender)
            self.duties.peer_version(hb.sender)

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
            for table in (self.claims, self.claim_quorate, self.hears_me, self.peer_versions,
                          self.peer_terms, self.peer_views):
                table.pop(node, None)
            self.emit(Disconnect(node))
            self.unseen_added.discard(node)
        m.reconfigure()
        self.log(f"configuration reloaded: nodes added {[ev.names[n] for n in added]}, "
                 f"removed {[old.names[n] for n in removed]}; expected votes "
                 f"{m.expected_votes}")
        if change:
            self.view_changed_ms = self.now_ms
            self.duties.view_changed(change)
            self._quorum_gained(change)
        if self.is_dc and (added or removed):
            self.duties.nodes_reconfigured(removed)

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

    def _number_view(self) -> None:
        """The DC gives each new view a number above every number it has heard."""
        if not self.is_dc or self.view_members == self.membership.members:
            return
        top = max([self.view_id[0], *(v[0] for v in self.peer_views.values())])
        self.view_id = (top + 1, self.spec.me)
        self.view_members = self.membership.members
        self.last_hb_ms = -10**9  # announce it at once

    def view_agreed(self) -> bool:
        """Every member reports this node's view number (and it numbers this view)."""
        if self.view_members != self.membership.members or self.view_id == (0, 0):
            return False
        return all(self.peer_views.get(n) == self.view_id
                   for n in self.membership.members if n != self.spec.me)

    def _quorum_gained(self, change: Any) -> None:
        """A DC chosen without quorum gives up its claim when a merge brings quorum, so
        that the DC the majority already follows stays (stability)."""
        if change.quorate and not self.was_quorate and self.is_dc:
            self.log("the partition gained quorum: giving up the DC role of the minority")
            self.dc = None
            self.duties.resign()
            self.last_hb_ms = -10**9
        self.was_quorate = change.quorate

    def _elect(self) -> None:
        if self.first_tick:
            return  # not running yet: heartbeats are only being collected
        started = (self.now_ms - self.started_ms >= self.spec.join_timeout_ms
                   or len(self.membership.members) == len(self.spec.names))
        quiet = self.now_ms - self.view_changed_ms >= 2 * self.spec.heartbeat_interval_ms
        settled = started and quiet
        electorate = frozenset(n for n in self.membership.members
                               if n == self.spec.me or self.hears_me.get(n, False))
        unfit = frozenset(self.unfit | ({self.spec.me} if self.disk.error else set()))
        dc, reason = choose_dc(self.spec.me, electorate, self.membership.quorate,
                               self.dc, self.claims, settled, self.claim_quorate, unfit)
        if dc != self.dc:
            was_dc = self.is_dc
            self.log(f"DC is now {self.name(dc)}: {reason}")
            self.dc = dc
            if was_dc:
                self.duties.resign()
            if self.is_dc:
                self.duties.take_over()
            self.last_hb_ms = -10**9  # tell the others at once
            if dc is not None and self.unreported:
                pending, self.unreported = self.unreported, []
                for msg in pending:
                    self._deliver_result(msg)

    # ------------------------------------------------------------------ messages
    def _on_message(self, sender: int, msg: dict[str, Any]) -> None:
        try:
            self._route(sender, msg)
        except CibInvalid as exc:  # a CIB this node refuses to parse is never adopted
            raise ProtocolError(f"{msg.get('t')!r} from node {sender}: {exc}") from exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProtocolError(f"{msg.get('t')!r} from node {sender}: missing or bad "
                                f"field ({exc!r})") from exc

    def _route(self, sender: int, msg: dict[str, Any]) -> None:
        kind = msg["t"]
        if kind == "cib":
            self._adopt_from_dc(sender, msg)
        elif kind == "cib_pull":
            self.emit(Send(sender, {"t": "cib_push", "xml": C.to_bytes(self.cib).decode(),
                                    "term": self.term}))
        elif kind == "exec":
            self._exec(sender, msg)
        elif kind == "fence_event" and sender in self.membership.members:
            entry = dict(msg["entry"])
            self.history.merge(entry)
            ack_reply(self, sender, msg)
            if entry["state"] != "pending":
                self.fence_finished(entry)
        elif kind == "fence_ack":
            self.fence_gate.acked(sender, msg)
        elif kind == "fence_history" and sender in self.spec.names:
            # past fencings, for the record only; sent as this node joins, often before
            # it has heard the sender's heartbeat
            for entry in msg["entries"]:
                self.history.merge(dict(entry))
        elif kind == "fence_run":
            self.peer_fencing.run_for(sender, msg)
        elif kind == "cancel":
            self.emit(CancelRecurring(msg.get("rsc"), msg.get("interval_ms")))
        elif kind == "cib_ack":
            self.duties.acked(sender, msg)
        elif kind == "write_reply":
            self.clients.answered(int(msg["rid"]), msg["reply"])
        elif self.is_dc:
            self.duties.message(sender, kind, msg)

    def _adopt_from_dc(self, sender: int, msg: dict[str, Any]) -> None:
        if sender != self.dc:
            return
        new = C.parse(str(msg["xml"]), "CIB from the DC")
        term = int(msg.get("term", self.term))
        a, e, n = theirs = C.version(new)
        mine = C.version(self.cib)
        if theirs < mine or (a, term, e, n) < self.rank(self.spec.me):
            # never go back (a DC that was frozen and is followed again, say): the DC
            # pulls this replica, or moves its epoch past it, and sends again
            if self.refused_cib != (theirs, term):
                self.refused_cib = (theirs, term)
                self.log(f"not adopting the DC's CIB {list(theirs)} (term {term}): this "
                         f"replica is newer ({list(mine)}, term {self.term})", "warning")
            return
        if (term != self.term or C.version(new) != C.version(self.cib)
                or C.canonical(new) != C.canonical(self.cib)):
            self.term = term
            self.set_cib(new, "replica from the DC")
        if "pid" in msg:  # the DC waits for a majority to hold this write before acking it
            for send in self.disk.ack_when_saved(C.version(self.cib), sender, int(msg["pid"])):
                self.emit(send)

    def _exec(self, sender: int, msg: dict[str, Any]) -> None:
        action = action_from_dict(msg["action"])
        if action.node != self.spec.my_name:
            raise ProtocolError(f"action {action.key} is for {action.node}, not for me")
        if self.dc is not None and sender not in (self.dc, self.spec.me):
            # only the DC this node follows may act here (a node that has not seen the
            # election yet takes the asker's word: it is joining)
            why = (f"refused: {self.name(sender)} is not the DC this node follows "
                   f"({self.name(self.dc)})")
            self.log(f"{action.key} {why}", "warning")
            self.emit(Send(sender, {"t": "exec_refused", "token": str(msg["token"]),
                                    "reason": why}))
            return
        if action.task == "stop" and action.rsc:
            self.emit(CancelRecurring(action.rsc))
        token = str(msg["token"])
        if sender != self.spec.me:
            # answer whoever asked, even before this node has seen it win the election
            # (a node that just joined runs the DC's probes at once)
            self.exec_origin[token] = sender
        self.emit(Execute(token, action))

    def _report(self, token: str, action: Any, result: Any, kind: str) -> None:
        self.call_id += 1
        msg = {"t": kind, "token": token, "action": action_to_dict(action),
               "result": result_to_dict(result), "call_id": self.call_id,
               "wall_s": int(self.wall_s)}
        origin = self.exec_origin.pop(token, None) if token else None
        if origin is not None and origin in self.membership.members:
            self.emit(Send(origin, msg))
            return
        if self.dc is None:
            self.log(f"{action.key} finished (rc {result.rc}) while there is no DC: "
                     "the next DC will be told", "warning")
            self.unreported = [*self.unreported, msg][-UNREPORTED_KEPT:]
            return
        self._deliver_result(msg)

    def _deliver_result(self, msg: dict[str, Any]) -> None:
        if self.is_dc:
            self.duties.message(self.spec.me, str(msg["t"]), msg)
        elif self.dc is not None:
            self.emit(Send(self.dc, msg))

    # ------------------------------------------------------------------ shutdown
    def _on_shutdown(self, reason: str) -> None:
        if self.shutdown_since is not None:
            return
        self.shutdown_since = self.now_ms
        self.log(f"shutting down ({reason}): moving resources away first")
        self._request_shutdown()

    def _request_shutdown(self) -> None:
        msg = {"t": "shutdown", "wall_s": int(self.wall_s)}
        if self.is_dc:
            self.duties.message(self.spec.me, "shutdown", msg)
        elif self.dc is not None:
            self.emit(Send(self.dc, msg))

    def _shutdown_progress(self) -> None:
        if self.shutdown_since is None:
            return
        waited = self.now_ms - self.shutdown_since
        active = active_on(self.cib, self.spec.my_name, self.wall_s)
        if self.dc is not None and active and waited < SHUTDOWN_TIMEOUT_MS:
            if waited % 2000 < self.spec.heartbeat_interval_ms:
                self._request_shutdown()  # repeated in case the DC changed
            return
        if active:
            self.log(f"leaving with resources still active here: {', '.join(active)}",
                     "warning")
        leave = {"t": "leave"}
        if self.is_dc:
            self.duties.message(self.spec.me, "leave", leave)
        for node in self.membership.members - {self.spec.me}:
            self.emit(Send(node, leave))
        self.emit(CancelRecurring(None))
        self.emit(Exit("shutdown complete"))
        self.shutdown_since = None

    # ------------------------------------------------------------------ helpers
    def _names(self, ids: frozenset[int]) -> str:
        return ",".join(sorted(str(self.name(i)) for i in ids)) or "-"

    def _describe(self, ids: frozenset[int], verb: str) -> str:
        return f"{self._names(ids)} {verb.strip()}" if ids else ""


def _ints(value: Any, length: int | None) -> tuple[int, ...] | None:
    """``value`` as a tuple of integers (of ``length`` items when given), else None."""
    if not isinstance(value, list) or (length is not None and len(value) != length):
        return None
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
        return None
    return tuple(value)

