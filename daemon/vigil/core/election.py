"""DC election (sans-IO): one designated coordinator per quorate partition.

Every heartbeat carries the sender's belief about who the DC is; a node that believes it is
the DC itself is a *claimant*. Each node decides with :func:`choose_dc`, in this order:

=========================================  =================================================
situation                                   decision
=========================================  =================================================
no quorum                                   no DC (a minority never coordinates)
current DC still a member and claiming,     keep it: a healthy DC is not replaced when a
no lower-id claimant                        node joins (stability)
some members claim                          the lowest-id claimant (two DCs after a
                                            partition heals: the higher one steps down)
a member says another member is DC          wait to hear that DC's own claim (a node that
                                            rejoins must not grab the role)
nobody claims, not yet settled              no DC yet: wait for the join timeout so a
                                            cluster starting together elects once, and
                                            after each view change long enough to hear
                                            every member's claim
nobody claims, settled                      the lowest-id member
=========================================  =================================================

All members apply the same rule to the same heartbeats, so they converge on one DC.
"""

from __future__ import annotations

from collections.abc import Mapping


def choose_dc(me: int, members: frozenset[int], quorate: bool, current: int | None,
              claims: Mapping[int, int | None], settled: bool) -> tuple[int | None, str]:
    """Return (dc node id or None, reason)."""
    if not quorate:
        return None, "no quorum: no DC in this partition"
    beliefs = dict(claims)
    if current == me:
        beliefs[me] = me
    claimants = {n for n in members if beliefs.get(n) == n}
    if current is not None and current in claimants and min(claimants) == current:
        return current, f"node {current} stays DC"
    if claimants:
        winner = min(claimants)
        return winner, f"node {winner} is the lowest-id node claiming to be DC"
    believed = {beliefs[n] for n in members if beliefs.get(n) in members} - {me}
    if believed:
        return None, f"waiting to hear node {min(b for b in believed if b is not None)} claim DC"
    if not settled:
        return None, "waiting for the join timeout before electing a DC"
    winner = min(members)
    return winner, f"no DC claimed: node {winner} is the lowest-id member"
