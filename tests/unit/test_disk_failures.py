"""A node that cannot save the CIB neither acknowledges nor advertises (issue 13, item 10).

Simulated disks (``SimNode.disk_error``: every save fails with that error) under real
controllers: what a node saved is what it may claim.
"""

from __future__ import annotations

from typing import Any

from vigil.core import cib as C
from vigil.core.statusview import status_view
from vigil.testing.simnet import SimCluster

FULL = "No space left on device (/var/lib/vigil/cib.xml.tmp)"


def started() -> SimCluster:
    sim = SimCluster(3)
    sim.run(3000)
    assert sim.dcs() == {1: 1, 2: 1, 3: 1}
    return sim


def write(sim: SimCluster, via: int, value: str, ms: int = 6000) -> dict[str, Any]:
    rid = sim.request(via, op="property_set", name="p", value=value)
    sim.run(ms)
    reply = sim.reply(via, rid)
    assert reply is not None, "no answer"
    return reply


def advertised(sim: SimCluster, observer: int, node: int) -> tuple[int, int, int]:
    return sim.nodes[observer].ctrl.peers.versions[node]


def test_a_member_that_cannot_save_does_not_ack_nor_advertise_what_it_did_not_save() -> None:
    sim = started()
    before = C.version(sim.nodes[3].ctrl.cib)
    sim.nodes[3].disk_error = FULL
    reply = write(sim, 2, "a", ms=2000)
    assert reply["ok"], "node1 and node2 saved it: a majority holds it"
    new = tuple(reply["result"]["version"])
    assert C.version(sim.nodes[3].ctrl.cib) == new, "node3 holds it in memory"
    assert advertised(sim, 1, 3) == before, "but advertises only what it saved"
    assert advertised(sim, 1, 2) == new
    view = status_view(sim.nodes[1].ctrl)
    node3 = next(n for n in view["nodes"] if n["name"] == "node3")
    assert node3["disk_error"] == FULL, "every node's status names node3's disk problem"
    assert status_view(sim.nodes[3].ctrl)["counters"]["cib_save_failures"] > 0


def test_writes_held_by_no_saved_majority_are_not_acknowledged() -> None:
    sim = started()
    sim.nodes[2].disk_error = sim.nodes[3].disk_error = FULL
    reply = write(sim, 1, "b")
    assert not reply["ok"] and "majority" in reply["error"]["message"], reply


def test_a_dc_that_cannot_save_hands_over_and_the_cluster_goes_on() -> None:
    sim = started()
    sim.nodes[1].disk_error = FULL
    reply = write(sim, 2, "c", ms=3000)
    assert reply["ok"], "node2 and node3 saved it"
    assert sim.dcs() == {1: 2, 2: 2, 3: 2}, "node1 handed the DC role over"
    assert write(sim, 3, "d", ms=2000)["ok"], "the new DC takes writes"
    for node in sim.nodes.values():
        props = node.ctrl.cib.find(".//cluster_property_set/nvpair[@name='p']")
        assert props is not None and props.get("value") == "d"
    sim.nodes[1].disk_error = None  # space freed: the next save works and clears it
    assert write(sim, 1, "e", ms=2000)["ok"]
    assert status_view(sim.nodes[2].ctrl)["nodes"][0]["disk_error"] is None
    assert C.version(sim.nodes[1].ctrl.cib) == advertised(sim, 2, 1)
