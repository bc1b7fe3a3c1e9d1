# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Declarative configuration for ``vigil.cluster.cib``: many objects, one atomic write.

Rules:

- ``config`` holds the same shapes as the single-object modules (cib_resource, cib_group,
  cib_clone, cib_constraint, cib_property, cib_stonith, cib_stonith_level) and is applied
  with their edit functions, in an order that lets objects name each other: the raw
  ``xml`` fragment, fence devices, primitives, groups, clones, properties and defaults,
  constraints, fencing levels. Everything is checked before the CIB is read.
- ``merge`` creates or updates what is declared and touches nothing else.
- ``replace`` also removes the objects whose id is ``owned`` (a prefix, or a regular
  expression when it starts with ``^``) and that are not declared: fencing levels,
  constraints, clones and groups (their children stay, unless owned too), primitives. It
  never removes anything it does not own: when a removal would take an object that is not
  owned with it (a constraint naming a removed resource), nothing is written and the error
  names that object. Properties and defaults are always merged.
"""

from __future__ import annotations

import re

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import (
    constraints,
    fencing,
    primitive,
    properties,
    resources,
)
from ansible_collections.vigil.cluster.plugins.module_utils.backend import apply_put
from ansible_collections.vigil.cluster.plugins.module_utils.changes import significant_ids
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError
from ansible_collections.vigil.cluster.plugins.module_utils.params import Options

CONFIG_KEYS = ("resources", "constraints", "properties", "rsc_defaults", "op_defaults",
               "stonith", "stonith_levels")
PRIMITIVE_KEYS = ("kind", "id", "agent", "params", "meta", "ops", "state")
KINDS = ("primitive", "group", "clone")


class PrimitiveItem(object):
    """A primitive of ``config.resources`` (cib_resource's options)."""

    def __init__(self, values, where):
        opts = Options(values, where, PRIMITIVE_KEYS)
        self.id = opts.text("id", required=True)
        self.state = opts.state()
        self.where = opts
        self.spec = None
        if self.state == "present":
            self.spec = primitive.PrimitiveSpec(
                self.id, opts.text("agent", required=True), opts.mapping("params"),
                opts.mapping("meta"), opts.items("ops"))


def _kind(item, where):
    if not isinstance(item, dict):
        raise VigilError("invalid", "%s: expected a dict, got %s" % (where, type(item).__name__))
    kind = item.get("kind")
    if kind is None:
        found = [k for k, key in (("primitive", "agent"), ("group", "members"),
                                  ("clone", "resource")) if item.get(key) is not None]
        if len(found) != 1:
            raise VigilError("invalid", "%s: say which kind of resource this is with kind "
                                        "(primitive, group or clone)" % where)
        return found[0]
    if kind not in KINDS:
        raise VigilError("invalid", "%s.kind: %r is not one of %s"
                         % (where, kind, ", ".join(KINDS)))
    return kind


def owner(patterns):
    """A predicate on ids from ``owned``: prefixes, or regular expressions starting with ^."""
    tests = []
    for index, pattern in enumerate(patterns or []):
        if not isinstance(pattern, str) or not pattern:
            raise VigilError("invalid", "owned[%d]: expected a non-empty string" % index)
        if pattern.startswith("^"):
            try:
                tests.append(re.compile(pattern).match)
            except re.error as exc:
                raise VigilError("invalid", "owned[%d]: %r is not a regular expression: %s"
                                 % (index, pattern, exc)) from None
        else:
            tests.append(lambda text, prefix=pattern: text.startswith(prefix))
    return lambda elem_id: any(test(elem_id) for test in tests)


class Declaration(object):
    """Everything ``config`` and ``xml`` declare, checked."""

    def __init__(self, config, xml=None, mode="merge", owned=None):
        opts = Options(config or {}, "config", CONFIG_KEYS)
        self.mode = mode
        if mode == "replace" and not owned:
            raise VigilError("invalid", "owned: mode=replace needs the id prefixes or patterns "
                                        "this play owns (it removes only those)")
        self.owns = owner(owned)
        self.fragment = _fragment(xml) if xml else []
        self.devices = [fencing.StonithSpec(v, "config.stonith[%d]" % i)
                        for i, v in enumerate(opts.items("stonith") or [])]
        self.primitives, self.groups, self.clones = [], [], []
        for index, item in enumerate(opts.items("resources") or []):
            where = "config.resources[%d]" % index
            kind = _kind(item, where)
            if kind == "primitive":
                self.primitives.append(PrimitiveItem(item, where))
            elif kind == "group":
                self.groups.append(resources.GroupSpec(item, where))
            else:
                self.clones.append(resources.CloneSpec(item, where))
        self.settings = []
        for scope, key in (("crm_config", "properties"), ("rsc_defaults", "rsc_defaults"),
                           ("op_defaults", "op_defaults")):
            values = opts.mapping(key)
            if values:
                self.settings.append((scope, properties.normalize(values, "config." + key)))
        self.constraints = [constraints.ConstraintSpec(v, "config.constraints[%d]" % i)
                            for i, v in enumerate(opts.items("constraints") or [])]
        self.levels = [fencing.LevelSpec(v, "config.stonith_levels[%d]" % i)
                       for i, v in enumerate(opts.items("stonith_levels") or [])]
        self._check_unique()

    def _check_unique(self):
        seen = {}
        named = [(s.id, s.where.where) for s in self.devices + self.primitives + self.groups
                 + self.clones + self.constraints]
        named += [("level %s/%d" % (s.node, s.index), s.where.where) for s in self.levels]
        for name, where in named:
            if name in seen:
                raise VigilError("invalid", "%s: %r is declared twice (also in %s)"
                                 % (where, name, seen[name]))
            seen[name] = where

    def agents(self):
        """The agents of the primitives and fence devices declared present."""
        found = [p.spec.agent for p in self.primitives if p.spec is not None]
        found += [d.spec.agent for d in self.devices if d.spec is not None]
        return sorted(set(str(a) for a in found))

    def edit(self, conf):
        """Apply the declaration to ``conf`` in place."""
        for section, elem in self.fragment:
            apply_put(conf, section, elem)
        for device in self.devices:
            fencing.edit_device(conf, device)
        for item in self.primitives:
            resources.edit_primitive(conf, item.id, item.spec, item.state)
        for spec in self.groups:
            resources.edit_group(conf, spec)
        for spec in self.clones:
            resources.edit_clone(conf, spec)
        for scope, values in self.settings:
            properties.edit(conf, scope, values)
        for spec in self.constraints:
            constraints.edit(conf, spec)
        for spec in self.levels:
            fencing.edit_level(conf, spec)
        if self.mode == "replace":
            self._remove_undeclared(conf)

    def declared_ids(self, conf):
        ids = set()
        for _section, elem in self.fragment:
            ids.update(e.get("id") for e in elem.iter() if e.get("id"))
        for group in (self.devices, self.primitives, self.groups, self.clones,
                      self.constraints):
            ids.update(s.id for s in group if s.state == "present")
        for spec in self.levels:
            level, _topology = fencing.find_level(conf, spec.node, spec.index)
            if level is not None and spec.state == "present":
                ids.add(level.get("id"))
        return ids

    def _remove_undeclared(self, conf):
        declared = self.declared_ids(conf)
        before = significant_ids(conf)

        def doomed(elem):
            return self.owns(elem.get("id") or "") and elem.get("id") not in declared

        topology = conf.find("fencing-topology")
        for level in [] if topology is None else list(topology):
            if doomed(level):
                topology.remove(level)
        holder = conf.find("constraints")
        for con in [] if holder is None else list(holder):
            if doomed(con):
                holder.remove(con)
        for tag, remove in (("clone", _unwrap), ("group", _ungroup), ("primitive", _delete)):
            for elem in resources.resource_elements(conf):
                if elem.tag == tag and doomed(elem):
                    remove(conf, elem)
        after = set(significant_ids(conf))
        lost = [i for i in before if i not in after and i in declared]
        if lost:
            raise VigilError("invalid", "mode=replace would remove %s, which this play declares "
                                        "(inside an owned object that is removed)"
                             % resources.listing(lost))
        foreign = [i for i in before if i not in after and not self.owns(i)]
        if foreign:
            raise VigilError("invalid", "mode=replace would also remove %s, which this play does "
                                        "not own (constraints naming a removed resource?): own "
                                        "them, declare what they need, or remove them first"
                             % resources.listing(foreign))


def _unwrap(conf, elem):
    resources.edit_clone(conf, resources.CloneSpec(dict(id=elem.get("id"), state="absent")))


def _ungroup(conf, elem):
    resources.edit_group(conf, resources.GroupSpec(dict(id=elem.get("id"), state="absent")))


def _delete(conf, elem):
    resources.edit_primitive(conf, elem.get("id"), None, "absent")


def _fragment(text):
    """``[(section, element)]`` from a <configuration> or one section element."""
    root = cibxml.parse_xml(text, "xml")
    if root.tag == "configuration":
        sections = [s for s in root if isinstance(s.tag, str)]
    elif root.tag in cibxml.SECTIONS:
        sections = [root]
    else:
        raise VigilError("invalid", "xml: expected <configuration> or one of its sections (%s), "
                                    "got <%s>" % (", ".join(cibxml.SECTIONS), root.tag))
    result = []
    for section in sections:
        if section.tag not in cibxml.SECTIONS:
            raise VigilError("invalid", "xml: <%s> is not a configuration section (%s)"
                             % (section.tag, ", ".join(cibxml.SECTIONS)))
        for elem in section:
            if not isinstance(elem.tag, str):
                continue
            if not elem.get("id"):
                raise VigilError("invalid", "xml: <%s> in <%s> has no id" % (elem.tag, section.tag))
            result.append((section.tag, elem))
    return result
