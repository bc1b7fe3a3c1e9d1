"""Run one agent process (resource or fence agent) with a deadline.

Guarantees
----------
* The child runs in its own session and process group (``start_new_session``); on timeout
  the whole group gets SIGTERM, and SIGKILL after ``kill_grace_ms``: children the agent
  forked die with it. Cancelling the awaiting task SIGKILLs the group at once.
* The run is over when the child *exits*, not when its stdout/stderr reach EOF: a
  grandchild left holding the pipes (IPaddr2's background ARP sender) does not delay the
  result. Output is read as it arrives through a protocol (no reader tasks, no EOF wait)
  and capped at ``output_cap`` bytes per stream; the rest is read and dropped.
  (``asyncio.subprocess.Process.wait()`` would wait for the pipes to close as well.)
* Nothing raises for a misbehaving child: spawn failures come back in ``spawn_error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcOutcome:
    code: int | None  # exit code; None when killed by a signal, timed out or not spawned
    signal: int | None  # the signal that killed it
    timed_out: bool
    stdout: str
    stderr: str
    exec_ms: int
    spawn_error: OSError | None = None


class _Collector(asyncio.SubprocessProtocol):
    def __init__(self, cap: int, exited: asyncio.Future[None]) -> None:
        self.cap = cap
        self.exited = exited
        self.buffers = {1: bytearray(), 2: bytearray()}

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        buf = self.buffers.get(fd)
        if buf is not None and len(buf) < self.cap:
            buf.extend(data[: self.cap - len(buf)])

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def text(self, fd: int) -> str:
        return self.buffers[fd].decode("utf-8", errors="replace")


async def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout_ms: int,
    stdin_data: bytes | None = None,
    output_cap: int = 64 * 1024,
    kill_grace_ms: int = 1000,
    cwd: Path | str = "/",
) -> ProcOutcome:
    """Run ``argv`` until it exits or ``timeout_ms`` passes; see the module rules."""
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()
    collector = _Collector(output_cap, exited)
    started = time.monotonic()
    try:
        transport, _ = await loop.subprocess_exec(
            lambda: collector,
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin_data is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    except (OSError, ValueError) as exc:
        err = exc if isinstance(exc, OSError) else OSError(0, str(exc))
        return ProcOutcome(None, None, False, "", "", _since(started), err)
    pid = transport.get_pid()
    timed_out = False
    try:
        if stdin_data is not None:
            _feed(transport, stdin_data)
        try:
            await asyncio.wait_for(asyncio.shield(exited), max(timeout_ms, 0) / 1000)
        except TimeoutError:
            timed_out = True
            await _terminate_group(pid, exited, kill_grace_ms)
        exec_ms = _since(started)
        returncode = transport.get_returncode()
        _drain(transport, collector)
    except asyncio.CancelledError:
        _signal_group(pid, signal.SIGKILL)
        # let the child be reaped before the transport goes (no zombie, no warning)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(exited), 1.0)
        raise
    finally:
        transport.close()
    code, sig = _split(returncode, timed_out)
    return ProcOutcome(code, sig, timed_out, collector.text(1), collector.text(2), exec_ms)


def _drain(transport: asyncio.SubprocessTransport, collector: _Collector) -> None:
    """Take what the child wrote before exiting but the loop has not delivered yet.

    Its writes completed before it exited, so they sit in the pipe now; read until the
    pipe is empty (EAGAIN), never until EOF, which a grandchild may hold off.
    """
    for fd in (1, 2):
        pipe = transport.get_pipe_transport(fd)
        if pipe is None or pipe.is_closing():
            continue
        fileobj = pipe.get_extra_info("pipe")
        budget = 4 * collector.cap
        while budget > 0:
            try:
                chunk = os.read(fileobj.fileno(), 65536)
            except (OSError, ValueError, AttributeError):
                break
            if not chunk:
                break
            collector.pipe_data_received(fd, chunk)
            budget -= len(chunk)


def _feed(transport: asyncio.SubprocessTransport, data: bytes) -> None:
    pipe = transport.get_pipe_transport(0)
    if isinstance(pipe, asyncio.WriteTransport):
        with contextlib.suppress(OSError):
            pipe.write(data)
            pipe.write_eof()


async def _terminate_group(pid: int, exited: asyncio.Future[None], grace_ms: int) -> None:
    """SIGTERM the group, give it ``grace_ms``, then SIGKILL whatever is left of it."""
    _signal_group(pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(exited), grace_ms / 1000)
    _signal_group(pid, signal.SIGKILL)  # members that ignored SIGTERM, leader or not
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(exited), 5.0)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _split(returncode: int | None, timed_out: bool) -> tuple[int | None, int | None]:
    if timed_out or returncode is None:
        return None, (-returncode if returncode is not None and returncode < 0 else None)
    if returncode < 0:
        return None, -returncode
    return returncode, None


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
