"""The ``status`` answer: membership from this node's view, resources from the CIB.

Resource state comes from the scheduler's own reading of the status section
(:func:`vigil.core.scheduler.current_state`), so ``vigilctl status`` and the scheduler
never disagree about where something runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import cib as C

if TYPE_CHECKING:
    from .controller import Controller


def _standby(cib: C.Element, node_id: int, name: str) -> bool:
    for path in (f"configuration/nodes/node[@uname='{name}']//nvpair[@name='standby']",
                 f"status/node_state[@id='{node_id}']//nvpair[@name='standby']"):
        nv = cib.find(path)
        if nv is not None and nv.get("value", "").lower() in ("on", "true", "yes", "1"):
            return True
    return False


def status_view(ctrl: Controller) -> dict[str, Any]:
    from .scheduler import current_state

    cib = ctrl.cib
    members = ctrl.membership.members
    nodes = []
    for node_id, name in sorted(ctrl.spec.names.items()):
        ns = cib.find(f"status/node_state[@id='{node_id}']")
        online = node_id in members
        unclean = (not online and ns is not None and ns.get("expected") == "member"
                   and C.get_property(cib, "stonith-enabled") not in ("false", "0", "no", "off"))
        nodes.append({"name": name, "id": node_id, "online": online,
                      "standby": _standby(cib, node_id, name), "unclean": unclean})
    state = current_state(cib, ctrl.wall_s)
    return {
        "cluster_name": ctrl.spec.cluster_name,
        "node": ctrl.spec.my_name,
        "dc": ctrl.name(ctrl.dc),
        "quorate": ctrl.membership.quorate,
        "version": list(C.version(cib)),
        "dc_state": ctrl.duties.state if ctrl.is_dc else None,
        "nodes": nodes,
        "resources": state.resources_view(),
        "failed_actions": state.failed_view(),
        "counters": ctrl.counters(),
    }


def active_on(cib: C.Element, node: str, wall_s: float) -> list[str]:
    """Resources active on a node according to the CIB (shutdown waits for none)."""
    from .scheduler import current_state

    state = current_state(cib, wall_s)
    return sorted(r["id"] for r in state.resources_view() if node in r["nodes"])
