"""Runs one transition graph: dispatch what is runnable, follow results, abort cleanly.

State machine::

    RUNNING --all actions done--------------------------> COMPLETE
    RUNNING --abort() or an action failed--> DRAINING --in-flight done--> ABORTED

Rules: an action is dispatched once, when every action it requires has succeeded.
Pseudo actions complete at once. In DRAINING nothing new is dispatched; the runner only
waits for what is in flight, so the next transition starts from known facts. An action
whose result does not match (``ok=False``) aborts the transition: the scheduler decides
again from the recorded result. Actions that can never run (a prerequisite failed) are
dropped at abort.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .graph import Action, Transition


class RunState(enum.Enum):
    RUNNING = "running"
    DRAINING = "draining"
    COMPLETE = "complete"
    ABORTED = "aborted"


@dataclass
class TransitionRun:
    transition_id: int
    graph: Transition
    state: RunState = RunState.RUNNING
    done: set[int] = field(default_factory=set)
    in_flight: dict[int, Action] = field(default_factory=dict)
    abort_reason: str = ""

    def __post_init__(self) -> None:
        self._by_id = {a.id: a for a in self.graph.actions}
        self._waiting = set(self._by_id)

    def step(self) -> list[Action]:
        """Actions to dispatch now (pseudo actions are completed here, not returned)."""
        out: list[Action] = []
        progress = True
        while progress and self.state is RunState.RUNNING:
            progress = False
            for aid in sorted(self._waiting):
                action = self._by_id[aid]
                if not action.requires <= self.done:
                    continue
                self._waiting.discard(aid)
                if action.kind == "pseudo":
                    self.done.add(aid)
                    progress = True
                else:
                    self.in_flight[aid] = action
                    out.append(action)
        self._settle()
        return out

    def result(self, action_id: int, ok: bool, reason: str = "") -> list[Action]:
        """Record a result; return newly runnable actions."""
        if self.in_flight.pop(action_id, None) is None:
            return []
        if ok:
            self.done.add(action_id)
        elif self.state is RunState.RUNNING:
            self.state = RunState.DRAINING
            self.abort_reason = reason or f"action {action_id} failed"
        return self.step()

    def abort(self, reason: str) -> None:
        if self.state is RunState.RUNNING:
            self.state = RunState.DRAINING
            self.abort_reason = reason
        self._settle()

    def _settle(self) -> None:
        if self.state is RunState.RUNNING and not self._waiting and not self.in_flight:
            self.state = RunState.COMPLETE
        elif self.state is RunState.DRAINING and not self.in_flight:
            self.state = RunState.ABORTED

    @property
    def finished(self) -> bool:
        return self.state in (RunState.COMPLETE, RunState.ABORTED)

    def pending_on(self, node: str) -> list[Action]:
        return [a for a in self.in_flight.values() if a.node == node]
