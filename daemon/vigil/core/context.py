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

Imports only go downward, type hints included: the roles import this module only for
type checking, and it names the roles only through the small protocols below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from . import cib as C
    from .events import Command
    from .fencing.history import FenceHistory
    from .membership import Membership
    from .messages import Exec, Message
    from .peers import PeerTable
    from .replica import Replica
    from .spec import ClusterSpec
    from .transition import TransitionRun

Reply = dict[str, Any]
Respond = Callable[[Reply], None]


# ---------------------------------------------------------------------- the roles, as
# the others use them (each is implemented by one class; see the module table)
class Clients(Protocol):
    """:class:`.clients.ClientRequests`."""

    def reply(self, rid: int, reply: Reply) -> None: ...

    def forward(self, rid: int, node: int, msg: dict[str, Any], wait_ms: int) -> None: ...


class Member(Protocol):
    """:class:`.member.MemberDuties`."""

    def run(self, sender: int, msg: Exec) -> None: ...


class PeerFencingRole(Protocol):
    """:class:`.fencing.peer.PeerFencing`."""

    @property
    def running(self) -> Mapping[str, tuple[dict[str, Any], Respond]]: ...

    def carry_out(self, req: dict[str, Any], respond: Respond, why: str,
                  requested: float | None = None) -> None: ...

    def hand_over(self, rid: int, req: dict[str, Any]) -> None: ...


class Gate(Protocol):
    """:class:`.fencing.gate.FenceGate`."""

    @property
    def waiting(self) -> Mapping[str, object]: ...

    def request(self, token: str, target: str, action: str, requested: float,
                refused: Callable[[str, dict[str, Any] | None], None]) -> None: ...

    def pending(self, token: str) -> bool: ...

    def drop(self, token: str, why: str) -> None: ...


class Duties(Protocol):
    """:class:`.dc.DcDuties`, as members and clients use it."""

    def write(self, req: dict[str, Any], respond: Respond) -> None: ...

    def message(self, sender: int, msg: Message) -> None: ...

    @property
    def state(self) -> str: ...


class NodeContext(Protocol):
    spec: ClusterSpec
    incarnation: int
    membership: Membership
    peers: PeerTable
    replica: Replica
    history: FenceHistory

    @property
    def clients(self) -> Clients: ...

    @property
    def member(self) -> Member: ...

    @property
    def peer_fencing(self) -> PeerFencingRole: ...

    @property
    def fence_gate(self) -> Gate: ...

    @property
    def duties(self) -> Duties: ...
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

    def troubles(self) -> dict[str, str]: ...


class DcFencingRole(Protocol):
    """:class:`.fencing.dc.DcFencing`, as the transition engine uses it."""

    def transition_action(self, token: str, action: Any) -> str | None: ...


class DcHost(Protocol):
    """What the DC's parts (:mod:`.dcrun`, :mod:`.fencing.dc`) use of the DC."""

    @property
    def fencing(self) -> DcFencingRole: ...

    @property
    def run(self) -> TransitionRun | None: ...

    def status_edit(self, reason: str, edit: Any, abort: bool = True) -> None: ...

    def fence_action_done(self, token: str, ok: bool, why: str) -> None: ...
