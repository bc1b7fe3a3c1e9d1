"""Fencing rules every node shares, and the DC's own fencing, carried out by a peer.

Rules
-----
* A fencing request (``vigilctl fence``) names a node of the cluster, an action (reboot,
  off or on) and carries ``confirm: true``; :func:`check_request` refuses anything else
  before anything runs. Only a quorate partition fences on request.
* Every history entry (``pending`` when a fencing starts, ``success`` or ``failed`` when it
  ends) goes to all members, whichever node carried the fencing out (``origin``); members
  merge what any member of their view sends, keyed by (target, action, requested), and a
  node that joins gets the DC's history. ``vigilctl fence history`` answers the same on
  every node.
* The DC fences the other nodes (:mod:`.dcfence`); the DC itself is fenced by a peer, as
  Pacemaker's fencer does. A node that is not the DC, asked to fence the DC it follows,
  carries the fencing out itself with the devices of its CIB replica, publishes the
  entries and answers its client. The DC asked to fence itself hands the request to its
  lowest-id other member, which carries it out and answers through the DC
  (``fence_run``/``write_reply``). After a reboot or off the DC is gone before that answer
  arrives: its client sees the connection close instead of a reply.
* Every node records when each node was last fenced successfully (its own fencings and the
  success entries it hears of, not ``on``) and forgets it when that node rejoins: a DC
  elected after the fenced DC left marks it cleanly down instead of fencing it again
  (:meth:`.dc.DcDuties._sync_membership`).
* A fencing another node is carrying out (:func:`running_elsewhere`) is not started a
  second time: the DC waits for its outcome instead (:mod:`.dcfence`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ...errors import CibInvalid, FencingError, Unavailable, VigilError, error_reply
from ..events import FenceDone, Send
from ..messages import FenceEvent, FenceRun, WriteReply, encode
from . import history as H
from .model import FENCE_ACTIONS

if TYPE_CHECKING:
    from ..context import NodeContext

Respond = Callable[[dict[str, Any]], None]
FENCE_TIMEOUT_MS = 290000  # how long a node waits for the answer to a fencing it asked for


def check_request(req: dict[str, Any], names: Iterable[str]) -> tuple[str, str]:
    """(target, action) of a valid fencing request; raises what is wrong with it."""
    target = str(req.get("target") or "")
    action = str(req.get("action") or "reboot")
    if action not in FENCE_ACTIONS:
        raise CibInvalid(f"fence action must be reboot, off or on, not {action!r}")
    if req.get("confirm") is not True:
        raise CibInvalid("fencing needs confirm: true")
    if target not in set(names):
        raise FencingError(f"{target} is not a node of this cluster")
    return target, action


def quorate_request(ctrl: NodeContext, req: dict[str, Any]) -> tuple[str, str]:
    """:func:`check_request`, in a partition that has quorum (it alone may fence)."""
    if not ctrl.membership.quorate:
        raise Unavailable("this partition has no quorum: the cluster refuses changes "
                          "until it has")
    return check_request(req, ctrl.spec.names.values())


def fencing_peer(ctrl: NodeContext) -> int | None:
    """The member that carries out the DC's own fencing: the lowest-id other member."""
    peers = ctrl.membership.members - {ctrl.spec.me}
    return min(peers) if peers else None


def publish(ctrl: NodeContext, entry: dict[str, Any], ack: bool = False) -> None:
    """Record a history entry here and send it to every other member; ``ack``: each
    member acknowledges it (``fence_ack``, see :mod:`.fencegate`)."""
    ctrl.history.merge(entry)
    msg = encode(FenceEvent(entry, ack))
    for node in ctrl.membership.members - {ctrl.spec.me}:
        ctrl.emit(Send(node, msg))


def finished_reply(entry: dict[str, Any]) -> dict[str, Any]:
    """The answer to a client whose fencing request ended with ``entry``."""
    if entry["state"] == "success":
        return {"ok": True, "result": entry}
    return error_reply(FencingError(f"fencing {entry['target']} failed: {entry['reason']}"))


