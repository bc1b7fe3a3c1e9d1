"""What this node last heard each peer say about itself (sans-IO).

A node in trouble says so in its heartbeat: ``disk`` (it cannot save the CIB) or ``fds``
(it cannot accept connections: its control socket and peer port are failing). Such a
node must not look healthy: status names the trouble and the election passes it over.

One writer: :meth:`PeerTable.heard`, called with every heartbeat. The election reads the
claims, the DC reads the replicas' versions and terms, the view numbering reads the views.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .messages import Hb


@dataclass
class PeerTable:
    me: int
    claims: dict[int, int | None] = field(default_factory=dict)  # whom each follows
    claim_quorate: dict[int, bool] = field(default_factory=dict)
    hears_me: dict[int, bool] = field(default_factory=dict)
    versions: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # saved CIB
    terms: dict[int, int] = field(default_factory=dict)
    views: dict[int, tuple[int, int]] = field(default_factory=dict)
    # node -> what keeps it from doing its work ("disk", "fds" -> why), from its heartbeat
    troubles: dict[int, dict[str, str]] = field(default_factory=dict)
    fence_acks: set[int] = field(default_factory=set)  # they answer fence_event acks
    held: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # unsaved versions

    def heard(self, sender: int, hb: Hb) -> None:
        self.claims[sender] = hb.dc
        self.claim_quorate[sender] = hb.quorate
        self.hears_me[sender] = hb.members is not None and self.me in hb.members
        if hb.fence_acks:
            self.fence_acks.add(sender)
        else:
            self.fence_acks.discard(sender)
        troubles = {k: v for k, v in (("disk", hb.disk), ("fds", hb.fds)) if v}
        if troubles:
            self.troubles[sender] = troubles
        else:
            self.troubles.pop(sender, None)
        if hb.version is not None:
            self.versions[sender] = hb.version
        if hb.held is not None:
            self.held[sender] = hb.held
        else:
            self.held.pop(sender, None)
        if hb.term is not None:
            self.terms[sender] = hb.term
        if hb.view is not None:
            self.views[sender] = hb.view

    def lost(self, node: int) -> None:
        """``node`` left the view: its claim no longer counts."""
        self.claims.pop(node, None)

    def newest(self, node: int) -> tuple[int, int, int]:
        """The newest version ``node`` holds, saved or not."""
        return max(self.versions.get(node, (0, 0, 0)), self.held.get(node, (0, 0, 0)))

    def forget(self, node: int) -> None:
        """``node`` was removed from the configuration."""
        for table in (self.claims, self.claim_quorate, self.hears_me, self.versions,
                      self.terms, self.views, self.held):
            table.pop(node, None)
        self.troubles.pop(node, None)
        self.fence_acks.discard(node)

    @property
    def unfit(self) -> frozenset[int]:
        """Peers that cannot do their work (passed over as DC)."""
        return frozenset(self.troubles)
