"""Unfencing on a live (simulated) cluster: a fence device with provides=unfencing gets
each node unfenced (``on``) once before the resources that need it start there; the
node's ``#node-unfenced`` attribute records it so the next transition does not ask again."""

from __future__ import annotations

from .test_dc_fenced_by_peer import FencingSim, add_fence_device, ctl


def test_each_node_is_unfenced_once_before_what_needs_it_starts() -> None:
    sim = FencingSim(["ok"] * 20, fence_ms=50, size=3)
    sim.run(3000)
    add_fence_device(sim, meta={"provides": "unfencing"})
    ctl(sim, 2, op="resource_create", id="disk", agent="ocf:pacemaker:Dummy",
        meta={"requires": "unfencing"})
    sim.run(8000)
    ons = [f for f in sim.fences if f[2] == "on"]
    assert sorted(f[1] for f in ons) == ["node1", "node2", "node3"], sim.fences
    assert all(f[2] == "on" for f in sim.fences), "unfencing never reboots anyone"
    assert all(s.alive for s in sim.nodes.values())
    holder = next(n for n, s in sim.nodes.items() if "disk" in s.running)
    status = sim.nodes[1].ctrl.cib.find("status")
    unfenced = {ns.get("uname") for ns in status.iter("node_state")
                if any(nv.get("name") == "#node-unfenced" for nv in ns.iter("nvpair"))}
    assert unfenced == {"node1", "node2", "node3"}, unfenced
    sim.run(10000)
    assert len([f for f in sim.fences if f[2] == "on"]) == 3, "unfenced once, not again"
    assert "disk" in sim.nodes[holder].running
