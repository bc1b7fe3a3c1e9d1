# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Render a primitive from module parameters and plan the change against a live CIB.

Rules:

- ``params``, ``meta`` and ``ops`` are exact when given (an omitted parameter is removed,
  ``{}`` or ``[]`` removes the whole set) and left as they are when omitted (``None``);
  children the module does not manage (``utilization``...) are always kept.
- Ids are deterministic, Pacemaker style: ``ID-instance_attributes``,
  ``ID-instance_attributes-NAME``, ``ID-meta_attributes-NAME``, ``ID-monitor-interval-10s``.
  An object that already exists keeps its id (nvpairs matched by name, ops by name, interval
  and role), so an update in place changes only what changed. A generated id that another
  element already uses gets a ``-1``, ``-2``... suffix.
- Nothing here does IO: :func:`plan` takes the CIB read by the caller and returns before,
  after and whether they differ canonically.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

TWO_PART_CLASSES = ("stonith", "lsb", "systemd", "service", "upstart", "nagios")
_AGENT_PART_RE = re.compile(r"^[^:\s]+$")
_ATTR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
SET_TAGS = {"params": "instance_attributes", "meta": "meta_attributes"}
PARENT_TAGS = ("group", "clone", "master", "bundle")


class Agent(object):
    """A resource agent reference: ``ocf:PROVIDER:TYPE`` or ``CLASS:TYPE``."""

    def __init__(self, klass, provider, type_):
        self.klass = klass
        self.provider = provider
        self.type = type_

    def __str__(self):
        parts = [self.klass, self.provider, self.type]
        return ":".join(p for p in parts if p)


def parse_agent(text):
    """Parse an agent string; a malformed one fails with kind ``invalid``."""
    parts = str(text).split(":")
    if not all(_AGENT_PART_RE.match(p) for p in parts):
        parts = []
    if len(parts) == 3 and parts[0] == "ocf":
        return Agent(parts[0], parts[1], parts[2])
    if len(parts) == 2 and parts[0] in TWO_PART_CLASSES:
        return Agent(parts[0], None, parts[1])
    raise VigilError(
        "invalid",
        "agent %r is not 'ocf:PROVIDER:TYPE' or 'CLASS:TYPE' with CLASS one of %s"
        % (text, ", ".join(TWO_PART_CLASSES)))


