#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: resource_ctl
short_description: Move, ban, clear, clean up, enable, disable or restart a vigil cluster resource
description:
  - Operates a resource of a running cluster, as C(vigilctl resource ...) and Pacemaker's
    C(crm_resource) do, and optionally waits until it has a given role.
  - V(move) adds (or points) the location constraint C(cli-prefer-RESOURCE) with score
    C(+INFINITY) on O(node); V(ban) adds C(cli-ban-RESOURCE-on-NODE) with C(-INFINITY);
    V(clear) removes those constraints (only the ones naming O(node) when it is given).
  - V(enable) removes a C(target-role=Stopped) meta attribute, V(disable) sets it.
  - V(cleanup) forgets the resource's failures (fail counts, failed operations) on O(node)
    or on every node, so that the cluster probes it again.
  - V(restart) stops the resource, waits until it has stopped everywhere, then lets it
    start again and waits until it runs as many instances as before; its target-role is
    restored as it was.
  - Idempotent where that makes sense - a move to where C(cli-prefer) already points, a
    ban that exists, a clear with nothing to clear, enabling an enabled resource, disabling
    a disabled one, a cleanup with no failures recorded are C(changed=false) and write
    nothing. A restart always changes.
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  resource:
    description:
      - Id of the resource (a primitive, group or clone).
    type: str
    required: true
  action:
    description:
      - What to do.
    type: str
    required: true
    choices: [move, ban, clear, cleanup, enable, disable, restart]
  node:
    description:
      - The node to move to or ban from (required for V(move) and V(ban)).
      - For V(clear), only the constraints naming this node; for V(cleanup), only the
        failures on this node.
      - Not used by the other actions.
    type: str
  wait_for:
    description:
      - After the action, wait until every primitive of the resource has this role (on
        O(wait_node) when given; V(Stopped) means not running there).
    type: str
    choices: [Started, Stopped, Promoted, Unpromoted]
  wait_node:
    description:
      - The node O(wait_for) looks at; without it, any node.
    type: str
  timeout:
    description:
      - Seconds to wait for O(wait_for), and for each half of a V(restart).
    type: float
    default: 120
extends_documentation_fragment:
  - vigil.cluster.common
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
    details:
      - A V(restart) in check mode reports C(changed=true) and does nothing; no wait happens.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
    details:
      - The diff shows the resource's move and ban constraints, its target-role or the
        failures a cleanup forgets, before and after.
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
seealso:
  - module: vigil.cluster.node
  - module: vigil.cluster.cib_resource
'''

EXAMPLES = r'''
- name: Move web to node2 and wait until it runs there
  vigil.cluster.resource_ctl:
    resource: web
    action: move
    node: node2
    wait_for: Started
    wait_node: node2

- name: Let the cluster place web freely again
  vigil.cluster.resource_ctl:
    resource: web
    action: clear

- name: Forget web's failures on node3
  vigil.cluster.resource_ctl:
    resource: web
    action: cleanup
    node: node3

- name: Stop web and wait until it has stopped
  vigil.cluster.resource_ctl:
    resource: web
    action: disable
    wait_for: Stopped

- name: Restart the database
  vigil.cluster.resource_ctl:
    resource: db
    action: restart
    timeout: 300

- name: Wait until db is promoted on node1
  vigil.cluster.resource_ctl:
    resource: db-clone
    action: enable
    wait_for: Promoted
    wait_node: node1
'''

RETURN = r'''
resource:
  description: The resource.
  returned: success
  type: str
  sample: web
placement:
  description:
    - Where the resource runs after the run (and the wait) - its overall C(role) (C(Started),
      C(Stopped), C(Promoted), C(Unpromoted), C(Failed), or C(Partial) when some of its
      primitives run and others do not), the C(nodes) it runs on, and per primitive
      (C(members)) its C(role), C(nodes), C(roles) by node and C(failed).
  returned: success
  type: dict
  sample:
    role: Started
    nodes: [node2]
    members: {web: {role: Started, nodes: [node2], roles: {node2: Started}, failed: false}}
constraints:
  description: Ids of the constraints added or removed (V(move), V(ban), V(clear)).
  returned: when action is move, ban or clear
  type: list
  elements: str
  sample: [cli-prefer-web]
cleaned:
  description: The failure records V(cleanup) forgot (or would forget), per primitive.
  returned: when action is cleanup
  type: dict
  sample: {web: ["fail-count-web#monitor_10000 on node2"]}
restarted_on:
  description: For V(restart), the nodes the resource ran on before and after.
  returned: when action is restart and not in check mode
  type: dict
  sample: {before: [node1], after: [node1]}
version:
  description: The CIB version after the run (or the version read).
  returned: success
  type: list
  elements: int
elapsed:
  description: Seconds spent, waiting included.
  returned: always
  type: float
error_kind:
  description:
    - On failure, the kind of error (C(not_found), C(invalid), C(timeout), C(unavailable)...).
  returned: failure
  type: str
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vigil.cluster.plugins.module_utils import ops
from ansible_collections.vigil.cluster.plugins.module_utils.client import ControlClient
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec, fail
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

NODE_ACTIONS = ("move", "ban", "clear", "cleanup")


