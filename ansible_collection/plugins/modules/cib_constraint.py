#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cib_constraint
short_description: Create, update in place or delete a location, colocation or order constraint in a vigil cluster
description:
  - Declares one constraint in the CIB's C(constraints) section - C(rsc_location) (where a
    resource may or prefers to run), C(rsc_colocation) (run with or apart from another
    resource) or C(rsc_order) (start one before another).
  - The constraint is exactly what the options say; an option left out is an attribute the
    constraint does not have, so Pacemaker's default applies.
  - Every resource it names must exist; otherwise the module fails, naming it, and writes
    nothing.
  - Computes, then applies, like M(vigil.cluster.cib_resource) - compared canonically
    (C(+INFINITY) equals C(INFINITY)), written only when different, on the CIB version read.
  - Works on a live cluster through the control socket, or on a CIB file (O(cib_file)).
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  id:
    description:
      - Id of the constraint.
    type: str
    required: true
  type:
    description:
      - The kind of constraint. Required with O(state=present).
    type: str
    choices: [location, colocation, order]
  resource:
    description:
      - The constrained resource (location and colocation).
    type: str
  node:
    description:
      - Location - the node the score applies to. Give either this or O(rules).
    type: str
  score:
    description:
      - Location with O(node) and colocation - an integer, or C(INFINITY), C(+INFINITY),
        C(-INFINITY). Defaults to C(INFINITY). Negative keeps apart or away.
    type: raw
  rules:
    description:
      - Location - rules instead of O(node); the resource gets a rule's score on the nodes
        where the rule holds.
    type: list
    elements: dict
    suboptions:
      score:
        description:
          - Score of the rule (an integer or C([+-]INFINITY)); defaults to C(INFINITY).
        type: raw
      boolean_op:
        description:
          - How the expressions combine (Pacemaker's default is V(and)).
        type: str
        choices: [and, or]
      expressions:
        description:
          - Node attribute tests (C(#uname) is the node's name).
        type: list
        elements: dict
        required: true
        suboptions:
          attribute:
            description: Name of the node attribute.
            type: str
            required: true
          operation:
            description: Comparison; V(defined) and V(not_defined) take no value.
            type: str
            required: true
            choices: [lt, gt, lte, gte, eq, ne, defined, not_defined]
          value:
            description: The value to compare with.
            type: raw
          type:
            description: How to compare (Pacemaker's default - numbers for lt/gt/lte/gte, else strings).
            type: str
            choices: [string, integer, number, version]
  role:
    description:
      - Location and colocation - the role of O(resource) the constraint applies to.
    type: str
    choices: [Started, Stopped, Promoted, Unpromoted]
  with_resource:
    description:
      - Colocation - the resource O(resource) is placed relative to.
    type: str
  with_role:
    description:
      - Colocation - the role of O(with_resource).
    type: str
    choices: [Started, Stopped, Promoted, Unpromoted]
  first:
    description:
      - Order - the resource acted on first.
    type: str
  then:
    description:
      - Order - the resource acted on after O(first).
    type: str
  first_action:
    description:
      - Order - the action of O(first) (Pacemaker's default is V(start)).
    type: str
    choices: [start, stop, promote, demote]
  then_action:
    description:
      - Order - the action of O(then) (Pacemaker's default is O(first_action)).
    type: str
    choices: [start, stop, promote, demote]
  kind:
    description:
      - Order - V(Mandatory) (Pacemaker's default), V(Optional) or V(Serialize).
    type: str
    choices: [Mandatory, Optional, Serialize]
  symmetrical:
    description:
      - Order - whether the reverse order applies to stopping (Pacemaker's default is true).
    type: bool
  state:
    description:
      - V(present) creates or updates the constraint, V(absent) deletes it.
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
      - The diff shows the constraint's XML before and after.
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
notes:
  - An id already used by another kind of element, or by a constraint of another type, is
    refused; delete that first.
seealso:
  - module: vigil.cluster.cib_resource
  - module: vigil.cluster.cib
'''

EXAMPLES = r'''
- name: Prefer node1 for web
  vigil.cluster.cib_constraint:
    id: web-prefers-node1
    type: location
    resource: web
    node: node1
    score: 100

- name: Never run web on nodes without the ssd attribute
  vigil.cluster.cib_constraint:
    id: web-needs-ssd
    type: location
    resource: web
    rules:
      - score: -INFINITY
        expressions:
          - {attribute: ssd, operation: not_defined}

- name: Run web where vip runs
  vigil.cluster.cib_constraint:
    id: web-with-vip
    type: colocation
    resource: web
    with_resource: vip

- name: Start vip before web
  vigil.cluster.cib_constraint:
    id: vip-then-web
    type: order
    first: vip
    then: web
    kind: Mandatory

- name: Remove a constraint
  vigil.cluster.cib_constraint:
    id: web-prefers-node1
    state: absent
'''

RETURN = r'''
constraint:
  description:
    - The constraint after the run (in check mode, what a real run would leave), in the
      module's option names; null when absent.
  returned: success
  type: dict
  sample: {id: web-with-vip, type: colocation, resource: web, with_resource: vip, score: INFINITY}
action:
  description: What the run did (or would do in check mode).
  returned: success
  type: str
  choices: [none, create, update, delete]
created:
  description: Ids of the objects the run adds.
  returned: success
  type: list
  elements: str
updated:
  description: Ids of the objects the run changes.
  returned: success
  type: list
  elements: str
removed:
  description: Ids of the objects the run removes.
  returned: success
  type: list
  elements: str
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
from ansible_collections.vigil.cluster.plugins.module_utils import constraints, runner
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec

ROLES = ["Started", "Stopped", "Promoted", "Unpromoted"]
ACTIONS = ["start", "stop", "promote", "demote"]
EXPRESSION = dict(
    attribute=dict(type="str", required=True),
    operation=dict(type="str", required=True,
                   choices=["lt", "gt", "lte", "gte", "eq", "ne", "defined", "not_defined"]),
    value=dict(type="raw"),
    type=dict(type="str", choices=["string", "integer", "number", "version"]),
)
RULE = dict(
    score=dict(type="raw"),
    boolean_op=dict(type="str", choices=["and", "or"]),
    expressions=dict(type="list", elements="dict", required=True, options=EXPRESSION),
)


def build(params):
    spec = constraints.ConstraintSpec(dict((k, params[k]) for k in constraints.ALL_OPTIONS))

    def describe(conf):
        elem, _parent = cibxml.find_by_id(conf, spec.id)
        return constraints.describe(elem) if elem is not None else None

    return runner.Task("constraint %s" % spec.id, lambda conf: constraints.edit(conf, spec),
                       "constraint", describe)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            id=dict(type="str", required=True),
            type=dict(type="str", choices=["location", "colocation", "order"]),
            resource=dict(type="str"),
            node=dict(type="str"),
            score=dict(type="raw"),
            rules=dict(type="list", elements="dict", options=RULE),
            role=dict(type="str", choices=ROLES),
            with_resource=dict(type="str"),
            with_role=dict(type="str", choices=ROLES),
            first=dict(type="str"),
            then=dict(type="str"),
            first_action=dict(type="str", choices=ACTIONS),
            then_action=dict(type="str", choices=ACTIONS),
            kind=dict(type="str", choices=["Mandatory", "Optional", "Serialize"]),
            symmetrical=dict(type="bool"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        )),
        required_if=[("state", "present", ("type",))],
        supports_check_mode=True,
    )
    runner.run(module, lambda: build(module.params))


if __name__ == "__main__":
    main()
