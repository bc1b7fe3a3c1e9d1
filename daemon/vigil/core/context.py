"""The node context: what the roles of one node read, and the one writer of each piece.

The controller is the node context; the roles (:mod:`.clients`, :mod:`.member`,
:mod:`.dc` and its parts, :mod:`.fencing`) are given it and see it only through this
protocol. Each piece of state has one writer:

==========================  =========================================================
state                       written by
==========================  =========================================================
``spec``                    the controller (a reload replaces it)
``now_ms``, ``wall_s``      the controller (``Tick``; a heartbeat's arrival time)
``membership``              :class:`.membership.Membership` (heartbeats, ticks)
``peers``                   :meth:`.peers.PeerTable.heard` (heartbeats)
``dc``                      the controller's election (:func:`.election.choose_dc`)
``replica`` (CIB, term,     :meth:`.replica.Replica.store` (the DC's changes, a member
what is saved)              adopting the DC's copy) and :mod:`.disk` (``Saved``)
``history``                 :meth:`.fencing.history.FenceHistory.merge` and ``fenced``
==========================  =========================================================

Runtime imports only go downward: the roles import this module only for type checking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from . import cib as C
    from .clients import ClientRequests
    from .dc import DcDuties
    from .events import Command
    from .fencing.dc import DcFencing
    from .fencing.gate import FenceGate
    from .fencing.history import FenceHistory
    from .fencing.peer import PeerFencing
    from .member import MemberDuties
    from .membership import Membership
    from .peers import PeerTable
    from .replica import Replica
    from .spec import ClusterSpec
    from .transition import TransitionRun


class NodeContext(Protocol):
    spec: ClusterSpec
    incarnation: int
    membership: Membership
    peers: PeerTable
    replica: Replica
    history: FenceHistory
    clients: ClientRequests
    member: MemberDuties
    peer_fencing: PeerFencing
    fence_gate: FenceGate
    duties: DcDuties
    view_id: tuple[int, int]
    unseen_added: set[int]
    stale_messages: int

    @property
    def now_ms(self) -> int: ...

    @property
    def wall_s(self) -> float: ...

    @property
    def dc(self) -> int | None: ...

    @property
    def is_dc(self) -> bool: ...

    @property
    def cib(self) -> C.Element: ...

    @property
    def term(self) -> int: ...

    @property
    def fence_history(self) -> list[dict[str, Any]]: ...

    def emit(self, cmd: Command) -> None: ...

    def log(self, text: str, level: str = "info") -> None: ...

    def name(self, node_id: int | None) -> str | None: ...

    def rank(self, node_id: int) -> tuple[int, int, int, int]: ...

    def set_cib(self, new: C.Element, reason: str) -> None: ...

    def fenced(self, target: str) -> None: ...

    def fence_finished(self, entry: dict[str, Any]) -> None: ...

    counters: Callable[[], dict[str, int]]

    def view_agreed(self) -> bool: ...


class DcHost(Protocol):
    """What the DC's parts (:mod:`.dcrun`, :mod:`.fencing.dc`) use of the DC."""

    fencing: DcFencing

    @property
    def run(self) -> TransitionRun | None: ...

    def status_edit(self, reason: str, edit: Any, abort: bool = True) -> None: ...

    def fence_action_done(self, token: str, ok: bool, why: str) -> None: ...
