"""DC election (sans-IO): one designated coordinator per partition.

Every heartbeat carries the sender's belief about who the DC is, whether it has quorum,
and the members it hears. Only *mutual* members take part: peers whose heartbeat lists this
node (a node that hears nobody must not be chosen by those who hear it). A node that
believes it is the DC itself is a *claimant*. Each node decides with :func:`choose_dc`:

=========================================  =================================================
situation                                   decision
=========================================  =================================================
current DC still a member, claiming, and    keep it: a healthy DC is not replaced when a
the best claimant                           node joins (stability)
some members claim                          the best claimant: quorate claimants before
                                            non-quorate ones, then the lowest id (two DCs
                                            after a partition heals: one steps down)
settled, and the members follow only the    that node: the settled rule's choice, its claim
lowest-id member                            on the way (no "no DC" blip at start-up)
a member says another member is DC          wait to hear that DC's own claim (a node that
                                            rejoins must not grab the role)
a member follows a DC this node does not    no DC here: with a one-way cut, electing one
hear                                        would give the partition two DCs
nobody claims, not yet settled              no DC yet: wait for the join timeout so a
                                            cluster starting together elects once, and
                                            after each view change long enough to hear
                                            every member's claim
nobody claims, settled                      the lowest-id member
=========================================  =================================================

Members whose disk cannot save the CIB (their heartbeat says ``disk``) are passed over
while any other member can be chosen: their claims and the beliefs naming them do not
count, so a DC whose disk fails hands over to the best fit member.

A partition without quorum elects a DC too, as Pacemaker does: it applies
no-quorum-policy (stops resources by default) and refuses configuration writes. All
members apply the same rule to the same heartbeats, so they converge on one DC.
"""

from __future__ import annotations

from collections.abc import Mapping


def choose_dc(me: int, members: frozenset[int], quorate: bool, current: int | None,
              claims: Mapping[int, int | None], settled: bool,
              claim_quorate: Mapping[int, bool] | None = None,
              unfit: frozenset[int] = frozenset()) -> tuple[int | None, str]:
    """Return (dc node id or None, reason). ``members`` are the mutual members; ``unfit``
    the members that cannot save the CIB: passed over while any other member can."""
    candidates = (members - unfit) or members
    passed_over = members - candidates
    beliefs = {n: b for n, b in claims.items() if b not in passed_over}
    if current == me and me not in passed_over:
        beliefs[me] = me
    has_quorum = dict(claim_quorate or {})
    has_quorum[me] = quorate
    claimants = {n for n in candidates if beliefs.get(n) == n}
    pool = {n for n in claimants if has_quorum.get(n, False)} or claimants
    if current is not None and current in pool and min(pool) == current:
        return current, f"node {current} stays DC"
    if pool:
        winner = min(pool)
        return winner, f"node {winner} is the lowest-id node claiming to be DC"
    believed = {b for n in members if (b := beliefs.get(n)) is not None}
    believed.discard(me)
    unheard = believed - members
    if unheard:
        # members follow a DC this node cannot hear (a one-way cut): taking the role here
        # would give the partition two DCs
        return None, f"members follow node {min(unheard)}, which this node does not hear"
    lowest = min(candidates)
    if believed and settled and believed == {lowest}:
        # what the settled rule below would choose, and the members follow it already:
        # its claim is on the way (without this, a node that chose it at start-up would
        # report no DC for a heartbeat once others follow it too)
        return lowest, f"node {lowest} is the lowest-id member and the members follow it"
    if believed:
        return None, f"waiting to hear node {min(believed)} claim DC"
    if not settled:
        return None, "waiting for the join timeout, or for the view to settle"
    return lowest, f"no DC claimed: node {lowest} is the lowest-id member"
