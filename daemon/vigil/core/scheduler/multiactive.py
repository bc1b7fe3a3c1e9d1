"""A primitive active on several nodes at once: its ``multiple-active`` policy as the
status is read (Pacemaker 2.1.5 ``native_add_running``).

Rules
-----
* A primitive is multiply active when it is active on more than one node; unless it
  requires fencing, only online clean nodes count (``pe__find_active_requires``).
* ``stop_only``: banned from every node, so it stops everywhere and stays stopped.
* ``block``: unmanaged and blocked where it is; when its group's own policy is ``block``
  too, so are all members of the group.
* ``stop_start`` (the default) and ``stop_unexpected`` are carried out by the actions
  stage (:mod:`.actions`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from .model import Options
from .nodes import NodeState
from .state import Resource, requirement


def _policy(rsc: Resource) -> str:
    return (rsc.meta.get("multiple-active") or "stop_start").lower()


def multiply_active(rsc: Resource, nodes: Mapping[str, NodeState], opts: Options) -> bool:
    running = list(rsc.running)
    if requirement(rsc, opts) not in ("fencing", "unfencing"):
        running = [n for n in running if nodes[n].online and not nodes[n].unclean]
    return len(running) > 1


def apply_multiple_active(resources: dict[str, Resource], nodes: Mapping[str, NodeState],
                          opts: Options) -> dict[str, Resource]:
    """``resources`` with the stop_only and block policies applied."""
    blocked: set[str] = set()
    for rid, rsc in resources.items():
        if rsc.kind != "primitive" or not rsc.managed \
                or not multiply_active(rsc, nodes, opts):
            continue
        if _policy(rsc) == "stop_only":
            resources[rid] = dataclasses.replace(rsc, ban_all=True)
        elif _policy(rsc) == "block":
            blocked.add(rid)
            parent = resources[rsc.parent] if rsc.parent else None
            if parent is not None and parent.kind == "group" and _policy(parent) == "block":
                blocked.update(parent.children)
    for rid in blocked:
        resources[rid] = dataclasses.replace(resources[rid], managed=False, blocked=True)
    return resources
