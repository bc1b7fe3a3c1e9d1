# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Groups and clones: edits of the resource tree of a <configuration>, in place.

Rules:

- A group lists primitives in start order. Declaring it moves the listed primitives into it
  (from the top level or from another group, which must not be left empty); members it no
  longer lists go back to the top level, right after it. ``meta`` is exact when given and
  kept when omitted.
- Removing a group ungroups it: its members go back to the top level where it was, and the
  constraints that name the group go. With ``delete_members`` the members go too, with every
  constraint that names one of them.
- A clone wraps one top-level primitive or group, taking its place. ``promotable`` is the
  Pacemaker 2.1 ``promotable=true`` meta attribute. Removing a clone puts its child back
  where the clone was and removes the constraints that name the clone.
- Fence devices are neither grouped nor cloned.
- Nothing here does IO; every function edits the configuration it is given and raises a
  VigilError (kind ``invalid``) naming what is wrong before changing anything.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import primitive
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError
from ansible_collections.vigil.cluster.plugins.module_utils.params import Options, truthy

MAX_LISTED = 20


def listing(ids):
    """``a, b, c`` for an error message (``none`` when empty, shortened when long)."""
    ids = sorted(set(i for i in ids if i))
    if not ids:
        return "none"
    more = len(ids) - MAX_LISTED
    text = ", ".join(ids[:MAX_LISTED])
    return text + (" and %d more" % more if more > 0 else "")


def section(conf, name):
    """The section ``name`` of ``conf``, created (empty) when missing."""
    found = conf.find(name)
    if found is None:
        found = ET.SubElement(conf, name)
    return found


def resource_elements(conf):
    """Every resource element (primitives, groups, clones... at any depth)."""
    holder = conf.find("resources")
    if holder is None:
        return []
    return [e for e in holder.iter() if e is not holder and e.tag in cibxml.RESOURCE_TAGS]


def is_fence_device(elem):
    return elem is not None and elem.tag == "primitive" and elem.get("class") == "stonith"


def check_id(rsc_id, what):
    if not cibxml.valid_id(rsc_id or ""):
        raise VigilError("invalid", "%s %r is not a valid XML id (start with a letter or _, "
                                    "then letters, digits, '.', '_' or '-')" % (what, rsc_id))


def child_resource(elem):
    """The first resource element directly inside ``elem`` (a clone's child), or None."""
    for child in elem:
        if child.tag in cibxml.RESOURCE_TAGS:
            return child
    return None


def drop_constraints(conf, ids):
    """Remove the constraints that name a resource in ``ids``; return their ids."""
    holder = conf.find("constraints")
    removed = []
    for con in [] if holder is None else list(holder):
        if any(con.get(attr) in ids for attr in cibxml.CONSTRAINT_REFS.get(con.tag, ())):
            holder.remove(con)
            removed.append(con.get("id"))
    return removed


def remove_resource(conf, elem, parent):
    """Remove ``elem`` as the daemon deletes it: a group or clone it empties goes with it,
    and so do the constraints naming any of the removed resources."""
    while parent.tag in ("group", "clone", "master") and len(
            [c for c in parent if c.tag in cibxml.RESOURCE_TAGS]) == 1:
        elem, parent = cibxml.find_by_id(conf, parent.get("id"))
    parent.remove(elem)
    drop_constraints(conf, set(e.get("id") for e in elem.iter() if e.tag in cibxml.RESOURCE_TAGS))


def devices_of(level):
    """The device ids of a <fencing-level>, in order."""
    return [d for d in re.split(r"[\s,]+", level.get("devices", "")) if d]


def levels_using(conf, device_id):
    """The fencing levels whose devices include ``device_id``."""
    topology = conf.find("fencing-topology")
    return [lv for lv in ([] if topology is None else topology.findall("fencing-level"))
            if device_id in devices_of(lv)]


