"""Tickets as an operator sees them: grant, revoke, standby, activate (crm_ticket).

A ticket's state lives in ``<status><tickets><ticket_state id=... granted= standby=>``;
the scheduler applies it to the ``rsc_ticket`` constraints that name it (stop, demote,
fence or freeze their resources: :mod:`.scheduler.tickets`).

Rules
-----
* ``grant`` and ``activate`` are always allowed. ``revoke`` and ``standby`` can trigger
  the constraints' ``loss-policy`` (a fencing, with ``loss-policy=fence``): as with
  ``crm_ticket``, they need ``force``.
* A ticket nobody has granted is revoked; granting it creates its state.
* A change that changes nothing is reported unchanged and writes nothing.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from ..errors import CibInvalid
from . import cib as C

ACTIONS = {"grant": ("granted", "true"), "revoke": ("granted", "false"),
           "standby": ("standby", "true"), "activate": ("standby", "false")}
NEED_FORCE = ("revoke", "standby")


def tickets_view(cib: C.Element) -> list[dict[str, Any]]:
    """Every ticket named by a constraint or with a state: granted, standby, who uses it."""
    users: dict[str, list[dict[str, str]]] = {}
    for rt in cib.iterfind("configuration/constraints/rsc_ticket"):
        ticket = str(rt.get("ticket"))
        rscs = [str(rt.get("rsc"))] if rt.get("rsc") else [
            str(r.get("id")) for r in rt.iter("resource_ref")]
        for rsc in rscs:
            users.setdefault(ticket, []).append(
                {"constraint": str(rt.get("id")), "rsc": rsc,
                 "loss_policy": str(rt.get("loss-policy") or "stop")})
    states = {str(ts.get("id")): ts for ts in cib.iterfind("status/tickets/ticket_state")}
    return [{"id": t,
             "granted": states[t].get("granted") == "true" if t in states else False,
             "standby": states[t].get("standby") == "true" if t in states else False,
             "constraints": users.get(t, [])}
            for t in sorted(set(users) | set(states))]


def op_ticket(cib: C.Element, req: dict[str, Any]) -> tuple[C.Element | None, dict[str, Any]]:
    ticket = req.get("ticket")
    action = req.get("action")
    if not isinstance(ticket, str) or not ticket:
        raise CibInvalid("argument 'ticket' must be a non-empty string")
    if not isinstance(action, str) or action not in ACTIONS:
        raise CibInvalid(f"ticket action must be one of {', '.join(ACTIONS)}, not "
                         f"{action!r}")
    if action in NEED_FORCE and req.get("force") is not True:
        raise CibInvalid(f"{action} of ticket {ticket!r} can trigger the loss-policy of "
                         "the constraints naming it (a stop, demote or fencing): it needs "
                         "force: true")
    C.check_expected(cib, req.get("expect_version"))
    attr, value = ACTIONS[str(action)]
    current = next((ts for ts in cib.iterfind("status/tickets/ticket_state")
                    if ts.get("id") == ticket), None)
    was = current.get(attr) if current is not None else None
    if was == value or (was is None and value == "false"):
        return None, {"version": list(C.version(cib)), "changed": False,
                      "ticket": _one(cib, ticket)}
    new = copy.deepcopy(cib)
    status = new.find("status")
    if status is None:
        status = etree.SubElement(new, "status")
    tickets = status.find("tickets")
    if tickets is None:
        tickets = etree.SubElement(status, "tickets")
    state = next((ts for ts in tickets.iterfind("ticket_state") if ts.get("id") == ticket),
                 None)
    if state is None:
        state = etree.SubElement(tickets, "ticket_state", id=ticket, granted="false")
    state.set(attr, value)
    C.bump_updates(new)
    return new, {"version": list(C.version(new)), "changed": True,
                 "ticket": _one(new, ticket)}


def _one(cib: C.Element, ticket: str) -> dict[str, Any]:
    return next((t for t in tickets_view(cib) if t["id"] == ticket),
                {"id": ticket, "granted": False, "standby": False, "constraints": []})
