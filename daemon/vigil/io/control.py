"""Control socket shell: JSON requests on a Unix socket (see docs/control-api.md).

One request per connection: read one JSON line, hand it to the node as a ClientRequest,
write the reply line, close. Local checks that need the filesystem (does an agent exist on
this node?) happen here before the request reaches the controller.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("vigil.control")
MAX_REQUEST = 16 * 1024 * 1024
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def error(kind: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"kind": kind, "message": message}}


class ControlServer:
    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self.handler = handler
        self.server: asyncio.Server | None = None
        self.ids = itertools.count(1)

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            self.path.unlink()
        self.server = await asyncio.start_unix_server(self._serve, path=str(self.path),
                                                      limit=MAX_REQUEST)
        os.chmod(self.path, 0o660)

    async def close(self) -> None:
        if self.server:
            self.server.close()
        self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 30)
            try:
                req = json.loads(line)
                if not isinstance(req, dict) or not isinstance(req.get("op"), str):
                    raise ValueError("a request is a JSON object with a string 'op'")
            except ValueError as exc:
                reply = error("invalid", f"bad request: {exc}")
            else:
                reply = await self.handler(req)
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.LimitOverrunError) as exc:
            log.debug("control client dropped: %s", exc)
        finally:
            writer.close()