def check_unused_device(conf, device_id):
    """Fail when a fencing level uses the fence device ``device_id``."""
    users = levels_using(conf, device_id)
    if users:
        raise VigilError("invalid", "fence device %r is used by fencing level%s %s; remove it "
                                    "from %s first" % (
                                        device_id, "s" if len(users) > 1 else "",
                                        ", ".join("%s (%s, index %s)" % (
                                            lv.get("id"), lv.get("target"), lv.get("index"))
                                            for lv in users),
                                        "them" if len(users) > 1 else "it"))


def edit_primitive(conf, rsc_id, spec, state="present"):
    """Create or update (``spec``, a PrimitiveSpec) or remove (state absent) a primitive.

    Removal goes as the daemon does it (:func:`remove_resource`); a fence device that a
    fencing level uses is not removed.
    """
    live, parent = cibxml.find_by_id(conf, rsc_id)
    if live is not None and live.tag != "primitive":
        raise VigilError("invalid", "id %r is already used by a <%s> element, not a primitive"
                         % (rsc_id, live.tag))
    if state == "absent":
        if live is not None:
            if is_fence_device(live):
                check_unused_device(conf, rsc_id)
            remove_resource(conf, live, parent)
        return
    elem = primitive.render(spec, live, cibxml.all_ids(conf, exclude=live))
    if live is None:
        section(conf, "resources").append(elem)
        return
    index = list(parent).index(live)
    parent.remove(live)
    parent.insert(index, elem)


def _top_level(conf, elem_id):
    """The direct child of <resources> that is or contains ``elem_id``."""
    holder = conf.find("resources")
    for child in [] if holder is None else list(holder):
        if any(e.get("id") == elem_id for e in child.iter()):
            return child
    return None


def _meta_pairs(elem):
    pairs = []
    for attr_set in elem.findall("meta_attributes"):
        for nvpair in attr_set.findall("nvpair"):
            pairs.append((nvpair.get("name"), nvpair.get("value")))
    return pairs


def _taken_except_meta(conf, live):
    skip = set()
    if live is not None:
        for attr_set in live.findall("meta_attributes"):
            skip.update(id(e) for e in attr_set.iter())
    return set(e.get("id") for e in conf.iter() if e.get("id") and id(e) not in skip)


def _meta_children(owner_id, live, pairs, conf):
    """The meta_attributes of ``owner_id``: exact ``pairs``, or the live sets when None."""
    live_sets = [] if live is None else live.findall("meta_attributes")
    if pairs is None:
        return [copy.deepcopy(s) for s in live_sets]
    if not pairs:
        return []
    taken = _taken_except_meta(conf, live)
    return [primitive.render_set("meta_attributes", owner_id, pairs, live_sets, taken)]


def _other_children(live):
    if live is None:
        return []
    return [c for c in live if c.tag != "meta_attributes" and c.tag not in cibxml.RESOURCE_TAGS
            and isinstance(c.tag, str)]


# ---------------------------------------------------------------- groups

class GroupSpec(object):
    """``cib_group``'s options (``members``/``meta`` None: keep what is there)."""

    KEYS = ("id", "members", "meta", "state", "delete_members")

    def __init__(self, values, where=""):
        opts = Options(values, where, self.KEYS + ("kind",))
        self.id = opts.text("id", required=True)
        check_id(self.id, opts.name("id"))
        self.state = opts.state()
        self.members = opts.str_list("members")
        if self.members is not None and not self.members and self.state == "present":
            opts.fail("members", "a group needs at least one member")
        meta = opts.mapping("meta")
        self.meta = None if meta is None else primitive.normalize_attrs(meta, opts.name("meta"))
        self.delete_members = opts.flag("delete_members", default=False)
        self.where = opts


