"""Inbound peer streams (the TCP peer port): nothing unauthenticated costs more than a small,
bounded buffer, and strangers cannot use up this node's file descriptors.

Rules, in the order they apply to a new connection:

- A connection is *unauthenticated* until its first frame passes every check (wire tag,
  known sender, replay guard). At most ``MAX_UNAUTH`` unauthenticated connections are held
  in all and ``MAX_UNAUTH_PER_SOURCE`` per source address; a connection from a configured
  node's address does not count against the total (strangers cannot crowd a real peer
  out; a TCP source cannot be forged off-path), only against its own per-source cap.
  Beyond a cap the connection is closed at once: ``connections_dropped_limit``.
- The first frame must be whole within ``AUTH_TIMEOUT_S`` of the accept
  (``connections_dropped_auth_timeout``); it is at most ``wire.MAX_FRAME`` bytes
  (``packets_dropped_size``), and the first frames strangers are sending share
  ``PREAUTH_BUDGET_BYTES`` (``connections_dropped_memory``): a length is reserved before
  its bytes are read. Nodes' addresses are bounded by their per-source cap instead, so
  strangers holding the budget cannot keep a real peer from connecting.
- Once proven, a stream's frames may reach ``wire.MAX_MESSAGE`` (a node of the previous
  version sends a large CIB as one frame); every frame is still authenticated, fragments
  are joined per stream by ``wire.Reassembler``. Proven streams have no idle timeout.
- A stream that fails any check once is closed. When the process is out of descriptors
  the oldest unauthenticated connection is closed (``connections_dropped_shed``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Callable
from typing import Any

from .. import wire
from ..errors import ProtocolError
from .listen import Counters, Listener, raise_fd_limit

log = logging.getLogger("vigil.transport")
MAX_UNAUTH = 64
MAX_UNAUTH_PER_SOURCE = 4
AUTH_TIMEOUT_S = 5.0
PREAUTH_BUDGET_BYTES = 8 * wire.MAX_FRAME
READER_LIMIT = 64 * 1024

Opened = tuple[int, int, dict[str, Any]]
OpenFrame = Callable[[bytes], Opened | None]
Deliver = Callable[[int, int, dict[str, Any]], None]


class PeerPort:
    def __init__(self, open_frame: OpenFrame, deliver: Deliver, counters: Counters,
                 peer_addresses: Callable[[], set[str]]) -> None:
        self.open_frame = open_frame
        self.deliver = deliver
        self.counters = counters
        self.peer_addresses = peer_addresses
        self.unauth: dict[object, tuple[str, asyncio.StreamWriter]] = {}  # oldest first
        self.per_source: dict[str, int] = {}
        self.strangers = 0  # unauthenticated connections from no node's address
        self.preauth_bytes = 0
        self.listener: Listener | None = None
        for name in ("limit", "auth_timeout", "memory", "shed"):
            counters.setdefault(f"connections_dropped_{name}", 0)

    def start(self, host: str, port: int) -> None:
        raise_fd_limit()
        sock = socket.create_server((host, port), backlog=256)
        self.listener = Listener("peer", sock, self._serve, self.counters,
                                 on_overload=lambda _conn: None, on_pressure=self.shed)
        self.listener.start()

    def close(self) -> None:
        if self.listener:
            self.listener.close()

    def shed(self) -> None:
        """Out of descriptors: close the oldest unauthenticated connection."""
        if self.unauth:
            _source, writer = self.unauth.pop(next(iter(self.unauth)))
            writer.close()
            self.counters.bump("connections_dropped_shed")

    # ------------------------------------------------------------------ one connection
    async def _serve(self, sock: socket.socket) -> None:
        try:
            source = str(sock.getpeername()[0])
        except OSError:
            sock.close()
            return
        stranger = source not in self.peer_addresses()
        if (self.per_source.get(source, 0) >= MAX_UNAUTH_PER_SOURCE
                or (stranger and self.strangers >= MAX_UNAUTH)):
            self.counters.bump("connections_dropped_limit")
            sock.close()
            return
        reader, writer = await asyncio.open_connection(sock=sock, limit=READER_LIMIT)
        token = object()
        self.unauth[token] = (source, writer)
        self.per_source[source] = self.per_source.get(source, 0) + 1
        self.strangers += stranger
        try:
            try:
                first = await asyncio.wait_for(self._first_frame(reader, stranger),
                                               AUTH_TIMEOUT_S)
            except TimeoutError:
                self.counters.bump("connections_dropped_auth_timeout")
                return
            finally:
                self._release(token, source, stranger)
            opened = self.open_frame(first) if first is not None else None
            if opened is not None:
                await self._proven(reader, opened)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the peer went away, was shed, or we are shutting down
        finally:
            writer.close()

    def _release(self, token: object, source: str, stranger: bool) -> None:
        self.unauth.pop(token, None)
        self.strangers -= stranger
        left = self.per_source.get(source, 1) - 1
        if left > 0:
            self.per_source[source] = left
        else:
            self.per_source.pop(source, None)

    async def _first_frame(self, reader: asyncio.StreamReader, stranger: bool
                           ) -> bytes | None:
        (length,) = struct.unpack("!I", await reader.readexactly(4))
        if length > wire.MAX_FRAME:
            self.counters.bump("packets_dropped_size")
            return None
        charge = length if stranger else 0  # a node's address has its own per-source cap
        if self.preauth_bytes + charge > PREAUTH_BUDGET_BYTES:
            self.counters.bump("connections_dropped_memory")
            return None
        self.preauth_bytes += charge
        try:
            return await reader.readexactly(length)
        finally:
            self.preauth_bytes -= charge

    async def _proven(self, reader: asyncio.StreamReader, opened: Opened) -> None:
        joiner = wire.Reassembler()
        while True:
            sender, incarnation, msg = opened
            try:
                whole = joiner.feed(sender, msg)
            except ProtocolError as exc:
                self.counters.bump(f"packets_dropped_{str(exc).split(':', 1)[0]}")
                return
            if whole is not None:
                self.deliver(sender, incarnation, whole)
            (length,) = struct.unpack("!I", await reader.readexactly(4))
            if length > wire.MAX_MESSAGE:
                self.counters.bump("packets_dropped_size")
                return
            next_opened = self.open_frame(await reader.readexactly(length))
            if next_opened is None:
                return  # a stream that fails once is not trusted any further
            opened = next_opened
