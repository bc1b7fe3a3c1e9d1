"""A small client for the control socket (used by vigilctl and the tests)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from .errors import Unavailable, VigilError, error_from_wire

DEFAULT_SOCKET = Path("/run/vigil/vigil.sock")


def call(path: Path | str, op: str, timeout_s: float = 35.0, **args: Any) -> Any:
    """Send one request; return its result or raise the VigilError the daemon named."""
    request = json.dumps({"op": op, **args}).encode() + b"\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(path))
            sock.sendall(request)
            chunks = []
            while True:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    except FileNotFoundError as exc:
        raise Unavailable(f"no control socket at {path}: is vigild running?") from exc
    except (TimeoutError, ConnectionRefusedError, OSError) as exc:
        raise Unavailable(f"cannot talk to vigild at {path}: {exc}") from exc
    if not chunks:
        raise Unavailable(f"vigild at {path} closed the connection without an answer (it "
                          "stopped, or was fenced, while the request ran)")
    try:
        reply = json.loads(b"".join(chunks))
    except ValueError as exc:
        raise VigilError(f"vigild at {path} sent a reply that is not JSON") from exc
    if not reply.get("ok"):
        err = reply.get("error") or {}
        raise error_from_wire(str(err.get("kind", "error")), str(err.get("message", "")))
    return reply.get("result")
