#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cib
short_description: Declare many objects of a vigil cluster's CIB at once, in one atomic write
description:
  - Declares resources, constraints, properties, defaults, fence devices and fencing levels
    in one task, with the same shapes as the single-object modules
    (M(vigil.cluster.cib_resource), M(vigil.cluster.cib_group), M(vigil.cluster.cib_clone),
    M(vigil.cluster.cib_constraint), M(vigil.cluster.cib_property),
    M(vigil.cluster.cib_stonith), M(vigil.cluster.cib_stonith_level)) and their rules.
  - Everything is checked before the CIB is read; then the whole declaration is applied to a
    copy of the configuration, compared object by object with the live one, and written in
    one write on the CIB version read (a single changed object is put on its own; anything
    more replaces the configuration atomically, and a race re-reads and retries).
  - V(merge) (the default) creates or updates what is declared and touches nothing else.
    V(replace) also removes the objects the play O(owned) that are not declared - and never
    anything it does not own.
  - The output of M(vigil.cluster.cib_info) (its RV(vigil.cluster.cib_info#module:config))
    has these shapes, so it can be given back as O(config).
  - Works on a live cluster through the control socket, or on a CIB file (O(cib_file)).
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  config:
    description:
      - What to declare. Every key is optional.
      - C(resources) - a list of primitives (C(id), C(agent), C(params), C(meta), C(ops)),
        groups (C(id), C(members), C(meta)) and clones (C(id), C(resource), C(promotable),
        C(meta)); C(kind) (V(primitive), V(group), V(clone)) says which, or is inferred from
        C(agent), C(members) or C(resource). Each item may have C(state=absent) (and a group
        C(delete_members)).
      - C(constraints) - a list of constraints with the options of
        M(vigil.cluster.cib_constraint).
      - C(properties), C(rsc_defaults), C(op_defaults) - dicts of name to value (null
        removes the name), merged as M(vigil.cluster.cib_property) does.
      - C(stonith) - a list of fence devices with the options of M(vigil.cluster.cib_stonith).
      - C(stonith_levels) - a list of fencing levels (C(node), C(index), C(devices)).
    type: dict
    default: {}
  xml:
    description:
      - A raw configuration fragment for what the options cannot express - a
        C(<configuration>) element, or one of its sections (C(<constraints>)...). Each
        element directly inside a section is created, or replaces the element with its id.
      - Applied before O(config).
    type: str
  mode:
    description:
      - V(merge) creates or updates what is declared and leaves everything else.
      - V(replace) also removes the fencing levels, constraints, clones, groups (their
        members stay, unless owned too) and primitives whose id is O(owned) and that are not
        declared. Properties and defaults are always merged.
    type: str
    choices: [merge, replace]
    default: merge
  owned:
    description:
      - With O(mode=replace), the ids this play owns - each entry is an id prefix, or a
        regular expression when it starts with C(^).
      - A removal that would take an object that is not owned with it (a constraint naming a
        removed resource) fails, naming that object, and nothing is written.
    type: list
    elements: str
    default: []
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
seealso:
  - module: vigil.cluster.cib_info
  - module: vigil.cluster.cib_resource
  - module: vigil.cluster.cib_constraint
'''

EXAMPLES = r'''
- name: A web service - address, server, group, placement, fencing
  vigil.cluster.cib:
    config:
      properties:
        stonith-enabled: true
      rsc_defaults:
        resource-stickiness: 100
      stonith:
        - id: app-fence-pdu
          agent: fence_apc
          params: {ip: 192.0.2.200, pcmk_host_map: "node1:1;node2:2;node3:3"}
      resources:
        - id: app-vip
          agent: ocf:heartbeat:IPaddr2
          params: {ip: 192.0.2.10, cidr_netmask: 24}
        - id: app-web
          agent: ocf:vigil:http
          params: {docroot: /srv/www, port: 80}
          ops: [{name: monitor, interval: 10s, timeout: 20s}]
        - id: app-group
          members: [app-vip, app-web]
      constraints:
        - {id: app-prefers-node1, type: location, resource: app-group, node: node1, score: 50}
      stonith_levels:
        - {node: node1, index: 1, devices: [app-fence-pdu]}

- name: The same, and remove every app-* object that is no longer declared
  vigil.cluster.cib:
    mode: replace
    owned: [app-, "^fl-"]
    config: "{{ app_config }}"

- name: Something the options do not cover
  vigil.cluster.cib:
    xml: |
      <constraints>
        <rsc_ticket id="app-needs-ticket" rsc="app-group" ticket="site-a" loss-policy="stop"/>
      </constraints>
'''

RETURN = r'''
created:
  description: Ids of the resources and other objects the run adds (or would add, in check mode).
  returned: success
  type: list
  elements: str
  sample: [app-vip, app-web, app-group]
updated:
  description: Ids of the top-level objects the run changes.
  returned: success
  type: list
  elements: str
  sample: [cib-bootstrap-options]
removed:
  description: Ids of the resources and other objects the run removes.
  returned: success
  type: list
  elements: str
  sample: [app-old]
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
  sample: invalid
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vigil.cluster.plugins.module_utils import declare, runner
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec


def build(params):
    decl = declare.Declaration(params["config"], params["xml"], params["mode"], params["owned"])
    return runner.Task("configuration", decl.edit, agents=decl.agents())


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            config=dict(type="dict", default={}),
            xml=dict(type="str"),
            mode=dict(type="str", default="merge", choices=["merge", "replace"]),
            owned=dict(type="list", elements="str", default=[]),
        )),
        supports_check_mode=True,
    )
    runner.run(module, lambda: build(module.params))


if __name__ == "__main__":
    main()
