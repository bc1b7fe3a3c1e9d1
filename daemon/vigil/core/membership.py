"""Peer liveness, the membership view and quorum (sans-IO; time is ``now_ms``).

Liveness table (per peer, judged on every tick)::

    silence <  deadtime/2            ALIVE
    deadtime/2 <= silence < deadtime SUSPECT   (still a member: a suspicion is not a verdict)
    silence >= deadtime              DEAD      (leaves the view)

Second opinions: every heartbeat says how long ago its sender last heard each peer
(``hd``: node id -> age in ms). A peer that reaches the deadtime while another member
heard it within the deadtime is only SUSPECT: the link between the two is lossy, the peer
is not dead. Such a peer leaves the view at twice the deadtime at the latest (a one-way
cut that lasts). A peer nobody hears leaves at the deadtime, as before: real deaths are
detected as fast as without second opinions.

A heartbeat from a DEAD or unknown peer makes it ALIVE again at once. A new incarnation
(the peer restarted) is reported as a restart, so the DC can forget the peer's resource
history.

Pauses: if this node's own tick comes late (the process was stopped or starved), its view
of others' silence is not evidence: every peer's silence is discounted by the gap before
judging, so a paused node suspects itself first and never declares live peers dead.

Quorum: the view is quorate when its votes reach a strict majority of ``expected_votes``
(default: the sum of configured votes). ``two_node`` makes one vote of two enough.
``wait_for_all`` withholds quorum after start until every configured node has been seen in
the view at the same time once.

Last man standing (optional): once a quorate view has been stable for
``lms_window_ms``, ``expected_votes`` drops to the votes of the members, so a cluster that
loses nodes one at a time (each loss after the window) keeps quorum down to two nodes. Votes
of nodes that join raise it again, up to the configured value. A non-quorate partition never
lowers it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from . import defaults as D


class Liveness(enum.Enum):
    ALIVE = "alive"
    SUSPECT = "suspect"
    DEAD = "dead"


@dataclass
class Peer:
    node_id: int
    votes: int
    liveness: Liveness = Liveness.DEAD
    last_seen_ms: int = 0
    incarnation: int = 0
    info: dict[str, object] = field(default_factory=dict)
    # other node -> when (this node's clock) this peer last heard it, from its "hd"
    heard: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ViewChange:
    joined: frozenset[int]
    left: frozenset[int]
    restarted: frozenset[int]
    members: frozenset[int]
    quorate: bool
    reason: str


class Membership:
    def __init__(self, me: int, votes: dict[int, int], deadtime_ms: int,
                 heartbeat_interval_ms: int, expected_votes: int | None = None,
                 two_node: bool = False, wait_for_all: bool = False,
                 last_man_standing: bool = False, lms_window_ms: int = D.LMS_WINDOW_MS) -> None:
        self.me = me
        self.deadtime_ms = deadtime_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.fixed_expected = expected_votes  # None: the sum of the configured votes
        self.configured_expected = expected_votes or sum(votes.values())
        self.expected_votes = self.configured_expected
        self.last_man_standing = last_man_standing
        self.lms_window_ms = lms_window_ms
        self.view_since_ms = 0
        self.two_node = two_node
        self.wait_for_all = wait_for_all
        self.all_seen = not wait_for_all
        self.peers = {n: Peer(n, v) for n, v in votes.items() if n != me}
        self.my_votes = votes.get(me, 1)
        self.last_tick_ms: int | None = None
        self._members: frozenset[int] = frozenset({me})
        self._quorate = self._compute_quorate(self._members)

    # ----------------------------------------------------------------- queries
    @property
    def members(self) -> frozenset[int]:
        return self._members

    @property
    def quorate(self) -> bool:
        return self._quorate

    def liveness(self, node_id: int) -> Liveness:
        if node_id == self.me:
            return Liveness.ALIVE
        peer = self.peers.get(node_id)
        return peer.liveness if peer else Liveness.DEAD

    def suspects(self) -> frozenset[int]:
        """Members silent for half the deadtime: while there are any, the view is not
        settled (see :mod:`.fencegate`)."""
        return frozenset(n for n, p in self.peers.items()
                         if n in self._members and p.liveness is Liveness.SUSPECT)

    def is_majority(self, nodes: frozenset[int]) -> bool:
        """Whether these nodes' votes alone would make a quorum (write acknowledgement)."""
        votes = sum(self.my_votes if n == self.me else self.peers[n].votes
                    for n in nodes if n == self.me or n in self.peers)
        if self.two_node:
            return votes >= 1
        return votes * 2 > self.expected_votes

    def _compute_quorate(self, members: frozenset[int]) -> bool:
        if not self.all_seen:
            return False
        votes = self.my_votes + sum(self.peers[n].votes for n in members if n != self.me)
        if self.two_node:
            return votes >= 1
        return votes * 2 > self.expected_votes

    def member_votes(self, members: frozenset[int] | None = None) -> int:
        return sum(self.my_votes if n == self.me else self.peers[n].votes
                   for n in (self._members if members is None else members)
                   if n == self.me or n in self.peers)

    def incarnation_of(self, node: int) -> int:
        """The newest boot of ``node`` heard from (0: none yet, or not a peer)."""
        peer = self.peers.get(node)
        return peer.incarnation if peer is not None else 0

    # ----------------------------------------------------------------- events
    def heartbeat(self, sender: int, incarnation: int, now_ms: int,
                  info: dict[str, object]) -> ViewChange | None:
        peer = self.peers.get(sender)
        if peer is None:
            return None
        restarted = peer.incarnation not in (0, incarnation) and incarnation > peer.incarnation
        if incarnation < peer.incarnation:
            return None  # a stale boot of that node: ignore
        peer.incarnation = incarnation
        peer.last_seen_ms = now_ms
        peer.info = info
        ages = info.get("hd")
        if isinstance(ages, dict):
            peer.heard = {int(k): now_ms - v for k, v in ages.items()
                          if isinstance(k, str) and k.isascii() and k.isdecimal()
                          and int(k) in self.peers
                          and isinstance(v, int) and not isinstance(v, bool) and 0 <= v}
        if peer.liveness is Liveness.DEAD or restarted:
            peer.liveness = Liveness.ALIVE
            return self._recompute(frozenset({sender}) if restarted else frozenset(),
                                   f"heartbeat from node {sender}"
                                   + (" (restarted)" if restarted else ""), now_ms)
        peer.liveness = Liveness.ALIVE
        return None

    def tick(self, now_ms: int) -> ViewChange | None:
        last = self.last_tick_ms
        self.last_tick_ms = now_ms
        if last is not None:
            gap = now_ms - last
            if gap > max(2 * self.heartbeat_interval_ms, self.deadtime_ms // 3):
                # We were paused or starved: peers' silence during the gap is not theirs.
                for peer in self.peers.values():
                    if peer.liveness is not Liveness.DEAD:
                        peer.last_seen_ms = max(peer.last_seen_ms,
                                                now_ms - self.heartbeat_interval_ms)
                return None
        changed = False
        for peer in self.peers.values():
            if peer.liveness is Liveness.DEAD:
                continue
            silence = now_ms - peer.last_seen_ms
            new = (Liveness.DEAD if silence >= self.deadtime_ms
                   else Liveness.SUSPECT if silence * 2 >= self.deadtime_ms
                   else Liveness.ALIVE)
            if (new is Liveness.DEAD and silence < 2 * self.deadtime_ms
                    and now_ms - self._vouched_ms(peer.node_id) < self.deadtime_ms):
                new = Liveness.SUSPECT  # another member still hears it: a lossy link
            if new is not peer.liveness:
                changed |= Liveness.DEAD in (new, peer.liveness)
                peer.liveness = new
        if changed:
            return self._recompute(frozenset(), "peer silent for deadtime", now_ms)
        self._last_man_standing(now_ms)
        return None

    def _vouched_ms(self, node_id: int) -> int:
        """The latest time another live member heard ``node_id`` (-inf: none did)."""
        return max((p.heard.get(node_id, -10**12) for p in self.peers.values()
                    if p.node_id != node_id and p.liveness is not Liveness.DEAD),
                   default=-10**12)

    def heard_ages(self, now_ms: int) -> dict[str, int]:
        """For this node's heartbeat: how long ago it heard each live peer (ms)."""
        return {str(p.node_id): max(0, now_ms - p.last_seen_ms)
                for p in self.peers.values() if p.liveness is not Liveness.DEAD}

    def _last_man_standing(self, now_ms: int) -> None:
        if not (self.last_man_standing and self._quorate):
            return
        if now_ms - self.view_since_ms < self.lms_window_ms:
            return
        votes = self.member_votes()
        if votes < self.expected_votes:
            self.expected_votes = max(votes, 1)

    # ----------------------------------------------------------------- configuration
    def add_peer(self, node_id: int, votes: int, now_ms: int) -> None:
        """A node added to the configuration at run time (it joins when heard)."""
        if node_id == self.me or node_id in self.peers:
            return
        self.peers[node_id] = Peer(node_id, votes)
        self.reconfigure()

    def remove_peer(self, node_id: int, now_ms: int) -> ViewChange | None:
        """A node removed from the configuration: it leaves the view and the vote count."""
        if self.peers.pop(node_id, None) is None:
            return None
        self.reconfigure()
        return self._recompute(frozenset(), f"node {node_id} removed from the configuration",
                               now_ms, force=True)

    def reconfigure(self) -> None:
        total = self.my_votes + sum(p.votes for p in self.peers.values())
        self.configured_expected = self.fixed_expected or total
        self.expected_votes = (min(self.expected_votes, self.configured_expected)
                               if self.last_man_standing else self.configured_expected)

    def _recompute(self, restarted: frozenset[int], reason: str, now_ms: int,
                   force: bool = False) -> ViewChange | None:
        members = frozenset(
            {self.me} | {n for n, p in self.peers.items() if p.liveness is not Liveness.DEAD}
        )
        if not self.all_seen and len(members) == len(self.peers) + 1:
            self.all_seen = True
        if self.last_man_standing:
            # joining votes raise the expectation again (never above the configuration)
            self.expected_votes = min(max(self.expected_votes, self.member_votes(members)),
                                      self.configured_expected)
        quorate = self._compute_quorate(members)
        old = self._members
        if members == old and quorate == self._quorate and not restarted and not force:
            return None
        if members != old:
            self.view_since_ms = now_ms
        self._members = members
        self._quorate = quorate
        return ViewChange(
            joined=members - old, left=old - members, restarted=restarted,
            members=members, quorate=quorate, reason=reason,
        )
