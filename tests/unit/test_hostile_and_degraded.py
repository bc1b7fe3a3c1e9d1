"""Peers that send nonsense, disks that come back, and clusters in mid-upgrade.

Each test is a defect a review found in the reshaped controller (simulated network, real
controllers): a peer's input never escapes ``handle()``; a repaired disk is noticed
without waiting for a change; what a node held but could not save does not stall the next
DC; acknowledgements waiting for a save stay bounded; a member of the previous version
does not stop fencing; a DC's own fencing refused by the peer's gate ends at once.
"""

from __future__ import annotations

from typing import Any

import pytest

from vigil.core import cib as C
from vigil.core.events import Broadcast, Command, Heartbeat, PeerMessage, Send
from vigil.testing.simnet import SimCluster

from .test_dc_fenced_by_peer import FencingSim, add_fence_device, ctl

FULL = "No space left on device"


def started(size: int = 3) -> SimCluster:
    sim = SimCluster(size)
    sim.run(3000)
    assert sim.dcs() == {n: 1 for n in range(1, size + 1)}
    return sim


HOSTILE: list[dict[str, Any]] = [
    {"t": "exec_refused", "token": "1:x"},
    {"t": "exec_refused", "token": "1:"},
    {"t": "fence_event", "entry": {"target": "node3", "action": "reboot",
                                   "state": "success", "origin": "node2", "requested": 1.0,
                                   "device": 5}},
    {"t": "fence_event", "entry": {"target": "node3", "action": "reboot",
                                   "state": "success", "origin": "node2", "requested": 1.0,
                                   "completed": "soon"}},
    {"t": "write", "rid": 1, "req": {"op": "ticket", "ticket": "t", "action": ["grant"]}},
    {"t": "fence_history", "entries": [{"target": 1}]},
]


@pytest.mark.parametrize("msg", HOSTILE, ids=lambda m: str(m)[:40])
def test_a_peers_nonsense_is_dropped_and_changes_nothing(msg: dict[str, Any]) -> None:
    sim = started()
    dc = sim.nodes[1].ctrl
    before = (C.version(dc.cib), list(dc.fence_history), dict(dc.dead_incarnation))
    dc.handle(PeerMessage(2, msg, 1))  # must not raise
    assert (C.version(dc.cib), list(dc.fence_history), dict(dc.dead_incarnation)) == before


def test_a_heartbeat_with_nonsense_second_opinions_is_harmless() -> None:
    sim = started()
    dc = sim.nodes[1].ctrl
    hb = {"t": "hb", "c": "sim", "dc": 1, "v": [0, 1, 1], "term": 0, "m": [1, 2, 3],
          "q": True, "vw": [1, 1], "hd": {"²": 5, "3": True, "x": 1, "2": -4}}
    dc.handle(Heartbeat(2, 1, hb))
    assert dc.membership.peers[2].heard == {}


def test_a_repaired_disk_is_noticed_in_a_quiet_cluster_and_copies_are_few() -> None:
    sim = started()
    sim.nodes[3].disk_error = FULL
    rid = sim.request(2, op="property_set", name="p", value="a")
    sim.run(2000)
    assert sim.reply(2, rid)["ok"]
    copies: list[int] = []
    original = sim._do

    def spy(src: int, cmd: Command) -> None:
        if src == 1 and isinstance(cmd, Send) and cmd.node_id == 3 and cmd.msg["t"] == "cib":
            copies.append(sim.now_ms)
        original(src, cmd)

    sim._do = spy  # type: ignore[method-assign]
    sim.run(20000)
    assert len(copies) <= 3, f"the DC sent the whole CIB {len(copies)} times in 20 s"
    sim.nodes[3].disk_error = None  # repaired; nothing else changes
    sim.run(5000)
    node3 = sim.nodes[3].ctrl
    assert node3.troubles() == {} and node3.replica.disk.saved == node3.replica.version
    assert 3 not in sim.nodes[1].ctrl.peers.unfit


def test_what_a_member_held_unsaved_does_not_stall_the_next_dc() -> None:
    sim = started()
    sim.nodes[3].disk_error = FULL
    sim.cut_one_way(1, 2)  # node1's writes reach node3 only, which cannot save them
    for value in "ab":
        sim.request(1, op="property_set", name="p", value=value)
        sim.run(50)
    sim.kill(1)
    sim.heal()
    sim.run(10000)
    assert sim.dcs() == {2: 2, 3: 2}
    sim.nodes[3].disk_error = None
    sim.run(3000)
    rid = sim.request(2, op="property_set", name="q", value="x")
    sim.run(3000)
    assert sim.reply(2, rid)["ok"], sim.reply(2, rid)
    assert C.version(sim.nodes[2].ctrl.cib) == C.version(sim.nodes[3].ctrl.cib)


def test_acknowledgements_waiting_for_a_save_stay_bounded() -> None:
    sim = started()
    sim.nodes[3].disk_error = FULL
    for i in range(200):
        sim.request(2, op="property_set", name="p", value=str(i))
        sim.run(20)
    assert len(sim.nodes[3].ctrl.replica.disk.acks) <= 64


class MixedVersions(FencingSim):
    """node2 runs the previous version: no "fa" in its heartbeat, no fence acks."""

    def _do(self, src: int, cmd: Command) -> None:
        if src == 2 and isinstance(cmd, Broadcast):
            cmd = Broadcast({k: v for k, v in cmd.msg.items() if k not in ("fa", "hd")})
        if src == 2 and isinstance(cmd, Send) and cmd.msg.get("t") == "fence_ack":
            return
        super()._do(src, cmd)


def test_a_member_of_the_previous_version_does_not_stop_fencing() -> None:
    sim = MixedVersions(["ok"] * 5, fence_ms=100, size=3)
    sim.run(3000)
    add_fence_device(sim)
    sim.run(2000)
    sim.kill(3)
    sim.run(4000)
    assert [f[:2] for f in sim.fences] == [(1, "node3")], sim.fences


def test_the_dcs_own_fencing_refused_by_the_peer_ends_at_once() -> None:
    """The DC must be fenced (its stop failed); node2, which carries the DC's fencing out,
    refuses at its gate (here: at once, whatever the reason). The DC hears of it and goes
    on at once instead of waiting for the fence timeout (60 s)."""
    sim = FencingSim(["ok"] * 5, fence_ms=100, size=3)
    sim.run(3000)
    add_fence_device(sim)
    ctl(sim, 2, op="resource_create", id="d", agent="ocf:pacemaker:Dummy")
    ctl(sim, 2, op="resource_move", id="d", node="node1")
    sim.run(2000)
    refusals: list[str] = []

    def refuse(token: str, target: str, action: str, requested: float, refused: Any) -> None:
        refusals.append(target)
        refused("the view is not settled: node3 suspect", None)

    sim.nodes[2].ctrl.fence_gate.request = refuse  # type: ignore[method-assign]
    sim.stop_fails.add("d")
    ctl(sim, 2, op="resource_move", id="d", node="node3")
    sim.run(1500)
    assert refusals and refusals[0] == "node1"
    failed = [e for e in sim.nodes[3].ctrl.fence_history
              if e["target"] == "node1" and e["state"] == "failed"]
    assert failed and "not settled" in failed[0]["reason"], "the refusal is in the history"
    assert not sim.nodes[1].ctrl.duties.fencing.joined, "the DC stopped waiting at once"
