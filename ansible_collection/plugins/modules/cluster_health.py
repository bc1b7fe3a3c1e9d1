#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cluster_health
short_description: Assert that a vigil cluster is healthy, optionally waiting until it is
description:
  - Checks, from one node's point of view, that the cluster is quorate, has a DC, has every
    expected node online, has no unclean node, has no failed resource action, and has
    fencing configured.
  - Fails when a check does not pass, with one entry in RV(reasons) per problem
    (C(check) and C(message)), so that a play stops before it works on a sick cluster.
  - With O(wait), checks again until the cluster is healthy or O(timeout) runs out.
  - Read-only.
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  expected_nodes:
    description:
      - The nodes that must be online. Default - every node of the cluster's configuration.
      - A name that is not a node of the cluster is an error.
    type: list
    elements: str
  allow_failed_actions:
    description:
      - Do not count failed resource actions (monitor failures...) as a problem.
    type: bool
    default: false
  require_fencing:
    description:
      - Require C(stonith-enabled) not to be false and at least one fence device (a
        C(stonith) primitive) to be configured.
    type: bool
    default: true
  wait:
    description:
      - Check again until the cluster is healthy or O(timeout) has passed; a daemon that
        does not answer yet is retried too.
    type: bool
    default: false
  timeout:
    description:
      - Seconds O(wait) waits.
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
    support: none
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
seealso:
  - module: vigil.cluster.cluster_info
'''

EXAMPLES = r'''
- name: Stop here unless the cluster is healthy
  vigil.cluster.cluster_health:

- name: After a rolling restart, wait until all three nodes are back and nothing failed
  vigil.cluster.cluster_health:
    expected_nodes: [node1, node2, node3]
    wait: true
    timeout: 300

- name: A test cluster without fencing
  vigil.cluster.cluster_health:
    require_fencing: false
    allow_failed_actions: true
  register: health
  ignore_errors: true

- name: Report why it is not healthy
  ansible.builtin.debug:
    msg: "{{ health.reasons | map(attribute='message') | list }}"
  when: not health.healthy
'''

RETURN = r'''
healthy:
  description: Whether every check passed.
  returned: always
  type: bool
reasons:
  description:
    - One entry per problem, C(check) (C(quorum), C(dc), C(nodes), C(unclean),
      C(failed_actions) or C(fencing)) and C(message); empty when healthy.
  returned: always
  type: list
  elements: dict
  sample: [{check: nodes, message: node node3 is offline}]
summary:
  description:
    - What the checks looked at - C(quorate), C(dc), C(node) (the node that answered),
      C(online_nodes), C(offline_nodes), C(unclean_nodes), C(standby_nodes),
      C(failed_actions) (how many), C(stonith_enabled), C(fence_devices) and C(resources)
      (how many).
  returned: when the daemon answered
  type: dict
  sample:
    quorate: true
    dc: node1
    node: node1
    online_nodes: [node1, node2]
    offline_nodes: [node3]
    unclean_nodes: []
    standby_nodes: []
    failed_actions: 0
    stonith_enabled: true
    fence_devices: [fence-ipmi]
    resources: 3
cluster:
  description: The status object the node answered (see C(vigil.cluster.cluster_info)).
  returned: when the daemon answered
  type: dict
elapsed:
  description: Seconds spent, waiting included.
  returned: always
  type: float
error_kind:
  description:
    - On failure, C(unhealthy) when a check failed, or the kind of error (C(socket),
      C(invalid)...).
  returned: failure
  type: str
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vigil.cluster.plugins.module_utils import health
from ansible_collections.vigil.cluster.plugins.module_utils.client import ControlClient
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError
from ansible_collections.vigil.cluster.plugins.module_utils.ops import configuration, poll


def probe(client, params):
    status = client.call("status")
    conf = configuration(client)[0]
    nodes = health.expected(conf, status, params["expected_nodes"])
    reasons, summary = health.evaluate(status, conf, nodes, params["allow_failed_actions"],
                                       params["require_fencing"])
    return not reasons, dict(reasons=reasons, summary=summary, cluster=status)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            expected_nodes=dict(type="list", elements="str"),
            allow_failed_actions=dict(type="bool", default=False),
            require_fencing=dict(type="bool", default=True),
            wait=dict(type="bool", default=False),
            timeout=dict(type="float", default=120),
        ), cib=False),
        supports_check_mode=True,
    )
    params = module.params
    start = time.monotonic()
    client = ControlClient(params["socket"])

    def once():
        try:
            return probe(client, params)
        except VigilError as exc:
            if exc.kind == "invalid" or not params["wait"]:
                module.fail_json(msg=exc.message, error_kind=exc.kind, changed=False,
                                 healthy=False, reasons=[], elapsed=elapsed())
            raise

    def elapsed():
        return round(time.monotonic() - start, 3)

    done, found, error = poll(once, params["timeout"] if params["wait"] else 0,
                              time.monotonic, time.sleep, interval_s=0.5)
    if done:
        module.exit_json(changed=False, healthy=True, elapsed=elapsed(), **found)
    if found is None:
        module.fail_json(msg="vigild at %s did not answer within %g s: %s"
                             % (params["socket"], params["timeout"], error.message),
                         error_kind=error.kind, changed=False, healthy=False, reasons=[],
                         elapsed=elapsed())
    waited = " (waited %g s)" % params["timeout"] if params["wait"] else ""
    module.fail_json(msg="the cluster is not healthy%s: %s"
                         % (waited, health.describe(found["reasons"])),
                     error_kind="unhealthy", changed=False, healthy=False, elapsed=elapsed(),
                     **found)


if __name__ == "__main__":
    main()
