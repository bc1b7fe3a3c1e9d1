#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: cib_ticket
short_description: Grant, revoke, put in standby or activate a ticket of a vigil cluster
description:
  - Sets a ticket's state in the CIB's status section, as C(vigilctl ticket) and
    Pacemaker's C(crm_ticket) do. Tickets gate the resources of C(rsc_ticket) constraints
    (declare those with M(vigil.cluster.cib)).
  - Changes only what differs; check mode and diff mode predict exactly what a real run
    does.
  - Revoking a ticket, or putting it in standby, can trigger the C(loss-policy) of the
    constraints naming it (stop, demote, fence or freeze their resources); the module
    refuses to do either without O(force=true).
version_added: 0.1.0
author:
  - vigil contributors (!UNKNOWN)
options:
  ticket:
    description:
      - The ticket's id, as C(rsc_ticket) constraints name it.
    type: str
    required: true
  state:
    description:
      - V(granted) grants the ticket to this cluster, V(revoked) revokes it.
      - Omitted, the grant is left as it is.
    type: str
    choices: [granted, revoked]
  standby:
    description:
      - V(true) puts the ticket in standby (its resources behave as if it were revoked),
        V(false) activates it again. Omitted, left as it is.
    type: bool
  force:
    description:
      - Needed to revoke the ticket or to put it in standby.
    type: bool
    default: false
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
      - The diff shows the ticket's granted and standby before and after.
  action_group:
    description: Use C(group/vigil.cluster.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vigil.cluster.cluster
seealso:
  - module: vigil.cluster.cib
  - module: vigil.cluster.cluster_info
'''

EXAMPLES = r'''
- name: This site runs the database
  vigil.cluster.cib_ticket:
    ticket: db-site
    state: granted

- name: Hand the database over to the other site (its resources stop here first)
  vigil.cluster.cib_ticket:
    ticket: db-site
    state: revoked
    force: true

- name: Drain a ticket's resources for maintenance, keeping the grant
  vigil.cluster.cib_ticket:
    ticket: db-site
    standby: true
    force: true
'''

RETURN = r'''
ticket:
  description: The ticket after the run (in check mode, what a real run would leave).
  returned: success
  type: dict
  sample: {id: db-site, granted: true, standby: false,
           constraints: [{constraint: db-needs-site, rsc: db, loss_policy: stop}]}
before:
  description: The ticket as it was read.
  returned: success
  type: dict
actions:
  description: The ticket actions the run carries out (or would, in check mode), in order.
  returned: success
  type: list
  elements: str
  sample: [grant, activate]
version:
  description: The CIB version after the run; in check mode or when nothing changed, the version read.
  returned: success
  type: list
  elements: int
error_kind:
  description: On failure, the kind of error (C(invalid), C(unavailable), C(socket)...).
  returned: failure
  type: str
  sample: invalid
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vigil.cluster.plugins.module_utils.client import ControlClient
from ansible_collections.vigil.cluster.plugins.module_utils.common import argument_spec, fail
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError


def plan(before, state, standby):
    """The ticket actions that take ``before`` to the wanted state, and the state after."""
    after = dict(before)
    actions = []
    if state is not None and before["granted"] != (state == "granted"):
        actions.append("grant" if state == "granted" else "revoke")
        after["granted"] = state == "granted"
    if standby is not None and before["standby"] != standby:
        actions.append("standby" if standby else "activate")
        after["standby"] = standby
    return actions, after


def describe(ticket):
    return "granted: %s\nstandby: %s\n" % (
        str(ticket["granted"]).lower(), str(ticket["standby"]).lower())


def run(module, client, result):
    params = module.params
    name = params["ticket"]
    if not name:
        raise VigilError("invalid", "ticket: must be a non-empty string")
    tickets = client.call("ticket_list")
    before = next((t for t in tickets if t["id"] == name),
                  dict(id=name, granted=False, standby=False, constraints=[]))
    actions, after = plan(before, params["state"], params["standby"])
    risky = [a for a in actions if a in ("revoke", "standby")]
    if risky and not params["force"]:
        raise VigilError("invalid", "%s of ticket %s can trigger the loss-policy of the "
                         "constraints naming it (%s): set force: true" % (
                             " and ".join(risky), name,
                             ", ".join("%s: %s" % (c["rsc"], c["loss_policy"])
                                       for c in before["constraints"]) or "none yet"))
    version = client.call("cib_get", scope="status")["version"]
    result.update(changed=bool(actions), before=before, ticket=after, actions=actions,
                  version=version)
    if module._diff:
        header = "ticket %s" % name
        result["diff"] = dict(before=describe(before), after=describe(after),
                              before_header=header, after_header=header)
    if module.check_mode:
        return
    for action in actions:
        reply = client.call("ticket", ticket=name, action=action, force=params["force"],
                            expect_version=version)
        result["ticket"] = reply["ticket"]
        result["version"] = reply["version"]


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(dict(
            ticket=dict(type="str", required=True),
            state=dict(type="str", choices=["granted", "revoked"]),
            standby=dict(type="bool"),
            force=dict(type="bool", default=False),
        ), cib=False),
        required_one_of=[("state", "standby")],
        supports_check_mode=True,
    )
    client = ControlClient(module.params["socket"])
    result = dict(changed=False)
    try:
        run(module, client, result)
    except VigilError as exc:
        fail(module, exc, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
