#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cib_stonith_level
short_description: Declare or remove a fencing level of a node in a vigil cluster
description:
  - Declares one fencing level (C(<fencing-level>) in the CIB's C(fencing-topology)) - the
    fence devices tried together to fence O(node) at step O(index). Levels are tried in
    index order until one succeeds.
  - A level is identified by its node and index. A new level gets the id
    C(fl-NODE-INDEX); an existing one keeps its id.
  - Every device must be a fence device of the configuration
    (M(vigil.cluster.cib_stonith)); otherwise the module fails, naming it, and writes nothing.
  - Computes, then applies, like M(vigil.cluster.cib_resource) - written only when
    different, on the CIB version read.
  - Works on a live cluster through the control socket, or on a CIB file (O(cib_file)).
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  node:
    description:
      - Name of the node this level fences (the level's C(target)).
    type: str
    required: true
  index:
    description:
      - Position of the level, from 1 (tried first).
    type: int
    required: true
  devices:
    description:
      - Ids of the fence devices of this level, in order; all of them must succeed.
      - Required with O(state=present).
    type: list
    elements: str
  state:
    description:
      - V(present) creates or updates the level, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - vigil.cluster.common
  - vigil.cluster.common.cib_file
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
    details:
      - The diff shows the level's XML before and after.
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
seealso:
  - module: vigil.cluster.cib_stonith
'''

EXAMPLES = r'''
- name: Fence node1 with IPMI first
  vigil.cluster.cib_stonith_level:
    node: node1
    index: 1
    devices: [fence-node1]

- name: And with the PDU if IPMI fails
  vigil.cluster.cib_stonith_level:
    node: node1
    index: 2
    devices: [fence-pdu]

- name: Remove the second level
  vigil.cluster.cib_stonith_level:
    node: node1
    index: 2
    state: absent
'''

RETURN = r'''
level:
  description: The level after the run (in check mode, what a real run would leave); null when absent.
  returned: success
  type: dict
  contains:
    id:
      description: Id of the level.
      type: str
    node:
      description: The node it fences.
      type: str
    index:
      description: Its position.
      type: int
    devices:
      description: Its fence devices, in order.
      type: list
      elements: str
  sample: {id: fl-node1-1, node: node1, index: 1, devices: [fence-node1]}
action:
  description: What the run did (or would do in check mode).
  returned: success
  type: str
  choices: [none, create, update, delete]
created:
  description: Ids of the objects the run adds.
  returned: success
  type: list
  elements: str
  sample: [fl-node1-1]
updated:
  description: Ids of the objects the run changes.
  returned: success
  type: list
  elements: str
removed:
  description: Ids of the objects the run removes.
  returned: success
  type: list
  elements: str
version:
  description:
    - The CIB version (admin_epoch, epoch, num_updates) after the run; in check mode or
      when nothing changed, the version read.
  returned: success
  type: list
  elements: int
  sample: [0, 12, 0]
error_kind:
  description: On failure, the kind of error (C(invalid), C(conflict), C(unavailable), C(socket)...).
  returned: failure
  type: str
  sample: invalid
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vigil.cluster.plugins.module_utils import fencing, runner
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec


def build(params):
    spec = fencing.LevelSpec(dict((k, params.get(k)) for k in fencing.LevelSpec.KEYS))

    def describe(conf):
        return fencing.describe_level(fencing.find_level(conf, spec.node, spec.index)[0])

    return runner.Task("fencing level %s/%d" % (spec.node, spec.index),
                       lambda conf: fencing.edit_level(conf, spec), "level", describe)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            node=dict(type="str", required=True),
            index=dict(type="int", required=True),
            devices=dict(type="list", elements="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        )),
        required_if=[("state", "present", ("devices",))],
        supports_check_mode=True,
    )
    runner.run(module, lambda: build(module.params))


if __name__ == "__main__":
    main()
