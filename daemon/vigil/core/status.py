"""Edits of the CIB ``status`` section, in Pacemaker 2.1.5's format, made by the DC.

* ``node_state``: ``in_ccm``/``crmd``/``join``/``expected`` say whether the node is a
  member. A member that leaves keeps ``expected="member"``: it is unclean until fenced (or,
  with stonith disabled, taken as down by the scheduler). A node that shuts down cleanly, or
  is confirmed fenced, gets ``expected="down"``.
* ``lrm_rsc_op``: one ``<rsc>_last_0`` entry for the last non-recurring operation, one
  ``<rsc>_monitor_<interval>`` per recurring monitor, and ``<rsc>_last_failure_0`` for the
  last failure, with ``transition-key`` = ``action:transition:target_rc:uuid`` so the
  scheduler can tell an expected result from a failure, and Pacemaker's ``op-digest`` of the
  parameters the agent got (:mod:`.digest`): Pacemaker's scheduler restarts a resource whose
  recorded digest differs from the one it computes from the configuration.
* Fail counts are transient attributes ``fail-count-<rsc>#<op>_<interval>`` with
  ``last-failure-<rsc>#<op>_<interval>`` (epoch seconds).

Every function edits the element it is given in place: the controller calls them on its own
copy and bumps ``num_updates`` once per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from . import digest
from .cib import Element, parent_of
from .graph import Action

INFINITY = 1000000
OCF_SUCCESS, OCF_NOT_RUNNING, OCF_RUNNING_PROMOTED, OCF_FAILED_PROMOTED = 0, 7, 8, 9


@dataclass(frozen=True)
class OpRecord:
    """An executed operation, as the DC records it."""

    action: Action
    node_id: int
    node: str
    rc: int
    op_status: int
    exit_reason: str
    call_id: int
    transition_id: int
    exec_ms: int
    wall_s: int
    uuid: str


def status(cib: Element) -> Element:
    st = cib.find("status")
    if st is None:
        st = etree.SubElement(cib, "status")
    return st


def node_state(cib: Element, node_id: int, uname: str) -> Element:
    st = status(cib)
    ns = st.find(f"node_state[@id='{node_id}']")
    if ns is None:
        ns = etree.SubElement(st, "node_state", id=str(node_id), uname=uname)
    return ns


def set_member(cib: Element, node_id: int, uname: str, online: bool,
               expected: str | None = None) -> bool:
    """Mark a node in or out of the membership; returns True when something changed."""
    ns = node_state(cib, node_id, uname)
    want = {
        "in_ccm": "true" if online else "false",
        "crmd": "online" if online else "offline",
        "join": "member" if online else "down",
    }
    if online:
        want["expected"] = "member"
    if expected is not None:
        want["expected"] = expected
    changed = False
    for key, value in want.items():
        if ns.get(key) != value:
            ns.set(key, value)
            changed = True
    return changed


def clear_lrm(cib: Element, node_id: int) -> bool:
    """Forget a node's resource history (it rejoined or was fenced)."""
    ns = status(cib).find(f"node_state[@id='{node_id}']")
    if ns is None:
        return False
    lrm = ns.find("lrm")
    if lrm is None or len(lrm.findall("lrm_resources/lrm_resource")) == 0:
        return False
    ns.remove(lrm)
    return True


def forget_resource(cib: Element, node_id: int | None, rsc: str | None) -> None:
    """Remove one resource's history on one node (``<rsc>_delete_0``)."""
    ns = status(cib).find(f"node_state[@id='{node_id}']")
    if ns is None or rsc is None:
        return
    for lr in ns.iterfind(f"lrm/lrm_resources/lrm_resource[@id='{rsc}']"):
        parent = lr.getparent()
        if parent is not None:
            parent.remove(lr)


def _lrm_resource(ns: Element, node_id: int, action: Action) -> Element:
    lrm = ns.find("lrm")
    if lrm is None:
        lrm = etree.SubElement(ns, "lrm", id=str(node_id))
    resources = lrm.find("lrm_resources")
    if resources is None:
        resources = etree.SubElement(lrm, "lrm_resources")
    rsc_id = action.history_rsc or "?"
    lr = resources.find(f"lrm_resource[@id='{rsc_id}']")
    if lr is None:
        agent = action.agent
        attrs = {"id": rsc_id, "class": agent.cls if agent else "ocf",
                 "type": agent.type if agent else "?"}
        if agent and agent.provider:
            attrs["provider"] = agent.provider
        lr = etree.SubElement(resources, "lrm_resource", attrs)
    return lr


def op_digest(action: Action) -> str:
    """Pacemaker's ``op-digest`` of the agent call vigil made (see :mod:`.digest`)."""
    return digest.op_digest(action.params, action.interval_ms, action.timeout_ms)


def is_failure(action: Action, rc: int, op_status: int) -> bool:
    if op_status not in (0,):
        return True
    if action.is_probe:
        return rc not in (OCF_SUCCESS, OCF_NOT_RUNNING, OCF_RUNNING_PROMOTED)
    return rc != action.target_rc


