"""What this node last heard each peer say about itself (sans-IO).

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
    unfit: set[int] = field(default_factory=set)  # their disk cannot save the CIB

    def heard(self, sender: int, hb: Hb) -> None:
        self.claims[sender] = hb.dc
        self.claim_quorate[sender] = hb.quorate
        self.hears_me[sender] = hb.members is not None and self.me in hb.members
        if hb.disk:
            self.unfit.add(sender)
        else:
            self.unfit.discard(sender)
        if hb.version is not None:
            self.versions[sender] = hb.version
        if hb.term is not None:
            self.terms[sender] = hb.term
        if hb.view is not None:
            self.views[sender] = hb.view

    def lost(self, node: int) -> None:
        """``node`` left the view: its claim no longer counts."""
        self.claims.pop(node, None)

    def forget(self, node: int) -> None:
        """``node`` was removed from the configuration."""
        for table in (self.claims, self.claim_quorate, self.hears_me, self.versions,
                      self.terms, self.views):
            table.pop(node, None)
        self.unfit.discard(node)
