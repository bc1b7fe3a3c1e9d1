# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Convenience values and wait conditions computed from a status object (docs/control-api.md).

``joined`` is what "this node has joined the cluster" means everywhere in vigil.cluster: the
node's partition is quorate, has a DC, and lists this node online.
"""

from __future__ import annotations

ACTIVE_ROLES = ("Started", "Promoted", "Unpromoted")


def summarize(status):
    """Convenience values computed from a status object."""
    nodes = status.get("nodes") or []
    online = [n.get("name") for n in nodes if n.get("online")]
    resources = {}
    for rsc in status.get("resources") or []:
        agent = ":".join(str(p) for p in (rsc.get("class"), rsc.get("provider"), rsc.get("type")) if p)
        resources[rsc.get("id")] = dict(role=rsc.get("role"), nodes=list(rsc.get("nodes") or []),
                                        failed=bool(rsc.get("failed")), agent=agent)
    quorate = bool(status.get("quorate"))
    dc = status.get("dc")
    return dict(
        quorate=quorate,
        dc=dc,
        node=status.get("node"),
        joined=bool(quorate and dc and status.get("node") in online),
        online_nodes=online,
        resources=resources,
        restart_order=restart_order(status),
    )


def restart_order(status):
    """The nodes in the order a rolling restart disturbs least: by how many services they
    run (fence devices, which clients never see move, count only among equals), the DC
    last among equals (its restart costs an election). Ties keep the cluster's node order."""
    dc = status.get("dc")
    services, devices = {}, {}
    for rsc in status.get("resources") or []:
        if rsc.get("role") in ACTIVE_ROLES:
            count = devices if rsc.get("class") == "stonith" else services
            for node in rsc.get("nodes") or []:
                count[node] = count.get(node, 0) + 1
    names = [n.get("name") for n in status.get("nodes") or []]
    return sorted(names, key=lambda name: (services.get(name, 0), devices.get(name, 0),
                                           name == dc, names.index(name)))


def condition_met(params, facts):
    wait_for = params["wait_for"]
    if wait_for == "dc":
        return bool(facts["dc"])
    if wait_for == "quorate":
        return facts["joined"]
    if wait_for == "started":
        rsc = facts["resources"].get(params["resource"])
        return bool(rsc and rsc["role"] in ACTIVE_ROLES and rsc["nodes"] and not rsc["failed"]
                    and not set(rsc["nodes"]) & set(params["not_on"]))
    return True


def describe_wait(params, facts, error):
    if error is not None:
        return "last error: %s" % error
    text = "last status: quorate=%s, dc=%s, online nodes=%s" % (
        facts["quorate"], facts["dc"], ", ".join(facts["online_nodes"]) or "none")
    if params["wait_for"] == "started":
        rsc = facts["resources"].get(params["resource"])
        if rsc is None:
            text += ", no resource %r" % params["resource"]
        else:
            text += ", %s is %s on %s" % (params["resource"], rsc["role"],
                                          ", ".join(rsc["nodes"]) or "no node")
    return text
