"""Accept loops that survive running out of file descriptors, shared by the peer port and
the control socket.

asyncio's own server logs a traceback on EMFILE and retries a second later, leaving the
client in the backlog. Here, rules: an accept failure is counted (``accept_errors_<name>``)
and never ends the loop; on EMFILE/ENFILE the loop releases one reserve descriptor, takes
the waiting connection, hands it to ``on_overload`` (which answers or just closes it, so a
client hears at once instead of hanging), then re-takes the reserve; ``on_pressure`` lets
the owner shed what it can (unauthenticated peers). The loop backs off while it lasts.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import resource
import socket
from collections.abc import Awaitable, Callable

log = logging.getLogger("vigil.listen")
OUT_OF_FDS = (errno.EMFILE, errno.ENFILE)
RESOURCE_ERRORS = (*OUT_OF_FDS, errno.ENOBUFS, errno.ENOMEM)
BACKOFF_S = (0.01, 0.5)  # first and longest pause after a failed accept


class Counters(dict[str, int]):
    def bump(self, name: str, by: int = 1) -> None:
        self[name] = self.get(name, 0) + by


OnSocket = Callable[[socket.socket], Awaitable[None]]


def fd_limit_text() -> str:
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:
        in_use = -1
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return f"{in_use} open, limit {soft}"


def raise_fd_limit(wanted: int = 65536) -> None:
    """Raise the soft descriptor limit towards ``wanted`` (never above the hard limit):
    the systemd unit sets LimitNOFILE, this covers a vigild started any other way."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the descriptor limit from %d to %d: %s", soft, target,
                        exc)


class Listener:
    def __init__(self, name: str, sock: socket.socket, on_socket: OnSocket,
                 counters: Counters, on_overload: Callable[[socket.socket], None],
                 on_pressure: Callable[[], None] | None = None) -> None:
        sock.setblocking(False)
        self.name, self.sock, self.on_socket = name, sock, on_socket
        self.counters = counters
        self.on_overload, self.on_pressure = on_overload, on_pressure
        self.reserve: int | None = _reserve()
        self.task: asyncio.Task[None] | None = None
        self.handlers: set[asyncio.Task[None]] = set()
        counters.setdefault(f"accept_errors_{name}", 0)

    def start(self) -> None:
        self.task = asyncio.ensure_future(self._loop())

    def close(self) -> None:
        if self.task:
            self.task.cancel()
        for task in self.handlers:
            task.cancel()
        self.sock.close()
        if self.reserve is not None:
            os.close(self.reserve)
            self.reserve = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        pause_s = BACKOFF_S[0]
        while True:
            try:
                conn, _addr = await loop.sock_accept(self.sock)
            except OSError as exc:
                self.counters.bump(f"accept_errors_{self.name}")
                if exc.errno in RESOURCE_ERRORS:
                    self._overloaded(exc)
                else:
                    log.warning("%s: accept failed: %s", self.name, exc)
                await asyncio.sleep(pause_s)
                pause_s = min(pause_s * 2, BACKOFF_S[1])
                continue
            pause_s = BACKOFF_S[0]
            if self.reserve is None:
                self.reserve = _reserve()
            task = asyncio.ensure_future(self.on_socket(conn))
            self.handlers.add(task)
            task.add_done_callback(self.handlers.discard)

    def _overloaded(self, exc: OSError) -> None:
        log.error("%s: cannot accept connections: %s (%s)", self.name, exc.strerror,
                  fd_limit_text())
        if self.on_pressure is not None:
            self.on_pressure()
        if exc.errno not in OUT_OF_FDS or self.reserve is None:
            return
        os.close(self.reserve)
        self.reserve = None
        try:
            conn, _addr = self.sock.accept()
        except OSError:
            pass
        else:
            with conn:
                try:
                    self.on_overload(conn)
                except OSError:
                    pass
        self.reserve = _reserve()


def _reserve() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
