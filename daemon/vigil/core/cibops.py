"""CIB write operations of the control API, as a table of (op name -> handler).

Each handler takes the current CIB and the request, and returns ``(new_cib, result)``;
``new_cib`` is None when nothing changed. Handlers never touch the CIB they are given
(the edits in :mod:`vigil.core.cib` work on copies), so a rejected request changes
nothing. Errors are :class:`vigil.errors.VigilError` subclasses naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import CibInvalid
from . import cib as C

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
        from ..errors import CibNotFound

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
