"""The cluster as this node was configured with it (frozen; replaced on reload)."""

from __future__ import annotations

from dataclasses import dataclass

from . import defaults as D


@dataclass(frozen=True)
class ClusterSpec:
    cluster_name: str
    me: int
    names: dict[int, str]
    votes: dict[int, int]
    heartbeat_interval_ms: int = D.HEARTBEAT_INTERVAL_MS
    deadtime_ms: int = D.DEADTIME_MS
    join_timeout_ms: int = D.JOIN_TIMEOUT_MS
    expected_votes: int | None = D.EXPECTED_VOTES
    two_node: bool = D.TWO_NODE
    wait_for_all: bool = D.WAIT_FOR_ALL
    last_man_standing: bool = D.LAST_MAN_STANDING
    lms_window_ms: int = D.LMS_WINDOW_MS

    @property
    def my_name(self) -> str:
        return self.names[self.me]

    def node_id(self, name: str) -> int | None:
        return next((i for i, n in self.names.items() if n == name), None)
