"""The DC's fencing duties: run fence actions, confirm them in the CIB, keep the history.

Rules
-----
* Fence actions of a transition, and manual requests (``vigilctl fence``), are carried
  out by the DC's own fencer with the devices and topology the CIB configures.
* Only a confirmed fencing frees a node's resources: on success the target is marked
  cleanly down (``expected=down``) and its resource history is forgotten, so the
  scheduler recovers its resources elsewhere. A node still in the membership after a
  "successful" fencing (a device that did nothing) only loses its history: it is probed.
* ``stonith-max-attempts`` (default 10) failed fencings of one target stop further tries:
  the node stays unclean, its resources blocked, and status says why, until the node
  rejoins or an operator fences it by hand.
* The DC never fences itself. Every history entry is sent to all members, so
  ``vigilctl fence history`` answers the same on every node.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import CibInvalid, FencingError
from . import cib as C
from . import status as S
from .events import Fence, FenceDone, Send
from .graph import Action

if TYPE_CHECKING:
    from .dc import DcDuties

Respond = Callable[[dict[str, Any]], None]
HISTORY_LIMIT = 500


def entry_dict(target: str, action: str, state: str, device: str, origin: str,
               requested: float, completed: float | None, reason: str = "") -> dict[str, Any]:
    return {"target": target, "action": action, "state": state, "device": device,
            "origin": origin, "requested": requested, "completed": completed,
            "reason": reason}


def merge_history(history: list[dict[str, Any]], entry: dict[str, Any]) -> None:
    """Add an entry, or replace the pending one it finishes (same target/action/time)."""
    key = (entry["target"], entry["action"], entry["requested"])
    for i, old in enumerate(history):
        if (old["target"], old["action"], old["requested"]) == key:
            history[i] = entry
            return
    history.append(entry)
    del history[:-HISTORY_LIMIT]


class DcFencing:
    def __init__(self, dc: DcDuties) -> None:
        self.dc = dc
        self.failures: dict[str, int] = {}
        self.tokens = itertools.count(1)
        self.manual: dict[str, Respond] = {}

    def _max_attempts(self) -> int:
        value = C.get_property(self.dc.ctrl.cib, "stonith-max-attempts") or "10"
        return int(value) if value.isdigit() and int(value) > 0 else 10

    def start(self, token: str, target: str, action: str) -> str | None:
        """Start fencing; return a reason when it cannot even be tried."""
        c = self.dc.ctrl
        if target == c.spec.my_name:
            return "the DC does not fence itself"
        if c.spec.node_id(target) is None:
            return f"{target} is not a node of this cluster"
        if self.failures.get(target, 0) >= self._max_attempts():
            return (f"fencing {target} failed {self.failures[target]} times "
                    f"(stonith-max-attempts): giving up; the node stays unclean and its "
                    f"resources blocked until it rejoins or is fenced by hand")
        requested = round(c.wall_s, 3)
        self._publish(entry_dict(target, action, "pending", "", c.spec.my_name, requested,
                                 None))
        c.emit(Fence(token, target, action, requested))
        return None

    def transition_action(self, token: str, action: Action) -> str | None:
        return self.start(token, action.node or "", action.task)

    def manual_request(self, req: dict[str, Any], respond: Respond) -> None:
        from .controller import error_reply

        target = str(req.get("target") or "")
        action = str(req.get("action") or "reboot")
        if action not in ("reboot", "off", "on"):
            respond(error_reply(CibInvalid(f"fence action must be reboot, off or on, "
                                           f"not {action!r}")))
            return
        if req.get("confirm") is not True:
            respond(error_reply(CibInvalid("fencing needs confirm: true")))
            return
        token = f"manual:{next(self.tokens)}"
        self.failures.pop(target, None)  # an operator asked: try again
        why = self.start(token, target, action)
        if why:
            respond(error_reply(FencingError(why)))
            return
        self.manual[token] = respond

    def done(self, ev: FenceDone) -> bool:
        """Record a finished fencing; return whether it succeeded."""
        c = self.dc.ctrl
        entry = entry_dict(ev.target, ev.action, "success" if ev.ok else "failed", ev.device,
                           c.spec.my_name, ev.requested, ev.completed, ev.reason)
        self._publish(entry)
        if ev.ok:
            self.failures.pop(ev.target, None)
            if ev.action != "on":
                c.fenced(ev.target)
            self._confirm(ev.target, ev.action)
            c.log(f"fenced {ev.target} ({ev.action}) with {ev.device}")
        else:
            self.failures[ev.target] = self.failures.get(ev.target, 0) + 1
            c.log(f"fencing {ev.target} failed (attempt {self.failures[ev.target]}): "
                  f"{ev.reason}", "error")
        respond = self.manual.pop(ev.token, None)
        if respond is not None:
            from .controller import error_reply

            respond({"ok": True, "result": entry} if ev.ok else
                    error_reply(FencingError(f"fencing {ev.target} failed: {ev.reason}")))
        return ev.ok

    def _confirm(self, target: str, action: str) -> None:
        c = self.dc.ctrl
        node_id = c.spec.node_id(target)
        if node_id is None or action == "on":
            return
        still_member = node_id in c.membership.members
        if still_member:
            self.dc.fenced_members[node_id] = c.now_ms

        def edit(cib: C.Element) -> None:
            if not still_member:
                S.set_member(cib, node_id, target, False, "down")
            S.clear_lrm(cib, node_id)
            S.set_attr(cib, node_id, target, "shutdown", None)

        self.dc.status_edit(f"{target} is confirmed fenced", edit)

    def _publish(self, entry: dict[str, Any]) -> None:
        c = self.dc.ctrl
        merge_history(c.fence_history, entry)
        for node in c.membership.members - {c.spec.me}:
            c.emit(Send(node, {"t": "fence_event", "entry": entry}))

    def blocked(self) -> dict[str, int]:
        return {t: n for t, n in self.failures.items() if n >= self._max_attempts()}



