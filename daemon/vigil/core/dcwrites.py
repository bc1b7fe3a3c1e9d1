"""Client writes on the DC: acknowledged once a majority has saved them (sans-IO).

Rules
-----
* A write is applied at once and replicated; its client is answered only when a majority
  of votes has *saved* the new CIB (the DC's own copy counts once its disk took it, see
  :mod:`.disk`). A DC cut off into a minority never acknowledges, so an acknowledged
  write survives the DC's death and any partition.
* Members' acknowledgements still count after the DC handed its role over: a majority
  that saved a write keeps it, whoever is DC next.
* A write not held by a majority within :data:`WRITE_ACK_TIMEOUT_MS` is answered with an
  error saying it may or may not persist.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import CibInvalid, Unavailable, error_reply
from . import cib as C
from . import status as S

if TYPE_CHECKING:
    from .context import NodeContext

WRITE_ACK_TIMEOUT_MS = 5000
Respond = Callable[[dict[str, Any]], None]
Edit = Callable[[C.Element], None]


@dataclass
class PendingWrite:
    respond: Respond
    reply: dict[str, Any]
    deadline_ms: int
    version: tuple[int, int, int] = (0, 0, 0)
    acked: set[int] = field(default_factory=set)


class PendingWrites:
    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.waiting: dict[int, PendingWrite] = {}
        self.pids = itertools.count(1)

    def track(self, respond: Respond, reply: dict[str, Any],
              version: tuple[int, int, int]) -> int:
        """A write was applied: its id (``pid``) for the members' acknowledgements."""
        pid = next(self.pids)
        self.waiting[pid] = PendingWrite(respond, reply,
                                         self.ctx.now_ms + WRITE_ACK_TIMEOUT_MS, version)
        return pid

    def acked(self, sender: int, pid: int) -> None:
        pending = self.waiting.get(pid)
        if pending is not None:
            pending.acked.add(sender)
            self.check(pid)

    def saved(self) -> None:
        """This node saved a version: writes waiting for its own copy may be held now."""
        for pid in list(self.waiting):
            self.check(pid)

    def check(self, pid: int) -> None:
        c = self.ctx
        pending = self.waiting.get(pid)
        if pending is None:
            return
        mine = {c.spec.me} if c.replica.disk.saved >= pending.version else set()
        if c.membership.is_majority(frozenset(pending.acked | mine)):
            del self.waiting[pid]
            pending.respond(pending.reply)

    def expire(self) -> None:
        if any(self.ctx.now_ms >= w.deadline_ms for w in self.waiting.values()):
            self.fail_all("a majority did not confirm the write in time")

    def fail_all(self, why: str) -> None:
        for pid in list(self.waiting):
            pending = self.waiting.pop(pid)
            pending.respond(error_reply(Unavailable(
                f"{why}; the change may or may not persist - read the CIB and retry")))


def cleanup(ctx: NodeContext, req: dict[str, Any]) -> tuple[str, Edit]:
    """``resource_cleanup``: forget a resource's failures and history (on one node or
    all), so it is probed again; (what, edit) for the DC's status edit."""
    rsc = req.get("id")
    node = req.get("node")
    node_id = ctx.spec.node_id(str(node)) if node else None
    if node and node_id is None:
        raise CibInvalid(f"no node named {node!r}")
    if rsc is not None and C.find_id(ctx.cib, str(rsc)) is None:
        raise CibInvalid(f"no resource with id {rsc!r}")

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

    return f"cleanup of {rsc or 'all resources'} on {node or 'all nodes'}", edit
