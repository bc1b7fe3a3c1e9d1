"""Tickets: ``rsc_ticket`` constraints against the ``<status><tickets>`` section.

Rules (Pacemaker Explained, "Multi-Site Clusters and Tickets"; checked on the corpus)
-----
* A ticket is granted when its ``ticket_state`` says ``granted=true``; a ticket never
  mentioned is not granted. ``standby=true`` makes a granted ticket behave as revoked
  for placement, without the loss policy.
* ``loss-policy`` defaults to ``demote`` for ``rsc-role=Promoted`` and to ``stop``
  otherwise; ``fence`` needs fencing enabled, else it is ``stop``.
* Nothing happens while the ticket is granted and not in standby. Otherwise, for every
  primitive under the constrained resource (clone instances included):
  * ticket revoked and the primitive active: ``stop`` bans it everywhere; ``demote``
    bans it unless the constraint is for the Promoted role; ``fence`` (when the
    primitive's role matches) bans it and fences the nodes where it is active;
    ``freeze`` (role matching) leaves it unmanaged where it is;
  * ticket revoked or in standby and the primitive inactive (or in standby at all):
    banned everywhere, unless the constraint is for the Promoted role with a policy
    other than stop.
* A constraint for the Promoted role whose ticket is revoked or in standby also forbids
  promotion of the clone anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree

from . import scores
from .history import PROMOTED, STARTED, STOPPED, UNPROMOTED
from .model import LocationSpec, Rule, TicketSpec

Element = etree._Element
_ROLE = {"Promoted": PROMOTED, "Unpromoted": UNPROMOTED, "Started": STARTED,
         "Stopped": STOPPED}


def ticket_states(status: Element | None) -> dict[str, tuple[bool, bool]]:
    """ticket id -> (granted, standby) from ``<status><tickets><ticket_state>``."""
    out: dict[str, tuple[bool, bool]] = {}
    if status is None:
        return out
    for ts in status.iterfind("tickets/ticket_state"):
        tid = ts.get("id")
        if tid:
            out[tid] = (scores.is_true(ts.get("granted"), False),
                        scores.is_true(ts.get("standby"), False))
    return out


def _policy(spec: TicketSpec, stonith_enabled: bool) -> str:
    policy = spec.loss_policy
    if policy == "fence" and not stonith_enabled:
        return "stop"
    if policy in ("stop", "demote", "fence", "freeze"):
        return policy
    return "demote" if spec.role == "Promoted" else "stop"


def apply_tickets(tickets: tuple[TicketSpec, ...], status: Element | None,
                  rscs: dict[str, dict[str, Any]], by_base: Mapping[str, list[str]],
                  stonith_enabled: bool, fence: Callable[[str, str], None]
                  ) -> list[LocationSpec]:
    """Update the unpacked resource records ``rscs`` (ban, freeze) and fence through
    ``fence(node, reason)``; return the promotion bans as Promoted-role locations."""
    states = ticket_states(status)
    promo_bans: list[LocationSpec] = []
    for spec in tickets:
        granted, standby = states.get(spec.ticket, (False, False))
        if granted and not standby:
            continue
        policy = _policy(spec, stonith_enabled)
        for top in by_base.get(spec.rsc, []):
            for rid in _leaves(rscs, top):
                _one(spec, policy, granted, rscs[rid], fence)
        if spec.role == "Promoted":
            promo_bans.append(LocationSpec(
                id=f"{spec.id}-stateful-without-ticket", rsc=spec.rsc, role="Promoted",
                rules=(Rule(id=f"{spec.id}-no-ticket", score=-scores.INFINITY),)))
    return promo_bans


def _leaves(rscs: dict[str, dict[str, Any]], rid: str) -> list[str]:
    kids = rscs[rid]["children"]
    if not kids:
        return [rid]
    return [leaf for k in kids for leaf in _leaves(rscs, k)]


def _one(spec: TicketSpec, policy: str, granted: bool, rec: dict[str, Any],
         fence: Callable[[str, str], None]) -> None:
    role_matches = spec.role is None or _ROLE.get(spec.role) == rec["role"]
    if not granted and rec["running"]:
        if policy == "stop" or (policy == "demote" and spec.role != "Promoted"):
            rec["ban_all"] = True
        elif policy == "fence" and role_matches:
            rec["ban_all"] = True
            for node in rec["running"]:
                fence(node, "deadman ticket was lost")
        elif policy == "freeze" and role_matches:
            rec["managed"] = False
            rec["blocked"] = True
    elif spec.role != "Promoted" or policy == "stop":
        rec["ban_all"] = True
