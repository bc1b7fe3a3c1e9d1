"""The cluster as this node was configured with it (frozen; replaced on reload)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterSpec:
    cluster_name: str
    me: int
    names: dict[int, str]
    votes: dict[int, int]
    heartbeat_interval_ms: int = 200
    deadtime_ms: int = 1000
    join_timeout_ms: int = 2000
    expected_votes: int | None = None
    two_node: bool = False
    wait_for_all: bool = False
    last_man_standing: bool = False
    lms_window_ms: int = 10000

    @property
    def my_name(self) -> str:
        return self.names[self.me]

    def node_id(self, name: str) -> int | None:
        return next((i for i, n in self.names.items() if n == name), None)