def running_elsewhere(ctrl: NodeContext, target: str, within_ms: int) -> dict[str, Any] | None:
    """The pending fencing of ``target`` (not ``on``) that a member other than this DC's
    fencer carries out: another node's, or this node's own for the DC's fencing. Entries
    older than ``within_ms`` or from a node that left the view cannot end any more."""
    own = {(e["target"], e["requested"]) for e, _ in ctrl.peer_fencing.running.values()}
    entry: dict[str, Any]
    for entry in ctrl.history.newest_first():
        if (entry["target"] != target or entry["state"] != "pending"
                or entry["action"] == "on"
                or (ctrl.wall_s - float(entry["requested"])) * 1000 >= within_ms):
            continue
        if entry["origin"] == ctrl.spec.my_name:
            if (target, entry["requested"]) in own:
                return entry
        elif ctrl.spec.node_id(str(entry["origin"])) in ctrl.membership.members:
            return entry
    return None


class PeerFencing:
    """The DC's own fencing: carried out here (a member) or handed to a peer (the DC)."""

    def __init__(self, ctrl: NodeContext) -> None:
        self.ctrl = ctrl
        self.tokens = itertools.count(1)
        # token -> (the pending entry, who gets the answer)
        self.running: dict[str, tuple[dict[str, Any], Respond]] = {}

    def carry_out(self, req: dict[str, Any], respond: Respond, why: str,
                  requested: float | None = None) -> None:
        """Fence the DC with this node's devices; ``why`` says who asked (for the log);
        ``requested``: the time the DC chose, when its transition asked."""
        c = self.ctrl
        try:
            target, action = quorate_request(c, req)
        except VigilError as exc:
            respond(error_reply(exc))
            return
        token = f"peer:{next(self.tokens)}"
        requested = requested if requested is not None else round(c.wall_s, 3)
        entry = H.entry(target, action, "pending", "", c.spec.my_name, requested, None)
        c.log(f"fencing {target} ({action}) for the DC's own fencing: {why}")
        self.running[token] = (entry, respond)

        def refused(reason: str, failed: dict[str, Any] | None) -> None:
            self.running.pop(token, None)
            if failed is None:  # refused before it was recorded: the DC must hear of it
                failed = H.entry(target, action, "failed", "", c.spec.my_name, requested,
                                 round(c.wall_s, 3), reason)
                publish(c, failed)
            c.fence_finished(failed)
            respond(error_reply(FencingError(f"fencing {target} refused: {reason}")))

        c.fence_gate.request(token, target, action, requested, refused)

    def done(self, ev: FenceDone) -> bool:
        """Finish a fencing this node carried out for the DC; False: not one of them."""
        item = self.running.pop(ev.token, None)
        if item is None:
            return False
        c = self.ctrl
        entry = H.entry(ev.target, ev.action, "success" if ev.ok else "failed", ev.device,
                           c.spec.my_name, ev.requested, ev.completed, ev.reason)
        publish(c, entry)
        if ev.ok:
            c.log(f"fenced {ev.target} ({ev.action}) with {ev.device} for the DC's own "
                  "fencing")
        else:
            c.log(f"fencing {ev.target} for the DC's own fencing failed: {ev.reason}",
                  "error")
        c.fence_finished(entry)
        item[1](finished_reply(entry))
        return True

    def hand_over(self, rid: int, req: dict[str, Any]) -> None:
        """The DC was asked (client ``rid``) to fence itself: a peer carries it out and
        answers with ``write_reply``; for reboot/off this DC is dead before that."""
        c = self.ctrl
        try:
            _, action = quorate_request(c, req)
            peer = fencing_peer(c)
            if peer is None:
                raise FencingError("the DC does not fence itself and no other member can "
                                   "carry the fencing out")
        except VigilError as exc:
            c.clients.reply(rid, error_reply(exc))
            return
        c.log(f"asked to fence this node, the DC ({action}): {c.name(peer)} carries it out "
              "(the DC does not fence itself)")
        c.clients.forward(rid, peer, encode(FenceRun(rid, req)), FENCE_TIMEOUT_MS)

    def run_for(self, sender: int, msg: FenceRun) -> None:
        """The DC (``sender``) asks this node to fence it."""
        c = self.ctrl
        rid = msg.rid

        def respond(reply: dict[str, Any]) -> None:
            c.emit(Send(sender, encode(WriteReply(rid, reply))))

        req = dict(msg.req)
        if sender != c.dc or req.get("target") != c.name(sender):
            respond(error_reply(FencingError(
                f"{c.name(sender)} asked to fence {req.get('target')}, but only the DC "
                f"this node follows ({c.name(c.dc)}) may ask to be fenced")))
            return
        self.carry_out(req, respond, f"{c.name(sender)} is the DC and asked for it",
                       msg.requested)
