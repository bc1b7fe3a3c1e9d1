# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Canonical form, display and lookup of CIB XML elements (stdlib only).

Rules of the canonical form (two elements are equal when Pacemaker treats them alike):

- attribute order never matters;
- the children of an attribute set (``instance_attributes``, ``meta_attributes``,
  ``utilization``, ``cluster_property_set``...) and of ``operations`` are a set: their
  order never matters;
- elsewhere, children are grouped by tag (a primitive's ``meta_attributes`` may come before
  or after its ``operations``), and order is kept among children of one tag (group members
  start in order; attribute sets of one kind are evaluated in order);
- durations on ``op`` (``interval``, ``timeout``, ``start-delay``) compare by value:
  ``10``, ``10s`` and ``10000ms`` are the same interval;
- comments and whitespace between elements are ignored.

:func:`display` prints an element in a stable order for before/after diffs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

SECTIONS = ("crm_config", "nodes", "resources", "constraints", "rsc_defaults",
            "op_defaults", "fencing-topology")

# Containers whose children form a set.
UNORDERED = frozenset(("instance_attributes", "meta_attributes", "utilization",
                       "cluster_property_set", "operations", "constraints",
                       "fencing-topology"))

DURATION_ATTRS = frozenset(("interval", "timeout", "start-delay"))

RESOURCE_TAGS = ("primitive", "group", "clone", "master", "bundle")
# Attributes through which a constraint names a resource.
CONSTRAINT_REFS = {
    "rsc_location": ("rsc",),
    "rsc_colocation": ("rsc", "with-rsc"),
    "rsc_order": ("first", "then"),
    "rsc_ticket": ("rsc",),
}

_DURATION_UNITS_MS = {
    "": 1000, "s": 1000, "sec": 1000, "secs": 1000, "second": 1000, "seconds": 1000,
    "ms": 1, "msec": 1, "msecs": 1,
    "us": 0.001, "usec": 0.001, "usecs": 0.001,
    "m": 60000, "min": 60000, "mins": 60000, "minute": 60000, "minutes": 60000,
    "h": 3600000, "hr": 3600000, "hour": 3600000, "hours": 3600000,
}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_ISO_RE = re.compile(r"^P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)$", re.IGNORECASE)

_ID_FIRST_RE = re.compile(r"^[A-Za-z_]")
_ID_BAD_CHARS_RE = re.compile(r"[^A-Za-z0-9_.-]")

DISPLAY_ATTR_ORDER = ("id", "name", "class", "provider", "type", "interval", "value")


def duration_ms(text):
    """Return a Pacemaker duration in milliseconds, or None when it cannot be parsed."""
    if text is None:
        return None
    text = str(text).strip()
    match = _DURATION_RE.match(text)
    if match:
        unit = match.group(2).lower()
        if unit not in _DURATION_UNITS_MS:
            return None
        return int(round(float(match.group(1)) * _DURATION_UNITS_MS[unit]))
    match = _ISO_RE.match(text)
    if match and any(match.groups()):
        hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
        return int(round(((hours * 60 + minutes) * 60 + seconds) * 1000))
    return None


def parse_xml(text, what="XML"):
    """Parse ``text``; a syntax error becomes a VigilError of kind ``invalid``."""
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise VigilError("invalid", "%s is not well-formed XML: %s" % (what, exc))


def _canonical_attrs(elem):
    items = []
    for key, value in elem.attrib.items():
        if elem.tag == "op" and key in DURATION_ATTRS:
            parsed = duration_ms(value)
            if parsed is not None:
                value = "%dms" % parsed
        items.append((key, value))
    return tuple(sorted(items))


def canonical(elem):
    """Return a hashable value equal for two elements exactly when they mean the same."""
    text = (elem.text or "").strip()
    children = [canonical(child) for child in elem if isinstance(child.tag, str)]
    if elem.tag in UNORDERED:
        children.sort()
    else:
        # Group by tag, keep the order inside one tag (sort is stable).
        children.sort(key=lambda c: c[0])
    return (elem.tag, _canonical_attrs(elem), text, tuple(children))


def equal(left, right):
    """True when both are None, or both are elements with the same canonical form."""
    if left is None or right is None:
        return left is None and right is None
    return canonical(left) == canonical(right)


def _display_key(elem):
    if elem.tag == "op":
        interval = duration_ms(elem.get("interval", "0"))
        return (elem.get("name", ""), interval if interval is not None else -1,
                elem.get("role", ""), elem.get("id", ""))
    return (elem.get("name", ""), elem.get("id", ""))


