"""Peer messages as typed, frozen values, with one validation boundary (sans-IO).

Every message between controllers is a JSON object whose ``t`` names its kind; the field
names are the wire's (nodes of different versions interoperate: unknown fields are
ignored, optional ones have defaults). :func:`decode` is the only place a peer's message
is checked: it returns one of the classes below or raises :class:`ProtocolError` naming
the kind and the field. :func:`encode` is its inverse. ``docs/protocol.md`` lists each
kind with its sender, receiver and acknowledgement.

Heartbeats (``hb``, datagrams) are decoded by :func:`decode_heartbeat`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..errors import ProtocolError
from .codec import action_from_dict, action_to_dict, result_from_dict, result_to_dict
from .execmodel import AgentResult
from .graph import Action

Json = dict[str, Any]
Version = tuple[int, int, int]


# --------------------------------------------------------------------- CIB replication
@dataclass(frozen=True)
class CibCopy:
    """``cib``: the DC's whole CIB; ``pid``: a write waiting for acknowledgements."""

    xml: str
    term: int | None = None
    pid: int | None = None


@dataclass(frozen=True)
class CibPull:
    """``cib_pull``: a new DC asks a member for its (newer) replica."""


@dataclass(frozen=True)
class CibPush:
    """``cib_push``: the answer to ``cib_pull``."""

    xml: str
    term: int = 0


@dataclass(frozen=True)
class CibAck:
    """``cib_ack``: a member saved the write ``pid`` of the DC it answers."""

    pid: int


# --------------------------------------------------------------------- actions
@dataclass(frozen=True)
class Exec:
    """``exec``: the DC asks the node to run ``action``."""

    token: str
    action: Action


@dataclass(frozen=True)
class ExecResult:
    """``exec_result`` (a one-shot action ended) or ``monitor_change`` (a recurring
    monitor returned something new); ``kind`` says which."""

    kind: str
    token: str
    action: Action
    result: AgentResult
    call_id: int = 0
    wall_s: int | None = None


@dataclass(frozen=True)
class ExecRefused:
    """``exec_refused``: the node follows another DC and ran nothing."""

    token: str
    reason: str = "refused"


@dataclass(frozen=True)
class Cancel:
    """``cancel``: stop recurring monitors (of ``rsc``, of ``interval_ms``; None: all)."""

    rsc: str | None = None
    interval_ms: int | None = None


# --------------------------------------------------------------------- client writes
@dataclass(frozen=True)
class Write:
    """``write``: a member forwards its client's request ``rid`` to the DC."""

    rid: int
    req: Json


@dataclass(frozen=True)
class WriteReply:
    """``write_reply``: the answer to ``write`` or ``fence_run``."""

    rid: int
    reply: Json


# --------------------------------------------------------------------- fencing
@dataclass(frozen=True)
class FenceEvent:
    """``fence_event``: a history entry; ``ack``: answer with ``fence_ack`` once held."""

    entry: Json
    ack: bool = False


@dataclass(frozen=True)
class FenceAck:
    """``fence_ack``: a member holds the pending entry (target, action, requested)."""

    key: tuple[str, str, float]


@dataclass(frozen=True)
class FenceHistoryCopy:
    """``fence_history``: the DC's whole history, sent to a node that joins."""

    entries: tuple[Json, ...]


@dataclass(frozen=True)
class FenceRun:
    """``fence_run``: the DC asks a member to fence the DC (client ``rid``; 0: its
    transition asks, at the DC's chosen ``requested`` time)."""

    rid: int
    req: Json
    requested: float | None = None


# --------------------------------------------------------------------- leaving
@dataclass(frozen=True)
class Shutdown:
    """``shutdown``: the node asks the DC to move its resources away."""

    wall_s: int = 1


@dataclass(frozen=True)
class Leave:
    """``leave``: the node leaves cleanly (nothing runs there any more)."""


