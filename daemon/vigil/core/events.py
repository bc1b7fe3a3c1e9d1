"""Events into the controller and commands out of it (sans-IO vocabulary).

The asyncio shell turns IO into events, calls ``Controller.handle(event)`` and carries out
the commands it gets back, in order. Nothing else crosses the boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .execmodel import AgentResult
from .fencing.model import FenceDevice, FenceLevel
from .graph import Action


# ------------------------------------------------------------------------- events
@dataclass(frozen=True)
class Tick:
    now_ms: int  # monotonic
    wall_s: float  # wall clock, for CIB timestamps and failure-timeout


@dataclass(frozen=True)
class Heartbeat:
    sender: int
    incarnation: int
    msg: dict[str, Any]
    now_ms: int | None = None  # when it arrived (monotonic); None: the last tick's time


@dataclass(frozen=True)
class PeerMessage:
    sender: int
    msg: dict[str, Any]
    incarnation: int = 0  # the sender's boot; 0: unknown (not checked)


@dataclass(frozen=True)
class ClientRequest:
    rid: int
    request: dict[str, Any]


@dataclass(frozen=True)
class AgentDone:
    """A one-shot action ran on this node (``token`` identifies who asked)."""

    token: str
    action: Action
    result: AgentResult


@dataclass(frozen=True)
class MonitorChanged:
    """A recurring monitor on this node returned something new."""

    action: Action
    result: AgentResult


@dataclass(frozen=True)
class ShutdownRequested:
    reason: str


@dataclass(frozen=True)
class Reconfigure:
    """The configuration file's node list or expected votes changed (SIGHUP)."""

    names: dict[int, str]
    votes: dict[int, int]
    expected_votes: int | None


@dataclass(frozen=True)
class FenceDone:
    """A fencing request this node ran has finished."""

    token: str
    target: str
    action: str
    ok: bool
    device: str
    reason: str
    requested: float
    completed: float


@dataclass(frozen=True)
class Saved:
    """The shell carried out a ``Persist``: the CIB ``version`` is on disk, or ``error``
    says why it is not (a full or read-only disk, say)."""

    version: tuple[int, int, int]
    error: str | None = None


Event = Tick | Heartbeat | PeerMessage | ClientRequest | AgentDone | MonitorChanged | \
    ShutdownRequested | FenceDone | Reconfigure | Saved


# ----------------------------------------------------------------------- commands
@dataclass(frozen=True)
class Broadcast:
    """Send a heartbeat-sized message to every node (multicast or unicast to each peer)."""

    msg: dict[str, Any]


@dataclass(frozen=True)
class Send:
    """Send a message reliably (ordered stream) to one node."""

    node_id: int
    msg: dict[str, Any]


@dataclass(frozen=True)
class Disconnect:
    """Drop the stream to a node that left or restarted, and what is queued for it.

    Without this, the next message would go down a connection to the dead process and be
    lost when the peer's kernel answers with a reset.
    """

    node_id: int


@dataclass(frozen=True)
class Reply:
    rid: int
    reply: dict[str, Any]


@dataclass(frozen=True)
class Execute:
    """Run an agent action on this node; recurring monitors keep running afterwards."""

    token: str
    action: Action


@dataclass(frozen=True)
class CancelRecurring:
    rsc: str | None  # None: every recurring monitor on this node
    interval_ms: int | None = None


@dataclass(frozen=True)
class Fence:
    """Fence ``target`` with ``devices`` and ``levels`` (chosen by
    :mod:`.fencing.devices` from this node's CIB replica)."""

    token: str
    target: str
    action: str
    requested: float
    devices: Mapping[str, FenceDevice] = field(default_factory=dict, compare=False)
    levels: tuple[FenceLevel, ...] = ()


@dataclass(frozen=True)
class Persist:
    xml: bytes
    version: tuple[int, int, int]
    term: int = 0


@dataclass(frozen=True)
class Archive:
    """Keep a scheduler input for replay (``pe-input-N.xml``)."""

    xml: bytes


@dataclass(frozen=True)
class Log:
    level: str
    text: str


@dataclass(frozen=True)
class Exit:
    reason: str


Command = (Broadcast | Send | Disconnect | Reply | Execute | CancelRecurring | Fence | Persist
           | Archive | Log | Exit)
