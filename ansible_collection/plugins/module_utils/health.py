# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""The checks of cluster_health, as one pure function of a status object and a configuration.

A cluster is healthy when every check passes:

* ``quorum``: the answering node's partition is quorate;
* ``dc``: it knows a DC;
* ``nodes``: every expected node (default: every node of the configuration) is online;
* ``unclean``: no node is unclean (lost and not yet fenced);
* ``failed_actions``: no failed resource action is recorded (unless allowed);
* ``fencing``: ``stonith-enabled`` is not false and at least one ``stonith`` primitive is
  configured (unless fencing is not required).

Each failed check gives one reason ``{"check", "message"}`` per problem found, in the
order above, so that the first reason is the most fundamental one.
"""

from __future__ import annotations

from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError
from ansible_collections.vigil.cluster.plugins.module_utils.ops import is_true, node_names

CHECKS = ("quorum", "dc", "nodes", "unclean", "failed_actions", "fencing")


def stonith_enabled(conf):
    """stonith-enabled from the configuration (Pacemaker's default: true)."""
    value = None
    crm = conf.find("crm_config")
    for nv in crm.iter("nvpair") if crm is not None else ():
        if nv.get("name") == "stonith-enabled":
            value = nv.get("value")
    return True if value is None else is_true(value)


def fence_devices(conf):
    resources = conf.find("resources")
    prims = resources.iter("primitive") if resources is not None else ()
    return sorted(p.get("id") for p in prims if p.get("class") == "stonith")


def expected(conf, status, wanted):
    """The nodes that must be online; an unknown name is bad input (kind ``invalid``)."""
    known = node_names(conf) or [n.get("name") for n in status.get("nodes") or []]
    if not wanted:
        return known
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise VigilError("invalid", "expected_nodes names %s, not a node of this cluster "
                                    "(nodes: %s)" % (", ".join(unknown), ", ".join(known)))
    return list(wanted)


def summary(status, conf):
    nodes = status.get("nodes") or []
    return dict(
        quorate=bool(status.get("quorate")),
        dc=status.get("dc"),
        node=status.get("node"),
        online_nodes=[n["name"] for n in nodes if n.get("online")],
        offline_nodes=[n["name"] for n in nodes if not n.get("online")],
        unclean_nodes=[n["name"] for n in nodes if n.get("unclean")],
        standby_nodes=[n["name"] for n in nodes if n.get("standby")],
        failed_actions=len(status.get("failed_actions") or []),
        stonith_enabled=stonith_enabled(conf),
        fence_devices=fence_devices(conf),
        resources=len(status.get("resources") or []),
    )


def _reason(check, message):
    return dict(check=check, message=message)


def evaluate(status, conf, expected_nodes, allow_failed_actions=False, require_fencing=True):
    """(reasons, summary) for one status object and configuration element."""
    facts = summary(status, conf)
    reasons = []
    if not facts["quorate"]:
        reasons.append(_reason("quorum", "%s's partition has no quorum" % facts["node"]))
    if not facts["dc"]:
        reasons.append(_reason("dc", "%s knows no DC" % facts["node"]))
    for name in expected_nodes:
        if name not in facts["online_nodes"]:
            reasons.append(_reason("nodes", "node %s is offline" % name))
    for name in facts["unclean_nodes"]:
        reasons.append(_reason("unclean", "node %s is unclean: lost and not fenced yet" % name))
    if not allow_failed_actions:
        for f in status.get("failed_actions") or []:
            reasons.append(_reason("failed_actions", "%s %s on %s failed (rc %s%s)" % (
                f.get("rsc"), _op_name(f), f.get("node"), f.get("rc"),
                ": %s" % f["reason"] if f.get("reason") else "")))
    if require_fencing:
        if not facts["stonith_enabled"]:
            reasons.append(_reason("fencing", "stonith-enabled is false: lost nodes are "
                                              "not fenced"))
        if not facts["fence_devices"]:
            reasons.append(_reason("fencing", "no fence device (stonith primitive) is "
                                              "configured"))
    return reasons, facts


def _op_name(failed):
    interval_ms = failed.get("interval_ms") or 0
    if interval_ms:
        return "%s (every %g s)" % (failed.get("op"), interval_ms / 1000.0)
    return str(failed.get("op"))


def describe(reasons):
    return "; ".join("%s: %s" % (r["check"], r["message"]) for r in reasons)
