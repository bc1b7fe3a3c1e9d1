#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: fence
short_description: Fence (power off, reboot or power on) a vigil cluster node with its fence devices
description:
  - Asks the cluster to fence O(node) with the fence devices (C(stonith) primitives and
    fencing levels) its CIB configures, as C(vigilctl fence) and Pacemaker's
    C(stonith_admin --reboot) do, waits for the result and returns the fencing history
    entry.
  - Fencing cuts a node's power. The module refuses to run unless O(confirm=true), and
    refuses, before anything is done, when no configured device can fence the node (the
    daemon answers with the same host checks the fencer uses - C(pcmk_host_list),
    C(pcmk_host_map), or asking the agent).
  - The DC carries the fencing out. When O(node) is the DC, the node behind O(socket)
    carries it out itself (as Pacemaker's fencer does), and the DC elected next does not
    fence it again. The node behind O(socket) should not be the target - after a reboot or
    off its answer never comes (the module then fails with C(error_kind=protocol)) - so
    use another node's socket.
  - A successful V(reboot) or V(off) also tells the cluster the node is down, so its
    resources are recovered elsewhere.
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  node:
    description:
      - Name of the node to fence.
    type: str
    required: true
  action:
    description:
      - V(reboot) power-cycles the node, V(off) powers it off, V(on) powers it on.
    type: str
    choices: [reboot, 'off', 'on']
    default: reboot
  confirm:
    description:
      - Must be V(true), to say that cutting the node's power is intended.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the result of the fencing.
    type: float
    default: 300
extends_documentation_fragment:
  - vigil.cluster.common
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
    details:
      - Check mode verifies O(confirm) and that a device can fence the node, then reports
        C(changed=true) and fences nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
seealso:
  - module: vigil.cluster.cluster_health
  - module: vigil.cluster.node
'''

EXAMPLES = r'''
- name: Power node3 off through the cluster's fence devices
  vigil.cluster.fence:
    node: node3
    action: 'off'
    confirm: true
  register: fenced

- name: Show which device did it
  ansible.builtin.debug:
    msg: "{{ fenced.history.device }} fenced node3 at {{ fenced.history.completed }}"

- name: Check that node2 could be fenced, without fencing it
  vigil.cluster.fence:
    node: node2
    confirm: true
  check_mode: true
'''

RETURN = r'''
history:
  description:
    - The fencing history entry of this request - C(target), C(action), C(state)
      (C(success) or C(failed)), C(device) (the device or devices that fenced), C(origin)
      (the node that fenced), C(requested) and C(completed) (epoch seconds).
  returned: when a fencing was attempted
  type: dict
  sample:
    target: node3
    action: 'off'
    state: success
    device: fence-ipmi-node3
    origin: node1
    requested: 1735689600.123
    completed: 1735689601.456
levels:
  description: The device levels that can fence the node, in the order they are tried.
  returned: success
  type: list
  elements: list
  sample: [[fence-ipmi-node3], [fence-pdu-a, fence-pdu-b]]
elapsed:
  description: Seconds spent.
  returned: always
  type: float
error_kind:
  description: On failure, the kind of error (C(invalid), C(not_found), C(fencing), C(timeout)...).
  returned: failure
  type: str
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vigil.cluster.plugins.module_utils.client import ControlClient
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec, fail
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError
from ansible_collections.vigil.cluster.plugins.module_utils.ops import poll

# The daemon's own bound on a forwarded fencing request (seconds).
DAEMON_LIMIT_S = 290


def check(client, node, result):
    """Refuse unless a device can fence ``node`` and the socket's node is not the target."""
    status = client.call("status")
    if status.get("node") == node:
        raise VigilError("invalid", "the node behind the socket is %s itself: ask another "
                                    "node to fence it" % node)
    answer = client.call("fence_check", target=node)
    result["levels"] = answer.get("levels") or []
    if not answer.get("can_fence"):
        why = "; ".join(answer.get("reasons") or []) or "no fence device is configured"
        raise VigilError("fencing", "no configured fence device can fence %s (%s)" % (node, why))


def latest_entry(client, node, action, since):
    for entry in reversed(client.call("fence_history")):
        if (entry.get("target") == node and entry.get("action") == action
                and (entry.get("requested") or 0) >= since):
            return entry
    return None


def run(module, client, result):
    node, action = module.params["node"], module.params["action"]
    check(client, node, result)
    if module.check_mode:
        result["changed"] = True
        return
    asked = time.time() - 1.0  # the DC's clock stamps the entry; leave a little slack
    wait_s = module.params["timeout"]
    fencer = ControlClient(client.path, timeout_s=min(wait_s, DAEMON_LIMIT_S) + 5)
    try:
        entry = fencer.call("fence", target=node, action=action, confirm=True,
                            timeout_s=wait_s)
    except VigilError as exc:
        found = latest_entry(client, node, action, asked)
        if found is not None:
            result["history"] = found
            result["changed"] = found.get("state") == "success"
        raise exc
    result["changed"] = True
    # the answer comes from the DC; wait until the node behind the socket has the same
    # entry in its history, so that what the module returns is what `fence history` shows
    done, found = poll(lambda: _recorded(client, entry), 10, time.monotonic, time.sleep)[:2]
    result["history"] = found if done else entry


def _recorded(client, entry):
    for item in client.call("fence_history"):
        if (item.get("target"), item.get("action"), item.get("requested")) == (
                entry.get("target"), entry.get("action"), entry.get("requested")) \
                and item.get("state") != "pending":
            return True, item
    return False, None


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            node=dict(type="str", required=True),
            action=dict(type="str", default="reboot", choices=["reboot", "off", "on"]),
            confirm=dict(type="bool", default=False),
            timeout=dict(type="float", default=300),
        ), cib=False),
        supports_check_mode=True,
    )
    start = time.monotonic()
    if not module.params["confirm"]:
        module.fail_json(msg="fencing %s (%s) cuts its power: set confirm: true to do it"
                             % (module.params["node"], module.params["action"]),
                         error_kind="invalid", changed=False, elapsed=0.0)
    result = dict(changed=False)
    client = ControlClient(module.params["socket"])
    try:
        run(module, client, result)
    except VigilError as exc:
        fail(module, exc, elapsed=round(time.monotonic() - start, 3), **result)
    module.exit_json(elapsed=round(time.monotonic() - start, 3), **result)


if __name__ == "__main__":
    main()
