"""The CIB: Pacemaker's XML cluster information base, its versions and its edits.

Rules
-----
* A CIB is an lxml ``<cib>`` element with ``configuration`` (crm_config, nodes, resources,
  constraints, rsc_defaults, op_defaults, fencing-topology) and ``status``.
* Its version is ``(admin_epoch, epoch, num_updates)``, compared as a tuple: the newest
  wins. A configuration change bumps ``epoch`` and resets ``num_updates``; a status change
  bumps ``num_updates``. Only an administrator bumps ``admin_epoch``.
* Every edit works on a copy and returns it: a rejected edit (``CibInvalid`` naming the
  element) leaves the caller's CIB exactly as it was.
* :func:`validate` is the gate for every configuration that enters the cluster: unique ids,
  required attributes, numeric scores, constraints that name existing resources.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any, TypeAlias

from lxml import etree

from ..errors import CibConflict, CibExists, CibInvalid, CibNotFound

Element: TypeAlias = etree._Element
Version = tuple[int, int, int]

VALIDATE_WITH = "pacemaker-3.9"
FEATURE_SET = "3.16.1"
SECTIONS = (
    "crm_config", "nodes", "resources", "constraints", "rsc_defaults", "op_defaults",
    "fencing-topology",
)
RESOURCE_TAGS = {"primitive", "group", "clone", "master", "bundle"}
CONSTRAINT_REFS = {
    "rsc_location": ("rsc",),
    "rsc_colocation": ("rsc", "with-rsc"),
    "rsc_order": ("first", "then"),
    "rsc_ticket": ("rsc",),
}
SCORE_RE = re.compile(r"^[+-]?(\d+|INFINITY)$", re.IGNORECASE)
PROPERTY_SET = "cib-bootstrap-options"


def new_cib() -> Element:
    cib = etree.Element(
        "cib",
        {
            "admin_epoch": "0", "epoch": "1", "num_updates": "0",
            "validate-with": VALIDATE_WITH, "crm_feature_set": FEATURE_SET,
            "have-quorum": "0",
        },
    )
    conf = etree.SubElement(cib, "configuration")
    for name in ("crm_config", "nodes", "resources", "constraints"):
        etree.SubElement(conf, name)
    # an empty set is where vigil's own properties go
    etree.SubElement(child(conf, "crm_config"), "cluster_property_set", id=PROPERTY_SET)
    etree.SubElement(cib, "status")
    return cib


def child(el: Element, path: str) -> Element:
    """``el.find(path)`` for a child that validation or construction guarantees."""
    found = el.find(path)
    if found is None:
        raise CibInvalid(f"{describe(el)} has no <{path}>")
    return found


def parent_of(el: Element) -> Element:
    parent = el.getparent()
    if parent is None:
        raise CibInvalid(f"{describe(el)} has no parent")
    return parent


# One hardened parser for every XML that enters vigil (control socket, peers, disk,
# simulate): no DTD is loaded, nothing is fetched, no entity is expanded, no huge trees.
_PARSER_OPTS: dict[str, Any] = dict(resolve_entities=False, no_network=True, load_dtd=False,
                                    huge_tree=False)


def parse(data: str | bytes, what: str = "CIB", keep_blanks: bool = False) -> Element:
    """Parse XML text into an element; anything but plain elements and text is refused.

    A syntax error becomes CibInvalid with line and column. A document with a DOCTYPE
    (internal subset or external DTD), an entity reference or a processing instruction is
    refused with CibInvalid naming it: an unresolved ``&x;`` would be stored as is and make
    the CIB unreadable for every peer and for the next start.
    """
    if isinstance(data, str):
        data = data.encode()
    parser = etree.XMLParser(remove_blank_text=not keep_blanks, **_PARSER_OPTS)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, col = exc.position if exc.position else (0, 0)
        raise CibInvalid(f"{what} is not well-formed XML (line {line}, column {col}): "
                         f"{exc.msg}") from exc
    _refuse_markup(root, what)
    return root


def _refuse_markup(root: Element, what: str) -> None:
    info = root.getroottree().docinfo
    if info.internalDTD is not None or info.system_url or info.public_id:
        raise CibInvalid(f"{what} is refused: it has a DOCTYPE declaration; a CIB may hold "
                         "no DTD, entity declarations or entity references")
    outside = [*root.itersiblings(preceding=True), *root.itersiblings()]
    for node in [*outside, *root.iter(etree.Entity, etree.ProcessingInstruction)]:
        where = node.getparent()
        inside = f" in {describe(where)}" if where is not None else ""
        if isinstance(node, etree._Entity):
            raise CibInvalid(f"{what} is refused: entity reference {node.text}{inside} "
                             "(a CIB may hold no entity references; write the text itself)")
        if isinstance(node, etree._ProcessingInstruction):
            raise CibInvalid(f"{what} is refused: processing instruction <?{node.target}?>"
                             f"{inside} (a CIB may hold no processing instructions)")


def to_bytes(el: Element, pretty: bool = True) -> bytes:
    return etree.tostring(el, pretty_print=pretty, encoding="UTF-8", xml_declaration=False)


def describe(el: Element) -> str:
    """``<primitive id="web">`` style name of an element for error messages."""
    ident = el.get("id")
    return f"<{el.tag} id=\"{ident}\">" if ident else f"<{el.tag}>"


def version(cib: Element) -> Version:
    def num(name: str) -> int:
        try:
            return int(cib.get(name, "0"))
        except ValueError:
            return 0

    return (num("admin_epoch"), num("epoch"), num("num_updates"))


def set_version(cib: Element, ver: Version) -> None:
    cib.set("admin_epoch", str(ver[0]))
    cib.set("epoch", str(ver[1]))
    cib.set("num_updates", str(ver[2]))


def bump_epoch(cib: Element) -> None:
    a, e, _ = version(cib)
    set_version(cib, (a, e + 1, 0))


def bump_updates(cib: Element) -> None:
    a, e, n = version(cib)
    set_version(cib, (a, e, n + 1))


def check_expected(cib: Element, expect: Iterable[int] | None) -> None:
    """Optimistic concurrency: refuse when the configuration moved since the caller read it."""
    if expect is None:
        return
    if (not isinstance(expect, (list, tuple)) or len(expect) < 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in expect)):
        raise CibInvalid(f"expect_version must be a list of integers [admin_epoch, epoch, "
                         f"num_updates], not {expect!r:.60}")
    want = tuple(expect)[:2]
    have = version(cib)[:2]
    if want != have:
        raise CibConflict(
            f"the CIB changed since it was read: expected admin_epoch/epoch {list(want)}, "
            f"it is now {list(have)}; read it again and retry"
        )


def section(cib: Element, name: str) -> Element:
    conf = cib.find("configuration")
    if conf is None:
        raise CibInvalid("<cib> has no <configuration>")
    sec = conf.find(name)
    if sec is None:
        if name not in SECTIONS:
            raise CibInvalid(f"unknown configuration section {name!r}; "
                             f"one of {', '.join(SECTIONS)}")
        sec = etree.SubElement(conf, name)
    return sec


def find_id(cib: Element, ident: str) -> Element | None:
    conf = cib.find("configuration")
    if conf is None:
        return None
    for el in conf.iter():
        if isinstance(el.tag, str) and el.get("id") == ident:
            return el
    return None


# ---------------------------------------------------------------- validation

def validate(cib: Element) -> None:
    """Raise CibInvalid naming the first offending element; return None when valid."""
    if cib.tag != "cib":
        raise CibInvalid(f"root element must be <cib>, got <{cib.tag}>")
    conf = cib.find("configuration")
    if conf is None:
        raise CibInvalid("<cib> has no <configuration>")
    for name in ("crm_config", "nodes", "resources", "constraints"):
        if conf.find(name) is None:
            raise CibInvalid(f"<configuration> has no <{name}>")
    for sec in conf:
        if isinstance(sec.tag, str) and sec.tag not in SECTIONS + ("acls", "tags", "alerts"):
            raise CibInvalid(f"unknown element <{sec.tag}> in <configuration>")
    ids: dict[str, Element] = {}
    for el in conf.iter():
        if not isinstance(el.tag, str):
            continue
        ident = el.get("id")
        if ident is None:
            if el.tag in RESOURCE_TAGS | set(CONSTRAINT_REFS) | {"nvpair", "op"}:
                raise CibInvalid(f"{describe(el)} under {describe(parent_of(el))} has no id")
            continue
        if el.tag != "node" and not re.match(r"^[A-Za-z_][\w.:-]*$", ident):
            raise CibInvalid(f"{describe(el)}: id {ident!r} is not a valid XML id")
        if ident in ids and el.tag != "node":
            raise CibInvalid(f"{describe(el)}: id {ident!r} is used twice")
        ids[ident] = el
    resources = {
        el.get("id"): el for el in child(conf, "resources").iter(*RESOURCE_TAGS)
    }
    for el in conf.iter("primitive"):
        _check_primitive(el)
    for el in conf.iter("nvpair"):
        if not el.get("name"):
            raise CibInvalid(f"{describe(el)} has no name")
    for tag, refs in CONSTRAINT_REFS.items():
        for el in child(conf, "constraints").iter(tag):
            for attr in refs:
                ref = el.get(attr)
                if ref is None and tag == "rsc_location" and el.get("rsc-pattern"):
                    continue
                if ref is None and el.find("resource_set") is not None:
                    continue
                if ref is None:
                    raise CibInvalid(f"{describe(el)} has no {attr}")
                if ref not in resources:
                    raise CibInvalid(f"{describe(el)}: {attr}={ref!r} names no resource")
    for el in conf.iter():
        if isinstance(el.tag, str) and el.tag in {"rsc_location", "rsc_colocation",
                                                   "rsc_order", "rule"}:
            score = el.get("score")
            if score is not None and not SCORE_RE.match(score.strip()):
                raise CibInvalid(
                    f"{describe(el)}: score {score!r} is not a number (an integer or "
                    "[+-]INFINITY)"
                )


def _check_primitive(el: Element) -> None:
    cls = el.get("class")
    if not cls:
        raise CibInvalid(f"{describe(el)} has no class")
    if not el.get("type"):
        raise CibInvalid(f"{describe(el)} has no type")
    if cls == "ocf" and not el.get("provider"):
        raise CibInvalid(f"{describe(el)}: class ocf needs a provider")
    for op in el.iter("op"):
        if not op.get("name"):
            raise CibInvalid(f"{describe(op)} in {describe(el)} has no name")
        if op.get("interval") is None:
            raise CibInvalid(f"{describe(op)} in {describe(el)} has no interval")


# ---------------------------------------------------------------- canonical form

def canonical(el: Element) -> Any:
    """A comparable form: attributes as a sorted tuple, children in document order."""
    return (
        el.tag,
        tuple(sorted((k, v) for k, v in el.attrib.items())),
        (el.text or "").strip(),
        tuple(canonical(c) for c in el if isinstance(c.tag, str)),
    )


# ---------------------------------------------------------------- configuration edits

def _edited(cib: Element) -> Element:
    return copy.deepcopy(cib)


def _commit(new: Element) -> Element:
    validate(new)
    bump_epoch(new)
    return new


def replace_configuration(cib: Element, new_xml: Element, expect: Iterable[int] | None = None
                          ) -> Element:
    """Replace ``configuration`` from a ``<configuration>`` or whole ``<cib>`` element."""
    check_expected(cib, expect)
    if new_xml.tag == "cib":
        conf = new_xml.find("configuration")
        if conf is None:
            raise CibInvalid("the <cib> given has no <configuration>")
    elif new_xml.tag == "configuration":
        conf = new_xml
    else:
        raise CibInvalid(f"expected <configuration> or <cib>, got <{new_xml.tag}>")
    new = _edited(cib)
    old = new.find("configuration")
    if old is not None:
        new.remove(old)
    new.insert(0, copy.deepcopy(conf))
    if new_xml.tag == "cib":
        admin = new_xml.get("admin_epoch")
        if admin is not None and admin.isdigit() and int(admin) > version(new)[0]:
            new.set("admin_epoch", admin)
    return _commit(new)


def put(cib: Element, sec: str, el: Element, mode: str = "upsert",
        expect: Iterable[int] | None = None) -> tuple[Element, bool]:
    """Create, replace or upsert one element (by id) in a section. Returns (cib, changed)."""
    check_expected(cib, expect)
    ident = el.get("id")
    if not ident:
        raise CibInvalid(f"{describe(el)} to put in <{sec}> has no id")
    if mode not in ("create", "replace", "upsert"):
        raise CibInvalid(f"mode must be create, replace or upsert, got {mode!r}")
    existing = find_id(cib, ident)
    if existing is not None and mode == "create":
        raise CibExists(f"{describe(existing)} already exists")
    if existing is None and mode == "replace":
        raise CibNotFound(f"no element with id {ident!r} to replace")
    if existing is not None and canonical(existing) == canonical(el):
        return cib, False
    new = _edited(cib)
    target = section(new, sec)
    if existing is not None:
        old = find_id(new, ident)
        assert old is not None
        parent = parent_of(old)
        if existing.tag != el.tag:
            raise CibInvalid(f"id {ident!r} is a <{existing.tag}>, not a <{el.tag}>")
        parent.replace(old, copy.deepcopy(el))
    else:
        target.append(copy.deepcopy(el))
    return _commit(new), True


def delete(cib: Element, ident: str, sec: str | None = None,
           expect: Iterable[int] | None = None) -> tuple[Element, list[str]]:
    """Delete an element by id; deleting a resource removes the constraints naming it.

    Returns the new CIB and the ids of every element removed.
    """
    check_expected(cib, expect)
    new = _edited(cib)
    el = find_id(new, ident)
    if el is None or (sec is not None and el not in section(new, sec).iter()):
        where = f" in <{sec}>" if sec else ""
        raise CibNotFound(f"no element with id {ident!r}{where}")
    removed = [ident]
    doomed = [el]
    parent = parent_of(el)
    if parent.tag == "group" and len(parent.findall("primitive")) == 1:
        doomed.append(parent)  # a group's last member takes the group with it
    inner = {e.get("id") for d in doomed if d.tag in RESOURCE_TAGS
             for e in d.iter(*RESOURCE_TAGS)}
    for tag, refs in CONSTRAINT_REFS.items():
        for con in list(section(new, "constraints").iter(tag)):
            if any(con.get(a) in inner for a in refs):
                parent_of(con).remove(con)
                removed.append(con.get("id", "?"))
    parent.remove(el)
    if len(doomed) > 1:
        parent_of(parent).remove(parent)
        removed.append(parent.get("id", "?"))
    return _commit(new), removed


def set_property(cib: Element, name: str, value: str | None, set_id: str = PROPERTY_SET,
                 expect: Iterable[int] | None = None) -> tuple[Element, bool]:
    """Set (or, with value None, delete) a cluster property. Returns (cib, changed)."""
    check_expected(cib, expect)
    if not name or not re.match(r"^[A-Za-z][\w-]*$", name):
        raise CibInvalid(f"property name {name!r} is not valid")
    current = get_property(cib, name, set_id)
    if current == value:
        return cib, False
    new = _edited(cib)
    crm = section(new, "crm_config")
    pset = crm.find(f"cluster_property_set[@id='{set_id}']")
    if pset is None:
        pset = etree.SubElement(crm, "cluster_property_set", id=set_id)
    nv = pset.find(f"nvpair[@name='{name}']")
    if value is None:
        if nv is not None:
            pset.remove(nv)
    elif nv is None:
        etree.SubElement(pset, "nvpair", id=f"{set_id}-{name}", name=name, value=value)
    else:
        nv.set("value", value)
    return _commit(new), True


def get_property(cib: Element, name: str, set_id: str | None = None) -> str | None:
    crm = cib.find("configuration/crm_config")
    if crm is None:
        return None
    for pset in crm.iter("cluster_property_set"):
        if set_id is not None and pset.get("id") != set_id:
            continue
        for nv in pset.iter("nvpair"):
            if nv.get("name") == name:
                return nv.get("value")
    return None


def ensure_nodes(cib: Element, nodes: Iterable[tuple[int, str]]) -> Element | None:
    """Make ``configuration/nodes`` list every configured node; None when nothing changed."""
    present = {n.get("uname") for n in cib.iterfind("configuration/nodes/node")}
    missing = [(i, name) for i, name in nodes if name not in present]
    if not missing:
        return None
    new = _edited(cib)
    sec = section(new, "nodes")
    for node_id, name in missing:
        etree.SubElement(sec, "node", id=str(node_id), uname=name)
    bump_epoch(new)
    return new


def primitive_element(ident: str, agent: str, params: dict[str, str] | None = None,
                      meta: dict[str, str] | None = None,
                      ops: list[dict[str, str]] | None = None) -> Element:
    """Build a ``<primitive>`` from an agent spec (``ocf:heartbeat:IPaddr2``) and options."""
    parts = agent.split(":")
    if len(parts) == 3 and parts[0] == "ocf" and all(parts):
        attrs = {"id": ident, "class": "ocf", "provider": parts[1], "type": parts[2]}
    elif len(parts) == 2 and parts[0] in ("stonith", "lsb", "systemd", "service") and parts[1]:
        attrs = {"id": ident, "class": parts[0], "type": parts[1]}
    else:
        raise CibInvalid(
            f"agent {agent!r} is not CLASS:PROVIDER:TYPE (ocf) or CLASS:TYPE "
            "(stonith, lsb, systemd, service)"
        )
    el = etree.Element("primitive", attrs)
    for tag, values in (("instance_attributes", params), ("meta_attributes", meta)):
        if values:
            aset = etree.SubElement(el, tag, id=f"{ident}-{tag}")
            for name, value in sorted(values.items()):
                etree.SubElement(aset, "nvpair", id=f"{ident}-{tag}-{name}", name=name,
                                 value=str(value))
    if ops:
        ops_el = etree.SubElement(el, "operations")
        for op in ops:
            name = str(op.get("name", ""))
            interval = str(op.get("interval", "0s"))
            op_attrs = {"id": f"{ident}-{name}-interval-{interval}", "name": name,
                        "interval": interval}
            op_attrs.update({k: str(v) for k, v in op.items() if k not in ("name", "interval")})
            etree.SubElement(ops_el, "op", op_attrs)
    return el
