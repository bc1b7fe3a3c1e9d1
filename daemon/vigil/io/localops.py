"""Control requests this node answers from its own disk, before or instead of the cluster.

* ``agent_check`` (``{"agent": "ocf:PROVIDER:TYPE" | "stonith:fence_X" | ...}``): whether
  this node has the agent, and where.
* ``fence_check`` (``{"target": NODE}``): which levels of fence devices this node's fencer
  would use on ``target`` and why the others were left out. The devices and levels come
  from the CIB replica (:func:`vigil.core.fencing.devices.fence_command`); the agents are
  asked who they can fence; nothing is fenced.
* A write that names a resource agent this node does not have (``resource_create``, or a
  ``cib_put``/``cib_replace`` whose XML holds such a primitive) is refused here with an
  AgentError; XML that does not parse is left to the DC, which reports it in the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from ..core import cib as C
from ..core.events import Fence
from ..core.graph import Agent
from ..errors import AgentError, CibInvalid, CibNotFound, VigilError, error_reply
from .executor import Executor
from .fencer import Fencer


class LocalOps:
    def __init__(self, node_name: str, executor: Executor, fencer: Fencer,
                 names: Callable[[], Collection[str]],
                 fence_plan: Callable[[str], Fence]) -> None:
        self.node_name = node_name
        self.executor = executor
        self.fencer = fencer
        self.names = names  # the configured nodes' names
        self.fence_plan = fence_plan  # the Fence command the replica would give for a target

    async def answer(self, req: dict[str, Any]) -> dict[str, Any] | None:
        """The reply to a request answered here (or refused here); None: not one of these."""
        try:
            self.check_agents(req)
        except VigilError as exc:
            return error_reply(exc)
        if req.get("op") == "agent_check":
            return {"ok": True, "result": self.agent_check(str(req.get("agent", "")))}
        if req.get("op") == "fence_check":
            return await self.fence_check(req.get("target"))
        return None

    def agent_path(self, agent: Agent) -> str | None:
        path = (self.fencer.find_agent(agent.type) if agent.cls == "stonith"
                else self.executor.find_agent(agent))
        return str(path) if path else None

    def agent_check(self, spec: str) -> dict[str, Any]:
        parts = spec.split(":")
        agent = Agent(parts[0], parts[1] if len(parts) == 3 else None, parts[-1])
        path = self.agent_path(agent)
        return {"exists": path is not None, "path": path}

    async def fence_check(self, target: Any) -> dict[str, Any]:
        """Which fence devices (levels) this node's fencer would use on ``target``."""
        names = sorted(self.names())
        if not isinstance(target, str) or not target:
            return error_reply(CibInvalid("argument 'target' must be a non-empty string"))
        if target not in names:
            return error_reply(CibNotFound(f"no node named {target!r} (nodes: "
                                           f"{', '.join(names)})"))
        cmd = self.fence_plan(target)
        levels, reasons = await self.fencer.levels_for(target, cmd.devices, cmd.levels)
        return {"ok": True, "result": {
            "target": target, "can_fence": bool(levels), "levels": [list(lv) for lv in levels],
            "devices": sorted(cmd.devices), "reasons": list(reasons)}}

    def check_agents(self, req: dict[str, Any]) -> None:
        """Refuse a write that names a resource agent this node does not have."""
        op = req.get("op")
        elements: list[C.Element] = []
        if op == "resource_create":
            elements = [C.primitive_element(str(req.get("id") or "x"), str(req.get("agent")))]
        elif op in ("cib_put", "cib_replace") and isinstance(req.get("xml"), str):
            try:
                root = C.parse(req["xml"], "the request's XML")
            except CibInvalid:
                return  # the DC reports the syntax error with the same words
            elements = list(root.iter("primitive"))
        for el in elements:
            agent = Agent(el.get("class", ""), el.get("provider"), el.get("type", ""))
            if self.agent_path(agent) is None:
                raise AgentError(f"{C.describe(el)}: resource agent {agent.spec} is not "
                                 f"installed on {self.node_name}")
