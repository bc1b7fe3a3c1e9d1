"""The fencer: runs fence agents for this node (Pacemaker's fenced, compacted).

Decisions (which device, which level, retries) come from :mod:`vigil.core.fencing`; this
shell only runs the agents. The cluster's fencing history is the controller's
(:mod:`vigil.core.fencing.history`).

Agents
------
``stonith:fence_X`` is the executable ``fence_X`` in ``agent_dirs`` (``/usr/sbin``,
``/sbin``, ``/usr/bin``). It runs with no arguments, reads ``key=value`` lines on stdin
(``action``, the device's parameters, the plug under the device's host argument,
``nodename``) and answers with its exit code (0 success; ``status``: 0 on, 2 off). Like the
executor, it runs in its own process group, killed as a whole on timeout
(:mod:`vigil.io.proc`).

Guarantees
----------
* One agent action at a time per device (devices are often single-connection).
* Concurrent requests for the same target and action share one run and one result.
* Each device action is bounded by its ``pcmk_<action>_timeout``, retries included; a
  request fails with a reason that names every level and device tried, the number of
  attempts, and the agent's last error line.
* ``dynamic-list`` answers are cached for ``list_cache_ms``; failures are not cached.
* ``fence`` never raises for agent trouble: it returns a failed :class:`FenceResult`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from vigil.core.execmodel import SANE_PATH
from vigil.core.fencing import (
    FENCE_ACTIONS,
    Attempt,
    FenceDevice,
    FenceLevel,
    FenceRequest,
    FenceResult,
    action_ok,
    agent_stdin,
    can_fence,
    level_steps,
    parse_list_output,
    parse_metadata,
    plan,
)
from vigil.errors import FencingError
from vigil.io.proc import ProcOutcome, run_process

log = logging.getLogger(__name__)

AGENT_DIRS = (Path("/usr/sbin"), Path("/sbin"), Path("/usr/bin"))
_AGENT_NAME = re.compile(r"fence_[A-Za-z0-9_.-]+")
METADATA_TIMEOUT_MS = 10_000


class Fencer:
    def __init__(
        self,
        node_name: str,
        *,
        agent_dirs: Sequence[Path] = AGENT_DIRS,
        default_timeout_ms: int = 60_000,
        retry_delay_ms: int = 1000,
        kill_grace_ms: int = 1000,
        list_cache_ms: int = 60_000,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.node_name = node_name
        self.agent_dirs = list(agent_dirs)
        self.default_timeout_ms = default_timeout_ms
        self.retry_delay_ms = retry_delay_ms
        self.kill_grace_ms = kill_grace_ms
        self.list_cache_ms = list_cache_ms
        self._clock = clock
        self._rng = rng or random.Random()
        self._locks: dict[str, asyncio.Lock] = {}
        self._inflight: dict[tuple[str, str], asyncio.Task[FenceResult]] = {}
        self._metadata: dict[str, str] = {}
        self._lists: dict[tuple[str, FenceDevice], tuple[float, frozenset[str]]] = {}

    # --- agents --------------------------------------------------------------------------

    def find_agent(self, agent: str) -> Path | None:
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
        path = self.find_agent(agent)
        if path is None:
            raise FencingError(f"fence agent {agent} not found in {self._dirs()}")
        out = await self._spawn(path, b"action=metadata\n", METADATA_TIMEOUT_MS)
        if out.code != 0 or "<resource-agent" not in out.stdout:
            raise FencingError(f"no meta-data from {agent}: {_last_error(out)}")
        self._metadata[agent] = out.stdout
        return out.stdout

    async def _agent_info(self, agent: str) -> tuple[frozenset[str], frozenset[str]]:
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
        path = self.find_agent(device.agent)
        if path is None:
            why = f"fence agent {device.agent} not found in {self._dirs()}"
            return Attempt(device.id, action, None, False, why, 0), None
        host_argument = None
        if target is not None:
            host_argument = device.host_argument((await self._agent_info(device.agent))[1])
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
        actions, _ = await self._agent_info(device.agent)
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

    # --- fencing -------------------------------------------------------------------------

    async def fence(
        self,
        req: FenceRequest,
        devices: Mapping[str, FenceDevice],
        levels: Sequence[FenceLevel] = (),
    ) -> FenceResult:
        """Fence ``req.target``; a request already running for it is joined, not repeated."""
        key = (req.target, req.action)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fence(req, devices, levels))
            self._inflight[key] = task
            task.add_done_callback(lambda t: self._inflight.pop(key, None))
        return await asyncio.shield(task)

    async def _fence(
        self, req: FenceRequest, devices: Mapping[str, FenceDevice], levels: Sequence[FenceLevel]
    ) -> FenceResult:
        if not req.requested:
            req = replace(req, requested=self._clock())
        if req.action not in FENCE_ACTIONS:
            result = FenceResult(req.target, req.action, False, "", f"unknown action {req.action}")
        else:
            log.warning("fencing %s (%s), asked by %s", req.target, req.action, req.origin or "?")
            try:
                result = await self._try_levels(req, devices, levels)
            except asyncio.CancelledError:
                log.warning("fencing %s (%s) cancelled", req.target, req.action)
                raise
        log.log(
            logging.WARNING if result.ok else logging.ERROR,
            "fencing %s (%s): %s",
            req.target,
            req.action,
            result.reason,
        )
        return result

    async def levels_for(
        self, target: str, devices: Mapping[str, FenceDevice], levels: Sequence[FenceLevel]
    ) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
        """The levels that would be tried to fence ``target``, and why devices were left out
        (empty levels: nothing can fence it). Asks agents as ``can_fence`` does; fences nothing."""
        capable: list[str] = []
        checks: list[str] = []
        if not any(lv.matches(target) for lv in levels):
            for device in sorted(devices.values(), key=lambda d: d.id):
                ok, why = await self.can_fence(device, target)
                checks.append(why)
                if ok:
                    capable.append(device.id)
        chosen, notes = plan(target, devices, levels, capable)
        return chosen, (*notes, *checks)

    async def _try_levels(
        self, req: FenceRequest, devices: Mapping[str, FenceDevice], levels: Sequence[FenceLevel]
    ) -> FenceResult:
        chosen, checks = await self.levels_for(req.target, devices, levels)
        if not chosen:
            why = "; ".join(checks) or "no fence devices are configured"
            reason = f"no fence device can fence {req.target}: {why}"
            return FenceResult(req.target, req.action, False, "", reason)
        attempts: list[Attempt] = []
        failures: list[str] = []
        delayed: set[str] = set()
        for level in chosen:
            error = await self._run_level(req, devices, level, attempts, delayed)
            if error is None:
                reason = f"{req.action} of {req.target} done by {','.join(level)}"
                return FenceResult(
                    req.target, req.action, True, ",".join(level), reason, tuple(attempts)
                )
            failures.append(error)
        reason = f"{req.action} of {req.target} failed: " + "; ".join(failures)
        return FenceResult(
            req.target, req.action, False, ",".join(chosen[-1]), reason, tuple(attempts)
        )

    async def _run_level(
        self,
        req: FenceRequest,
        devices: Mapping[str, FenceDevice],
        level: Sequence[str],
        attempts: list[Attempt],
        delayed: set[str],
    ) -> str | None:
        """Carry out one level; None on success, else why it failed."""
        for device_id, action in level_steps(level, req.action):
            device = devices[device_id]
            if action in ("off", "reboot") and device_id not in delayed:
                delayed.add(device_id)
                await self._delay(device)
            error = await self._with_retries(device, action, req.target, attempts)
            if error is None:
                continue
            if action == "on" and req.action == "reboot":
                log.warning("%s: power back on failed (the node stays off): %s", device_id, error)
                continue
            return error
        return None

    async def _with_retries(
        self, device: FenceDevice, action: str, target: str, attempts: list[Attempt]
    ) -> str | None:
        timeout_ms = device.timeout_ms(action, self.default_timeout_ms)
        deadline = time.monotonic() + timeout_ms / 1000
        tries = 1 + device.retries(action)
        done = 0
        last = ""
        while done < tries:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if done and remaining_ms <= 0:
                break
            attempt = await self.run_action(device, action, target, max(remaining_ms, 1))
            attempts.append(attempt)
            done += 1
            if attempt.ok:
                return None
            last = attempt.reason
            if attempt.rc is None and self.find_agent(device.agent) is None:
                break  # retrying cannot install it
            log.warning(
                "%s: %s of %s failed (attempt %d of %d): %s",
                device.id,
                action,
                target,
                done,
                tries,
                last,
            )
            if done < tries:
                await asyncio.sleep(self.retry_delay_ms / 1000)
        return f"{device.id} ({device.agent}) {action}: gave up after {done} attempt(s): {last}"

    async def _delay(self, device: FenceDevice) -> None:
        base_ms, max_ms = device.delay_ms()
        delay_ms = base_ms + (self._rng.uniform(0, max_ms) if max_ms > 0 else 0)
        if delay_ms > 0:
            log.info("%s: waiting %d ms before fencing (pcmk_delay_*)", device.id, delay_ms)
            await asyncio.sleep(delay_ms / 1000)

    async def close(self) -> None:
        """Cancel the requests in flight (their agents are killed) and wait for them."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _last_error(out: ProcOutcome) -> str:
    """The most telling line an agent wrote: its last ERROR line, else its last line."""
    lines = [ln.strip() for ln in (out.stderr + "\n" + out.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln or "Failed" in ln]
    line = (errors or lines or ["no output"])[-1]
    return re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ", "", line)[:200]