def scalar_text(value, where):
    """The XML text of a parameter value: booleans as true/false, numbers as digits."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise VigilError("invalid", "%s: expected a string, number or boolean, got %s"
                     % (where, type(value).__name__))


def _interval_text(value, where):
    if isinstance(value, bool):
        raise VigilError("invalid", "%s: expected a duration such as 10s, got %r" % (where, value))
    text = "%ds" % value if isinstance(value, int) else scalar_text(value, where).strip()
    if cibxml.duration_ms(text) is None:
        raise VigilError("invalid", "%s: %r is not a duration (examples: 10s, 500ms, 2min)"
                         % (where, text))
    return text


def normalize_ops(ops):
    """Validate ``ops`` (a list of dicts) and return them with text values, in order."""
    result = []
    seen = {}
    for index, op in enumerate(ops):
        where = "ops[%d]" % index
        if not isinstance(op, dict):
            raise VigilError("invalid", "%s: expected a dict with at least 'name'" % where)
        name = op.get("name")
        if not isinstance(name, str) or not name.strip():
            raise VigilError("invalid", "%s: 'name' is required (monitor, start, stop...)" % where)
        attrs = {"name": name.strip()}
        attrs["interval"] = _interval_text(op.get("interval", "0s"), where + ".interval")
        for key, value in op.items():
            if key in ("name", "interval") or value is None:
                continue
            if not _ATTR_NAME_RE.match(str(key)):
                raise VigilError("invalid", "%s: %r is not a valid op attribute name" % (where, key))
            if key in ("timeout", "start-delay"):
                attrs[key] = _interval_text(value, "%s.%s" % (where, key))
            else:
                attrs[key] = scalar_text(value, "%s.%s" % (where, key))
        if "id" in attrs and not cibxml.valid_id(attrs["id"]):
            raise VigilError("invalid", "%s.id: %r is not a valid XML id" % (where, attrs["id"]))
        key = _op_key(attrs)
        if key in seen:
            raise VigilError("invalid", "%s: duplicates ops[%d] (same name, interval and role)"
                             % (where, seen[key]))
        seen[key] = index
        result.append(attrs)
    return result


def _op_key(attrs):
    return (attrs.get("name"), cibxml.duration_ms(attrs.get("interval", "0")), attrs.get("role", ""))


def normalize_attrs(values, option):
    """Validate a params/meta dict and return ``[(name, text)]`` in the order given."""
    result = []
    for name, value in values.items():
        if not str(name).strip():
            raise VigilError("invalid", "%s: an empty name is not allowed" % option)
        result.append((str(name), scalar_text(value, "%s.%s" % (option, name))))
    return result


class PrimitiveSpec(object):
    """What the user asks for. ``None`` for params/meta/ops means: keep what is there."""

    def __init__(self, rsc_id, agent, params=None, meta=None, ops=None):
        if not cibxml.valid_id(rsc_id or ""):
            raise VigilError("invalid", "id %r is not a valid XML id (start with a letter or _, "
                                        "then letters, digits, '.', '_' or '-')" % (rsc_id,))
        self.id = rsc_id
        self.agent = parse_agent(agent)
        self.params = None if params is None else normalize_attrs(params, "params")
        self.meta = None if meta is None else normalize_attrs(meta, "meta")
        self.ops = None if ops is None else normalize_ops(ops)


def _render_set(tag, rsc_id, pairs, live_sets, taken):
    live_ids = {}
    for live_set in live_sets:
        for nvpair in live_set.iter("nvpair"):
            live_ids.setdefault(nvpair.get("name"), nvpair.get("id"))
    if live_sets and live_sets[0].get("id"):
        set_id = live_sets[0].get("id")
        taken.add(set_id)
    else:
        set_id = cibxml.unique_id("%s-%s" % (rsc_id, tag), taken)
    elem = ET.Element(tag, {"id": set_id})
    for name, value in pairs:
        nv_id = live_ids.get(name)
        if nv_id and nv_id not in taken:
            taken.add(nv_id)
        else:
            nv_id = cibxml.unique_id("%s-%s" % (set_id, cibxml.id_part(name)), taken)
        ET.SubElement(elem, "nvpair", {"id": nv_id, "name": name, "value": value})
    return elem


def render_set(tag, owner_id, pairs, live_sets, taken):
    """An attribute set ``tag`` of ``owner_id`` with exactly ``pairs`` (groups, clones...).

    Ids follow the rules above: the live set's id and the live nvpairs' ids are kept.
    """
    return _render_set(tag, owner_id, pairs, live_sets, taken)


def _render_ops(rsc_id, ops, live_ops, taken):
    live_ids = {}
    for op in live_ops:
        live_ids.setdefault(_op_key(op.attrib), op.get("id"))
    elem = ET.Element("operations")
    for attrs in ops:
        attrs = dict(attrs)
        op_id = attrs.pop("id", None)
        if op_id is None:
            op_id = live_ids.get(_op_key(attrs))
            if op_id and op_id not in taken:
                taken.add(op_id)
            else:
                op_id = cibxml.unique_id("%s-%s-interval-%s" % (
                    rsc_id, cibxml.id_part(attrs["name"]), cibxml.id_part(attrs["interval"])), taken)
        else:
            taken.add(op_id)
        op = ET.SubElement(elem, "op", {"id": op_id})
        for key in ("name", "interval"):
            op.set(key, attrs.pop(key))
        for key in sorted(attrs):
            op.set(key, attrs[key])
    return elem


def render(spec, live=None, taken=None):
    """The desired <primitive>: ``spec`` applied to ``live`` (None when it does not exist)."""
    taken = set() if taken is None else set(taken)
    taken.add(spec.id)
    attrs = {"id": spec.id, "class": spec.agent.klass}
    if spec.agent.provider:
        attrs["provider"] = spec.agent.provider
    attrs["type"] = spec.agent.type
    prim = ET.Element("primitive", attrs)
    live_children = [] if live is None else [c for c in live if isinstance(c.tag, str)]

    for option, tag in (("params", "instance_attributes"), ("meta", "meta_attributes")):
        wanted = getattr(spec, option)
        live_sets = [c for c in live_children if c.tag == tag]
        if wanted is None:
            for live_set in live_sets:
                prim.append(copy.deepcopy(live_set))
        elif wanted:
            prim.append(_render_set(tag, spec.id, wanted, live_sets, taken))

    live_ops = [op for c in live_children if c.tag == "operations" for op in c if op.tag == "op"]
    if spec.ops is None:
        for child in live_children:
            if child.tag == "operations":
                prim.append(copy.deepcopy(child))
    elif spec.ops:
        prim.append(_render_ops(spec.id, spec.ops, live_ops, taken))

    for child in live_children:
        if child.tag not in ("instance_attributes", "meta_attributes", "operations"):
            prim.append(copy.deepcopy(child))
    return prim


def describe(prim, parent=None):
    """The dict form of a <primitive> returned to the user (None for None)."""
    if prim is None:
        return None
    result = {
        "id": prim.get("id"),
        "class": prim.get("class"),
        "provider": prim.get("provider"),
        "type": prim.get("type"),
        "agent": ":".join(p for p in (prim.get("class"), prim.get("provider"), prim.get("type")) if p),
        "params": {},
        "meta": {},
        "ops": [],
        "parent": parent.get("id") if parent is not None and parent.tag in PARENT_TAGS else None,
    }
    for option, tag in (("params", "instance_attributes"), ("meta", "meta_attributes")):
        for attr_set in prim.findall(tag):
            for nvpair in attr_set.findall("nvpair"):
                result[option][nvpair.get("name")] = nvpair.get("value")
    for op in prim.findall("operations/op"):
        result["ops"].append(dict(op.attrib))
    return result


class Plan(object):
    """The outcome of comparing the desired state with the CIB that was read.

    ``removed`` lists, for a deletion, every element that goes: the primitive (or the group
    it leaves empty) and the constraints that name it.
    """

    def __init__(self, before, after, parent, removed=()):
        self.before = before
        self.after = after
        self.parent = parent
        self.removed = list(removed)
        self.changed = not cibxml.equal(before, after)

    @property
    def removed_ids(self):
        return [elem.get("id") for elem in self.removed]

    @property
    def action(self):
        if not self.changed:
            return "none"
        if self.after is None:
            return "delete"
        return "create" if self.before is None else "update"


def plan(cib, spec, state="present"):
    """Compare ``spec`` (a PrimitiveSpec, or an id string when state is absent) with ``cib``."""
    conf = cibxml.configuration(cib)
    rsc_id = spec if isinstance(spec, str) else spec.id
    live, parent = cibxml.find_by_id(conf, rsc_id)
    if live is not None and live.tag != "primitive":
        raise VigilError("invalid", "id %r is already used by a <%s> element; cib_resource "
                                    "manages <primitive> elements only" % (rsc_id, live.tag))
    if state == "absent":
        removed = [pair[0] for pair in cibxml.deletion(conf, rsc_id)]
        return Plan(live, None, parent, removed)
    taken = cibxml.all_ids(conf, exclude=live)
    return Plan(live, render(spec, live, taken), parent)
