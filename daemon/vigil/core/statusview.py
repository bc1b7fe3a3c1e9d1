"""The ``status`` answer: membership from this node's view, resources from the CIB.

Resource state comes from the scheduler's own reading of the status section
(:func:`vigil.core.scheduler.current_state`), so ``vigilctl status`` and the scheduler
never disagree about where something runs. Node online-ness is this node's live view of
the membership; standby and unclean come from the CIB as the scheduler reads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import __version__
from . import cib as C
from .scheduler import ClusterState, current_state

if TYPE_CHECKING:
    from .context import NodeContext


def resources_view(state: ClusterState) -> list[dict[str, Any]]:
    """Primitives (clone instances folded into their base id), in configuration order."""
    out: dict[str, dict[str, Any]] = {}
    for rsc in state.primitives():
        if rsc.orphan and not rsc.running:
            continue
        agent = rsc.agent
        entry = out.setdefault(rsc.base, {
            "id": rsc.base, "class": agent.cls if agent else None,
            "provider": agent.provider if agent else None,
            "type": agent.type if agent else None,
            "role": "Stopped", "nodes": [], "roles": {}, "failed": False,
            "managed": rsc.managed,
        })
        entry["nodes"] = sorted(set(entry["nodes"]) | set(rsc.running))
        entry["roles"].update({node: rsc.role_name for node in rsc.running})
        entry["failed"] = entry["failed"] or rsc.failed
        if rsc.running and entry["role"] in ("Stopped", "Started"):
            entry["role"] = rsc.role_name
        if rsc.failed:
            entry["role"] = "Failed"
    return list(out.values())


def failed_view(state: ClusterState) -> list[dict[str, Any]]:
    return [{"rsc": f.rsc, "op": f.task, "interval_ms": f.interval_ms, "node": f.node,
             "rc": f.rc, "op_status": f.status, "reason": f.exit_reason,
             "last_rc_change": f.last_rc_change} for f in state.failed_ops]


def fencing_view(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The newest fencing entry of each target, and who is pending or failed now."""
    latest: dict[str, dict[str, Any]] = {}
    for entry in history:
        latest[entry["target"]] = entry
    return {
        "pending": sorted(t for t, e in latest.items() if e["state"] == "pending"),
        "failed": sorted(t for t, e in latest.items() if e["state"] == "failed"),
        "last": [latest[t] for t in sorted(latest)],
    }


def troubles(ctrl: NodeContext, node_id: int) -> dict[str, str]:
    """What keeps a node from doing its work, as it says (this node: as it knows)."""
    if node_id == ctrl.spec.me:
        return ctrl.troubles()
    return dict(ctrl.peers.troubles.get(node_id, {}))


def status_view(ctrl: NodeContext) -> dict[str, Any]:
    cib = ctrl.cib
    state = current_state(cib, ctrl.wall_s)
    members = ctrl.membership.members
    nodes = []
    for node_id, name in sorted(ctrl.spec.names.items()):
        known = state.nodes.get(name)
        online = node_id in members
        trouble = troubles(ctrl, node_id)
        nodes.append({"name": name, "id": node_id, "online": online,
                      "standby": bool(known and known.standby),
                      "maintenance": bool(known and known.maintenance),
                      "unclean": bool(not online and known and known.unclean),
                      # the boot the node runs (0: not heard from): a node that rebooted
                      # and rejoined comes back with a higher one
                      "incarnation": (ctrl.incarnation if node_id == ctrl.spec.me
                                      else ctrl.membership.incarnation_of(node_id))
                      if online else 0,
                      # why the node cannot save the CIB, or accept connections
                      # (None: it can, or unknown)
                      "disk_error": trouble.get("disk") if online else None,
                      "fd_error": trouble.get("fds") if online else None})
    return {
        "cluster_name": ctrl.spec.cluster_name,
        "node": ctrl.spec.my_name,
        "daemon_version": __version__,
        "dc": ctrl.name(ctrl.dc),
        "quorate": ctrl.membership.quorate,
        "view": {"id": f"{ctrl.view_id[0]}.{ctrl.view_id[1]}", "seq": ctrl.view_id[0],
                 "numbered_by": ctrl.name(ctrl.view_id[1]) if ctrl.view_id[1] else None,
                 "members": sorted(ctrl.name(n) or str(n) for n in ctrl.membership.members),
                 "agreed": ctrl.view_agreed()},
        "votes": {"members": ctrl.membership.member_votes(),
                  "expected": ctrl.membership.expected_votes,
                  "configured": ctrl.membership.configured_expected},
        "version": list(C.version(cib)),
        "saved_version": list(ctrl.replica.disk.saved),
        "dc_state": ctrl.duties.state if ctrl.is_dc else None,
        "nodes": nodes,
        "resources": resources_view(state),
        "failed_actions": failed_view(state),
        "fencing": fencing_view(ctrl.fence_history),
        "counters": {**ctrl.counters(), "messages_dropped_stale": ctrl.stale_messages,
                     "cib_save_failures": ctrl.replica.disk.failures},
    }


def active_on(cib: C.Element, node: str, wall_s: float) -> list[str]:
    """Resources active on a node according to the CIB (shutdown waits for none)."""
    state = current_state(cib, wall_s)
    return sorted(r.id for r in state.primitives() if node in r.running)
