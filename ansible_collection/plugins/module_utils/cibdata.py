# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""The CIB as structured data, for cib_info.

The configuration is described in the shapes the CIB modules take, so what cib_info returns
can be given back to ``vigil.cluster.cib`` as its ``config`` (resources carry a ``kind``).
The status section gives fail counts and transient node attributes; the control socket's
``status`` and ``fence_history`` give the rest.
"""

from __future__ import annotations

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import (
    constraints,
    fencing,
    primitive,
    properties,
    resources,
)

FAIL_COUNT = "fail-count-"
LAST_FAILURE = "last-failure-"


def _resource(elem, parent):
    if elem.tag == "primitive":
        info = primitive.describe(elem, parent)
        return dict(kind="primitive", id=info["id"], agent=info["agent"], params=info["params"],
                    meta=info["meta"], ops=info["ops"])
    if elem.tag == "group":
        info = resources.describe_group(elem, parent)
        del info["parent"]
        return dict(info, kind="group")
    if elem.tag == "clone":
        return dict(resources.describe_clone(elem), kind="clone")
    return dict(kind=elem.tag, id=elem.get("id"), xml=cibxml.display(elem))


def _walk_resources(holder, parent=None):
    for elem in [] if holder is None else list(holder):
        if elem.tag not in cibxml.RESOURCE_TAGS:
            continue
        yield elem, holder if parent is None else parent
        if elem.tag in ("group", "clone"):
            yield from _walk_resources(elem, elem)


def configuration(conf):
    """The configuration section as data (see the module's RETURN)."""
    rscs, devices = [], []
    for elem, parent in _walk_resources(conf.find("resources")):
        if resources.is_fence_device(elem):
            devices.append(fencing.describe_device(elem))
        else:
            rscs.append(_resource(elem, parent))
    cons = conf.find("constraints")
    topology = conf.find("fencing-topology")
    return dict(
        resources=rscs,
        constraints=[constraints.describe(c) for c in ([] if cons is None else list(cons))
                     if isinstance(c.tag, str)],
        properties=properties.read(conf, "crm_config"),
        rsc_defaults=properties.read(conf, "rsc_defaults"),
        op_defaults=properties.read(conf, "op_defaults"),
        stonith=devices,
        stonith_levels=[fencing.describe_level(lv) for lv in (
            [] if topology is None else topology.findall("fencing-level"))],
    )


def nodes(conf):
    """The nodes of the configuration: id, name and permanent attributes."""
    holder = conf.find("nodes")
    return [dict(id=n.get("id"), name=n.get("uname"),
                 attributes=properties.read(conf, "node", n.get("uname")))
            for n in ([] if holder is None else holder.findall("node"))]


def _split_failure(name):
    """``(resource, operation, interval_ms)`` from ``RSC#OP_INTERVAL``, or None."""
    if "#" not in name:
        return None
    rsc, rest = name.split("#", 1)
    op, _sep, interval = rest.rpartition("_")
    if not op or not interval.isdigit():
        return None
    return rsc, op, int(interval)


def _number(text):
    """An int or float when ``text`` is one, else the text (INFINITY stays a string)."""
    for kind in (int, float):
        try:
            return kind(text)
        except (TypeError, ValueError):
            pass
    return text


def transient(cib):
    """``(fail_counts, attributes)`` from the status section of a <cib>.

    ``fail_counts`` is a list of {node, resource, operation, interval_ms, count,
    last_failure}; ``attributes`` maps node name to its other transient attributes.
    """
    fail_counts = []
    attributes = {}
    status = cib.find("status")
    for state in [] if status is None else status.findall("node_state"):
        node = state.get("uname") or state.get("id")
        failures = {}
        attrs = {}
        for nvpair in state.iterfind("transient_attributes/instance_attributes/nvpair"):
            name, value = nvpair.get("name") or "", nvpair.get("value")
            for prefix in (FAIL_COUNT, LAST_FAILURE):
                key = _split_failure(name[len(prefix):]) if name.startswith(prefix) else None
                if key is not None:
                    failures.setdefault(key, {})[prefix] = value
                    break
            else:
                attrs[name] = value
        for (rsc, op, interval_ms), values in sorted(failures.items()):
            fail_counts.append(dict(node=node, resource=rsc, operation=op,
                                    interval_ms=interval_ms, count=_number(values.get(FAIL_COUNT)),
                                    last_failure=_number(values.get(LAST_FAILURE))))
        if attrs:
            attributes[node] = attrs
    return fail_counts, attributes
