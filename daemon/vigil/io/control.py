"""Control socket shell: JSON requests on a Unix socket (see docs/control-api.md).

One request per connection: read one JSON line, hand it to the node as a ClientRequest,
write the reply line, close. Local checks that need the filesystem (does an agent exist on
this node?) happen here before the request reaches the controller.

Rules for what a client sends: every request gets one reply line, an error one when the
request is bad, and nothing a client sends leaves a traceback. A line is read in chunks
up to ``MAX_REQUEST`` bytes; a longer one is read on, without being kept, to its end (a
newline, EOF or a second without data), then refused (``invalid``; a client that writes
everything before it reads still sees the answer). JSON nested deeper than ``MAX_DEPTH``
is refused. The whole request must arrive within ``READ_TIMEOUT_S``. Beyond
``MAX_CLIENTS`` at once, or when this process is out of file descriptors, a client is
answered ``unavailable`` at once. Counted:
``control_requests_invalid``, ``control_clients_refused``, ``control_errors_internal``
and ``accept_errors_control``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .listen import Counters, Listener, fd_limit_text

log = logging.getLogger("vigil.control")
MAX_REQUEST = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_CLIENTS = 64
READ_TIMEOUT_S = 30.0
CHUNK = 64 * 1024
DRAIN_IDLE_S = 1.0
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def error(kind: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"kind": kind, "message": message}}


class BadRequest(ValueError):
    pass


def depth_of(value: Any) -> int:
    """How deeply a parsed JSON value nests (iterative: no recursion on client data)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((v, depth + 1) for v in
                             (item.values() if isinstance(item, dict) else item))
    return deepest


def parse(line: bytes) -> dict[str, Any]:
    try:
        req = json.loads(line)
    except RecursionError as exc:
        raise BadRequest(f"bad request: JSON nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise BadRequest(f"bad request: {exc}") from exc
    if depth_of(req) > MAX_DEPTH:
        raise BadRequest(f"bad request: JSON nested deeper than {MAX_DEPTH} levels")
    if not isinstance(req, dict) or not isinstance(req.get("op"), str):
        raise BadRequest("bad request: a request is a JSON object with a string 'op'")
    return req


async def read_line(reader: asyncio.StreamReader) -> bytes:
    """One line (or what came before EOF); BadRequest once it passes MAX_REQUEST bytes."""
    buf = bytearray()
    too_long = False
    while True:
        try:
            chunk = await (asyncio.wait_for(reader.read(CHUNK), DRAIN_IDLE_S) if too_long
                           else reader.read(CHUNK))
        except TimeoutError:
            break  # the client stopped sending and waits for an answer
        if not chunk:
            break
        end = chunk.find(b"\n")
        piece = chunk if end < 0 else chunk[: end + 1]
        if not too_long and len(buf) + len(piece) > MAX_REQUEST:
            too_long, buf = True, bytearray()  # read on to the end, keep nothing
        if not too_long:
            buf += piece
        if end >= 0:
            break
    if too_long:
        raise BadRequest(f"bad request: longer than {MAX_REQUEST // (1024 * 1024)} MiB "
                         "(the control socket's limit); nothing was done")
    return bytes(buf)


class ControlServer:
    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self.handler = handler
        self.listener: Listener | None = None
        self.ids = itertools.count(1)
        self.clients = 0
        self.counters = Counters(control_requests_invalid=0, control_clients_refused=0,
                                 control_errors_internal=0)

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.path))
        os.chmod(self.path, 0o660)
        sock.listen(128)
        self.listener = Listener("control", sock, self._serve, self.counters,
                                 on_overload=self._refuse_out_of_fds)
        self.listener.start()

    async def close(self) -> None:
        if self.listener:
            self.listener.close()
        self.path.unlink(missing_ok=True)

    def _refuse_out_of_fds(self, conn: socket.socket) -> None:
        reply = error("unavailable", "vigild is out of file descriptors "
                      f"({fd_limit_text()}): it cannot serve requests now")
        conn.setblocking(False)
        conn.send(json.dumps(reply).encode() + b"\n")

    async def _serve(self, sock: socket.socket) -> None:
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=CHUNK)
        self.clients += 1
        try:
            if self.clients > MAX_CLIENTS:
                self.counters.bump("control_clients_refused")
                reply = error("unavailable", f"vigild is busy: more than {MAX_CLIENTS} "
                              "control clients at once; try again")
            else:
                reply = await self._answer(reader)
            writer.write(json.dumps(reply).encode() + b"\n")
            await asyncio.wait_for(writer.drain(), READ_TIMEOUT_S)
        except (TimeoutError, ConnectionError) as exc:
            log.debug("control client dropped: %s", exc)
        finally:
            self.clients -= 1
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> dict[str, Any]:
        try:
            req = parse(await asyncio.wait_for(read_line(reader), READ_TIMEOUT_S))
        except BadRequest as exc:
            self.counters.bump("control_requests_invalid")
            return error("invalid", str(exc))
        except TimeoutError:
            self.counters.bump("control_requests_invalid")
            return error("invalid", f"no whole request line within {READ_TIMEOUT_S:.0f} s")
        try:
            return await self.handler(req)
        except Exception as exc:  # a bug must cost one request, not the log's readability
            self.counters.bump("control_errors_internal")
            log.error("control request %r failed: %s: %s", req.get("op"), type(exc).__name__,
                      exc)
            log.debug("control request %r failed", req.get("op"), exc_info=True)
            return error("error", f"internal error in vigild while answering "
                         f"{req.get('op')!r}: {type(exc).__name__}: {exc}")
