#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cluster_info
short_description: Status of a vigil cluster as seen by one node, optionally waiting for quorum or a DC
description:
  - Returns the daemon's status object (cluster name, DC, quorum, nodes, resources, failed
    actions) as RV(cluster), and a few convenience values computed from it.
  - With O(wait_for), polls until the condition holds or O(timeout) runs out; while waiting,
    a daemon that does not answer yet (starting, socket not there yet) is retried.
  - Read-only.
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  wait_for:
    description:
      - V(dc) waits until the node knows a DC.
      - V(quorate) waits until this node is online in a quorate partition that has a DC
        (the node has joined the cluster).
      - V(started) waits until the resource O(resource) is active (C(Started), C(Promoted)
        or C(Unpromoted)) on at least one node, none of them in O(not_on), and not failed.
      - Omitted, the module answers at once and fails if the daemon does not answer.
    type: str
    choices: [quorate, dc, started]
  resource:
    description:
      - Id of the resource O(wait_for=started) waits for.
    type: str
  not_on:
    description:
      - With O(wait_for=started), the resource counts as started only on nodes not in this
        list (for example, after the node that ran it was lost).
    type: list
    elements: str
    default: []
  timeout:
    description:
      - Seconds to wait for O(wait_for) before failing.
    type: float
    default: 60
extends_documentation_fragment:
  - vigil.cluster.common
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
seealso:
  - module: vigil.cluster.cib_resource
'''

EXAMPLES = r'''
- name: Wait until this node has joined a quorate cluster
  vigil.cluster.cluster_info:
    socket: /run/vigil/vigil.sock
    wait_for: quorate
    timeout: 120

- name: Read the status
  vigil.cluster.cluster_info:
  register: info

- name: Wait until the resource web runs somewhere
  vigil.cluster.cluster_info:
    wait_for: started
    resource: web
  register: info

- name: Wait until web runs somewhere else than where it ran
  vigil.cluster.cluster_info:
    wait_for: started
    resource: web
    not_on: "{{ info.resources.web.nodes }}"
    timeout: 30

- name: Show where web runs
  ansible.builtin.debug:
    msg: "web runs on {{ info.resources.web.nodes | join(', ') }}"
'''

RETURN = r'''
cluster:
  description: The status object of the control API, as the node answered it.
  returned: success
  type: dict
  sample:
    cluster_name: demo
    node: node1
    dc: node1
    quorate: true
    version: [0, 7, 12]
    nodes: [{name: node1, id: 1, online: true, standby: false, unclean: false}]
    resources: [{id: web, class: ocf, provider: vigil, type: http, role: Started,
                 nodes: [node2], failed: false}]
    failed_actions: []
quorate:
  description: Whether the node's partition has quorum.
  returned: success
  type: bool
dc:
  description: Name of the DC, or null when there is none.
  returned: success
  type: str
node:
  description: Name of the node that answered.
  returned: success
  type: str
joined:
  description: Whether the node is online in a quorate partition that has a DC.
  returned: success
  type: bool
online_nodes:
  description: Names of the online nodes.
  returned: success
  type: list
  elements: str
resources:
  description: The resources by id, each with C(role), C(nodes) and C(failed).
  returned: success
  type: dict
  sample: {web: {role: Started, nodes: [node2], failed: false, agent: "ocf:vigil:http"}}
restart_order:
  description:
    - Every node, in the order a rolling restart disturbs least, as M(vigil.cluster.cluster_info)
      sees it now, nodes running no resource first, then by the number of resources
      they run, the DC last among equals. vigil_rolling takes the nodes in this order, so the
      node running the service goes last and its resources move once.
  returned: success
  type: list
  elements: str
  sample: [node3, node1, node2]
elapsed:
  description: Seconds spent (waiting included).
  returned: always
  type: float
observed_at:
  description:
    - When the node gave the answer returned (and O(wait_for) held), in seconds since the
      epoch, to time events against other timestamps.
  returned: success
  type: float
error_kind:
  description: On failure, the kind of the last error (C(socket), C(timeout), C(unavailable)...).
  returned: failure
  type: str
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vigil.cluster.plugins.module_utils.client import ControlClient
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError
from ansible_collections.vigil.cluster.plugins.module_utils.status import (
    condition_met, describe_wait, summarize)

POLL_INTERVAL_S = 0.1


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            wait_for=dict(type="str", choices=["quorate", "dc", "started"]),
            resource=dict(type="str"),
            not_on=dict(type="list", elements="str", default=[]),
            timeout=dict(type="float", default=60),
        ), cib=False),
        required_if=[("wait_for", "started", ("resource",))],
        supports_check_mode=True,
    )
    wait_for = module.params["wait_for"]
    timeout_s = module.params["timeout"]
    client = ControlClient(module.params["socket"], timeout_s=max(1.0, min(30.0, timeout_s)))
    start = time.monotonic()
    deadline = start + timeout_s
    while True:
        error = None
        facts = None
        try:
            status = client.call("status")
            facts = summarize(status)
            if condition_met(module.params, facts):
                module.exit_json(changed=False, cluster=status, observed_at=time.time(),
                                 elapsed=round(time.monotonic() - start, 3), **facts)
        except VigilError as exc:
            error = exc
            if wait_for is None:
                module.fail_json(msg=exc.message, error_kind=exc.kind,
                                 elapsed=round(time.monotonic() - start, 3))
        if time.monotonic() >= deadline:
            module.fail_json(
                msg="vigild at %s: %r not reached within %.1f s (%s)"
                    % (module.params["socket"], wait_for, timeout_s,
                       describe_wait(module.params, facts, error)),
                error_kind=error.kind if error is not None else "timeout",
                elapsed=round(time.monotonic() - start, 3))
        time.sleep(POLL_INTERVAL_S)


if __name__ == "__main__":
    main()