def edit_group(conf, spec):
    """Apply a GroupSpec to ``conf``."""
    live, parent = cibxml.find_by_id(conf, spec.id)
    if live is not None and live.tag != "group":
        raise VigilError("invalid", "id %r is already used by a <%s> element; cib_group "
                                    "manages <group> elements only" % (spec.id, live.tag))
    if spec.state == "absent":
        if live is not None:
            _remove_group(conf, live, parent, spec.delete_members)
        return
    if live is None and spec.members is None:
        spec.where.fail("members", "is required to create group %r" % spec.id)
    members = spec.members
    if members is None:
        members = [p.get("id") for p in live.findall("primitive")]
    moving = [_check_member(conf, spec, live, m, members) for m in members]

    group = ET.Element("group", dict(live.attrib) if live is not None else {"id": spec.id})
    for child in _meta_children(spec.id, live, spec.meta, conf) + _other_children(live):
        group.append(child)
    released = [] if live is None else [p for p in live.findall("primitive")
                                        if p.get("id") not in members]
    for elem, elem_parent in moving:
        elem_parent.remove(elem)
        group.append(elem)
    holder = section(conf, "resources")
    if live is None:
        holder.append(group)
        return
    index = list(parent).index(live)
    parent.remove(live)
    parent.insert(index, group)
    after = list(holder).index(_top_level(conf, spec.id)) + 1
    for offset, elem in enumerate(released):
        holder.insert(after + offset, elem)


def _check_member(conf, spec, live, member, members):
    elem, parent = cibxml.find_by_id(conf, member)
    where = spec.where.name("members")
    if elem is None or elem.tag != "primitive":
        raise VigilError("invalid", "%s: %s (primitives: %s)" % (
            where, "no primitive with id %r" % member if elem is None
            else "%r is a <%s>, not a primitive" % (member, elem.tag),
            listing(e.get("id") for e in resource_elements(conf) if e.tag == "primitive"
                    and not is_fence_device(e))))
    if is_fence_device(elem):
        raise VigilError("invalid", "%s: %r is a fence device; fence devices cannot be "
                                    "grouped" % (where, member))
    if parent is live or parent.tag == "resources":
        return elem, parent
    if parent.tag == "group":
        staying = [p for p in parent.findall("primitive") if p.get("id") not in members]
        if not staying:
            raise VigilError("invalid", "%s: moving %r would leave group %r empty; remove that "
                                        "group first" % (where, member, parent.get("id")))
        return elem, parent
    raise VigilError("invalid", "%s: %r is inside <%s id=%r>; only a top-level primitive or a "
                                "member of another group can join a group"
                     % (where, member, parent.tag, parent.get("id")))


def _remove_group(conf, live, parent, delete_members):
    if delete_members:
        remove_resource(conf, live, parent)
        return
    if parent.tag != "resources":
        raise VigilError("invalid", "group %r is inside <%s id=%r>: its members cannot go back "
                                    "to the top level; remove the clone first, or set "
                                    "delete_members" % (live.get("id"), parent.tag,
                                                        parent.get("id")))
    index = list(parent).index(live)
    parent.remove(live)
    for offset, member in enumerate(live.findall("primitive")):
        parent.insert(index + offset, member)
    drop_constraints(conf, set([live.get("id")]))


def describe_group(elem, parent=None):
    """The dict form of a <group> (``cib_group``'s options, plus ``parent``)."""
    if elem is None:
        return None
    return dict(
        id=elem.get("id"),
        members=[p.get("id") for p in elem.findall("primitive")],
        meta=dict(_meta_pairs(elem)),
        parent=parent.get("id") if parent is not None and parent.tag != "resources" else None,
    )


# ---------------------------------------------------------------- clones

class CloneSpec(object):
    """``cib_clone``'s options (``resource``, ``promotable``, ``meta`` None: keep)."""

    KEYS = ("id", "resource", "promotable", "meta", "state")

    def __init__(self, values, where=""):
        opts = Options(values, where, self.KEYS + ("kind",))
        self.id = opts.text("id", required=True)
        check_id(self.id, opts.name("id"))
        self.state = opts.state()
        self.resource = opts.text("resource")
        self.promotable = opts.flag("promotable")
        meta = opts.mapping("meta")
        self.meta = None if meta is None else primitive.normalize_attrs(meta, opts.name("meta"))
        if self.meta is not None and self.promotable is not None:
            for name, value in self.meta:
                if name == "promotable" and truthy(value) != self.promotable:
                    opts.fail("meta", "promotable=%s contradicts the option promotable=%s"
                              % (value, self.promotable))
        self.where = opts


