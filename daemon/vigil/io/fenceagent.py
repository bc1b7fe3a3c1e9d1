"""Fence agents: finding them, their meta-data, one action, and who a device can fence.

``stonith:fence_X`` is the executable ``fence_X`` in ``agent_dirs`` (``/usr/sbin``,
``/sbin``, ``/usr/bin``). It runs with no arguments, reads ``key=value`` lines on stdin
(``action``, the device's parameters, the plug under the device's host argument,
``nodename``) and answers with its exit code (0 success; ``status``: 0 on, 2 off). Like the
executor, it runs in its own process group, killed as a whole on timeout
(:mod:`vigil.io.proc`). What the stdin holds and what an answer means are decided in
:mod:`vigil.core.fencing`; levels and retries are :mod:`vigil.io.fencer`'s.

Guarantees
----------
* One agent action at a time per device (devices are often single-connection).
* An action that cannot run (no agent, a timeout, a signal) is a failed :class:`Attempt`
  whose reason says why, with the agent's last error line; nothing here raises for agent
  trouble except ``metadata`` (FencingError).
* Meta-data is cached for the process's life; ``dynamic-list`` answers for
  ``list_cache_ms``; failures are not cached.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path

from vigil.core.execmodel import SANE_PATH
from vigil.core.fencing import (
    Attempt,
    FenceDevice,
    action_ok,
    agent_stdin,
    can_fence,
    parse_list_output,
    parse_metadata,
)
from vigil.errors import FencingError
from vigil.io.proc import ProcOutcome, run_process

log = logging.getLogger("vigil.io.fencer")

AGENT_DIRS = (Path("/usr/sbin"), Path("/sbin"), Path("/usr/bin"))
_AGENT_NAME = re.compile(r"fence_[A-Za-z0-9_.-]+")
METADATA_TIMEOUT_MS = 10_000


class FenceAgents:
    def __init__(
        self,
        agent_dirs: Sequence[Path] = AGENT_DIRS,
        *,
        default_timeout_ms: int = 60_000,
        kill_grace_ms: int = 1000,
        list_cache_ms: int = 60_000,
    ) -> None:
        self.agent_dirs = list(agent_dirs)
        self.default_timeout_ms = default_timeout_ms
        self.kill_grace_ms = kill_grace_ms
        self.list_cache_ms = list_cache_ms
        self._locks: dict[str, asyncio.Lock] = {}
        self._metadata: dict[str, str] = {}
        self._lists: dict[tuple[str, FenceDevice], tuple[float, frozenset[str]]] = {}

    def find(self, agent: str) -> Path | None:
        if not _AGENT_NAME.fullmatch(agent):
            return None
        for directory in self.agent_dirs:
            path = directory / agent
            if path.is_file() and path.stat().st_mode & 0o111:
                return path
        return None

    async def metadata(self, agent: str) -> str:
        """The agent's meta-data XML (cached); FencingError when it has none."""
        if agent in self._metadata:
            return self._metadata[agent]
        path = self.find(agent)
        if path is None:
            raise FencingError(f"fence agent {agent} not found in {self._dirs()}")
        out = await self._spawn(path, b"action=metadata\n", METADATA_TIMEOUT_MS)
        if out.code != 0 or "<resource-agent" not in out.stdout:
            raise FencingError(f"no meta-data from {agent}: {_last_error(out)}")
        self._metadata[agent] = out.stdout
        return out.stdout

    async def _info(self, agent: str) -> tuple[frozenset[str], frozenset[str]]:
        try:
            return parse_metadata(await self.metadata(agent))
        except FencingError:
            return frozenset(), frozenset()

    async def run_action(
        self, device: FenceDevice, action: str, target: str | None = None, timeout_ms: int = 0
    ) -> Attempt:
        """Run one agent action on ``device`` (for ``target``, when it concerns a node)."""
        attempt, _ = await self._call(device, action, target, timeout_ms)
        return attempt

    async def _call(
        self, device: FenceDevice, action: str, target: str | None, timeout_ms: int
    ) -> tuple[Attempt, ProcOutcome | None]:
        timeout_ms = timeout_ms or device.timeout_ms(action, self.default_timeout_ms)
        path = self.find(device.agent)
        if path is None:
            why = f"fence agent {device.agent} not found in {self._dirs()}"
            return Attempt(device.id, action, None, False, why, 0), None
        host_argument = None
        if target is not None:
            host_argument = device.host_argument((await self._info(device.agent))[1])
        stdin = agent_stdin(device, action, target, host_argument)
        async with self._locks.setdefault(device.id, asyncio.Lock()):
            out = await self._spawn(path, stdin, timeout_ms)
        ok = not out.timed_out and action_ok(action, out.code)
        if out.timed_out:
            why = f"timed out after {timeout_ms} ms"
        elif out.code is None:
            why = str(out.spawn_error) if out.spawn_error else f"killed by signal {out.signal}"
        else:
            why = "" if ok else f"exit code {out.code}: {_last_error(out)}"
        return Attempt(device.id, action, out.code, ok, why, out.exec_ms), out

    async def _spawn(self, path: Path, stdin: bytes, timeout_ms: int) -> ProcOutcome:
        env = {"PATH": SANE_PATH, "LC_ALL": "C"}
        return await run_process(
            [str(path)],
            env=env,
            stdin_data=stdin,
            timeout_ms=timeout_ms,
            kill_grace_ms=self.kill_grace_ms,
        )

    def _dirs(self) -> str:
        return ", ".join(str(d) for d in self.agent_dirs)

    # --- who can fence whom --------------------------------------------------------------

    async def can_fence(self, device: FenceDevice, target: str) -> tuple[bool, str]:
        """Whether ``device`` can fence ``target`` (asking the agent when needed), and why."""
        actions, _ = await self._info(device.agent)
        mode = device.host_check(actions)
        listed: frozenset[str] | None = None
        status_rc: int | None = None
        if mode == "dynamic-list":
            listed = await self._listed(device)
        elif mode == "status":
            status_rc = (await self.run_action(device, "status", target)).rc
        return can_fence(device, target, mode, listed, status_rc)

    async def _listed(self, device: FenceDevice) -> frozenset[str] | None:
        key = (device.id, device)
        now = time.monotonic()
        cached = self._lists.get(key)
        if cached and (now - cached[0]) * 1000 < self.list_cache_ms:
            return cached[1]
        attempt, out = await self._call(device, "list", None, 0)
        if not attempt.ok or out is None:
            log.warning("%s: list failed: %s", device.id, attempt.reason)
            return None
        listed = parse_list_output(out.stdout)
        self._lists[key] = (now, listed)
        return listed


def _last_error(out: ProcOutcome) -> str:
    """The most telling line an agent wrote: its last ERROR line, else its last line."""
    lines = [ln.strip() for ln in (out.stderr + "\n" + out.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln or "Failed" in ln]
    line = (errors or lines or ["no output"])[-1]
    return re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ", "", line)[:200]
