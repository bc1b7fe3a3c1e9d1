"""An in-memory cluster of controllers on a fake clock, with a hostile network.

Used by property-based tests: N :class:`~vigil.core.controller.Controller` objects exchange
messages through a simulated network that can lose, delay, duplicate and reorder packets,
cut links (both ways or one way) and pause nodes. Agent actions complete instantly and
successfully on a fake executor that remembers what runs where. Thousands of simulated
seconds run per real second.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from ..core import cib as C
from ..core import defaults as D
from ..core.controller import ClusterSpec, Controller
from ..core.events import (
    AgentDone,
    Broadcast,
    CancelRecurring,
    ClientRequest,
    Command,
    Disconnect,
    Event,
    Execute,
    Exit,
    Heartbeat,
    PeerMessage,
    Persist,
    Reply,
    Saved,
    Send,
    Tick,
)
from ..core.execmodel import AgentResult


@dataclass
class NetConfig:
    loss: float = 0.0  # probability a heartbeat datagram is lost
    delay_ms: tuple[int, int] = (0, 5)  # uniform one-way delay (reordering when wide)
    duplicate: float = 0.0  # probability a datagram arrives twice
    node_loss: dict[int, float] = field(default_factory=dict)  # node -> loss on its links


@dataclass
class SimNode:
    ctrl: Controller
    paused_until_ms: int = 0
    persisted: list[tuple[int, int, int]] = field(default_factory=list)
    running: set[str] = field(default_factory=set)  # resources started here (fake executor)
    disk_error: str | None = None  # every save fails with this (a full disk, say)
    alive: bool = True


class SimCluster:
    TICK_MS = 50

    def __init__(self, size: int = 3, seed: int = 0, net: NetConfig | None = None,
                 heartbeat_interval_ms: int = D.HEARTBEAT_INTERVAL_MS,
                 deadtime_ms: int = D.DEADTIME_MS,
                 **spec_extra: Any) -> None:
        self.rng = random.Random(seed)
        self.net = net or NetConfig()
        self.now_ms = 0
        self.queue: list[tuple[int, int, int, Event]] = []  # (time, seq, node, event)
        self.seq = itertools.count()
        self.cut: set[tuple[int, int]] = set()  # (from, to) links that drop everything
        self.replies: dict[tuple[int, int], dict[str, Any]] = {}
        self.rid = itertools.count(1)
        names = {i: f"node{i}" for i in range(1, size + 1)}
        self.nodes: dict[int, SimNode] = {}
        for i in names:
            spec = ClusterSpec("sim", i, names, {n: 1 for n in names},
                               heartbeat_interval_ms, deadtime_ms,
                               join_timeout_ms=D.JOIN_TIMEOUT_MS, **spec_extra)
            self.nodes[i] = SimNode(Controller(spec, incarnation=1, cib=None, now_ms=0))

    # ------------------------------------------------------------------ faults
    def partition(self, *groups: set[int]) -> None:
        self.cut = {(a, b) for g in groups for h in groups if g is not h for a in g for b in h}

    def cut_one_way(self, src: int, dst: int) -> None:
        self.cut.add((src, dst))

    def heal(self) -> None:
        self.cut.clear()

    def pause(self, node: int, duration_ms: int) -> None:
        self.nodes[node].paused_until_ms = self.now_ms + duration_ms

    def kill(self, node: int) -> None:
        self.nodes[node].alive = False

    def side(self, node: int) -> set[int]:
        """The nodes this node can reach both ways."""
        return {n for n in self.nodes if n == node or
                ((node, n) not in self.cut and (n, node) not in self.cut)}

    # ------------------------------------------------------------------ running
    def run(self, duration_ms: int) -> None:
        end = self.now_ms + duration_ms
        next_tick = self.now_ms - self.now_ms % self.TICK_MS + self.TICK_MS
        while self.now_ms < end:
            t_event = self.queue[0][0] if self.queue else end
            if next_tick <= min(t_event, end):
                self.now_ms = next_tick
                for node_id in self.nodes:
                    self._deliver(node_id, Tick(self.now_ms, 1_700_000_000 + self.now_ms / 1000))
                next_tick += self.TICK_MS
            elif self.queue and t_event <= end:
                t, _, node_id, event = heapq.heappop(self.queue)
                self.now_ms = t
                self._deliver(node_id, event)
            else:
                self.now_ms = end

    def _deliver(self, node_id: int, event: Event) -> None:
        node = self.nodes[node_id]
        if not node.alive:
            return
        if self.now_ms < node.paused_until_ms:
            if not isinstance(event, Tick):  # a paused process reads its socket later
                self._at(node.paused_until_ms, node_id, event)
            return
        for cmd in node.ctrl.handle(event):
            self._do(node_id, cmd)

    def _at(self, t: int, node_id: int, event: Event) -> None:
        heapq.heappush(self.queue, (t, next(self.seq), node_id, event))

    def _link_ok(self, src: int, dst: int) -> bool:
        return (src, dst) not in self.cut and self.nodes[dst].alive

    def _do(self, src: int, cmd: Command) -> None:
        node = self.nodes[src]
        if isinstance(cmd, Broadcast):
            for dst in self.nodes:
                if dst == src or not self._link_ok(src, dst):
                    continue
                copies = 2 if self.rng.random() < self.net.duplicate else 1
                for _ in range(copies):
                    loss = max(self.net.loss, self.net.node_loss.get(src, 0.0),
                               self.net.node_loss.get(dst, 0.0))
                    if self.rng.random() < loss:
                        continue
                    delay = self.rng.randint(*self.net.delay_ms)
                    self._at(self.now_ms + delay, dst,
                             Heartbeat(src, node.ctrl.incarnation, cmd.msg))
        elif isinstance(cmd, Send):
            if self._link_ok(src, cmd.node_id):
                # a stream: delivered in order, after a delay, unless the link is cut
                self._at(self.now_ms + self.net.delay_ms[1] + 1, cmd.node_id,
                         PeerMessage(src, cmd.msg, node.ctrl.incarnation))
        elif isinstance(cmd, Persist):
            if node.disk_error is None:
                node.persisted.append(cmd.version)
            self._at(self.now_ms, src, Saved(cmd.version, node.disk_error))
        elif isinstance(cmd, Execute):
            action = cmd.action
            rsc = action.rsc or ""
            if action.task == "start":
                node.running.add(rsc)
                rc = 0
            elif action.task == "stop":
                node.running.discard(rsc)
                rc = 0
            else:
                rc = 0 if rsc in node.running else 7
            self._at(self.now_ms + 1, src,
                     AgentDone(cmd.token, action, AgentResult(rc, 0, "", 1, "")))
        elif isinstance(cmd, Reply):
            self.replies[(src, cmd.rid)] = cmd.reply
        elif isinstance(cmd, (CancelRecurring, Disconnect, Exit)):
            pass

    # ------------------------------------------------------------------ clients
    def request(self, node_id: int, **req: Any) -> int:
        rid = next(self.rid)
        self._at(self.now_ms, node_id, ClientRequest(rid, req))
        return rid

    def reply(self, node_id: int, rid: int) -> dict[str, Any] | None:
        return self.replies.get((node_id, rid))

    # ------------------------------------------------------------------ observations
    def live(self) -> list[int]:
        return [n for n, s in self.nodes.items() if s.alive]

    def dcs(self) -> dict[int, int | None]:
        return {n: self.nodes[n].ctrl.dc for n in self.live()}

    def version(self, node_id: int) -> tuple[int, int, int]:
        return C.version(self.nodes[node_id].ctrl.cib)
