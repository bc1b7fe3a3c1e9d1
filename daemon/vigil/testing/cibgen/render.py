"""Write a generated configuration (``model.Config``) as a Pacemaker 2.1.5 CIB.

The CIB says ``validate-with="pacemaker-3.7"`` and ``crm_feature_set="3.16.1"`` (crm_simulate
2.1.5 refuses newer ones) and carries ``execution-date``: the "now" of both schedulers.
"""

from __future__ import annotations

from lxml import etree

from .constraints import build_constraints
from .model import Clone, Config, Group, Op, Prim
from .status import build_status

Element = etree._Element


def nvset(parent: Element, tag: str, set_id: str, pairs: dict[str, str]) -> None:
    if not pairs:
        return
    s = etree.SubElement(parent, tag, id=set_id)
    for k, v in pairs.items():
        etree.SubElement(s, "nvpair", id=f"{set_id}-{k}", name=k, value=v)


def _op_id(rid: str, op: Op) -> str:
    role = f"-{op.role.lower()}" if op.role else ""
    return f"{rid}-{op.name}-{op.interval_ms}{role}"


def primitive(parent: Element, p: Prim) -> None:
    e = etree.SubElement(parent, "primitive", id=p.id, type=p.type)
    e.set("class", p.cls)
    if p.provider:
        e.set("provider", p.provider)
    nvset(e, "instance_attributes", f"{p.id}-params", p.params)
    nvset(e, "meta_attributes", f"{p.id}-meta", p.meta)
    if p.utilization:
        nvset(e, "utilization", f"{p.id}-utilization", p.utilization)
    if p.ops:
        ops = etree.SubElement(e, "operations")
        for op in p.ops:
            x = etree.SubElement(ops, "op", id=_op_id(p.id, op), name=op.name,
                                 interval=op.interval, timeout=op.timeout)
            if op.role:
                x.set("role", op.role)
            if op.on_fail:
                x.set("on-fail", op.on_fail)


def group(parent: Element, g: Group) -> None:
    e = etree.SubElement(parent, "group", id=g.id)
    nvset(e, "meta_attributes", f"{g.id}-meta", g.meta)
    for m in g.members:
        primitive(e, m)


def resources(parent: Element, c: Config) -> None:
    if c.fence:
        primitive(parent, c.fence)
    for r in c.resources:
        if isinstance(r, Prim):
            primitive(parent, r)
        elif isinstance(r, Group):
            group(parent, r)
        else:
            clone(parent, r)


def clone(parent: Element, cl: Clone) -> None:
    e = etree.SubElement(parent, cl.tag, id=cl.id)
    nvset(e, "meta_attributes", f"{cl.id}-meta", cl.meta)
    if isinstance(cl.child, Group):
        group(e, cl.child)
    else:
        primitive(e, cl.child)


def nodes(parent: Element, c: Config) -> None:
    for n in c.nodes:
        e = etree.SubElement(parent, "node", id=n.id, uname=n.name)
        attrs = dict(n.attrs)
        if n.standby == "config":
            attrs["standby"] = "on"
        if n.maintenance:
            attrs["maintenance"] = "true"
        nvset(e, "instance_attributes", f"nodes-{n.id}", attrs)
        nvset(e, "utilization", f"nodes-{n.id}-utilization", n.utilization)


def render(c: Config) -> Element:
    """The whole ``<cib>``: configuration, then a status drawn for it."""
    cib = etree.Element("cib")
    head = {"crm_feature_set": "3.16.1", "validate-with": "pacemaker-3.7", "epoch": "10",
            "num_updates": "0", "admin_epoch": "0", "have-quorum": "1" if c.quorum else "0",
            "dc-uuid": "1", "execution-date": str(c.now_s), **c.cib_attrs}
    for k, v in head.items():
        cib.set(k, v)
    conf = etree.SubElement(cib, "configuration")
    crm = etree.SubElement(conf, "crm_config")
    nvset(crm, "cluster_property_set", "cib-bootstrap-options", c.props)
    nodes(etree.SubElement(conf, "nodes"), c)
    resources(etree.SubElement(conf, "resources"), c)
    tickets = build_constraints(c, etree.SubElement(conf, "constraints"))
    if c.rsc_defaults:
        nvset(etree.SubElement(conf, "rsc_defaults"), "meta_attributes", "rsc-options",
              c.rsc_defaults)
    build_status(c, etree.SubElement(cib, "status"), tickets)
    return cib