def _display_copy(elem):
    copy = ET.Element(elem.tag)
    ordered = [k for k in DISPLAY_ATTR_ORDER if k in elem.attrib]
    ordered += sorted(k for k in elem.attrib if k not in DISPLAY_ATTR_ORDER)
    for key in ordered:
        copy.set(key, elem.attrib[key])
    text = (elem.text or "").strip()
    if text:
        copy.text = text
    children = [c for c in elem if isinstance(c.tag, str)]
    if elem.tag in UNORDERED:
        children.sort(key=_display_key)
    for child in children:
        copy.append(_display_copy(child))
    return copy


def indent(elem, level=0, step="  "):
    """Indent ``elem`` in place for readable output (ElementTree.indent needs Python 3.9)."""
    pad = "\n" + step * level
    children = list(elem)
    if children:
        if not (elem.text or "").strip():
            elem.text = pad + step
        for child in children:
            indent(child, level + 1, step)
            if not (child.tail or "").strip():
                child.tail = pad + step
        if not (children[-1].tail or "").strip():
            children[-1].tail = pad
    if level and not (elem.tail or "").strip():
        elem.tail = pad


def to_text(elem, pretty=True):
    """Serialize ``elem`` (a unicode string, no XML declaration)."""
    if pretty:
        indent(elem)
    # ElementTree writes "<a />"; Pacemaker's tools write "<a/>". ">" is always escaped
    # inside attribute values and text, so " />" only ends empty elements.
    return ET.tostring(elem, encoding="unicode").replace(" />", "/>")


def display(elem):
    """Readable, stable text of ``elem`` for a diff: '' for None, a newline at the end."""
    if elem is None:
        return ""
    copy = _display_copy(elem)
    copy.tail = None
    return to_text(copy) + "\n"


def valid_id(value):
    """True when ``value`` can be an XML ID (what Pacemaker requires of every id)."""
    return bool(value) and bool(_ID_FIRST_RE.match(value)) and not _ID_BAD_CHARS_RE.search(value)


def id_part(value):
    """Turn any text into something that may appear inside an id (Pacemaker style)."""
    return _ID_BAD_CHARS_RE.sub("_", str(value))


def configuration(cib):
    """Return the <configuration> element of a <cib>, or fail with kind ``invalid``."""
    if cib.tag == "configuration":
        return cib
    conf = cib.find("configuration")
    if cib.tag != "cib" or conf is None:
        raise VigilError("invalid", "expected a <cib> element with a <configuration>, got <%s>"
                         % cib.tag)
    return conf


def find_by_id(root, elem_id):
    """Return ``(element, parent)`` for the element with ``id`` under ``root``, or (None, None)."""
    for parent in root.iter():
        for child in parent:
            if child.get("id") == elem_id:
                return child, parent
    return None, None


def all_ids(root, exclude=None):
    """Every id used under ``root``, except those inside ``exclude`` (an element)."""
    skipped = set()
    if exclude is not None:
        skipped = set(id(e) for e in exclude.iter())
    return set(e.get("id") for e in root.iter() if e.get("id") and id(e) not in skipped)


def unique_id(wanted, taken):
    """``wanted`` if free, else ``wanted-1``, ``wanted-2``...; the result is added to taken."""
    candidate = wanted
    counter = 0
    while candidate in taken:
        counter += 1
        candidate = "%s-%d" % (wanted, counter)
    taken.add(candidate)
    return candidate


def deletion(conf, elem_id):
    """What deleting ``elem_id`` removes, as the daemon does it: ``[(element, parent)]``.

    A primitive that is the last one of its group takes the group with it. Deleting a
    resource also deletes the constraints that name it (or a resource inside it). Empty when
    there is no such element.
    """
    elem, parent = find_by_id(conf, elem_id)
    if elem is None:
        return []
    if parent is not None and parent.tag == "group" and len(parent.findall("primitive")) == 1:
        elem, parent = find_by_id(conf, parent.get("id"))
    removed = [(elem, parent)]
    if elem.tag in RESOURCE_TAGS:
        inner = set(e.get("id") for e in elem.iter() if e.tag in RESOURCE_TAGS)
        constraints = conf.find("constraints")
        for con in [] if constraints is None else list(constraints):
            if any(con.get(attr) in inner for attr in CONSTRAINT_REFS.get(con.tag, ())):
                removed.append((con, constraints))
    return removed


def version_of(cib):
    """The ``[admin_epoch, epoch, num_updates]`` of a <cib> element."""
    try:
        return [int(cib.get(k, "0")) for k in ("admin_epoch", "epoch", "num_updates")]
    except ValueError:
        raise VigilError("invalid", "the <cib> element has a non-numeric version attribute")
