"""The cluster's belief converges to reality (issue 13, item 2).

A node that stops hearing the others (a one-way cut) makes itself the DC of a partition
without quorum and stops its resources (no-quorum-policy=stop), while the others still
hear it and never see it leave. When it is heard following the majority's DC again, what
runs there is probed: status must end up saying what the (simulated) agents say.
"""

from __future__ import annotations

import pytest

from vigil.core.statusview import status_view

from .test_dc_fenced_by_peer import FencingSim, add_fence_device, ctl


def placement_by_status(sim: FencingSim, observer: int) -> dict[str, set[str]]:
    view = status_view(sim.nodes[observer].ctrl)
    return {r["id"]: set(r["nodes"]) for r in view["resources"] if r["role"] == "Started"}


def placement_by_agents(sim: FencingSim) -> dict[str, set[str]]:
    where: dict[str, set[str]] = {}
    for node in sim.nodes.values():
        for rsc in node.running:
            where.setdefault(rsc, set()).add(node.ctrl.spec.my_name)
    return where


@pytest.mark.parametrize("victim", [1, 3])  # the DC, and a member
@pytest.mark.parametrize("seed", range(3))
def test_a_node_cut_off_one_way_is_probed_when_it_follows_the_dc_again(
        victim: int, seed: int) -> None:
    sim = FencingSim(["ok"] * 10, fence_ms=100, size=3)
    sim.rng.seed(seed)
    sim.run(3000)
    add_fence_device(sim)
    ctl(sim, 2, op="resource_create", id="d", agent="ocf:pacemaker:Dummy")
    ctl(sim, 2, op="resource_move", id="d", node=f"node{victim}")
    sim.run(2000)
    assert "d" in sim.nodes[victim].running
    for n in sim.nodes:
        if n != victim:
            sim.cut_one_way(n, victim)
    sim.run(5000)
    assert "d" not in sim.nodes[victim].running, "stopped by the partition without quorum"
    sim.heal()
    sim.run(8000)
    agents = placement_by_agents(sim)
    assert agents.get("d"), f"d runs nowhere after the heal: {agents}"
    for observer in sim.nodes:
        assert placement_by_status(sim, observer) == agents, (
            f"node{observer}'s status disagrees with the agents")
