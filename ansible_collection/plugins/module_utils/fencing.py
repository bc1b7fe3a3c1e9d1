# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Fence devices (``stonith:`` primitives) and fencing levels, edited in a <configuration>.

Rules:

- A fence device is a primitive of class ``stonith``, rendered by
  :func:`primitive.render` (same ids, same keep-what-is-there rules as cib_resource). The
  agent is ``fence_NAME`` or ``stonith:fence_NAME``. ``pcmk_delay_base`` and
  ``pcmk_delay_max`` must be durations. An id used by another kind of resource is refused.
- A device that a fencing level uses cannot be removed; remove it from the levels first.
- A fencing level is identified by its target node and index; its id is ``fl-NODE-INDEX``
  (or the ``id`` given) when created and kept as it is afterwards. Its devices must be
  fence devices of the configuration, tried together in the order given.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import primitive, resources
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError
from ansible_collections.vigil.cluster.plugins.module_utils.params import Options
from ansible_collections.vigil.cluster.plugins.module_utils.resources import (
    check_id,
    devices_of,
    is_fence_device,
    listing,
    resource_elements,
    section,
)

DELAY_PARAMS = ("pcmk_delay_base", "pcmk_delay_max")
_SPLIT_RE = re.compile(r"[\s,]+")


def fence_agent(text, where="agent"):
    """``stonith:fence_NAME`` from ``fence_NAME`` or ``stonith:fence_NAME``."""
    text = str(text or "").strip()
    name = text[len("stonith:"):] if text.startswith("stonith:") else text
    if not name or ":" in name or not re.match(r"^[A-Za-z0-9_.+-]+$", name):
        raise VigilError("invalid", "%s: %r is not a fence agent; give fence_NAME or "
                                    "stonith:fence_NAME" % (where, text))
    return "stonith:" + name


class StonithSpec(object):
    """``cib_stonith``'s options; ``spec`` is the PrimitiveSpec of the device."""

    KEYS = ("id", "agent", "params", "meta", "ops", "state")

    def __init__(self, values, where=""):
        opts = Options(values, where, self.KEYS)
        self.id = opts.text("id", required=True)
        self.state = opts.state()
        self.where = opts
        self.spec = None
        if self.state == "absent":
            return
        agent = fence_agent(opts.text("agent", required=True), opts.name("agent"))
        params = opts.mapping("params")
        for name in DELAY_PARAMS:
            value = None if params is None else params.get(name)
            if value is not None and cibxml.duration_ms(
                    primitive.scalar_text(value, "%s.%s" % (opts.name("params"), name))) is None:
                opts.fail("params", "%s: %r is not a duration (examples: 5s, 500ms)"
                          % (name, value))
        self.spec = primitive.PrimitiveSpec(self.id, agent, params, opts.mapping("meta"),
                                            opts.items("ops"))


def edit_device(conf, spec):
    """Apply a StonithSpec to ``conf``."""
    live, parent = cibxml.find_by_id(conf, spec.id)
    if live is not None and not is_fence_device(live):
        what = "<%s>" % live.tag
        if live.tag == "primitive":
            what = "a %s primitive" % ":".join(
                p for p in (live.get("class"), live.get("provider"), live.get("type")) if p)
        raise VigilError("invalid", "id %r is already used by %s; cib_stonith manages fence "
                                    "devices (class stonith) only" % (spec.id, what))
    resources.edit_primitive(conf, spec.id, spec.spec, spec.state)


def describe_device(elem):
    """The dict form of a fence device: ``cib_stonith``'s options."""
    if elem is None:
        return None
    info = primitive.describe(elem)
    return dict(id=info["id"], agent=info["agent"], params=info["params"], meta=info["meta"],
                ops=info["ops"])


class LevelSpec(object):
    """``cib_stonith_level``'s options."""

    KEYS = ("node", "index", "devices", "state", "id")

    def __init__(self, values, where=""):
        opts = Options(values, where, self.KEYS)
        self.id = opts.text("id")
        if self.id is not None:
            check_id(self.id, opts.name("id"))
        self.node = opts.text("node", required=True)
        self.index = opts.integer("index", required=True, minimum=1)
        self.state = opts.state()
        self.devices = opts.str_list("devices", required=self.state == "present")
        if self.state == "present" and not self.devices:
            opts.fail("devices", "give at least one fence device")
        self.where = opts


def find_level(conf, node, index):
    topology = conf.find("fencing-topology")
    for level in [] if topology is None else topology.findall("fencing-level"):
        if level.get("target") == node and level.get("index", "").strip() == str(index):
            return level, topology
    return None, topology


def edit_level(conf, spec):
    """Apply a LevelSpec to ``conf``."""
    live, topology = find_level(conf, spec.node, spec.index)
    if spec.state == "absent":
        if live is not None:
            topology.remove(live)
        return
    devices = dict((e.get("id"), e) for e in resource_elements(conf) if is_fence_device(e))
    for device in spec.devices:
        if device not in devices:
            raise VigilError("invalid", "%s: no fence device %r in the configuration (fence "
                                        "devices: %s)" % (spec.where.name("devices"), device,
                                                          listing(devices)))
    if live is not None:
        level_id = live.get("id")
    elif spec.id is not None:
        level_id = spec.id
    else:
        level_id = cibxml.unique_id("fl-%s-%d" % (cibxml.id_part(spec.node), spec.index),
                                    cibxml.all_ids(conf))
        if not cibxml.valid_id(level_id):
            level_id = "fl-" + level_id
    elem = ET.Element("fencing-level", {"id": level_id, "target": spec.node,
                                        "index": str(spec.index),
                                        "devices": ",".join(spec.devices)})
    if live is not None:
        index = list(topology).index(live)
        topology.remove(live)
        topology.insert(index, elem)
        return
    section(conf, "fencing-topology").append(elem)


def describe_level(elem):
    """The dict form of a fencing level: ``cib_stonith_level``'s options, plus its id."""
    if elem is None:
        return None
    result = dict(id=elem.get("id"), node=elem.get("target"), devices=devices_of(elem))
    index = elem.get("index", "")
    result["index"] = int(index) if index.strip().isdigit() else index
    for attr in ("target-pattern", "target-attribute", "target-value"):
        if elem.get(attr) is not None:
            result[attr.replace("-", "_")] = elem.get(attr)
    return result
