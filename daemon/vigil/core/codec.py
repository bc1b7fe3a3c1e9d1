"""JSON-safe forms of the values that cross the wire (actions, agent results)."""

from __future__ import annotations

from typing import Any

from ..errors import ProtocolError
from .execmodel import AgentResult
from .graph import Action, Agent


def action_to_dict(a: Action) -> dict[str, Any]:
    return {
        "id": a.id, "kind": a.kind, "key": a.key, "task": a.task, "node": a.node,
        "rsc": a.rsc,
        "agent": [a.agent.cls, a.agent.provider, a.agent.type] if a.agent else None,
        "interval_ms": a.interval_ms, "timeout_ms": a.timeout_ms,
        "params": [list(p) for p in a.params], "meta": [list(p) for p in a.meta],
        "target_rc": a.target_rc,
    }


def action_from_dict(d: Any) -> Action:
    try:
        agent = d.get("agent")
        return Action(
            id=int(d["id"]), kind=str(d["kind"]), key=str(d["key"]), task=str(d["task"]),
            node=d.get("node"), rsc=d.get("rsc"),
            agent=Agent(str(agent[0]), agent[1], str(agent[2])) if agent else None,
            interval_ms=int(d.get("interval_ms", 0)), timeout_ms=int(d.get("timeout_ms", 20000)),
            params=tuple((str(k), str(v)) for k, v in d.get("params", [])),
            meta=tuple((str(k), str(v)) for k, v in d.get("meta", [])),
            target_rc=int(d.get("target_rc", 0)),
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ProtocolError(f"malformed action: {exc}") from exc


def result_to_dict(r: AgentResult) -> dict[str, Any]:
    return {"rc": r.rc, "op_status": r.op_status, "exit_reason": r.exit_reason,
            "exec_ms": r.exec_ms}


def result_from_dict(d: Any) -> AgentResult:
    try:
        return AgentResult(int(d["rc"]), int(d["op_status"]), str(d.get("exit_reason", "")),
                           int(d.get("exec_ms", 0)), "")
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed agent result: {exc}") from exc
