"""Prometheus metrics: a pure renderer of the status view (no IO).

``render(status)`` turns the object the control socket's ``status`` op answers into the
text exposition format, version 0.0.4: every family has one ``# HELP`` and one ``# TYPE``
line followed by its samples; label values are escaped (backslash, double quote, newline).
Transport counters become ``vigil_packets_total{kind}``, ``vigil_packets_dropped_total
{reason}``, ``vigil_messages_dropped_total{reason}``, ``vigil_peer_connections_dropped_total
{reason}`` and ``vigil_accept_errors_total{socket}``; a counter this module does not know
is still exported, as ``vigil_<name>_total``. :mod:`vigil.io.metrics_http` serves it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = dict[str, str]
Sample = tuple[Labels, float]

# Counter name prefix -> (family, label name, help). First match wins.
COUNTER_FAMILIES = (
    ("packets_dropped_", "vigil_packets_dropped_total", "reason",
     "Packets dropped before they reached the cluster logic, by reason."),
    ("messages_dropped_", "vigil_messages_dropped_total", "reason",
     "Cluster messages dropped (peer unreachable, or from a peer process that restarted)."),
    ("packets_", "vigil_packets_total", "kind",
     "Packets accepted (received) and heartbeats sent by this node."),
    ("connections_dropped_", "vigil_peer_connections_dropped_total", "reason",
     "Peer-port connections closed before they authenticated (limit, auth_timeout, "
     "memory, shed)."),
    ("accept_errors_", "vigil_accept_errors_total", "socket",
     "Connections that could not be accepted (out of file descriptors or memory): while "
     "this grows the node cannot serve its peers or clients."),
)


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _name(text: str) -> str:
    """A valid metric-name fragment for an arbitrary counter name."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", text) or "_"


def _value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str,
               samples: Iterable[Sample]) -> None:
        self.lines += [f"# HELP {name} {_escape_help(help_text)}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            inner = ",".join(f'{k}="{escape_label(str(v))}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{inner}}} {_value(value)}" if inner
                              else f"{name} {_value(value)}")

    def gauge(self, name: str, help_text: str, value: float) -> None:
        self.family(name, "gauge", help_text, [({}, value)])


def render(status: dict[str, Any]) -> str:
    """The status view as Prometheus text exposition (format 0.0.4), ending in a newline."""
    out = _Text()
    me = str(status.get("node") or "")
    nodes: list[dict[str, Any]] = list(status.get("nodes") or [])
    resources: list[dict[str, Any]] = list(status.get("resources") or [])
    fencing: dict[str, Any] = dict(status.get("fencing") or {})
    out.gauge("vigil_up", "1: this vigild answered.", 1)
    out.family("vigil_info", "gauge", "Cluster and node this vigild serves.",
               [({"cluster": str(status.get("cluster_name") or ""), "node": me}, 1)])
    out.gauge("vigil_quorate", "1 when this node's partition has quorum.",
              bool(status.get("quorate")))
    out.gauge("vigil_has_dc", "1 when this node knows a DC.", status.get("dc") is not None)
    out.gauge("vigil_is_dc", "1 when this node is the DC.",
              status.get("dc") is not None and status.get("dc") == me)
    dc_state = status.get("dc_state")
    out.family("vigil_dc_state", "gauge", "State of the DC's transition engine (DC only).",
               [({"state": str(dc_state)}, 1)] if dc_state is not None else [])
    online = [n for n in nodes if n.get("online")]
    out.gauge("vigil_members", "Nodes in this node's membership view (itself included).",
              len(online))
    out.gauge("vigil_nodes_configured", "Nodes listed in the configuration.", len(nodes))
    for key, what in (("online", "is in this node's membership view"),
                      ("standby", "is in standby"), ("maintenance", "is in maintenance"),
                      ("unclean", "is unclean (lost and not yet fenced)")):
        out.family(f"vigil_node_{key}", "gauge", f"1 when the node {what}.",
                   [({"node": str(n.get("name"))}, bool(n.get(key))) for n in nodes])
    out.family("vigil_node_cannot_save_cib", "gauge",
               "1 when the node reports that it cannot save the CIB (a full or read-only "
               "disk...); status names the error.",
               [({"node": str(n.get("name"))}, bool(n.get("disk_error"))) for n in nodes])
    out.family("vigil_node_out_of_fds", "gauge",
               "1 when the node reports that accepting connections fails (out of file "
               "descriptors); status names the error.",
               [({"node": str(n.get("name"))}, bool(n.get("fd_error"))) for n in nodes])

    out.gauge("vigil_resources_configured", "Primitive resources (clone instances folded).",
              len(resources))
    out.gauge("vigil_resources_active", "Resources running on at least one node.",
              sum(1 for r in resources if r.get("nodes")))
    running: list[Sample] = []
    for r in resources:
        roles = r.get("roles") or {}
        for node in r.get("nodes") or []:
            role = str(roles.get(node, r.get("role", "Started")))
            running.append(({"resource": str(r.get("id")), "node": str(node), "role": role},
                            1))
    out.family("vigil_resource_running", "gauge",
               "1 for each node a resource runs on, with its role there.", running)
    out.family("vigil_resource_failed", "gauge", "1 when a resource has a failed operation.",
               [({"resource": str(r.get("id"))}, bool(r.get("failed"))) for r in resources])
    out.family("vigil_resource_managed", "gauge", "1 when the cluster manages the resource.",
               [({"resource": str(r.get("id"))}, bool(r.get("managed", True)))
                for r in resources])
    out.gauge("vigil_failed_actions", "Failed resource operations recorded in the CIB.",
              len(status.get("failed_actions") or []))

    out.gauge("vigil_fencing_pending", "Nodes whose latest fencing is pending.",
              len(fencing.get("pending") or []))
    out.gauge("vigil_fencing_failed", "Nodes whose latest fencing failed.",
              len(fencing.get("failed") or []))
    out.family("vigil_fencing_last_completed_seconds", "gauge",
               "When the latest fencing of a node completed (epoch seconds), by outcome.",
               [({"target": str(e.get("target")), "state": str(e.get("state"))},
                 float(e["completed"]))
                for e in fencing.get("last") or [] if e.get("completed") is not None])

    version = list(status.get("version") or [0, 0, 0]) + [0, 0, 0]
    for i, part in enumerate(("admin_epoch", "epoch", "num_updates")):
        out.gauge(f"vigil_cib_{part}", f"The {part} of this node's CIB replica.",
                  int(version[i]))
    _counters(out, dict(status.get("counters") or {}))
    return "\n".join(out.lines) + "\n"


def _counters(out: _Text, counters: dict[str, Any]) -> None:
    grouped: dict[str, list[Sample]] = {fam: [] for _, fam, _, _ in COUNTER_FAMILIES}
    loose: list[tuple[str, int]] = []
    for key in sorted(counters):
        for prefix, fam, label, _help in COUNTER_FAMILIES:
            if key.startswith(prefix) and len(key) > len(prefix):
                grouped[fam].append(({label: key[len(prefix):]}, int(counters[key])))
                break
        else:
            loose.append((key, int(counters[key])))
    for _prefix, fam, _label, help_text in COUNTER_FAMILIES:
        out.family(fam, "counter", help_text, grouped[fam])
    for key, value in loose:
        out.family(f"vigil_{_name(key)}_total", "counter", f"The {key} counter.",
                   [({}, value)])
