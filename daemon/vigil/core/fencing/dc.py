"""The DC's fencing duties: run fence actions, confirm them in the CIB, keep the history.

Rules
-----
* Fence actions of a transition, and manual requests (``vigilctl fence``), are carried
  out by the DC's own fencer with the devices and topology the CIB configures. A request
  to fence the DC is carried out by a peer (:mod:`.peerfence`), and so is a transition's
  fence action whose target is the DC (``fence_run`` to the lowest-id other member).
* Only a confirmed fencing frees a node's resources: on success the target is marked
  cleanly down (``expected=down``) and its resource history is forgotten, so the
  scheduler recovers its resources elsewhere. A node still in the membership after a
  "successful" fencing (a device that did nothing) only loses its history: it is probed.
  The same holds for a fencing another node carried out (the DC's own, by a peer).
* A node is not fenced twice at once: when another member is already fencing the target
  (a pending entry, requested less than the fence timeout ago), the DC waits for that
  outcome and completes its own action from it; a failure counts as one of its own, and
  no outcome within the fence timeout fails the action, so the next transition fences.
* A fencing whose node left the view before it ended is recorded as failed ("whether it
  happened is unknown"), and a fence action waiting for it goes on at once.
* ``stonith-max-attempts`` (default 10) failed fencings of one target stop further tries:
  the node stays unclean, its resources blocked, and status says why, until the node
  rejoins or an operator fences it by hand.
* Every history entry is sent to all members, so ``vigilctl fence history`` answers the
  same on every node.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import FencingError, Unavailable, VigilError, error_reply
from .. import cib as C
from .. import status as S
from ..durations import parse_duration_ms
from ..events import FenceDone, Send
from ..graph import Action
from ..messages import FenceRun, encode
from ..transition import RunState
from . import history as H
from .peer import (
    check_request,
    fencing_peer,
    finished_reply,
    publish,
    running_elsewhere,
)

if TYPE_CHECKING:
    from ..context import DcHost, NodeContext

Respond = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Joined:
    """A fence action of the DC that waits for another node's fencing of its target."""

    target: str
    requested: float  # the other fencing's, which identifies its entries
    origin: str
    deadline_ms: int


