"""Unfencing: the fence action ``on`` before resources that need it run on a node.

Rules (Pacemaker 2.1.5 pcmk__order_vs_unfence, pcmk__order_restart_vs_unfence,
trigger_unfencing)
-------------------------------------------------------------------------------
* Unfencing is in use when a resource's (or ``rsc_defaults``') meta attribute says
  ``provides=unfencing`` or ``requires=unfencing``; resources then default to
  ``requires=unfencing`` (see :func:`.state.requirement`; fence devices need quorum).
* Each node has one ``on`` fence action, optional until something requires it. The
  probes and starts of fence devices and of resources that require unfencing come after
  it (a start is required when the unfencing is); the stops of the latter come before it.
* Unfencing a node is required when such a probe or start is planned there and the node
  has never been unfenced (its ``#node-unfenced`` attribute is missing or 0), or when a
  fence device's definition (parameters, or agent) changed there; only for a node that is
  online, clean and not shutting down.
* A required unfencing restarts what requires unfencing on that node: its start there
  becomes required (and so its stop).
"""

from __future__ import annotations

from .actgraph import IMPLIES_FIRST, IMPLIES_THEN, OPTIONAL, Act
from .ports import Building
from .state import Resource, requirement


def _unfence(b: Building, node: str) -> Act:
    return b.g.add(f"stonith-{node}-on", None, "on", node, True, "fence")[0]


def _may_unfence(b: Building, node: str) -> bool:
    state = b.state.nodes[node]
    return state.online and not state.unclean and not state.shutdown


def _never_unfenced(b: Building, node: str) -> bool:
    return b.state.nodes[node].attrs.get("#node-unfenced", "0") == "0"


def _device(rsc: Resource) -> bool:
    return rsc.agent is not None and rsc.agent.cls == "stonith"


def create_unfencing(b: Building) -> list[str]:
    """Order actions around each node's ``on``; returns the nodes to unfence."""
    if not b.state.options.enable_unfencing:
        return []
    required: set[str] = set()
    for rsc in b.state.resources.values():
        if rsc.kind != "primitive":
            continue
        device = _device(rsc)
        needs = not device and requirement(rsc, b.state.options) == "unfencing"
        if not device and not needs:
            continue
        if device:  # its definition (parameters or agent) changed there
            changed = rsc.restart_on | (rsc.cleanup_on if not rsc.orphan else frozenset())
            required.update(n for n in changed if _may_unfence(b, n))
        for act in list(b.g.by_rsc.get(rsc.id, [])):
            if act.node is None or act.node not in b.state.nodes:
                continue
            probe = act.task == "monitor" and act.interval_ms == 0
            if probe or act.task == "start":
                b.g.order(_unfence(b, act.node), act,
                          OPTIONAL | (0 if probe else IMPLIES_THEN))
                if _never_unfenced(b, act.node) and _may_unfence(b, act.node):
                    required.add(act.node)
            elif act.task == "stop" and needs:
                b.g.order(act, _unfence(b, act.node), OPTIONAL | IMPLIES_FIRST)
    for node in sorted(required):
        _unfence(b, node).optional = False
    return sorted(required)
