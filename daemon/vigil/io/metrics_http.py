"""The Prometheus endpoint (config key ``metrics_listen``): a minimal HTTP server.

It is deliberately small, and its rules are: one request per connection, closed after
the reply; the request head is read within ``READ_TIMEOUT_S`` and at most ``MAX_HEAD``
bytes in ``MAX_HEADER_LINES`` lines; a head that breaks HTTP/1.x syntax or these bounds
gets 400, a path other than ``/metrics`` 404, a method other than GET or HEAD 405; a
request body is never read; beyond ``MAX_CLIENTS`` concurrent connections new ones are
closed unanswered. Nothing a client sends can raise out of the server: a failure while
rendering (:mod:`vigil.io.metrics_text`) answers 500.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

from .metrics_text import CONTENT_TYPE

log = logging.getLogger("vigil.metrics")
READ_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 5.0
MAX_HEAD = 8192
MAX_HEADER_LINES = 64
MAX_CLIENTS = 16


class BadRequest(Exception):
    """The request head breaks HTTP/1.x syntax or this server's bounds."""


REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 500: "Internal Server Error"}
TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def parse_head(lines: list[bytes]) -> tuple[str, str]:
    """(method, path without query) of a request head; raises BadRequest."""
    if not lines:
        raise BadRequest("empty request")
    parts = lines[0].rstrip(b"\r\n").split(b" ")
    if len(parts) != 3 or not TOKEN.match(parts[0]) or not parts[1].startswith(b"/") \
            or parts[2] not in (b"HTTP/1.0", b"HTTP/1.1"):
        raise BadRequest("bad request line")
    for line in lines[1:]:
        name, sep, _value = line.partition(b":")
        if not sep or not TOKEN.match(name):
            raise BadRequest("bad header line")
    try:
        target = parts[1].decode("ascii")
    except UnicodeDecodeError as exc:
        raise BadRequest("request target is not ASCII") from exc
    return parts[0].decode("ascii"), target.split("?", 1)[0]


async def read_head(reader: asyncio.StreamReader) -> list[bytes]:
    lines: list[bytes] = []
    size = 0
    while True:
        try:
            line = await reader.readline()
        except ValueError as exc:  # a line longer than the reader's limit
            raise BadRequest("request line or header too long") from exc
        size += len(line)
        if size > MAX_HEAD or len(lines) > MAX_HEADER_LINES:
            raise BadRequest("request head too large")
        if not line.endswith(b"\n"):
            raise BadRequest("connection closed inside the request head")
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line)


class MetricsServer:
    def __init__(self, address: tuple[str, int], source: Callable[[], str]) -> None:
        self.address = address
        self.source = source
        self.server: asyncio.Server | None = None
        self.clients = 0

    async def start(self) -> None:
        host, port = self.address
        try:
            self.server = await asyncio.start_server(self._serve, host=host, port=port,
                                                     reuse_address=True, limit=MAX_HEAD)
        except OSError as exc:
            raise OSError(exc.errno, f"metrics_listen {host}:{port}: {exc.strerror}") from exc
        log.info("metrics on http://%s:%d/metrics", host, port)

    async def close(self) -> None:
        if self.server:
            self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.clients >= MAX_CLIENTS:
            writer.close()
            return
        self.clients += 1
        try:
            code, body, head_only = await self._answer(reader)
            await asyncio.wait_for(self._reply(writer, code, body, head_only),
                                   WRITE_TIMEOUT_S)
        except (TimeoutError, ConnectionError) as exc:
            log.debug("metrics client dropped: %s", exc)
        except Exception:  # never let a client take the server down
            log.exception("metrics request failed")
        finally:
            self.clients -= 1
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, str, bool]:
        try:
            head = await asyncio.wait_for(read_head(reader), READ_TIMEOUT_S)
            method, path = parse_head(head)
        except TimeoutError:
            return 408, "request not received in time\n", False
        except BadRequest as exc:
            return 400, f"bad request: {exc}\n", False
        if path != "/metrics":
            return 404, "not found; metrics are at /metrics\n", method == "HEAD"
        if method not in ("GET", "HEAD"):
            return 405, "only GET and HEAD\n", False
        try:
            return 200, self.source(), method == "HEAD"
        except Exception:
            log.exception("rendering metrics failed")
            return 500, "rendering metrics failed; see the vigild log\n", False

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, code: int, body: str,
                     head_only: bool) -> None:
        data = body.encode()
        ctype = CONTENT_TYPE if code == 200 else "text/plain; charset=utf-8"
        extra = "Allow: GET, HEAD\r\n" if code == 405 else ""
        head = (f"HTTP/1.1 {code} {REASONS[code]}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(data)}\r\n{extra}Connection: close\r\n\r\n")
        writer.write(head.encode() + (b"" if head_only else data))
        await writer.drain()
