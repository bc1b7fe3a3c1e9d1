#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: node
short_description: Put a vigil cluster node in standby or maintenance, or bring it back
description:
  - Sets or clears the permanent node attributes C(standby) and C(maintenance) in the CIB,
    as C(vigilctl node standby|online|maintenance|ready) and Pacemaker's
    C(crm_attribute --node NODE --name standby) do.
  - Changes the CIB only when the attribute's meaning changes (a C(standby) of C(off) is
    already online); check mode and diff mode predict exactly what a real run does.
  - With O(wait), waits until the cluster has acted on it.
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  name:
    description:
      - Name of the node (its C(uname)), as in the cluster's node list.
    type: str
    required: true
  state:
    description:
      - V(standby) moves every resource off the node and keeps them off.
      - V(online) (or its alias V(unstandby)) lets the node run resources again.
      - V(maintenance) leaves the node's resources alone (unmanaged, no monitors).
      - V(ready) ends maintenance.
      - V(standby)/V(online) and V(maintenance)/V(ready) are independent attributes.
    type: str
    required: true
    choices: [online, standby, unstandby, maintenance, ready]
  wait:
    description:
      - For V(standby), wait until no resource runs on the node any more.
      - For V(online), wait until the node is online, not in standby, and the cluster has
        a DC.
      - For V(maintenance) and V(ready), wait until the status shows the node in (or out
        of) maintenance.
      - Also waits when nothing had to change. Not done in check mode.
    type: bool
    default: false
  timeout:
    description:
      - Seconds O(wait) waits before the module fails (the change stays made).
    type: float
    default: 120
extends_documentation_fragment:
  - vigil.cluster.common
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
    details:
      - The diff shows the node's standby and maintenance before and after.
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
seealso:
  - module: vigil.cluster.resource_ctl
  - module: vigil.cluster.cluster_health
'''

EXAMPLES = r'''
- name: Drain node2 before maintenance work on it
  vigil.cluster.node:
    name: node2
    state: standby
    wait: true
    timeout: 300

- name: Let node2 run resources again once it has rejoined
  vigil.cluster.node:
    name: node2
    state: online
    wait: true

- name: Leave node3's resources alone while its services are upgraded by hand
  vigil.cluster.node:
    name: node3
    state: maintenance

- name: Manage them again
  vigil.cluster.node:
    name: node3
    state: ready
'''

RETURN = r'''
name:
  description: The node.
  returned: success
  type: str
  sample: node2
before:
  description: The node's permanent C(standby) and C(maintenance) before the run.
  returned: success
  type: dict
  sample: {standby: false, maintenance: false}
after:
  description: The same after the run (in check mode, what a real run would leave).
  returned: success
  type: dict
  sample: {standby: true, maintenance: false}
status:
  description:
    - The node as the status answered after the run (and the wait), with C(online),
      C(standby), C(maintenance) and C(unclean).
  returned: success
  type: dict
  sample: {name: node2, id: 2, online: true, standby: true, maintenance: false, unclean: false}
resources:
  description: Ids of the resources running on the node after the run (and the wait).
  returned: success
  type: list
  elements: str
  sample: []
version:
  description: The CIB version after the change, or the version read when nothing changed.
  returned: success
  type: list
  elements: int
  sample: [0, 14, 3]
elapsed:
  description: Seconds spent, waiting included.
  returned: always
  type: float
error_kind:
  description:
    - On failure, the kind of error (C(not_found), C(timeout), C(unavailable), C(socket)...).
  returned: failure
  type: str
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vigil.cluster.plugins.module_utils import ops
from ansible_collections.vigil.cluster.plugins.module_utils.client import ControlClient
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec, fail
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError


def run(module, client, start, result):
    """Fill ``result`` (kept when a later step fails, so ``changed`` stays true)."""
    name, state = module.params["name"], module.params["state"]
    conf, version = ops.configuration(client)
    before, after, request = ops.plan_node(conf, name, state)
    result.update(changed=request is not None and module.check_mode, name=name, before=before,
                  after=after, version=version)
    if module._diff:
        header = "node %s" % name
        result["diff"] = dict(before=ops.describe_node_state(before),
                              after=ops.describe_node_state(after),
                              before_header=header, after_header=header)
    if request is not None and not module.check_mode:
        reply = client.call("node_attr", **request)
        result["changed"] = bool(reply.get("changed"))
        result["version"] = reply.get("version")
    status = client.call("status")
    if module.params["wait"] and not module.check_mode:
        done, status, error = ops.poll(
            lambda: _settled(client, name, state), module.params["timeout"],
            time.monotonic, time.sleep)
        if not done:
            result.update(elapsed=round(time.monotonic() - start, 3))
            module.fail_json(msg="node %s did not reach %s within %g s (%s)" % (
                name, state, module.params["timeout"], _describe(status, name, error)),
                error_kind=error.kind if error is not None else "timeout", **result)
    result.update(status=ops.status_node(status, name), resources=ops.resources_on(status, name))


def _settled(client, name, state):
    status = client.call("status")
    return ops.node_settled(status, name, state), status


def _describe(status, name, error):
    if error is not None:
        return "last error: %s" % error.message
    node = ops.status_node(status or {}, name) or {}
    running = ops.resources_on(status or {}, name)
    return "last status: online=%s, standby=%s, maintenance=%s, running here: %s" % (
        node.get("online"), node.get("standby"), node.get("maintenance"),
        ", ".join(running) or "nothing")


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            name=dict(type="str", required=True),
            state=dict(type="str", required=True,
                       choices=["online", "standby", "unstandby", "maintenance", "ready"]),
            wait=dict(type="bool", default=False),
            timeout=dict(type="float", default=120),
        ), cib=False),
        supports_check_mode=True,
    )
    start = time.monotonic()
    client = ControlClient(module.params["socket"])
    result = dict(changed=False)
    try:
        run(module, client, start, result)
    except VigilError as exc:
        fail(module, exc, elapsed=round(time.monotonic() - start, 3), **result)
    module.exit_json(elapsed=round(time.monotonic() - start, 3), **result)


if __name__ == "__main__":
    main()
