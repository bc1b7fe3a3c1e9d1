"""The fencer: fences nodes for this node (Pacemaker's fenced, compacted).

Decisions (which device, which level, retries) come from :mod:`vigil.core.fencing`; this
shell carries them out, running each agent action through :mod:`vigil.io.fenceagent`. The
cluster's fencing history is the controller's (:mod:`vigil.core.fencing.history`).

Guarantees
----------
* Concurrent requests for the same target and action share one run and one result.
* Levels are tried in order; within a level every device must succeed (``reboot`` of a
  level with several devices is off on all, then on on all; a failed "on" leaves the node
  off and still counts as fenced). The first ``off``/``reboot`` of a device waits its
  ``pcmk_delay_base`` plus a random part of ``pcmk_delay_max`` (fence races).
* Each device action is bounded by its ``pcmk_<action>_timeout``, retries included; a
  request fails with a reason that names every level and device tried, the number of
  attempts, and the agent's last error line.
* ``fence`` never raises for agent trouble: it returns a failed :class:`FenceResult`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from vigil.core.fencing import (
    FENCE_ACTIONS,
    Attempt,
    FenceDevice,
    FenceLevel,
    FenceRequest,
    FenceResult,
    level_steps,
    plan,
)
from vigil.io.fenceagent import AGENT_DIRS, FenceAgents

log = logging.getLogger(__name__)


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
        self.agents = FenceAgents(agent_dirs, default_timeout_ms=default_timeout_ms,
                                  kill_grace_ms=kill_grace_ms, list_cache_ms=list_cache_ms)
        self.default_timeout_ms = default_timeout_ms
        self.retry_delay_ms = retry_delay_ms
        self._clock = clock
        self._rng = rng or random.Random()
        self._inflight: dict[tuple[str, str], asyncio.Task[FenceResult]] = {}

    # --- agents (:mod:`vigil.io.fenceagent`) ---------------------------------------------

    def find_agent(self, agent: str) -> Path | None:
        return self.agents.find(agent)

    async def metadata(self, agent: str) -> str:
        """The agent's meta-data XML (cached); FencingError when it has none."""
        return await self.agents.metadata(agent)

    async def run_action(
        self, device: FenceDevice, action: str, target: str | None = None, timeout_ms: int = 0
    ) -> Attempt:
        """Run one agent action on ``device`` (for ``target``, when it concerns a node)."""
        return await self.agents.run_action(device, action, target, timeout_ms)

    async def can_fence(self, device: FenceDevice, target: str) -> tuple[bool, str]:
        """Whether ``device`` can fence ``target`` (asking the agent when needed), and why."""
        return await self.agents.can_fence(device, target)

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
