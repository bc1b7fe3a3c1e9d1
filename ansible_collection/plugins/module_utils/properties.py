# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Name/value settings: cluster properties, resource and operation defaults, node attributes.

Rules:

- Only the names given are touched (a merge); every other name is left alone.
- A name is updated where it already is: in the first attribute set of the scope that has
  it, among the sets without a ``<rule>`` (rule-guarded sets are never touched). A new name
  goes to the scope's default set (``cib-bootstrap-options``, ``rsc-options``,
  ``op-options``, ``nodes-<node id>``), created when missing. New nvpairs are named
  ``SET-NAME``, Pacemaker style.
- Removing a name removes it from every rule-less set of the scope; empty sets stay.
- Node attributes live in ``<nodes><node uname=...><instance_attributes>``; the node must
  be in the configuration's ``<nodes>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import primitive
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError
from ansible_collections.vigil.cluster.plugins.module_utils.resources import listing, section

# scope -> (section, set tag, default set id)
SCOPES = {
    "crm_config": ("crm_config", "cluster_property_set", "cib-bootstrap-options"),
    "rsc_defaults": ("rsc_defaults", "meta_attributes", "rsc-options"),
    "op_defaults": ("op_defaults", "meta_attributes", "op-options"),
    "node": ("nodes", "instance_attributes", None),
}


def normalize(values, option, state="present"):
    """``[(name, text or None)]``: None removes the name (always, with state absent)."""
    if not isinstance(values, dict):
        raise VigilError("invalid", "%s: expected a dict of name: value" % option)
    result = []
    for name, value in values.items():
        if not str(name).strip():
            raise VigilError("invalid", "%s: an empty name is not allowed" % option)
        if state == "absent" or value is None:
            result.append((str(name), None))
        else:
            result.append((str(name), primitive.scalar_text(value, "%s.%s" % (option, name))))
    return result


def find_node(conf, name, where="node"):
    """The <node> whose uname is ``name``; fails naming the nodes there are."""
    nodes = conf.find("nodes")
    found = [] if nodes is None else nodes.findall("node")
    for node in found:
        if node.get("uname") == name:
            return node
    raise VigilError("invalid", "%s: no node named %r in the configuration's <nodes> (nodes: %s)"
                     % (where, name, listing(n.get("uname") for n in found)))


def _container(conf, scope, node, create):
    if scope == "node":
        return find_node(conf, node)
    found = conf.find(SCOPES[scope][0])
    if found is None and create:
        found = section(conf, SCOPES[scope][0])
    return found


def _plain_sets(container, tag):
    if container is None:
        return []
    return [s for s in container.findall(tag) if s.find("rule") is None]


def edit(conf, scope, values, node=None):
    """Set (text) or remove (None) each ``(name, value)`` of ``values`` in ``scope``."""
    _section, tag, default_id = SCOPES[scope]
    adding = any(value is not None for _name, value in values)
    container = _container(conf, scope, node, adding)
    if container is None:
        return
    if default_id is None:
        default_id = "nodes-%s" % container.get("id")
    for name, value in values:
        nvpairs = [(s, nv) for s in _plain_sets(container, tag) for nv in s.findall("nvpair")
                   if nv.get("name") == name]
        if value is None:
            for attr_set, nvpair in nvpairs:
                attr_set.remove(nvpair)
        elif nvpairs:
            nvpairs[0][1].set("value", value)
        else:
            target = _default_set(conf, container, tag, default_id)
            taken = cibxml.all_ids(conf)
            nv_id = cibxml.unique_id("%s-%s" % (target.get("id"), cibxml.id_part(name)), taken)
            ET.SubElement(target, "nvpair", {"id": nv_id, "name": name, "value": value})


def _default_set(conf, container, tag, default_id):
    plain = _plain_sets(container, tag)
    for attr_set in plain:
        if attr_set.get("id") == default_id:
            return attr_set
    if plain:
        return plain[0]
    set_id = cibxml.unique_id(default_id, cibxml.all_ids(conf))
    attr_set = ET.Element(tag, {"id": set_id})
    container.append(attr_set)
    return attr_set


def read(conf, scope, node=None):
    """``{name: value}`` of ``scope`` (the first value of a name wins, as in Pacemaker)."""
    _section, tag, _default = SCOPES[scope]
    container = find_node(conf, node) if scope == "node" else conf.find(SCOPES[scope][0])
    result = {}
    for attr_set in _plain_sets(container, tag):
        for nvpair in attr_set.findall("nvpair"):
            result.setdefault(nvpair.get("name"), nvpair.get("value"))
    return result
