"""Clone instances in the order Pacemaker assigns them (``sort_clone_instance``).

Rules
-----
* Instances active on fewer nodes first (when both are active); then those whose current
  node is still allowed; higher priority; placed before unplaced; current node able to
  run resources; current node allowed for the clone; fewer instances of the clone already
  on the node; not failed before failed; then by id.
* An instance's node is where it was assigned; a cloned group's is its first member's.
  This is the one home of both rules (clones and promotion use them).
"""

from __future__ import annotations

from functools import cmp_to_key
from typing import Protocol

from . import scores
from .ports import HasState, Placing

INF = scores.INFINITY


class InstanceSorter(Placing, Protocol):
    """What ordering instances reads of the assigner."""

    assigned: dict[str, str | None]
    clone_count: dict[str, dict[str, int]]
    instance_priority: dict[str, int]


def instance_node(a: InstanceSorter, rid: str) -> str | None:
    """Where instance ``rid`` was assigned (a cloned group: where its first member was)."""
    rsc = a.state.resources[rid]
    if rsc.kind == "group":
        return a.assigned.get(rsc.children[0]) if rsc.children else None
    return a.assigned.get(rid)


def failed(a: HasState, rid: str) -> bool:
    return any(r.failed for r in a.state.leaves(rid))


def running_count(a: HasState, rid: str) -> tuple[str | None, int]:
    nodes: list[str] = []
    for leaf in a.state.leaves(rid):
        for n in leaf.running:
            if n not in nodes:
                nodes.append(n)
    return (nodes[0] if nodes else None), len(nodes)


def cmp_instance(a: InstanceSorter, clone: str, r1: str, r2: str) -> int:
    cur1, n1 = running_count(a, r1)
    cur2, n2 = running_count(a, r2)
    if n1 > 0 and n2 > 0 and n1 != n2:
        return -1 if n1 < n2 else 1
    node1, node2 = cur1, cur2
    can1 = can2 = True
    if node1 is not None and a.allowed[r1].get(node1, -INF) < 0:
        node1, can1 = None, False
    if node2 is not None and a.allowed[r2].get(node2, -INF) < 0:
        node2, can2 = None, False
    if can1 != can2:
        return -1 if can1 else 1
    p1 = a.instance_priority.get(r1, a.state.resources[r1].priority)
    p2 = a.instance_priority.get(r2, a.state.resources[r2].priority)
    if p1 != p2:
        return -1 if p1 > p2 else 1
    if node1 is None and node2 is None:
        return 0
    if node1 is None or node2 is None:
        return 1 if node1 is None else -1
    c1, c2 = a.can_run(node1), a.can_run(node2)
    if c1 != c2:
        return -1 if c1 else 1
    par = a.allowed[clone]
    if (node1 in par) != (node2 in par):
        return -1 if node1 in par else 1
    counts = a.clone_count.get(clone, {})
    k1, k2 = counts.get(node1, 0), counts.get(node2, 0)
    if k1 != k2:
        return -1 if k1 < k2 else 1
    f1, f2 = failed(a, r1), failed(a, r2)
    if f1 != f2:
        return 1 if f1 else -1
    return -1 if r1 < r2 else 1 if r1 > r2 else 0


def sort_instances(a: InstanceSorter, clone: str, ids: list[str]) -> list[str]:
    def cmp(x: str, y: str) -> int:
        return cmp_instance(a, clone, x, y)

    return sorted(ids, key=cmp_to_key(cmp))


