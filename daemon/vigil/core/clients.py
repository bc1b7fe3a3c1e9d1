"""Requests of this node's clients (the control socket), as the controller sees them.

Rules
-----
* Reads (``status``, ``cib_get``, ``fence_history``, ``ticket_list``) are answered from
  this node's own view and CIB replica, with or without a DC.
* Writes (everything else) go to the DC: the DC handles them itself; another node
  forwards them (``write``) and answers its client with the DC's ``write_reply``. A
  forwarded request not answered in time (10 s; 290 s for fencing) is answered with an
  error saying it may or may not have been carried out. Without a DC, writes are refused.
* A request to fence the DC goes to :mod:`.peerfence` (the DC does not fence itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import CibInvalid, Unavailable, VigilError, error_reply
from . import cib as C
from .events import Reply, Send
from .fencing.peer import FENCE_TIMEOUT_MS
from .messages import Write, encode
from .statusview import status_view
from .tickets import tickets_view

if TYPE_CHECKING:
    from .context import NodeContext

FORWARD_TIMEOUT_MS = 10000


class ClientRequests:
    def __init__(self, ctrl: NodeContext) -> None:
        self.ctrl = ctrl
        self.forwarded: dict[int, tuple[int, int]] = {}  # client rid -> (deadline_ms, node)

    def request(self, rid: int, req: dict[str, Any]) -> None:
        c = self.ctrl
        op = req.get("op")
        try:
            if op == "status":
                self.reply(rid, {"ok": True, "result": status_view(c)})
            elif op == "cib_get":
                self.reply(rid, {"ok": True, "result": self._cib_get(req)})
            elif op == "fence_history":
                self.reply(rid, {"ok": True, "result": list(c.fence_history)})
            elif op == "ticket_list":
                self.reply(rid, {"ok": True, "result": tickets_view(c.cib)})
            elif op == "fence" and c.dc is not None and req.get("target") == c.name(c.dc):
                self._fence_the_dc(rid, req)
            elif c.is_dc:
                c.duties.write(req, lambda reply: self.reply(rid, reply))
            elif c.dc is None:
                raise Unavailable("no DC: the cluster has no quorum or is still electing "
                                  "one; writes are refused")
            else:
                wait_ms = FENCE_TIMEOUT_MS if op == "fence" else FORWARD_TIMEOUT_MS
                self.forward(rid, c.dc, encode(Write(rid, req)), wait_ms)
        except VigilError as exc:
            self.reply(rid, error_reply(exc))

    def reply(self, rid: int, reply: dict[str, Any]) -> None:
        self.ctrl.emit(Reply(rid, reply))

    def forward(self, rid: int, node: int, msg: dict[str, Any], wait_ms: int) -> None:
        """Send client request ``rid`` to ``node``; its ``write_reply`` answers the client."""
        self.forwarded[rid] = (self.ctrl.now_ms + wait_ms, node)
        self.ctrl.emit(Send(node, msg))

    def answered(self, rid: int, reply: dict[str, Any]) -> None:
        """A ``write_reply``: the answer to a forwarded request (late ones are dropped)."""
        if self.forwarded.pop(rid, None) is not None:
            self.reply(rid, reply)

    def expire(self) -> None:
        c = self.ctrl
        for rid, (deadline, node) in list(self.forwarded.items()):
            if c.now_ms >= deadline:
                del self.forwarded[rid]
                who = "the DC" if node == c.dc else "the node carrying it out"
                self.reply(rid, error_reply(Unavailable(
                    f"{who} ({c.name(node)}) did not answer in time; the request "
                    "may or may not have been carried out")))

    def _fence_the_dc(self, rid: int, req: dict[str, Any]) -> None:
        """The DC does not fence itself: a member carries the fencing out (as Pacemaker's
        fencer does), this one if it is not the DC, else the DC hands it to a peer."""
        c = self.ctrl
        if c.is_dc:
            c.peer_fencing.hand_over(rid, req)
            return
        c.peer_fencing.carry_out(
            req, lambda reply: self.reply(rid, reply),
            f"{req.get('target')} is the DC and a client of this node asked for it")

    def _cib_get(self, req: dict[str, Any]) -> dict[str, Any]:
        cib = self.ctrl.cib
        scope = req.get("scope")
        if scope in (None, "", "all"):
            el = cib
        elif scope in ("configuration", "status"):
            el = C.child(cib, scope)
        else:
            raise CibInvalid(f"scope must be configuration or status, got {scope!r}")
        return {"xml": C.to_bytes(el).decode(), "version": list(C.version(cib))}