class Run(object):
    def __init__(self, module, client, start):
        self.module = module
        self.client = client
        self.start = start
        self.params = module.params
        self.rsc = module.params["resource"]
        self.result = dict(changed=False, resource=self.rsc)

    def timeout_error(self, what, place, error):
        detail = ("last error: %s" % error.message if error is not None
                  else "last seen: %s" % ops.describe_placement(place) if place else "")
        return VigilError(error.kind if error is not None else "timeout", "%s %s within %g s (%s)"
                          % (self.rsc, what, self.params["timeout"], detail))

    def place(self):
        return ops.placement(self.client.call("status"), self.prims)

    def wait(self, role, node, what):
        def probe():
            place = self.place()
            return ops.role_reached(place, role, node), place

        done, place, error = ops.poll(probe, self.params["timeout"], time.monotonic, time.sleep)
        if not done:
            raise self.timeout_error(what, place, error)
        return place

    def run(self):
        action, node = self.params["action"], self.params["node"]
        conf, version = ops.configuration(self.client)
        self.prims = ops.primitive_ids(ops.find_resource(conf, self.rsc))
        if self.params["wait_node"] is not None:
            ops.find_node(conf, self.params["wait_node"])
        self.result["version"] = version
        if action == "cleanup":
            self.cleanup(conf, node)
        elif action == "restart":
            self.restart(conf)
        else:
            self.configure(conf, action, node)
        role = self.params["wait_for"]
        if role and not self.module.check_mode:
            wait_node = self.params["wait_node"]
            where = " on %s" % wait_node if wait_node else ""
            place = self.wait(role, wait_node, "did not become %s%s" % (role, where))
        else:
            place = self.place()
        self.result["placement"] = place

    def diff(self, before, after):
        if self.module._diff:
            header = "resource %s" % self.rsc
            self.result["diff"] = dict(before=before, after=after, before_header=header,
                                       after_header=header)

    def configure(self, conf, action, node):
        before, after, changed = ops.plan_resource(conf, self.rsc, action, node)
        self.diff(before, after)
        if action in ("move", "ban", "clear"):
            self.result["constraints"] = ops.changed_ids(
                *ops.plan_constraints(conf, self.rsc, action, node))
        if not changed or self.module.check_mode:
            self.result["changed"] = changed
            return
        if action == "clear":
            reply = self.client.call("resource_clear", id=self.rsc,
                                     **({"node": node} if node else {}))
            self.result["constraints"] = list(reply.get("removed") or [])
            reply["changed"] = bool(self.result["constraints"])
        elif action in ("move", "ban"):
            reply = self.client.call("resource_" + action, id=self.rsc, node=node)
        else:
            value = "Stopped" if action == "disable" else None
            reply = self.client.call("resource_meta", id=self.rsc, name="target-role",
                                     value=value)
        self.result["changed"] = bool(reply.get("changed"))
        self.result["version"] = reply.get("version")

    def cleanup(self, conf, node):
        if node is not None:
            ops.find_node(conf, node)
        status_xml = ops.parse(self.client.call("cib_get", scope="status")["xml"],
                               "the status section the daemon sent")
        found = ops.failures(status_xml, self.prims, node)
        self.result["cleaned"] = found
        self.diff(ops.describe_failures(found), "")
        if not found or self.module.check_mode:
            self.result["changed"] = bool(found)
            return
        for prim in sorted(found):
            reply = self.client.call("resource_cleanup", id=prim,
                                     **({"node": node} if node else {}))
            self.result.update(changed=True, version=reply.get("version"))

    def restart(self, conf):
        el = ops.find_resource(conf, self.rsc)
        role = ops.target_role(el)
        self.diff(ops.describe_role(role), ops.describe_role(role) + "(stopped, then started)\n")
        before = self.place()
        if not before["nodes"]:
            raise VigilError("invalid", "%s is not running (%s): nothing to restart"
                             % (self.rsc, ops.describe_placement(before)))
        self.result["changed"] = True
        if self.module.check_mode:
            return
        self.client.call("resource_meta", id=self.rsc, name="target-role", value="Stopped")
        try:
            self.wait("Stopped", None, "did not stop")
        finally:  # also after a timeout: never leave the resource stopped by the restart
            reply = self.client.call("resource_meta", id=self.rsc, name="target-role", value=role)
            self.result["version"] = reply.get("version")
        count = sum(len(m["nodes"]) for m in before["members"].values())

        def probe():
            place = self.place()
            return sum(len(m["nodes"]) for m in place["members"].values()) >= count, place

        done, after, error = ops.poll(probe, self.params["timeout"], time.monotonic, time.sleep)
        if not done:
            raise self.timeout_error("did not start again (it ran on %s)"
                                     % ", ".join(before["nodes"]), after, error)
        self.result["restarted_on"] = dict(before=before["nodes"], after=after["nodes"])


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            resource=dict(type="str", required=True),
            action=dict(type="str", required=True,
                        choices=["move", "ban", "clear", "cleanup", "enable", "disable",
                                 "restart"]),
            node=dict(type="str"),
            wait_for=dict(type="str", choices=["Started", "Stopped", "Promoted", "Unpromoted"]),
            wait_node=dict(type="str"),
            timeout=dict(type="float", default=120),
        ), cib=False),
        required_if=[("action", "move", ("node",)), ("action", "ban", ("node",))],
        required_by=dict(wait_node="wait_for"),
        supports_check_mode=True,
    )
    action = module.params["action"]
    if module.params["node"] is not None and action not in NODE_ACTIONS:
        module.fail_json(msg="node is not used with action=%s (only with %s)"
                         % (action, ", ".join(NODE_ACTIONS)), error_kind="invalid")
    start = time.monotonic()
    run = Run(module, ControlClient(module.params["socket"]), start)
    try:
        run.run()
    except VigilError as exc:
        fail(module, exc, elapsed=round(time.monotonic() - start, 3), **run.result)
    module.exit_json(elapsed=round(time.monotonic() - start, 3), **run.result)


if __name__ == "__main__":
    main()
