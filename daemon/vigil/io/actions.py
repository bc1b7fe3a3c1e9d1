"""Carrying out ``Execute``, ``Fence`` and ``CancelRecurring`` with the executor and fencer.

* An ``Execute`` runs its action and feeds ``AgentDone``; a recurring monitor that started
  (op_status 0) keeps running and feeds ``MonitorChanged`` when its result changes.
* A fence device as a resource (``stonith:``) is not run by the executor: start and stop
  register it with this node, monitor asks its agent (``monitor`` action) when it is
  registered and answers "not running" (rc 7) when not; every action is rc 5 (not
  installed) when the agent is missing. The device is the one the action describes
  (:func:`vigil.core.fencing.devices.action_device`), not a second reading of the CIB.
* A ``Fence`` runs with the devices and levels the command carries and feeds ``FenceDone``;
  without devices it fails at once ("no fence device is configured").
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..core.events import AgentDone, CancelRecurring, Event, Fence, FenceDone, MonitorChanged
from ..core.execmodel import AgentCall, AgentResult
from ..core.fencing import FenceRequest
from ..core.fencing.devices import action_device
from ..core.graph import Action
from .executor import Executor
from .fencer import Fencer


def to_call(action: Action) -> AgentCall:
    assert action.agent is not None and action.history_rsc is not None
    return AgentCall(rsc=action.history_rsc, agent=action.agent, task=action.task,
                     interval_ms=action.interval_ms, timeout_ms=action.timeout_ms,
                     params=action.params, meta=action.meta, key=action.key)


class Actions:
    def __init__(self, node_name: str, executor: Executor, fencer: Fencer,
                 feed: Callable[[Event], None]) -> None:
        self.node_name = node_name
        self.executor = executor
        self.fencer = fencer
        self.feed = feed
        self.recurring: dict[tuple[str, int], Action] = {}
        self.stonith_started: set[str] = set()

    def monitor_changed(self, call: AgentCall, result: AgentResult) -> None:
        """The executor's ``on_change``: a recurring monitor returned something new."""
        action = self.recurring.get((call.rsc, call.interval_ms))
        if action is not None:
            self.feed(MonitorChanged(action, result))

    async def execute(self, token: str, action: Action) -> None:
        call = to_call(action)
        if action.agent is not None and action.agent.cls == "stonith":
            result = await self._stonith_resource(action)
            if action.is_recurring and result.op_status == 0:
                self.recurring[(call.rsc, call.interval_ms)] = action
                self.executor.start_recurring(
                    call, result.rc, runner=lambda _call: self._stonith_resource(action))
            self.feed(AgentDone(token, action, result))
            return
        result = await self.executor.run(call)
        if action.is_recurring and result.op_status == 0:
            self.recurring[(call.rsc, call.interval_ms)] = action
            self.executor.start_recurring(call, result.rc)
        self.feed(AgentDone(token, action, result))

    async def _stonith_resource(self, action: Action) -> AgentResult:
        """A fence device as a resource: start/stop register it here, monitor asks the agent."""
        rsc = action.rsc or ""
        device = action_device(action)
        if self.fencer.find_agent(device.agent) is None:
            return AgentResult(5, 7, f"fence agent {device.agent} is not installed", 0, "")
        if action.task == "start":
            self.stonith_started.add(rsc)
            return AgentResult(0, 0, "", 0, "")
        if action.task == "stop":
            self.stonith_started.discard(rsc)
            return AgentResult(0, 0, "", 0, "")
        if action.task != "monitor":
            return AgentResult(3, 3, f"{action.task} is not supported for fence devices", 0, "")
        if rsc not in self.stonith_started:
            return AgentResult(7, 0, "", 0, "")
        attempt = await self.fencer.run_action(device, "monitor", None, action.timeout_ms)
        return AgentResult(0 if attempt.ok else 1, 0, "" if attempt.ok else attempt.reason,
                           attempt.exec_ms, "")

    async def fence(self, cmd: Fence) -> None:
        req = FenceRequest(cmd.target, cmd.action, self.node_name, cmd.requested)
        if not cmd.devices:
            ok, device, reason = False, "", "no fence device is configured"
        else:
            result = await self.fencer.fence(req, cmd.devices, cmd.levels)
            ok, device, reason = result.ok, result.device, result.reason
        self.feed(FenceDone(cmd.token, cmd.target, cmd.action, ok, device, reason,
                            cmd.requested, round(time.time(), 3)))

    def cancel(self, cmd: CancelRecurring) -> None:
        if cmd.rsc is None:
            self.executor.cancel_all()
            self.recurring.clear()
        elif cmd.interval_ms is None:
            self.executor.cancel_all(cmd.rsc)
            for key in [k for k in self.recurring if k[0] == cmd.rsc]:
                del self.recurring[key]
        else:
            self.executor.cancel_recurring(cmd.rsc, cmd.interval_ms)
            self.recurring.pop((cmd.rsc, cmd.interval_ms), None)
