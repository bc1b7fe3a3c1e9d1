#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cib_resource
short_description: Create, update in place or delete a primitive resource in a vigil cluster
description:
  - Declares one primitive resource (C(<primitive>) in the CIB's C(resources) section).
  - Computes, then applies. The module reads the CIB, renders the desired primitive, compares
    it canonically with the live one (attribute order, parameter order and op order do not
    matter; C(10s) equals C(10000ms)) and writes only when they differ, on the CIB version it
    read. When someone else wrote in between, it reads again and retries.
  - An existing resource is updated in place, keeping its id and the ids of the parameters
    and operations that stay.
  - Works on a live cluster through the control socket, or on a CIB file (O(cib_file)).
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  id:
    description:
      - Id of the resource.
    type: str
    required: true
  agent:
    description:
      - The resource agent, C(ocf:PROVIDER:TYPE) (for example C(ocf:vigil:http)) or
        C(CLASS:TYPE) for the classes C(stonith), C(systemd), C(lsb) and C(service).
      - Required when O(state=present).
      - On a live cluster, an agent that is not installed on the node behind O(socket) is
        refused before anything is written.
    type: str
  params:
    description:
      - Instance attributes of the resource (the agent's parameters).
      - When given, the resource has exactly these parameters. When omitted, the parameters
        of an existing resource are left as they are.
    type: dict
  meta:
    description:
      - Meta attributes (C(target-role), C(resource-stickiness)...).
      - When given, exactly these; when omitted, left as they are.
    type: dict
  ops:
    description:
      - Operations, as a list of dicts with C(name), C(interval) (default C(0s)), C(timeout)
        and any other op attribute (C(on-fail), C(role)...).
      - An operation is identified by its name, interval and role.
      - When given, exactly these; when omitted, left as they are.
    type: list
    elements: dict
  state:
    description:
      - V(present) creates or updates the resource, V(absent) deletes it.
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
      - The diff shows the primitive's XML before and after.
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
notes:
  - Deleting a resource also deletes the constraints that name it, and its group when it
    was the group's last member, as the daemon does; RV(removed) lists them and the diff
    shows them.
seealso:
  - module: vigil.cluster.cluster_info
'''

EXAMPLES = r'''
- name: Serve a directory over HTTP, monitored every 10 seconds
  vigil.cluster.cib_resource:
    id: web
    agent: ocf:vigil:http
    params:
      docroot: /srv/www
      port: 8080
      ip: 192.0.2.10
    meta:
      resource-stickiness: 100
    ops:
      - name: monitor
        interval: 10s
        timeout: 20s

- name: Stage the same resource in a CIB file, offline
  vigil.cluster.cib_resource:
    cib_file: /tmp/staged-cib.xml
    id: web
    agent: ocf:vigil:http
    params:
      docroot: /srv/www

- name: Remove it
  vigil.cluster.cib_resource:
    id: web
    state: absent

- name: Set the socket once for every vigil.cluster module
  module_defaults:
    group/vigil.cluster.cluster:
      socket: /run/vigil/vigil.sock
  block:
    - name: Declare a dummy resource
      vigil.cluster.cib_resource:
        id: dummy
        agent: ocf:vigil:Dummy
'''

RETURN = r'''
resource:
  description:
    - The resource after the run (in check mode, what a real run would leave); null when
      absent.
  returned: always
  type: dict
  sample:
    id: web
    agent: ocf:vigil:http
    class: ocf
    provider: vigil
    type: http
    params: {docroot: /srv/www, port: "8080"}
    meta: {}
    ops: [{id: web-monitor-interval-10s, name: monitor, interval: 10s, timeout: 20s}]
    parent: null
action:
  description: What the run did (or would do in check mode).
  returned: always
  type: str
  choices: [none, create, update, delete]
  sample: update
removed:
  description:
    - Ids of the elements a deletion removes (or would remove, in check mode) - the resource,
      or its group when it was the last member, and the constraints that name it.
  returned: always
  type: list
  elements: str
  sample: [web, web-prefers-node1]
version:
  description:
    - The CIB version (admin_epoch, epoch, num_updates) after the run; in check mode or
      when nothing changed, the version read.
  returned: always
  type: list
  elements: int
  sample: [0, 12, 0]
diff:
  description: The primitive's XML before and after.
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: XML before the change (empty when the resource did not exist).
      type: str
    after:
      description: XML after the change (empty when the resource is deleted).
      type: str
error_kind:
  description:
    - On failure, the kind of error (C(invalid), C(agent), C(conflict), C(unavailable),
      C(socket), C(timeout)...).
  returned: failure
  type: str
  sample: agent
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vigil.cluster.plugins.module_utils import backend as backends
from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import primitive
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec, fail
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError


def run(module, backend):
    params = module.params
    state = params["state"]
    if state == "present":
        spec = primitive.PrimitiveSpec(params["id"], params["agent"], params["params"],
                                       params["meta"], params["ops"])
    else:
        spec = params["id"]
    checked = []

    def make_plan(cib):
        plan = primitive.plan(cib, spec, state)
        if plan.changed and state == "present" and not checked:
            agent = str(spec.agent)
            if backend.check_agent(agent) is False:
                raise VigilError("agent", "resource agent %s is not installed on the node "
                                          "behind %s" % (agent, backend.where))
            checked.append(agent)
        return plan

    def apply_plan(plan, version):
        if plan.after is None:
            return backend.delete(spec, "resources", version)
        return backend.put("resources", plan.after, version)

    plan, version = backends.converge(backend, make_plan, apply_plan, module.check_mode)
    result = dict(
        changed=plan.changed,
        action=plan.action,
        resource=primitive.describe(plan.after, plan.parent),
        removed=plan.removed_ids if plan.changed else [],
        version=version,
    )
    if module._diff:
        header = "%s: primitive %s" % (backend.where, params["id"])
        if plan.after is None and plan.changed:
            before = "".join(cibxml.display(elem) for elem in plan.removed)
        else:
            before = cibxml.display(plan.before)
        result["diff"] = dict(before=before, after=cibxml.display(plan.after),
                              before_header=header, after_header=header)
    return result


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
    backend = backends.open_backend(module.params, atomic_move=module.atomic_move)
    try:
        result = run(module, backend)
    except VigilError as exc:
        fail(module, exc, changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
