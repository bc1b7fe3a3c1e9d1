#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cib_info
short_description: The configuration and status of a vigil cluster as structured data
description:
  - Reads the CIB and returns its configuration as data - resources (primitives, groups,
    clones, with their parameters, meta attributes and operations), constraints, cluster
    properties, resource and operation defaults, fence devices, fencing levels and node
    attributes - in the shapes the CIB modules take, so RV(config) can be given back to
    M(vigil.cluster.cib).
  - On a live cluster, also the status - nodes, DC, quorum, where each resource runs and in
    which role, failed actions, fail counts, transient node attributes and the fencing
    history.
  - With O(cib_file), the configuration of that file only.
  - Read-only.
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options: {}
extends_documentation_fragment:
  - vigil.cluster.common
  - vigil.cluster.common.cib_file
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
  - module: vigil.cluster.cib
'''

EXAMPLES = r'''
- name: Read the CIB
  vigil.cluster.cib_info:
  register: cib

- name: Show the members of web-group
  ansible.builtin.debug:
    msg: "{{ (cib.config.resources | selectattr('id', 'equalto', 'web-group') | first).members }}"

- name: Is fencing enabled?
  ansible.builtin.assert:
    that: cib.config.properties['stonith-enabled'] | default('true') | bool

- name: Where web runs
  ansible.builtin.debug:
    msg: "{{ cib.status.summary.resources.web.nodes }}"

- name: Copy one cluster's configuration to a CIB file (to review it offline)
  vigil.cluster.cib:
    cib_file: /tmp/copy.xml
    config: "{{ cib.config }}"
'''

RETURN = r'''
config:
  description: The configuration section.
  returned: success
  type: dict
  contains:
    resources:
      description:
        - Primitives, groups and clones (fence devices excepted), outer before inner, in
          configuration order. Each has C(kind) (V(primitive), V(group) or V(clone)) and the
          options of M(vigil.cluster.cib_resource), M(vigil.cluster.cib_group) or
          M(vigil.cluster.cib_clone).
      type: list
      elements: dict
      sample:
        - {kind: group, id: web-group, members: [vip, web], meta: {}}
        - {kind: primitive, id: vip, agent: "ocf:heartbeat:IPaddr2", params: {ip: 192.0.2.10}, meta: {}, ops: []}
    constraints:
      description:
        - Constraints with the options of M(vigil.cluster.cib_constraint); one those options
          cannot express has C(id), C(type) and C(xml).
      type: list
      elements: dict
      sample: [{id: web-with-vip, type: colocation, resource: web, with_resource: vip, score: INFINITY}]
    properties:
      description: Cluster properties (C(crm_config)).
      type: dict
      sample: {stonith-enabled: "true"}
    rsc_defaults:
      description: Resource defaults.
      type: dict
    op_defaults:
      description: Operation defaults.
      type: dict
    stonith:
      description: Fence devices, with the options of M(vigil.cluster.cib_stonith).
      type: list
      elements: dict
    stonith_levels:
      description: Fencing levels - C(id), C(node), C(index), C(devices).
      type: list
      elements: dict
      sample: [{id: fl-node1-1, node: node1, index: 1, devices: [fence-node1]}]
nodes:
  description: The nodes of the configuration - C(id), C(name), C(attributes) (permanent node attributes).
  returned: success
  type: list
  elements: dict
  sample: [{id: "1", name: node1, attributes: {standby: "off"}}]
status:
  description:
    - The cluster's status as the node behind O(socket) sees it; null with O(cib_file).
    - The keys of the control API's status object (C(cluster_name), C(node), C(dc),
      C(quorate), C(nodes), C(resources), C(failed_actions), C(fencing)...) and the ones below.
  returned: success
  type: dict
  contains:
    summary:
      description: What M(vigil.cluster.cluster_info) computes - C(joined), C(online_nodes), C(resources) by id.
      type: dict
    fail_counts:
      description: Fail counts - C(node), C(resource), C(operation), C(interval_ms), C(count), C(last_failure) (epoch seconds).
      type: list
      elements: dict
    transient_attributes:
      description: Transient node attributes other than fail counts, by node name.
      type: dict
    fencing_history:
      description: Fencing actions, oldest first - C(target), C(action), C(state), C(device), C(origin), C(requested), C(completed).
      type: list
      elements: dict
version:
  description: The CIB version (admin_epoch, epoch, num_updates) read.
  returned: success
  type: list
  elements: int
  sample: [0, 12, 3]
error_kind:
  description: On failure, the kind of error (C(socket), C(timeout), C(invalid)...).
  returned: failure
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vigil.cluster.plugins.module_utils import backend as backends
from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import cibdata
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec, fail
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError
from ansible_collections.vigil.cluster.plugins.module_utils.status import summarize


def live_status(client, cib):
    status = dict(client.call("status"))
    status["summary"] = summarize(status)
    fail_counts, attributes = cibdata.transient(cib)
    status["fail_counts"] = fail_counts
    status["transient_attributes"] = attributes
    status["fencing_history"] = list(client.call("fence_history") or [])
    return status


def main():
    module = AnsibleModule(argument_spec=argument_spec({}), supports_check_mode=True)
    backend = backends.open_backend(module.params)
    try:
        cib, version = backend.read()
        conf = cibxml.configuration(cib)
        result = dict(changed=False, version=version, config=cibdata.configuration(conf),
                      nodes=cibdata.nodes(conf), status=None)
        if isinstance(backend, backends.LiveCib):
            result["status"] = live_status(backend.client, cib)
    except VigilError as exc:
        fail(module, exc, changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
