#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cib_property
short_description: Set or remove cluster properties, resource or operation defaults, or node attributes of a vigil cluster
description:
  - Sets the given names, and only those, in one scope of the CIB - cluster properties
    (C(crm_config), such as C(stonith-enabled) or C(no-quorum-policy)), resource defaults
    (C(rsc_defaults), such as C(resource-stickiness)), operation defaults (C(op_defaults),
    such as C(timeout)) or the permanent attributes of one node (C(nodes)).
  - Every other name is left alone. A name is updated where it is; a new one goes to the
    scope's default set (C(cib-bootstrap-options), C(rsc-options), C(op-options),
    C(nodes-ID)). Sets guarded by a rule are never touched.
  - Computes, then applies, like M(vigil.cluster.cib_resource) - written only when a value
    differs, on the CIB version read.
  - Works on a live cluster through the control socket, or on a CIB file (O(cib_file)).
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  scope:
    description:
      - Where the names live.
    type: str
    choices: [crm_config, rsc_defaults, op_defaults, node]
    default: crm_config
  node:
    description:
      - With O(scope=node), the name of the node (it must be in the CIB's C(nodes) section).
    type: str
  properties:
    description:
      - Names and values. Booleans are written C(true)/C(false).
      - With O(state=present), a null value removes that name.
      - With O(state=absent), the names are removed and the values ignored.
    type: dict
    required: true
  state:
    description:
      - V(present) sets the names, V(absent) removes them.
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
      - The diff shows the XML of the attribute set (or the node) before and after.
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
seealso:
  - module: vigil.cluster.cib
  - module: vigil.cluster.cib_info
'''

EXAMPLES = r'''
- name: Cluster properties
  vigil.cluster.cib_property:
    properties:
      stonith-enabled: true
      no-quorum-policy: stop

- name: Resources stay where they are unless they must move
  vigil.cluster.cib_property:
    scope: rsc_defaults
    properties:
      resource-stickiness: 100

- name: A default operation timeout
  vigil.cluster.cib_property:
    scope: op_defaults
    properties:
      timeout: 60s

- name: A node attribute that location rules can test
  vigil.cluster.cib_property:
    scope: node
    node: node1
    properties:
      ssd: "yes"

- name: Remove a property
  vigil.cluster.cib_property:
    properties:
      no-quorum-policy:
    state: absent
'''

RETURN = r'''
properties:
  description:
    - Every name and value of the scope after the run (in check mode, what a real run would
      leave), not only the names given.
  returned: success
  type: dict
  sample: {stonith-enabled: "true", no-quorum-policy: stop}
action:
  description: V(update) when a value changes, else V(none).
  returned: success
  type: str
  choices: [none, update]
created:
  description: Ids of the attribute sets the run adds.
  returned: success
  type: list
  elements: str
updated:
  description: Ids of the attribute sets (or nodes) the run changes.
  returned: success
  type: list
  elements: str
  sample: [cib-bootstrap-options]
removed:
  description: Always empty - attribute sets are not removed.
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

from ansible_collections.vigil.cluster.plugins.module_utils import properties, runner
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError


def build(params):
    scope, node = params["scope"], params["node"]
    if node is not None and scope != "node":
        raise VigilError("invalid", "node: only used with scope=node (scope is %s)" % scope)
    values = properties.normalize(params["properties"], "properties", params["state"])
    where = "node %s attributes" % node if scope == "node" else scope
    return runner.Task(where, lambda conf: properties.edit(conf, scope, values, node),
                       "properties", lambda conf: properties.read(conf, scope, node))


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            scope=dict(type="str", default="crm_config",
                       choices=["crm_config", "rsc_defaults", "op_defaults", "node"]),
            node=dict(type="str"),
            properties=dict(type="dict", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        )),
        required_if=[("scope", "node", ("node",))],
        supports_check_mode=True,
    )
    runner.run(module, lambda: build(module.params))


if __name__ == "__main__":
    main()
