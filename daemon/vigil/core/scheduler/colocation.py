"""Colocation constraints as the assignment stage uses them.

Rules
-----
* ``rsc with with-rsc score``: the dependent (``rsc``) is placed relative to the primary.
  References to a clone's child resolve to the clone.
* A group is a chain: member k is +INFINITY colocated with member k-1 (influence follows
  the member's ``critical`` meta).
* Each resource keeps two lists, "this with" (it is the dependent) and "with this" (it is
  the primary), sorted like Pacemaker: higher priority first, clones before groups before
  primitives, then by id.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import scores
from .history import ROLE_BY_NAME
from .state import ClusterState

VARIANT = {"primitive": 0, "group": 1, "clone": 2}


@dataclass(frozen=True)
class Coloc:
    id: str
    dependent: str
    primary: str
    score: int
    dependent_role: int | None = None
    primary_role: int | None = None
    node_attribute: str = "#uname"
    influence: bool = True


@dataclass(frozen=True)
class Colocations:
    this_with: dict[str, list[Coloc]]
    with_this: dict[str, list[Coloc]]

    def add_this_with(self, rid: str, c: Coloc, state: ClusterState) -> None:
        lst = self.this_with.setdefault(rid, [])
        lst.append(c)
        lst.sort(key=lambda x: _sort_key(state, x.primary))

    def add_with_this(self, rid: str, c: Coloc, state: ClusterState) -> None:
        lst = self.with_this.setdefault(rid, [])
        lst.append(c)
        lst.sort(key=lambda x: _sort_key(state, x.dependent))


def _sort_key(state: ClusterState, rid: str) -> tuple[int, int, str]:
    rsc = state.resources[rid]
    return (-rsc.priority, -VARIANT.get(rsc.kind, 0), rid)


def resolve(state: ClusterState, rid: str) -> str:
    """Map a configured id to the resource constraints act on (a clone child -> clone)."""
    rsc = state.resources.get(rid)
    if rsc is None:
        return rid
    top = state.top_of(rid)
    return top.id if top.kind == "clone" else rid


def _role(name: str | None) -> int | None:
    """A colocation's role; Started means any role, as in Pacemaker's
    pcmk__new_colocation."""
    if name is None or name == "Started":
        return None
    return ROLE_BY_NAME.get(name)


def build_colocations(state: ClusterState) -> Colocations:
    cols = Colocations(this_with={}, with_this={})
    made: list[Coloc] = []
    for spec in state.colocations:
        dep, pri = resolve(state, spec.rsc), resolve(state, spec.with_rsc)
        if dep == pri or spec.score == 0:
            continue
        influence = spec.influence
        if influence is None:
            influence = state.resources[dep].critical
        made.append(Coloc(
            id=spec.id, dependent=dep, primary=pri, score=spec.score,
            dependent_role=_role(spec.rsc_role), primary_role=_role(spec.with_rsc_role),
            node_attribute=spec.node_attribute, influence=influence,
        ))
    for rsc in state.resources.values():
        if rsc.kind != "group":
            continue
        for prev, cur in zip(rsc.children, rsc.children[1:], strict=False):
            made.append(Coloc(
                id="group:internal_colocation", dependent=cur, primary=prev,
                score=scores.INFINITY, influence=state.resources[cur].critical,
            ))
    for c in made:
        cols.this_with.setdefault(c.dependent, []).append(c)
        cols.with_this.setdefault(c.primary, []).append(c)
    for lst in cols.this_with.values():
        lst.sort(key=lambda x: _sort_key(state, x.primary))
    for lst in cols.with_this.values():
        lst.sort(key=lambda x: _sort_key(state, x.dependent))
    return cols
