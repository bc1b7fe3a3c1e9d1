"""Where a resource may be probed: the ``resource-discovery`` of location constraints.

Rules (Pacemaker 2.1.5 ``pcmk__new_location``, ``pcmk__apply_location`` and
``pcmk__probe_rsc_on_node``)
-----
* A location constraint gives its mode (``always`` < ``never`` < ``exclusive``) to every
  node it applies to, for its resource and every resource under it: its ``node``, or each
  node where one of its rules matches. Constraints for the Promoted role do not apply
  (they only feed promotion scores). A node keeps the strongest mode it is given.
* A resource has exclusive discovery when a constraint with ``exclusive`` names it (even
  one whose rules match no node), or gives it that mode on some node. A primitive whose
  own or top-level resource has exclusive discovery is probed only on the nodes where its
  mode is ``exclusive``; otherwise not on the nodes where its mode is ``never``.
* A top-level resource with exclusive discovery, and everything under it, is banned
  (-INFINITY) from every node where its own mode is not ``exclusive``.
"""

from __future__ import annotations

from .model import LocationSpec
from .rules import eval_rule
from .state import ClusterState

RANK = {"always": 0, "never": 1, "exclusive": 2}
_ANY_ROLE = (None, "Started", "Unpromoted")


def _nodes(state: ClusterState, loc: LocationSpec) -> list[str]:
    if loc.node is not None:
        return [loc.node] if loc.node in state.nodes and loc.role in _ANY_ROLE else []
    return [name for name, node in state.nodes.items()
            if any((rule.role or loc.role) in _ANY_ROLE
                   and eval_rule(rule, node.attrs, state.now_s) for rule in loc.rules)]


def _below(state: ClusterState, rid: str) -> list[str]:
    out = [rid]
    for child in state.resources[rid].children:
        out.extend(_below(state, child))
    return out


def modes(state: ClusterState) -> tuple[dict[tuple[str, str], int], set[str]]:
    """(resource, node) -> discovery rank, and the resources with exclusive discovery."""
    mode: dict[tuple[str, str], int] = {}
    exclusive: set[str] = set()
    for loc in state.locations:
        rank = RANK.get((loc.discovery or "always").lower(), 0)
        if rank == 0 or loc.rsc not in state.resources:
            continue
        if rank == 2 and (loc.node is None or loc.node in state.nodes):
            exclusive.add(loc.rsc)
        for node in _nodes(state, loc):
            for rid in _below(state, loc.rsc):
                if mode.get((rid, node), 0) < rank:
                    mode[(rid, node)] = rank
                    if rank == 2:
                        exclusive.add(rid)
    return mode, exclusive


def no_probe(state: ClusterState) -> frozenset[tuple[str, str]]:
    """(primitive id, node) pairs where discovery forbids a probe."""
    mode, exclusive = modes(state)
    out = set()
    for rid, rsc in state.resources.items():
        if rsc.kind != "primitive" or not (mode or exclusive):
            continue
        only_exclusive = rid in exclusive or state.top_of(rid).id in exclusive
        for node in state.nodes:
            m = mode.get((rid, node), 0)
            if (only_exclusive and m != 2) or m == 1:
                out.add((rid, node))
    return frozenset(out)


def exclusive_bans(state: ClusterState) -> list[tuple[str, str]]:
    """(resource, node): a top-level resource with exclusive discovery, and everything
    under it, may run only where its mode is exclusive (apply_exclusive_discovery)."""
    mode, exclusive = modes(state)
    return [(rid, node) for top in state.top if top in exclusive
            for rid in _below(state, top) for node in state.nodes
            if mode.get((rid, node), 0) != 2]
