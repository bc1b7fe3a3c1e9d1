#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cib_group
short_description: Group primitives of a vigil cluster, or ungroup them
description:
  - Declares one resource group (C(<group>) in the CIB's C(resources) section) - primitives
    that run together on one node and start in the order listed.
  - Existing primitives are moved into the group, from the top level or from another group
    (which must keep at least one member). Members the group no longer lists go back to the
    top level, right after the group.
  - Computes, then applies, like M(vigil.cluster.cib_resource) - the group is compared
    canonically with the live one (member order matters, attribute order does not) and
    written only when they differ, on the CIB version read; a race re-reads and retries.
    Moving primitives is one atomic write of the configuration.
  - Works on a live cluster through the control socket, or on a CIB file (O(cib_file)).
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  id:
    description:
      - Id of the group.
    type: str
    required: true
  members:
    description:
      - Ids of the primitives in the group, in start order. Each must exist.
      - Required to create the group. When omitted, the members of an existing group are
        left as they are.
    type: list
    elements: str
  meta:
    description:
      - Meta attributes of the group (C(target-role)...).
      - When given, exactly these; when omitted, left as they are.
    type: dict
  state:
    description:
      - V(present) creates or updates the group.
      - V(absent) ungroups it - its members go back to the top level, where the group was,
        and the constraints that name the group are removed - or, with O(delete_members),
        deletes it with its members.
    type: str
    choices: [present, absent]
    default: present
  delete_members:
    description:
      - With O(state=absent), delete the members too (and every constraint that names the
        group or one of them) instead of moving them to the top level.
    type: bool
    default: false
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
      - The diff shows, before and after, the XML of every top-level object that changes
        (the group, the primitives it takes or releases, removed constraints).
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
notes:
  - Fence devices cannot be grouped, and a group inside a clone cannot be ungrouped (remove
    the clone first with M(vigil.cluster.cib_clone)).
seealso:
  - module: vigil.cluster.cib_resource
  - module: vigil.cluster.cib_clone
  - module: vigil.cluster.cib
'''

EXAMPLES = r'''
- name: Address first, then the web server, always on the same node
  vigil.cluster.cib_group:
    id: web-group
    members: [vip, web]

- name: Keep the group stopped for now
  vigil.cluster.cib_group:
    id: web-group
    meta:
      target-role: Stopped

- name: Ungroup (vip and web stay, as top-level resources)
  vigil.cluster.cib_group:
    id: web-group
    state: absent

- name: Delete the group and its members
  vigil.cluster.cib_group:
    id: web-group
    state: absent
    delete_members: true
'''

RETURN = r'''
group:
  description: The group after the run (in check mode, what a real run would leave); null when absent.
  returned: success
  type: dict
  contains:
    id:
      description: Id of the group.
      type: str
    members:
      description: Ids of its primitives, in order.
      type: list
      elements: str
    meta:
      description: Its meta attributes.
      type: dict
    parent:
      description: Id of the clone that wraps the group, or null.
      type: str
  sample: {id: web-group, members: [vip, web], meta: {}, parent: null}
action:
  description: What the run did to the group (or would do, in check mode).
  returned: success
  type: str
  choices: [none, create, update, delete]
created:
  description: Ids of the resources and other objects the run adds.
  returned: success
  type: list
  elements: str
  sample: [web-group]
updated:
  description: Ids of the top-level objects the run changes (primitives moved into or out of the group included).
  returned: success
  type: list
  elements: str
  sample: [vip, web]
removed:
  description: Ids of the resources and other objects the run removes (constraints that named the group included).
  returned: success
  type: list
  elements: str
  sample: []
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

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import resources, runner
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec


def build(params):
    spec = resources.GroupSpec(dict((k, params[k]) for k in resources.GroupSpec.KEYS))

    def describe(conf):
        elem, parent = cibxml.find_by_id(conf, spec.id)
        return resources.describe_group(elem, parent) if elem is not None else None

    return runner.Task("group %s" % spec.id, lambda conf: resources.edit_group(conf, spec),
                       "group", describe)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            id=dict(type="str", required=True),
            members=dict(type="list", elements="str"),
            meta=dict(type="dict"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            delete_members=dict(type="bool", default=False),
        )),
        supports_check_mode=True,
    )
    runner.run(module, lambda: build(module.params))


if __name__ == "__main__":
    main()
