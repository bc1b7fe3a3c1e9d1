"""Recurring monitors: one asyncio task per (resource, interval) on this node.

Rules
-----
* A monitor runs every ``interval_ms`` (the first time after ``first_delay_ms``, by default
  one interval); starting one replaces the resource's monitor with the same interval.
* It takes the resource's lock (shared with one-shot actions, see :mod:`vigil.io.executor`)
  and skips its tick while another action on the resource runs.
* It reports to ``on_change`` only when ``(rc, op_status)`` changes from the previous result
  (the first comparison is with ``(last_rc, 0)``); cancelling is not reported, and a callback
  that raises is logged, never propagated into the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from vigil.core.execmodel import AgentCall, AgentResult, ExecStatus, is_change

log = logging.getLogger("vigil.io.executor")

OnChange = Callable[[AgentCall, AgentResult], None]
Runner = Callable[[AgentCall], Awaitable[AgentResult]]


class Monitors:
    def __init__(self, lock: Callable[[str], asyncio.Lock], on_change: OnChange) -> None:
        self._lock = lock
        self._on_change = on_change
        self._tasks: dict[tuple[str, int], asyncio.Task[None]] = {}

    def start(self, call: AgentCall, last_rc: int, first_delay_ms: int | None,
              runner: Runner) -> None:
        self.cancel(call.rsc, call.interval_ms)
        delay_ms = call.interval_ms if first_delay_ms is None else first_delay_ms
        key = (call.rsc, call.interval_ms)
        task = asyncio.get_running_loop().create_task(
            self._loop(call, (last_rc, int(ExecStatus.DONE)), delay_ms, runner),
            name=f"monitor {call.op_key}",
        )
        self._tasks[key] = task
        task.add_done_callback(lambda t: self._forget(key, t))

    def _forget(self, key: tuple[str, int], task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]

    async def _loop(self, call: AgentCall, previous: tuple[int, int], delay_ms: int,
                    runner: Runner) -> None:
        while True:
            await asyncio.sleep(delay_ms / 1000)
            delay_ms = call.interval_ms
            lock = self._lock(call.rsc)
            if lock.locked():
                log.debug("%s: skipped, another action on %s is running", call.op_key, call.rsc)
                continue
            async with lock:
                result = await runner(call)
            if is_change(previous, result):
                previous = (result.rc, result.op_status)
                self._report(call, result)

    def _report(self, call: AgentCall, result: AgentResult) -> None:
        try:
            self._on_change(call, result)
        except Exception:
            log.exception("%s: on_change callback failed", call.op_key)

    def cancel(self, rsc: str, interval_ms: int) -> bool:
        """Stop a recurring operation; True when there was one."""
        task = self._tasks.pop((rsc, interval_ms), None)
        if task is None:
            return False
        task.cancel()
        return True

    def cancel_all(self, rsc: str | None = None) -> int:
        """Stop the recurring operations of ``rsc`` (all resources when None); how many."""
        keys = [k for k in self._tasks if rsc is None or k[0] == rsc]
        for name, interval_ms in keys:
            self.cancel(name, interval_ms)
        return len(keys)

    def keys(self) -> list[tuple[str, int]]:
        """The (resource, interval_ms) pairs with a recurring operation, sorted."""
        return sorted(self._tasks)

    async def close(self) -> None:
        """Cancel every recurring operation and wait until they are gone."""
        tasks = list(self._tasks.values())
        self.cancel_all()
        await asyncio.gather(*tasks, return_exceptions=True)
