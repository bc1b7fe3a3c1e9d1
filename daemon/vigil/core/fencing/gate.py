"""When a fencing may start: the gate every fencing passes, the DC's and a peer's alike.

Rules
-----
A fence agent runs only when all three hold, in this order:

1. **Quorum.** The partition is quorate. A partition without quorum never fences; a
   fencing waiting at the gate is refused the moment quorum is lost.
2. **A settled view.** No member is *suspect* (silent for half the deadtime). A node cut
   off from the others sees every peer fall silent within one heartbeat interval of each
   other: when the first one reaches the deadtime, the rest are already suspect. Its view
   is still quorate for that instant, and acting on it would fence healthy nodes of the
   majority. Corosync delivers a membership only after consensus; this is vigil's
   equivalent: a verdict is acted on only when the rest of the view is beyond doubt.
   A single node's death leaves the others alive, so real detection is not delayed.
3. **A replicated record.** The ``pending`` history entry is held by a majority of votes:
   members acknowledge it (``fence_event`` with ``ack``, answered by ``fence_ack``) before
   the agent runs. A node that cannot reach a majority (cut off, but not yet aware of it)
   never gets there, and every fencing that runs is in the history of the nodes that
   survive it.

A member running a version from before these acknowledgements (its heartbeat lacks
``fa``) counts as holding the entry it was sent: a rolling upgrade does not stop fencing.

A fencing that does not pass within ``gate_timeout_ms`` (twice the deadtime, at least
two seconds) is refused with a reason naming the condition that failed; if its pending
entry was already published, a ``failed`` entry replaces it everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..events import Send
from ..messages import FenceAck, FenceEvent, encode
from . import history as H
from .devices import fence_command
from .peer import publish

if TYPE_CHECKING:
    from ..context import NodeContext

# called with the reason and the failed history entry (None: nothing was published)
Refused = Callable[[str, "dict[str, Any] | None"], None]


@dataclass
class Waiting:
    token: str
    target: str
    action: str
    requested: float
    refused: Refused
    deadline_ms: int
    entry: dict[str, Any] | None = None  # the pending entry, once published
    acked: set[int] = field(default_factory=set)
    said_why: str = ""


def entry_key(entry: dict[str, Any]) -> tuple[str, str, float]:
    return (str(entry["target"]), str(entry["action"]), float(entry["requested"]))


class FenceGate:
    def __init__(self, ctrl: NodeContext) -> None:
        self.ctrl = ctrl
        self.waiting: dict[str, Waiting] = {}

    @property
    def timeout_ms(self) -> int:
        return max(2 * self.ctrl.spec.deadtime_ms, 2000)

    def request(self, token: str, target: str, action: str, requested: float,
                refused: Refused) -> None:
        """Start fencing ``target`` as soon as the rules allow (``Fence`` is emitted
        then), or call ``refused`` with the reason."""
        self.waiting[token] = Waiting(token, target, action, requested, refused,
                                      self.ctrl.now_ms + self.timeout_ms)
        self._advance(self.waiting[token])

    def acked(self, sender: int, wanted: tuple[str, str, float]) -> None:
        """``fence_ack``: ``sender`` holds the pending entry (target, action, requested)."""
        for w in list(self.waiting.values()):
            if w.entry is not None and entry_key(w.entry) == wanted:
                w.acked.add(sender)
                self._advance(w)

    def tick(self) -> None:
        for w in list(self.waiting.values()):
            self._advance(w)

    def pending(self, token: str) -> bool:
        """Whether ``token`` still waits here and nothing of it was published."""
        w = self.waiting.get(token)
        return w is not None and w.entry is None

    def drop(self, token: str, why: str) -> None:
        """The fencing's owner gives up on it (its transition was aborted, say)."""
        w = self.waiting.get(token)
        if w is not None:
            self._refuse(w, why)

    def _advance(self, w: Waiting) -> None:
        c = self.ctrl
        m = c.membership
        if not m.quorate:
            self._refuse(w, "this partition has no quorum, and a partition without quorum "
                            "never fences")
            return
        if w.entry is None:
            suspects = m.suspects()
            if suspects:
                self._wait(w, "the view is not settled: "
                              + ", ".join(c.name(n) or str(n) for n in sorted(suspects))
                              + " suspect")
                return
            w.entry = H.entry(w.target, w.action, "pending", "", c.spec.my_name,
                                 w.requested, None)
            w.acked = {c.spec.me}
            publish(c, w.entry, ack=True)
        # a member of a version before fence acknowledgements (it does not say "fa" in its
        # heartbeat) cannot answer: it got the entry on its stream and counts as holding it
        # (a rolling upgrade must not stop fencing; the settled-view rule still applies)
        legacy = m.members - c.peers.fence_acks - {c.spec.me}
        held = frozenset((w.acked & (m.members | {c.spec.me})) | legacy)
        if m.is_majority(held):
            del self.waiting[w.token]
            c.emit(fence_command(c.cib, w.token, w.target, w.action, w.requested))
            return
        self._wait(w, f"its pending record is held by {len(held)} member(s), not by a "
                      "majority")

    def _wait(self, w: Waiting, why: str) -> None:
        c = self.ctrl
        if c.now_ms >= w.deadline_ms:
            self._refuse(w, f"not fenced within {self.timeout_ms} ms: {why}")
            return
        if why != w.said_why:
            w.said_why = why
            c.log(f"fencing {w.target} ({w.action}) waits: {why}")

    def _refuse(self, w: Waiting, why: str) -> None:
        c = self.ctrl
        self.waiting.pop(w.token, None)
        c.log(f"not fencing {w.target} ({w.action}): {why}", "warning")
        failed = None
        if w.entry is not None:
            failed = H.entry(w.target, w.action, "failed", "", c.spec.my_name,
                                w.requested, round(c.wall_s, 3), why)
            publish(c, failed)
        w.refused(why, failed)


def ack_reply(ctrl: NodeContext, sender: int, msg: FenceEvent) -> None:
    """A member got a pending entry that asks to be acknowledged: it holds it now."""
    if msg.ack and ctrl.membership.quorate:
        ctrl.emit(Send(sender, encode(FenceAck(entry_key(msg.entry)))))
