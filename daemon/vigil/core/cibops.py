"""CIB write operations of the control API, as a table of (op name -> handler).

Each handler takes the current CIB and the request, and returns ``(new_cib, result)``;
``new_cib`` is None when nothing changed. Handlers never touch the CIB they are given
(the edits in :mod:`vigil.core.cib` work on copies), so a rejected request changes
nothing. Errors are :class:`vigil.errors.VigilError` subclasses naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import CibInvalid, CibNotFound
from . import cib as C
from .tickets import op_ticket

Handler = Callable[[C.Element, dict[str, Any]], tuple[C.Element | None, dict[str, Any]]]


def _str(req: dict[str, Any], key: str) -> str:
    value = req.get(key)
    if not isinstance(value, str) or not value:
        raise CibInvalid(f"argument {key!r} must be a non-empty string")
    return value


def _dict(req: dict[str, Any], key: str) -> dict[str, str]:
    value = req.get(key) or {}
    if not isinstance(value, dict):
        raise CibInvalid(f"argument {key!r} must be an object of name: value")
    return {str(k): str(v) for k, v in value.items()}


def _result(new: C.Element | None, old: C.Element, **extra: Any) -> tuple[
        C.Element | None, dict[str, Any]]:
    ver = C.version(new if new is not None else old)
    return new, {"version": list(ver), "changed": new is not None, **extra}


def op_cib_replace(cib: C.Element, req: dict[str, Any]) -> tuple[C.Element | None, dict[str, Any]]:
    new_xml = C.parse(_str(req, "xml"), "the replacement configuration")
    new = C.replace_configuration(cib, new_xml, req.get("expect_version"))
    return _result(new, cib)


def op_cib_put(cib: C.Element, req: dict[str, Any]) -> tuple[C.Element | None, dict[str, Any]]:
    el = C.parse(_str(req, "xml"), "the element to put")
    new, changed = C.put(cib, _str(req, "section"), el, str(req.get("mode", "upsert")),
                         req.get("expect_version"))
    return _result(new if changed else None, cib)


def op_cib_delete(cib: C.Element, req: dict[str, Any]) -> tuple[C.Element | None, dict[str, Any]]:
    sec = req.get("section")
    new, removed = C.delete(cib, _str(req, "id"), sec if isinstance(sec, str) else None,
                            req.get("expect_version"))
    return _result(new, cib, removed=removed)


def op_property_set(cib: C.Element, req: dict[str, Any]) -> tuple[
        C.Element | None, dict[str, Any]]:
    value = req.get("value")
    if value is not None and not isinstance(value, str):
        value = str(value)
    new, changed = C.set_property(cib, _str(req, "name"), value,
                                  str(req.get("set") or C.PROPERTY_SET),
                                  req.get("expect_version"))
    return _result(new if changed else None, cib)


def op_resource_create(cib: C.Element, req: dict[str, Any]) -> tuple[
        C.Element | None, dict[str, Any]]:
    ops = req.get("ops") or []
    if not isinstance(ops, list) or not all(isinstance(o, dict) and o.get("name") for o in ops):
        raise CibInvalid("argument 'ops' must be a list of objects with a name")
    el = C.primitive_element(_str(req, "id"), _str(req, "agent"), _dict(req, "params"),
                             _dict(req, "meta"), ops)
    new, _ = C.put(cib, "resources", el, "create", req.get("expect_version"))
    return _result(new, cib)


def op_resource_delete(cib: C.Element, req: dict[str, Any]) -> tuple[
        C.Element | None, dict[str, Any]]:
    ident = _str(req, "id")
    el = C.find_id(cib, ident)
    if el is None or el.tag not in C.RESOURCE_TAGS:
        raise CibNotFound(f"no resource with id {ident!r}")
    new, removed = C.delete(cib, ident, None, req.get("expect_version"))
    return _result(new, cib, removed=removed)


WRITE_OPS: dict[str, Handler] = {
    "cib_replace": op_cib_replace,
    "cib_put": op_cib_put,
    "cib_delete": op_cib_delete,
    "property_set": op_property_set,
    "resource_create": op_resource_create,
    "resource_delete": op_resource_delete,
}


# ---------------------------------------------------------------- resource and node control

def _resource(cib: C.Element, ident: str) -> C.Element:
    el = C.find_id(cib, ident)
    if el is None or el.tag not in C.RESOURCE_TAGS:
        raise CibNotFound(f"no resource with id {ident!r}")
    return el


def _node_name(cib: C.Element, name: str) -> str:
    names = {n.get("uname") for n in cib.iterfind("configuration/nodes/node")}
    if name not in names:
        raise CibNotFound(f"no node named {name!r} (nodes: {', '.join(sorted(map(str, names)))})")
    return name


def _location(ident: str, rsc: str, node: str, score: str) -> C.Element:
    from lxml import etree

    return etree.Element("rsc_location", id=ident, rsc=rsc, node=node, score=score)


def op_resource_move(cib: C.Element, req: dict[str, Any]) -> tuple[
        C.Element | None, dict[str, Any]]:
    """Prefer a node with +INFINITY (``cli-prefer-RSC``), like ``crm_resource --move``."""
    rsc = _str(req, "id")
    _resource(cib, rsc)
    node = _node_name(cib, _str(req, "node"))
    new, changed = C.put(cib, "constraints", _location(f"cli-prefer-{rsc}", rsc, node,
                                                       "INFINITY"), "upsert",
                         req.get("expect_version"))
    return _result(new if changed else None, cib, constraint=f"cli-prefer-{rsc}")


def op_resource_ban(cib: C.Element, req: dict[str, Any]) -> tuple[
        C.Element | None, dict[str, Any]]:
    """Keep a resource off a node with -INFINITY (``cli-ban-RSC-on-NODE``)."""
    rsc = _str(req, "id")
    _resource(cib, rsc)
    node = _node_name(cib, _str(req, "node"))
    ident = f"cli-ban-{rsc}-on-{node}"
    new, changed = C.put(cib, "constraints", _location(ident, rsc, node, "-INFINITY"),
                         "upsert", req.get("expect_version"))
    return _result(new if changed else None, cib, constraint=ident)


def op_resource_clear(cib: C.Element, req: dict[str, Any]) -> tuple[
        C.Element | None, dict[str, Any]]:
    """Remove the constraints that move and ban created for a resource (with ``node``:
    only those naming that node)."""
    rsc = _str(req, "id")
    _resource(cib, rsc)
    node = _node_name(cib, _str(req, "node")) if req.get("node") is not None else None
    C.check_expected(cib, req.get("expect_version"))
    ids = [el.get("id") for el in C.section(cib, "constraints").iter("rsc_location")
           if el.get("rsc") == rsc and (el.get("id") == f"cli-prefer-{rsc}"
                                         or str(el.get("id")).startswith(f"cli-ban-{rsc}-on-"))
           and (node is None or el.get("node") == node)]
    new = cib
    for ident in ids:
        new, _ = C.delete(new, str(ident))
    return _result(new if ids else None, cib, removed=ids)


def _with_nvpair(el: C.Element, block: str, block_id: str, name: str,
                 value: Any) -> C.Element:
    """A copy of ``el`` whose ``block`` attribute set has ``name`` = value (None: deleted)."""
    import copy

    from lxml import etree

    el = copy.deepcopy(el)
    attrs = el.find(block)
    if attrs is None:
        attrs = etree.SubElement(el, block, id=block_id)
    nv = attrs.find(f"nvpair[@name='{name}']")
    if value is None:
        if nv is not None:
            attrs.remove(nv)
    elif nv is None:
        etree.SubElement(attrs, "nvpair", id=f"{block_id}-{name}", name=name,
                         value=str(value))
    else:
        nv.set("value", str(value))
    return el


def op_resource_meta(cib: C.Element, req: dict[str, Any]) -> tuple[
        C.Element | None, dict[str, Any]]:
    """Set (value) or delete (null) one meta attribute of a resource: target-role, ..."""
    rsc = _str(req, "id")
    el = _with_nvpair(_resource(cib, rsc), "meta_attributes", f"{rsc}-meta_attributes",
                      _str(req, "name"), req.get("value"))
    new, changed = C.put(cib, "resources", el, "replace", req.get("expect_version"))
    return _result(new if changed else None, cib)


def op_node_attr(cib: C.Element, req: dict[str, Any]) -> tuple[
        C.Element | None, dict[str, Any]]:
    """Set or delete a permanent node attribute (standby=on, maintenance=true, ...)."""
    node = _node_name(cib, _str(req, "node"))
    current = C.child(cib, f"configuration/nodes/node[@uname='{node}']")
    el = _with_nvpair(current, "instance_attributes", f"nodes-{current.get('id')}",
                      _str(req, "name"), req.get("value"))
    new, changed = C.put(cib, "nodes", el, "replace", req.get("expect_version"))
    return _result(new if changed else None, cib)


WRITE_OPS.update({
    "ticket": op_ticket,
    "resource_move": op_resource_move,
    "resource_ban": op_resource_ban,
    "resource_clear": op_resource_clear,
    "resource_meta": op_resource_meta,
    "node_attr": op_node_attr,
})