class DcFencing:
    def __init__(self, ctx: NodeContext, dc: DcHost) -> None:
        self.ctx = ctx
        self.dc = dc
        self.failures: dict[str, int] = {}
        self.tokens = itertools.count(1)
        self.manual: dict[str, Respond] = {}
        self.joined: dict[str, Joined] = {}  # token -> the other fencing it waits for

    def _max_attempts(self) -> int:
        value = C.get_property(self.ctx.cib, "stonith-max-attempts") or "10"
        return int(value) if value.isdigit() and int(value) > 0 else 10

    def _timeout_ms(self) -> int:
        text = C.get_property(self.ctx.cib, "stonith-timeout")
        return parse_duration_ms(text, 60000) or 60000

    def start(self, token: str, target: str, action: str, timeout_ms: int) -> str | None:
        """Start fencing; return a reason when it cannot even be tried."""
        c = self.ctx
        if target == c.spec.my_name and action != "on":  # unfencing itself is harmless
            return self._by_peer(token, action, timeout_ms)
        if c.spec.node_id(target) is None:
            return f"{target} is not a node of this cluster"
        if self.failures.get(target, 0) >= self._max_attempts():
            return (f"fencing {target} failed {self.failures[target]} times "
                    f"(stonith-max-attempts): giving up; the node stays unclean and its "
                    f"resources blocked until it rejoins or is fenced by hand")
        other = running_elsewhere(c, target, timeout_ms) if action != "on" else None
        if other is not None:
            self.joined[token] = Joined(target, other["requested"], other["origin"],
                                        c.now_ms + timeout_ms)
            c.log(f"not fencing {target} ({action}) a second time: {other['origin']} is "
                  f"fencing it ({other['action']}, requested at {other['requested']}); "
                  "waiting for its outcome")
            return None
        c.fence_gate.request(token, target, action, round(c.wall_s, 3),
                             lambda why, failed: self._refused(token, target, why))
        return None

    def _refused(self, token: str, target: str, why: str) -> None:
        """The gate refused to start the fencing (:mod:`.fencegate`): it did not run."""
        self._finish(token, H.entry(target, "", "failed", "", self.ctx.spec.my_name,
                                       0.0, None, why), False, f"fencing {target}: {why}")

    def _by_peer(self, token: str, action: str, timeout_ms: int) -> str | None:
        """The transition fences this node, the DC (a stop that failed here, say): the
        lowest-id other member carries it out, as Pacemaker's fencer does; its entries
        (same ``requested``) complete the action, if this node is still there to see."""
        c = self.ctx
        peer_id = fencing_peer(c)
        if peer_id is None:
            return "the DC does not fence itself and no other member can carry it out"
        requested = round(c.wall_s, 3)
        peer = c.name(peer_id) or str(peer_id)
        self.joined[token] = Joined(c.spec.my_name, requested, peer, c.now_ms + timeout_ms)
        c.log(f"the transition fences this node, the DC ({action}): {peer} carries it out",
              "warning")
        c.emit(Send(peer_id, encode(FenceRun(0, {"op": "fence", "target": c.spec.my_name,
                                                  "action": action, "confirm": True},
                                             requested))))
        return None

    def transition_action(self, token: str, action: Action) -> str | None:
        return self.start(token, action.node or "", action.task, action.timeout_ms)

    def manual_request(self, req: dict[str, Any], respond: Respond) -> None:
        try:
            target, action = check_request(req, self.ctx.spec.names.values())
        except VigilError as exc:
            respond(error_reply(exc))
            return
        token = f"manual:{next(self.tokens)}"
        self.failures.pop(target, None)  # an operator asked: try again
        why = self.start(token, target, action, self._timeout_ms())
        if why:
            respond(error_reply(FencingError(why)))
            return
        self.manual[token] = respond

    def done(self, ev: FenceDone) -> bool:
        """Record a finished fencing; return whether it succeeded."""
        c = self.ctx
        entry = H.entry(ev.target, ev.action, "success" if ev.ok else "failed", ev.device,
                           c.spec.my_name, ev.requested, ev.completed, ev.reason)
        publish(c, entry)
        if ev.ok:
            self.failures.pop(ev.target, None)
            if ev.action != "on":
                c.fenced(ev.target)
            self._confirm(ev.target, ev.action)
            c.log(f"fenced {ev.target} ({ev.action}) with {ev.device}")
        else:
            self._failed(ev.target, ev.reason)
        respond = self.manual.pop(ev.token, None)
        if respond is not None:
            respond(finished_reply(entry))
        return ev.ok

    def outcome(self, entry: dict[str, Any]) -> None:
        """Another node's fencing ended (or this node's, carried out for the DC's own)."""
        c = self.ctx
        target, ok = entry["target"], entry["state"] == "success"
        waiting = [t for t, j in self.joined.items()
                   if (j.target, j.requested) == (target, entry["requested"])]
        if ok:
            if entry["action"] != "on":
                self.failures.pop(target, None)
            c.log(f"{target} was fenced ({entry['action']}) by {entry['origin']} with "
                  f"{entry['device']}")
            self._confirm(target, entry["action"])
        elif not ok and waiting:
            self._failed(target, f"by {entry['origin']}: {entry['reason']}")
        for token in waiting:
            del self.joined[token]
            self._finish(token, entry, ok, f"fencing {target} by {entry['origin']}: "
                                           f"{entry['reason'] or entry['state']}")

    def origin_left(self, origin: str) -> None:
        """``origin`` left the view with fencings of its own still pending: nobody will
        hear how they ended. They are recorded as failed (as Pacemaker's fencer does with
        a lost originator's operations), and a fence action waiting for one of them goes
        on at once instead of at the fence timeout."""
        c = self.ctx
        for entry in list(c.history):
            if entry["state"] != "pending" or entry["origin"] != origin:
                continue
            failed = dict(entry, state="failed", completed=round(c.wall_s, 3),
                          reason=f"{origin}, which was carrying it out, left the cluster "
                                 "before it ended: whether it happened is unknown")
            c.log(f"the fencing of {entry['target']} ({entry['action']}) by {origin} is "
                  f"lost: {origin} left the cluster", "warning")
            publish(c, failed)
            self.outcome(failed)

    def tick(self) -> None:
        """Give up waiting for another node's fencing that did not end in time; drop the
        gated fencings of a transition that no longer runs (the next one decides again)."""
        c = self.ctx
        run = self.dc.run
        current = (f"{run.transition_id}:" if run is not None
                   and run.state is RunState.RUNNING else None)
        for token in list(c.fence_gate.waiting):
            if (token[:1].isdigit() and c.fence_gate.pending(token)
                    and (current is None or not token.startswith(current))):
                c.fence_gate.drop(token, "its transition was aborted before it started")
        for token, j in list(self.joined.items()):
            if c.now_ms < j.deadline_ms:
                continue
            del self.joined[token]
            why = (f"{j.origin}'s fencing of {j.target} (requested at {j.requested}) "
                   "did not end in time")
            c.log(f"{why}: fencing it again", "warning")
            entry = H.entry(j.target, "", "failed", "", j.origin, j.requested, None, why)
            self._finish(token, entry, False, why)

    def resign(self) -> None:
        """No longer DC: the actions waiting for another node's fencing are abandoned."""
        gate = self.ctx.fence_gate
        for token in [t for t in gate.waiting if not t.startswith("peer:")]:
            gate.drop(token, "this node is no longer the DC")
        for token in list(self.joined):
            del self.joined[token]
            respond = self.manual.pop(token, None)
            if respond is not None:
                respond(error_reply(Unavailable(
                    "the DC lost its role while waiting for another node's fencing; read "
                    "the fencing history")))

    def _finish(self, token: str, entry: dict[str, Any], ok: bool, why: str) -> None:
        respond = self.manual.pop(token, None)
        if respond is not None:
            respond(finished_reply(entry))
        self.dc.fence_action_done(token, ok, why)

    def _failed(self, target: str, reason: str) -> None:
        self.failures[target] = self.failures.get(target, 0) + 1
        self.ctx.log(f"fencing {target} failed (attempt {self.failures[target]}): "
                         f"{reason}", "error")

    def _confirm(self, target: str, action: str) -> None:
        node_id = self.ctx.spec.node_id(target)
        if node_id is None:
            return
        if action == "on":  # unfenced: the scheduler no longer asks for it (Pacemaker too)
            when = str(int(self.ctx.wall_s))
            self.dc.status_edit(f"{target} is unfenced", lambda cib: S.set_attr(
                cib, node_id, target, "#node-unfenced", when))
            return
        still_member = node_id in self.ctx.membership.members

        def edit(cib: C.Element) -> None:
            if not still_member:
                S.set_member(cib, node_id, target, False, "down")
            S.clear_lrm(cib, node_id)
            S.set_attr(cib, node_id, target, "shutdown", None)

        self.dc.status_edit(f"{target} is confirmed fenced", edit)

    def blocked(self) -> dict[str, int]:
        return {t: n for t, n in self.failures.items() if n >= self._max_attempts()}