Message = (CibCopy | CibPull | CibPush | CibAck | Exec | ExecResult | ExecRefused | Cancel
           | Write | WriteReply | FenceEvent | FenceAck | FenceHistoryCopy | FenceRun
           | Shutdown | Leave)

KINDS: dict[str, type] = {
    "cib": CibCopy, "cib_pull": CibPull, "cib_push": CibPush, "cib_ack": CibAck,
    "exec": Exec, "exec_result": ExecResult, "monitor_change": ExecResult,
    "exec_refused": ExecRefused, "cancel": Cancel, "write": Write,
    "write_reply": WriteReply, "fence_event": FenceEvent, "fence_ack": FenceAck,
    "fence_history": FenceHistoryCopy, "fence_run": FenceRun, "shutdown": Shutdown,
    "leave": Leave,
}
NAMES: dict[type, str] = {cls: kind for kind, cls in KINDS.items() if kind != "monitor_change"}


# --------------------------------------------------------------------- decoding
class _Fields:
    """Typed reads of one message's fields; errors name the kind and the field."""

    def __init__(self, kind: str, raw: Json) -> None:
        self.kind, self.raw = kind, raw

    def bad(self, name: str, what: str) -> ProtocolError:
        return ProtocolError(f"{self.kind!r}: field {name!r} must be {what}, got "
                             f"{self.raw.get(name)!r:.80}")

    def integer(self, name: str, default: int | None = None, required: bool = True) -> Any:
        value = self.raw.get(name, default)
        if value is None and not required:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.bad(name, "an integer")
        return value

    def number(self, name: str) -> float | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self.bad(name, "a number")
        return float(value)

    def text(self, name: str, default: str | None = None) -> str:
        value = self.raw.get(name, default)
        if not isinstance(value, str):
            raise self.bad(name, "a string")
        return value

    def opt_text(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is not None and not isinstance(value, str):
            raise self.bad(name, "a string or null")
        return value

    def obj(self, name: str) -> Json:
        value = self.raw.get(name)
        if not isinstance(value, dict):
            raise self.bad(name, "an object")
        return value


ENTRY_FIELDS = ("target", "action", "state", "origin")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _entry(f: _Fields, value: Any) -> Json:
    """A fencing history entry, complete (optional fields filled in) or refused."""
    if not (isinstance(value, dict) and all(isinstance(value.get(k), str) for k in ENTRY_FIELDS)
            and _number(value.get("requested"))
            and all(isinstance(value.get(k, ""), str) for k in ("device", "reason"))
            and (value.get("completed") is None or _number(value.get("completed")))):
        raise f.bad("entry", "a fencing history entry")
    return {"target": value["target"], "action": value["action"], "state": value["state"],
            "device": value.get("device", ""), "origin": value["origin"],
            "requested": value["requested"], "completed": value.get("completed"),
            "reason": value.get("reason", "")}


def decode(raw: Any) -> Message:
    """The typed message of a peer's JSON object; raises :class:`ProtocolError`."""
    if not isinstance(raw, dict) or not isinstance(raw.get("t"), str):
        raise ProtocolError("a peer message must be an object with a string 't'")
    kind = raw["t"]
    f = _Fields(kind, raw)
    if kind == "cib":
        return CibCopy(f.text("xml"), f.integer("term", required=False),
                       f.integer("pid", required=False))
    if kind == "cib_pull":
        return CibPull()
    if kind == "cib_push":
        return CibPush(f.text("xml"), f.integer("term", 0))
    if kind == "cib_ack":
        return CibAck(f.integer("pid"))
    if kind == "exec":
        return Exec(f.text("token"), action_from_dict(f.obj("action")))
    if kind in ("exec_result", "monitor_change"):
        return ExecResult(kind, f.text("token", ""), action_from_dict(f.obj("action")),
                          result_from_dict(f.obj("result")), f.integer("call_id", 0),
                          f.integer("wall_s", required=False))
    if kind == "exec_refused":
        return ExecRefused(f.text("token", ""), f.text("reason", "refused"))
    if kind == "cancel":
        return Cancel(f.opt_text("rsc"), f.integer("interval_ms", required=False))
    if kind == "write":
        return Write(f.integer("rid"), f.obj("req"))
    if kind == "write_reply":
        return WriteReply(f.integer("rid"), f.obj("reply"))
    if kind == "fence_event":
        return FenceEvent(_entry(f, raw.get("entry")), raw.get("ack") is True)
    if kind == "fence_ack":
        key = raw.get("key")
        if not (isinstance(key, list) and len(key) == 3 and isinstance(key[0], str)
                and isinstance(key[1], str) and isinstance(key[2], (int, float))):
            raise f.bad("key", "[target, action, requested]")
        return FenceAck((key[0], key[1], float(key[2])))
    if kind == "fence_history":
        entries = raw.get("entries")
        if not isinstance(entries, list):
            raise f.bad("entries", "a list")
        return FenceHistoryCopy(tuple(_entry(f, e) for e in entries))
    if kind == "fence_run":
        return FenceRun(f.integer("rid"), f.obj("req"), f.number("requested"))
    if kind == "shutdown":
        return Shutdown(f.integer("wall_s", 1))
    if kind == "leave":
        return Leave()
    raise ProtocolError(f"unknown peer message kind {kind!r}")


def encode(msg: Message) -> Json:
    """The JSON object for ``msg`` (the inverse of :func:`decode`)."""
    kind = msg.kind if isinstance(msg, ExecResult) else NAMES[type(msg)]
    out: Json = {"t": kind}
    for field in fields(msg):
        value = getattr(msg, field.name)
        if field.name == "kind" or value is None:
            continue
        if isinstance(value, Action):
            value = action_to_dict(value)
        elif isinstance(value, AgentResult):
            value = result_to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(msg, FenceEvent) and field.name == "ack" and not value:
            continue
        out[field.name] = value
    return out


# --------------------------------------------------------------------- heartbeats
@dataclass(frozen=True)
class Hb:
    """A heartbeat's content: the sender's DC belief, replica, view and second opinions."""

    cluster: str
    dc: int | None = None
    version: Version | None = None  # the newest CIB version it saved
    term: int | None = None
    members: tuple[int, ...] | None = None
    quorate: bool = False
    view: tuple[int, int] | None = None
    disk: str | None = None  # why it cannot save the CIB
    fds: str | None = None  # why it cannot accept connections (out of descriptors)
    fence_acks: bool = False  # it answers fence_event acks (fa)
    held: Version | None = None  # the version it holds when it differs from the saved one


def _ints(value: Any, length: int | None = None) -> tuple[int, ...] | None:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        return None
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
        return None
    return tuple(value)


def decode_heartbeat(raw: Json) -> Hb:
    """What a heartbeat says; fields that are missing or malformed read as unknown."""
    dc = raw.get("dc")
    term = raw.get("term")
    v = _ints(raw.get("v"), 3)
    vw = _ints(raw.get("vw"), 2)
    vh = _ints(raw.get("vh"), 3)
    disk = raw.get("disk")
    fds = raw.get("fds")
    return Hb(
        cluster=str(raw.get("c")),
        dc=dc if isinstance(dc, int) and not isinstance(dc, bool) else None,
        version=(v[0], v[1], v[2]) if v is not None else None,
        term=term if isinstance(term, int) and not isinstance(term, bool) else None,
        members=_ints(raw.get("m")),
        quorate=raw.get("q") is True,
        view=(vw[0], vw[1]) if vw is not None else None,
        disk=str(disk)[:300] if disk else None,
        fds=str(fds)[:300] if fds else None,
        fence_acks=raw.get("fa") == 1,
        held=(vh[0], vh[1], vh[2]) if vh is not None else None,
    )
