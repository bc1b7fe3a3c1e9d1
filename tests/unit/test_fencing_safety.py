"""Fencing never harms a healthy node: the gate of :mod:`vigil.core.fencegate`.

Real controllers on the simulated network (fake clock); only the fence device is
simulated (:class:`FencingSim`: a successful fencing powers its target off at once).
Heartbeats get 0-150 ms of delay, so peers' last heartbeats are spread over a heartbeat
interval as on a real network: cut off, a node sees one peer reach the deadtime while the
others are still only suspect.
"""

from __future__ import annotations

from typing import Any

import pytest

from vigil.core.events import Command, Fence

from .test_dc_fenced_by_peer import FencingSim, add_fence_device


class RecordingSim(FencingSim):
    """Notes, for each fence agent run, how many nodes held its pending entry then."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(["ok"] * 50, fence_ms=100, **kw)
        self.recorded_by: list[int] = []

    def _do(self, src: int, cmd: Command) -> None:
        if isinstance(cmd, Fence):
            self.recorded_by.append(sum(
                any((e["target"], e["requested"], e["state"]) ==
                    (cmd.target, cmd.requested, "pending")
                    for e in node.ctrl.fence_history)
                for node in self.nodes.values() if node.alive))
        super()._do(src, cmd)


def five_nodes(seed: int) -> RecordingSim:
    sim = RecordingSim(size=5)
    sim.rng.seed(seed)
    sim.run(3000)
    assert sim.dcs() == {n: 1 for n in range(1, 6)}
    add_fence_device(sim)
    sim.run(2000)
    sim.net.delay_ms = (0, 150)
    sim.run(1000)
    return sim


@pytest.mark.parametrize("seed", range(6))
def test_a_dc_whose_cable_is_cut_fences_nobody_and_the_majority_fences_it(seed: int) -> None:
    sim = five_nodes(seed)
    sim.partition({1}, {2, 3, 4, 5})
    sim.run(5000)
    sim.heal()
    sim.run(5000)
    assert [f[0] for f in sim.fences if f[0] == 1] == [], f"the cut-off DC fenced: {sim.fences}"
    assert {f[1] for f in sim.fences} == {"node1"}, sim.fences
    assert all(sim.nodes[n].alive for n in (2, 3, 4, 5))
    assert all(n >= 3 for n in sim.recorded_by), (
        f"a fence agent ran before a majority held its pending entry: {sim.recorded_by}")


@pytest.mark.parametrize("seed", range(4))
def test_the_minority_of_a_partition_never_fences(seed: int) -> None:
    sim = five_nodes(seed)
    sim.partition({1, 2}, {3, 4, 5})
    sim.run(6000)
    assert all(f[0] in (3, 4, 5) for f in sim.fences), sim.fences
    assert {f[1] for f in sim.fences} <= {"node1", "node2"}, sim.fences
    assert all(sim.nodes[n].alive for n in (3, 4, 5))


def test_a_fencing_waits_while_a_member_is_suspect_and_runs_once_it_is_heard() -> None:
    sim = five_nodes(0)
    sim.net.delay_ms = (0, 5)
    sim.kill(5)
    sim.run(400)
    sim.cut_one_way(4, 1)  # node1, the DC, stops hearing node4
    sim.run(700)  # node5 is dead to node1, node4 only suspect (silent ~700 ms)
    gate = sim.nodes[1].ctrl.fence_gate
    assert sim.fences == [] and list(gate.waiting), "node5's fencing waits at the gate"
    assert not sim.nodes[1].ctrl.fence_history, "nothing is recorded before the view settles"
    sim.heal()  # node4 heard again: the view settles, the fencing goes ahead
    sim.run(1000)
    assert [f[:2] for f in sim.fences] == [(1, "node5")], sim.fences
    assert not gate.waiting
    assert all(sim.nodes[n].alive for n in (1, 2, 3, 4))
    assert sim.recorded_by == [4], "every live node held the pending entry"


def test_a_fencing_that_cannot_get_a_majority_record_is_refused_and_recorded_failed() -> None:
    """node1, the DC, is asked to fence node2 while its messages to node3-5 are lost (not
    long enough for anyone to become suspect): only node2 holds the pending entry, so no
    agent runs, the client is told why, and every node records the fencing as failed."""
    sim = five_nodes(0)
    sim.net.delay_ms = (0, 5)
    for dst in (3, 4, 5):
        sim.cut_one_way(1, dst)
    rid = sim.request(1, op="fence", target="node2", action="reboot", confirm=True)
    sim.run(300)
    sim.heal()
    sim.run(3000)
    assert sim.fences == [], sim.fences
    reply = sim.reply(1, rid)
    assert reply is not None and reply["error"]["kind"] == "fencing", reply
    assert "not by a majority" in reply["error"]["message"], reply
    for node in (1, 2):
        [entry] = [e for e in sim.nodes[node].ctrl.fence_history if e["target"] == "node2"]
        assert entry["state"] == "failed" and "majority" in entry["reason"], entry