def record_op(cib: Element, rec: OpRecord) -> None:
    """Write an operation result into the node's lrm history, and its fail count."""
    action = rec.action
    ns = node_state(cib, rec.node_id, rec.node)
    lr = _lrm_resource(ns, rec.node_id, action)
    failed = is_failure(action, rec.rc, rec.op_status)
    # A probe's "expected" rc is what it found, so a probe never looks like a failure.
    target = rec.rc if action.is_probe and not failed else action.target_rc
    key = f"{action.id}:{rec.transition_id}:{target}:{rec.uuid}"
    attrs = {
        "operation_key": f"{action.history_rsc}_{action.task}_{action.interval_ms}",
        "operation": action.task,
        "crm-debug-origin": "vigil",
        "crm_feature_set": "3.16.1",
        "transition-key": key,
        "transition-magic": f"{rec.op_status}:{rec.rc};{key}",
        "exit-reason": rec.exit_reason,
        "on_node": rec.node,
        "call-id": str(rec.call_id),
        "rc-code": str(rec.rc),
        "op-status": str(rec.op_status),
        "interval": str(action.interval_ms),
        "last-rc-change": str(rec.wall_s),
        "exec-time": str(rec.exec_ms),
        "queue-time": "0",
        "op-digest": op_digest(action),
    }
    meta = dict(action.meta)
    for name in ("migrate_source", "migrate_target"):  # a migration's two ends
        if name in meta:
            attrs[name] = meta[name]
    if action.is_recurring:
        ids = [f"{action.history_rsc}_monitor_{action.interval_ms}"]
    else:
        ids = [f"{action.history_rsc}_last_0"]
        if action.task == "stop":
            for old in lr.findall("lrm_rsc_op"):  # a stop ends the recurring monitors
                if old.get("interval", "0") != "0" and not old.get("id", "").endswith(
                        "_last_failure_0"):
                    lr.remove(old)
    if failed:
        ids.append(f"{action.history_rsc}_last_failure_0")
    for op_id in ids:
        op = lr.find(f"lrm_rsc_op[@id='{op_id}']")
        if op is None:
            op = etree.SubElement(lr, "lrm_rsc_op", id=op_id)
        for k, v in attrs.items():
            op.set(k, v)
    if failed and not action.is_probe:
        bump_failcount(cib, rec.node_id, rec.node, action, rec.wall_s,
                       INFINITY if action.task == "start" else 1)


def transient(cib: Element, node_id: int, uname: str) -> Element:
    ns = node_state(cib, node_id, uname)
    ta = ns.find("transient_attributes")
    if ta is None:
        ta = etree.SubElement(ns, "transient_attributes", id=str(node_id))
    ia = ta.find("instance_attributes")
    if ia is None:
        ia = etree.SubElement(ta, "instance_attributes", id=f"status-{node_id}")
    return ia


def set_attr(cib: Element, node_id: int, uname: str, name: str, value: str | None) -> bool:
    ia = transient(cib, node_id, uname)
    nv = ia.find(f"nvpair[@name='{name}']")
    if value is None:
        if nv is None:
            return False
        ia.remove(nv)
        return True
    if nv is None:
        etree.SubElement(ia, "nvpair", id=f"status-{node_id}-{name}", name=name, value=value)
        return True
    if nv.get("value") == value:
        return False
    nv.set("value", value)
    return True


def bump_failcount(cib: Element, node_id: int, uname: str, action: Action, wall_s: int,
                   by: int) -> None:
    suffix = f"{action.history_rsc}#{action.task}_{action.interval_ms}"
    ia = transient(cib, node_id, uname)
    nv = ia.find(f"nvpair[@name='fail-count-{suffix}']")
    current = int(nv.get("value", "0")) if nv is not None else 0
    total = min(INFINITY, current + by)
    value = "INFINITY" if total >= INFINITY else str(total)
    set_attr(cib, node_id, uname, f"fail-count-{suffix}", value)
    set_attr(cib, node_id, uname, f"last-failure-{suffix}", str(wall_s))


def clear_failcounts(cib: Element, rsc: str | None = None, node_id: int | None = None) -> bool:
    """Remove fail counts (and failure records) of one resource or all, on one node or all."""
    changed = False
    for ns in status(cib).iter("node_state"):
        if node_id is not None and ns.get("id") != str(node_id):
            continue
        for nv in list(ns.iterfind("transient_attributes/instance_attributes/nvpair")):
            name = nv.get("name", "")
            for prefix in ("fail-count-", "last-failure-"):
                if name.startswith(prefix):
                    owner = name[len(prefix):].split("#", 1)[0]
                    if rsc is None or owner == rsc:
                        parent_of(nv).remove(nv)
                        changed = True
        for op in list(ns.iterfind("lrm/lrm_resources/lrm_resource/lrm_rsc_op")):
            lr = parent_of(op)
            if op.get("id", "").endswith("_last_failure_0") and (rsc is None or
                                                                 lr.get("id") == rsc):
                lr.remove(op)
                changed = True
    return changed
