"""A replica's CIB version never goes back within one boot (issue 13, item 3).

The DC freezes (SIGSTOP) for longer than the deadtime while clients keep writing through
the other nodes: they elect a new DC, which writes on. When the old DC wakes it is
followed again (lowest-id claimant) while it holds an older CIB and has applied the
writes queued during its freeze on top of it. Members must not adopt that older CIB, and
the woken DC, once it pulls the newer one, moves its epoch past everything it held.
"""

from __future__ import annotations

import pytest

from vigil.core import cib as C

from .test_dc_fenced_by_peer import FencingSim, ctl


@pytest.mark.parametrize("pause_ms", [1200, 1500, 1800, 2500])
@pytest.mark.parametrize("seed", range(5))
def test_no_replica_goes_back_when_a_frozen_dc_is_followed_again(seed: int,
                                                                  pause_ms: int) -> None:
    sim = FencingSim([], size=5)
    sim.rng.seed(seed)
    sim.run(3000)
    ctl(sim, 2, op="resource_create", id="d", agent="ocf:pacemaker:Dummy")
    sim.net.delay_ms = (0, 60)
    sim.run(1000)
    sim.pause(1, pause_ms)
    for i in range(10):
        sim.request(2 + i % 4, op="property_set", name="p", value=str(i))
        sim.run(300)
    sim.run(5000)
    for n, node in sim.nodes.items():
        saved = node.persisted
        back = [(a, b) for a, b in zip(saved, saved[1:], strict=False) if b < a]
        assert not back, f"node{n} saved a CIB version older than the one before: {back}"
    versions = {C.version(node.ctrl.cib) for node in sim.nodes.values()}
    assert len(versions) == 1, f"the replicas did not converge: {versions}"
