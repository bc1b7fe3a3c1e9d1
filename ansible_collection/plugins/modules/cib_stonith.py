#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cib_stonith
short_description: Create, update in place or delete a fence device in a vigil cluster
description:
  - Declares one fence device - a C(stonith:) primitive in the CIB's C(resources) section,
    which the cluster uses to fence (power off or cut off) a node it lost.
  - Rendered, compared and written exactly like a primitive of
    M(vigil.cluster.cib_resource) - same ids, O(params), O(meta) and O(ops) exact when given
    and kept when omitted, written only when different, on the CIB version read.
  - On a live cluster, an agent the node behind O(socket) does not have is refused before
    anything is written.
  - Works on a live cluster through the control socket, or on a CIB file (O(cib_file)).
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  id:
    description:
      - Id of the device. An id used by a resource that is not a fence device is refused.
    type: str
    required: true
  agent:
    description:
      - The fence agent, C(fence_NAME) or C(stonith:fence_NAME) (for example
        C(fence_ipmilan)). Required with O(state=present).
    type: str
  params:
    description:
      - The agent's parameters, and the cluster's device options - C(pcmk_host_list)
        (nodes the device can fence), C(pcmk_host_map) (C(node:port;node:port)),
        C(pcmk_delay_base) and C(pcmk_delay_max) (durations, to break fence races).
      - When given, exactly these; when omitted, left as they are.
    type: dict
  meta:
    description:
      - Meta attributes (C(priority), C(target-role)...).
      - When given, exactly these; when omitted, left as they are.
    type: dict
  ops:
    description:
      - Operations (usually a C(monitor)), as for M(vigil.cluster.cib_resource).
      - When given, exactly these; when omitted, left as they are.
    type: list
    elements: dict
  state:
    description:
      - V(present) creates or updates the device, V(absent) deletes it.
      - A device that a fencing level uses is not deleted; remove it from the level first
        (M(vigil.cluster.cib_stonith_level)).
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
      - The diff shows the device's XML before and after.
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
notes:
  - Fencing is used only when the cluster property C(stonith-enabled) is true
    (M(vigil.cluster.cib_property)).
seealso:
  - module: vigil.cluster.cib_stonith_level
  - module: vigil.cluster.cib_resource
'''

EXAMPLES = r'''
- name: An IPMI fence device for node1
  vigil.cluster.cib_stonith:
    id: fence-node1
    agent: fence_ipmilan
    params:
      ip: 192.0.2.101
      username: admin
      password: "{{ vault_ipmi_password }}"
      pcmk_host_list: node1
      pcmk_delay_base: 5s
    ops:
      - {name: monitor, interval: 60s}

- name: One device for several nodes, with a port map
  vigil.cluster.cib_stonith:
    id: fence-pdu
    agent: stonith:fence_apc
    params:
      ip: 192.0.2.200
      pcmk_host_map: "node1:1;node2:2;node3:3"

- name: Remove a device
  vigil.cluster.cib_stonith:
    id: fence-pdu
    state: absent
'''

RETURN = r'''
device:
  description: The fence device after the run (in check mode, what a real run would leave); null when absent.
  returned: success
  type: dict
  contains:
    id:
      description: Id of the device.
      type: str
    agent:
      description: The agent, C(stonith:fence_NAME).
      type: str
    params:
      description: Its parameters.
      type: dict
    meta:
      description: Its meta attributes.
      type: dict
    ops:
      description: Its operations, with their ids.
      type: list
      elements: dict
  sample: {id: fence-node1, agent: "stonith:fence_ipmilan", params: {pcmk_host_list: node1}, meta: {}, ops: []}
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
updated:
  description: Ids of the objects the run changes.
  returned: success
  type: list
  elements: str
removed:
  description: Ids of the objects the run removes (constraints that named the device included).
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
  description: On failure, the kind of error (C(invalid), C(agent), C(conflict), C(unavailable), C(socket)...).
  returned: failure
  type: str
  sample: agent
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import fencing, resources, runner
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec


def build(params):
    spec = fencing.StonithSpec(dict((k, params[k]) for k in fencing.StonithSpec.KEYS))

    def describe(conf):
        elem, _parent = cibxml.find_by_id(conf, spec.id)
        return fencing.describe_device(elem) if resources.is_fence_device(elem) else None

    agents = [str(spec.spec.agent)] if spec.spec is not None else []
    return runner.Task("fence device %s" % spec.id, lambda conf: fencing.edit_device(conf, spec),
                       "device", describe, agents)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            id=dict(type="str", required=True),
            agent=dict(type="str"),
            params=dict(type="dict"),
            meta=dict(type="dict"),
            ops=dict(type="list", elements="dict"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        )),
        required_if=[("state", "present", ("agent",))],
        supports_check_mode=True,
    )
    runner.run(module, lambda: build(module.params))


if __name__ == "__main__":
    main()
