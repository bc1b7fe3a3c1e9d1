"""The assignment stage's result, and the smallest views of the two working objects.

Rules
-----
* The assigner (:class:`.assign.Assigner`) and the action builder
  (:class:`.actions.ActionBuilder`) call out to the clone, promotion, instance, interleave,
  capacity, notification, monitor and migration modules, and those call back. They do
  not name the two classes: each states, as a :class:`typing.Protocol` next to its code,
  exactly what it uses (built on :class:`Placing` and :class:`Building` here), and the
  two classes satisfy those protocols structurally.
* So no scheduler module imports :mod:`.assign` or :mod:`.actions` except the stages
  downstream of them, and the scheduler's import graph, type-only imports included, has
  no cycle.
* :class:`Assignment` lives here because the action builder's views carry it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .actgraph import ActionGraph
from .colocation import Colocations
from .state import ClusterState


@dataclass(frozen=True)
class Assignment:
    """Where every resource goes: node (or None) and next role, plus shown scores."""

    node: Mapping[str, str | None]
    next_role: Mapping[str, int]
    unmanaged: frozenset[str] = frozenset()
    shown_scores: Mapping[str, Mapping[str, Mapping[str, int]]] = field(default_factory=dict)
    promoted: frozenset[str] = frozenset()
    colocations: Colocations | None = None
    # final allowed scores and resources per node (for interleaved instance pairing)
    allowed: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    num_assigned: Mapping[str, int] = field(default_factory=dict)


class HasState(Protocol):
    """Anything that reads the unpacked cluster."""

    state: ClusterState


class Placing(HasState, Protocol):
    """The assigner as every assignment helper sees it: the allowed scores, mutable."""

    allowed: dict[str, dict[str, int]]

    def can_run(self, node: str) -> bool: ...


class Building(HasState, Protocol):
    """The action builder as every action helper sees it: the action graph."""

    g: ActionGraph