def edit_clone(conf, spec):
    """Apply a CloneSpec to ``conf``."""
    live, parent = cibxml.find_by_id(conf, spec.id)
    if live is not None and live.tag != "clone":
        raise VigilError("invalid", "id %r is already used by a <%s> element; cib_clone "
                                    "manages <clone> elements only" % (spec.id, live.tag))
    if spec.state == "absent":
        if live is not None:
            _unwrap(conf, live, parent)
        return
    child = None if live is None else child_resource(live)
    if live is None:
        if spec.resource is None:
            spec.where.fail("resource", "is required to create clone %r" % spec.id)
        child, child_parent = _check_clone_target(conf, spec)
        parent, position = child_parent, list(child_parent).index(child)
    else:
        if spec.resource is not None and (child is None or child.get("id") != spec.resource):
            raise VigilError("invalid", "%s: clone %r wraps %r, not %r; remove the clone first "
                                        "(state=absent) to wrap another resource" % (
                                            spec.where.name("resource"), spec.id,
                                            child.get("id") if child is not None else None,
                                            spec.resource))
        position = list(parent).index(live)
    clone = ET.Element("clone", dict(live.attrib) if live is not None else {"id": spec.id})
    for elem in _clone_meta(conf, spec, live) + _other_children(live):
        clone.append(elem)
    if child is not None:
        clone.append(child)
    parent.remove(live if live is not None else child)
    parent.insert(position, clone)


def _check_clone_target(conf, spec):
    elem, parent = cibxml.find_by_id(conf, spec.resource)
    where = spec.where.name("resource")
    if elem is None or elem.tag not in ("primitive", "group"):
        raise VigilError("invalid", "%s: %s (top-level primitives and groups: %s)" % (
            where, "no resource with id %r" % spec.resource if elem is None
            else "%r is a <%s>, not a primitive or group" % (spec.resource, elem.tag),
            listing(e.get("id") for e in section(conf, "resources")
                    if e.tag in ("primitive", "group") and not is_fence_device(e))))
    if is_fence_device(elem):
        raise VigilError("invalid", "%s: %r is a fence device; fence devices cannot be cloned"
                         % (where, spec.resource))
    if parent.tag != "resources":
        raise VigilError("invalid", "%s: %r is inside <%s id=%r>; only a top-level primitive or "
                                    "group can be cloned" % (where, spec.resource, parent.tag,
                                                             parent.get("id")))
    return elem, parent


def _clone_meta(conf, spec, live):
    live_pairs = [] if live is None else _meta_pairs(live)
    live_promotable = truthy(dict(live_pairs).get("promotable"))
    if spec.meta is None and (spec.promotable is None or spec.promotable == live_promotable):
        return _meta_children(spec.id, live, None, conf)
    pairs = list(spec.meta if spec.meta is not None else live_pairs)
    promotable = spec.promotable
    if promotable is None:
        given = dict(pairs).get("promotable")
        promotable = truthy(given) if given is not None else live_promotable
    pairs = [(n, v) for n, v in pairs if n != "promotable"]
    if promotable:
        pairs.append(("promotable", "true"))
    return _meta_children(spec.id, live, pairs, conf)


def _unwrap(conf, live, parent):
    index = list(parent).index(live)
    parent.remove(live)
    child = child_resource(live)
    if child is not None:
        parent.insert(index, child)
    drop_constraints(conf, set([live.get("id")]))


def describe_clone(elem):
    """The dict form of a <clone> (``cib_clone``'s options; ``meta`` without promotable)."""
    if elem is None:
        return None
    pairs = _meta_pairs(elem)
    child = child_resource(elem)
    return dict(
        id=elem.get("id"),
        resource=child.get("id") if child is not None else None,
        promotable=truthy(dict(pairs).get("promotable")),
        meta=dict((n, v) for n, v in pairs if n != "promotable"),
    )
