#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cib_clone
short_description: Clone a primitive or group of a vigil cluster (optionally promotable), or unwrap it
description:
  - Declares one clone (C(<clone>) in the CIB's C(resources) section) that runs copies of
    a primitive or group on several nodes. The clone takes the place of the resource it
    wraps.
  - O(promotable=true) makes it a promotable clone, the Pacemaker 2.1 way (meta attribute
    C(promotable=true)).
  - Computes, then applies, like M(vigil.cluster.cib_resource) - the clone is compared
    canonically with the live one and written only when they differ, on the CIB version
    read; a race re-reads and retries. Wrapping and unwrapping are one atomic write of the
    configuration.
  - Works on a live cluster through the control socket, or on a CIB file (O(cib_file)).
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  id:
    description:
      - Id of the clone.
    type: str
    required: true
  resource:
    description:
      - Id of the top-level primitive or group to clone. Required to create the clone.
      - A clone that exists wraps what it wraps; naming another resource fails (remove the
        clone first).
    type: str
  promotable:
    description:
      - Whether the clone is promotable (instances are promoted and demoted).
      - When omitted, an existing clone keeps what it has; a new one is not promotable.
    type: bool
  meta:
    description:
      - Meta attributes of the clone (C(clone-max), C(clone-node-max), C(promoted-max),
        C(interleave)...). O(promotable) is set on top of them.
      - When given, exactly these; when omitted, left as they are.
    type: dict
  state:
    description:
      - V(present) creates or updates the clone.
      - V(absent) unwraps it - the resource goes back to the top level where the clone was,
        and the constraints that name the clone are removed.
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
      - The diff shows, before and after, the XML of every top-level object that changes.
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
notes:
  - Fence devices are not cloned. Constraints that name the cloned resource itself are left
    as they are; constraints usually name the clone.
seealso:
  - module: vigil.cluster.cib_resource
  - module: vigil.cluster.cib_group
  - module: vigil.cluster.cib
'''

EXAMPLES = r'''
- name: Run the monitoring agent on every node
  vigil.cluster.cib_clone:
    id: agent-clone
    resource: agent
    meta:
      interleave: true

- name: A promotable database, one primary
  vigil.cluster.cib_clone:
    id: db-clone
    resource: db
    promotable: true
    meta:
      promoted-max: 1

- name: Unwrap (db stays, as a top-level resource)
  vigil.cluster.cib_clone:
    id: db-clone
    state: absent
'''

RETURN = r'''
clone:
  description: The clone after the run (in check mode, what a real run would leave); null when absent.
  returned: success
  type: dict
  contains:
    id:
      description: Id of the clone.
      type: str
    resource:
      description: Id of the primitive or group it wraps.
      type: str
    promotable:
      description: Whether it is promotable.
      type: bool
    meta:
      description: Its other meta attributes.
      type: dict
  sample: {id: db-clone, resource: db, promotable: true, meta: {promoted-max: "1"}}
action:
  description: What the run did to the clone (or would do, in check mode).
  returned: success
  type: str
  choices: [none, create, update, delete]
created:
  description: Ids of the objects the run adds.
  returned: success
  type: list
  elements: str
  sample: [db-clone]
updated:
  description: Ids of the top-level objects the run changes (the wrapped resource included).
  returned: success
  type: list
  elements: str
  sample: [db]
removed:
  description: Ids of the objects the run removes (constraints that named the clone included).
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
    spec = resources.CloneSpec(dict((k, params[k]) for k in resources.CloneSpec.KEYS))

    def describe(conf):
        elem, _parent = cibxml.find_by_id(conf, spec.id)
        return resources.describe_clone(elem) if elem is not None else None

    return runner.Task("clone %s" % spec.id, lambda conf: resources.edit_clone(conf, spec),
                       "clone", describe)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            id=dict(type="str", required=True),
            resource=dict(type="str"),
            promotable=dict(type="bool"),
            meta=dict(type="dict"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        )),
        supports_check_mode=True,
    )
    runner.run(module, lambda: build(module.params))


if __name__ == "__main__":
    main()
