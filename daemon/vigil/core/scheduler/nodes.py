"""Stage 1b: node states from ``<node_state>`` entries (Pacemaker 2.1.5 rules).

Rules
-----
* Online means ``in_ccm=true``, ``crmd=online`` and ``join=member``.
* With fencing enabled, a node expected up (``expected=member``) that left the membership
  or whose controller is gone is *unclean*, as is a configured node with no ``node_state``
  at all (startup fencing). A node with ``expected=down`` that is offline is cleanly down.
* With fencing disabled, an offline node is simply offline: its resource history is not
  read and its resources count as stopped.
* ``standby``/``maintenance`` come from node attributes (configuration or transient);
  a non-zero ``shutdown`` attribute means the node is shutting down.
* Without quorum under ``no-quorum-policy=suicide`` every online node is unclean: the
  partition fences itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from lxml import etree

from . import scores
from .model import NodeSpec, Options

Element = etree._Element


@dataclass(frozen=True)
class NodeState:
    """What the scheduler knows about one cluster node."""

    id: str
    name: str
    online: bool = False
    unclean: bool = False
    standby: bool = False
    maintenance: bool = False
    shutdown: bool = False
    pending: bool = False
    seen: bool = False
    expected_up: bool = False
    is_dc: bool = False
    unclean_reason: str = ""
    attrs: Mapping[str, str] = field(default_factory=dict)
    utilization: Mapping[str, int] = field(default_factory=dict)

    @property
    def can_run(self) -> bool:
        """True if resources may be placed here (online, clean, not standby/maintenance)."""
        return (self.online and not self.unclean and not self.standby
                and not self.maintenance and not self.shutdown and not self.pending)

    def flags(self) -> list[str]:
        out = ["online" if self.online else "offline"]
        for name in ("unclean", "pending", "standby", "maintenance", "shutdown"):
            if getattr(self, name):
                out.append(name)
        return out


def transient_attrs(ns: Element | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if ns is None:
        return out
    for ta in ns.iterfind("transient_attributes"):
        for ia in ta.iterfind("instance_attributes"):
            for nv in ia.iterfind("nvpair"):
                name = nv.get("name")
                if name is not None:
                    out[name] = nv.get("value", "")
    return out


def _shutdown(attrs: Mapping[str, str], ns: Element | None) -> bool:
    value = attrs.get("shutdown")
    if value is None and ns is not None:
        value = ns.get("shutdown")
    return value is not None and value.strip() not in ("", "0")


def _terminate(attrs: Mapping[str, str]) -> bool:
    value = (attrs.get("terminate") or "").strip()
    return scores.is_true(value) or (value[:1].isdigit() and value[:1] != "0")


def _classify(
    ns: Element, opts: Options, shutdown: bool, terminate: bool
) -> tuple[bool, str, bool]:
    """(online, unclean reason or "", pending) for a node that has a node_state."""
    in_ccm_text = ns.get("in_ccm")
    in_ccm = scores.is_true(in_ccm_text)
    crmd_online = (ns.get("crmd") or "").lower() == "online"
    join = (ns.get("join") or "").lower()
    expected = (ns.get("expected") or "down").lower()
    if not opts.stonith_enabled:
        if not in_ccm:
            return False, "", False
        if crmd_online:
            return join == "member", "", join != "member"
        if expected == "member":
            return False, "peer is unexpectedly down", False
        return False, "", False
    if shutdown:
        return crmd_online, "", False
    if in_ccm_text is None:
        return False, "peer has not been seen by the cluster", False
    if join == "banned":
        return in_ccm, "peer failed the pacemaker membership criteria", False
    if not terminate and expected == "down":
        return in_ccm, "", in_ccm or crmd_online
    if terminate and join == "down" and not in_ccm and not crmd_online:
        return False, "", False
    if not in_ccm:
        return False, "peer is no longer part of the cluster", False
    if not crmd_online:
        return True, "peer process is no longer available", False
    if terminate:
        return True, "termination was requested", False
    if join == "member":
        return True, "", False
    if join in ("pending", "down"):
        return True, "", True
    return True, "peer was in an unknown state", False


def node_state(spec: NodeSpec, ns: Element | None, opts: Options) -> NodeState:
    attrs = dict(spec.attrs)
    trans = transient_attrs(ns)
    attrs.update(trans)
    shutdown = _shutdown(trans, ns)
    if ns is None:
        online, reason, pending = False, "", False
        if opts.stonith_enabled and opts.startup_fencing:
            reason = "node is unclean"
        expected_up = False
    else:
        online, reason, pending = _classify(ns, opts, shutdown, _terminate(trans))
        expected_up = (ns.get("expected") or "").lower() == "member"
        if online and not opts.have_quorum and opts.no_quorum_policy == "suicide":
            reason = reason or "cluster does not have quorum"
    is_dc = opts.dc_uuid is not None and opts.dc_uuid == spec.id
    attrs.setdefault("#uname", spec.name)
    attrs.setdefault("#id", spec.id)
    attrs.setdefault("#kind", "cluster")
    attrs["#is_dc"] = "true" if is_dc else "false"
    return NodeState(
        id=spec.id, name=spec.name, online=online, unclean=bool(reason),
        standby=scores.is_true(attrs.get("standby")) or pending,
        maintenance=scores.is_true(attrs.get("maintenance")),
        shutdown=shutdown, pending=pending, seen=ns is not None, expected_up=expected_up,
        is_dc=is_dc, unclean_reason=reason, attrs=MappingProxyType(attrs),
        utilization=spec.utilization,
    )


def find_node_states(status: Element | None, specs: tuple[NodeSpec, ...]) -> dict[str, Element]:
    """Map node name -> its ``node_state`` element (matched by id, else by uname)."""
    out: dict[str, Element] = {}
    if status is None:
        return out
    by_id = {s.id: s.name for s in specs}
    names = {s.name for s in specs}
    for ns in status.iterfind("node_state"):
        name = by_id.get(ns.get("id", ""))
        if name is None and ns.get("uname") in names:
            name = ns.get("uname")
        if name is not None and name not in out:
            out[name] = ns
    return out
