"""Membership on real hosts: 5 vigild nodes in network namespaces (issue 4, "Done when").

Node loss (kill -9), a 2|3 partition with a resource on the minority, healing, and one-way
partitions. Needs root, ``ip`` and ``nft``; skipped with the reason otherwise, failed when
CI=true.
"""

import os
import time

import pytest

from vigil.errors import VigilError
from vigil.testing import netns
from vigil.testing.netns import NetnsCluster

pytestmark = pytest.mark.slow

MINORITY = ["node1", "node2"]
MAJORITY = ["node3", "node4", "node5"]


def require_netns() -> None:
    reason = netns.skip_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the netns harness cannot run: {reason}")
        pytest.skip(reason)
    netns.cleanup_stale()  # namespaces left by an earlier run that was killed


@pytest.fixture
def cluster5(tmp_path_factory):
    require_netns()
    cluster = NetnsCluster(tmp_path_factory.mktemp("netns"), size=5)
    try:
        cluster.start()
        cluster.wait_quorate(timeout_s=30)
        yield cluster
    finally:
        cluster.close()


def online(status: dict) -> set[str]:
    return {n["name"] for n in status["nodes"] if n["online"]}


def without_quorum(c: NetnsCluster, nodes: list[str]) -> bool:
    """The minority has lost quorum (it may elect a DC of its own, which applies
    no-quorum-policy and refuses writes, as Pacemaker's does)."""
    views = [c.status(n) for n in nodes]
    return all(not v["quorate"] and v["dc"] not in MAJORITY for v in views)


def working_dc(c: NetnsCluster, nodes: list[str]) -> str | None:
    """The DC all of ``nodes`` name, if that node agrees it is the DC and is quorate."""
    dcs = {c.status(n)["dc"] for n in nodes}
    if len(dcs) != 1 or None in dcs:
        return None
    dc = str(dcs.pop())
    own = c.status(dc)
    return dc if own["dc"] == dc and own["quorate"] else None


@pytest.mark.parametrize("victim_kind", ["member", "dc"])
def test_kill_one_node_the_others_drop_it_and_keep_one_dc(cluster5, victim_kind):
    c = cluster5
    dc = c.wait_quorate()
    victim = dc if victim_kind == "dc" else next(n for n in reversed(c.names) if n != dc)
    survivors = [n for n in c.names if n != victim]
    t0 = time.monotonic()
    c.poweroff(victim)
    new_dc = c.wait_quorate(survivors, timeout_s=10)
    print(f"kill -9 {victim} ({victim_kind}): 4 survivors agree on DC {new_dc} after "
          f"{time.monotonic() - t0:.2f} s")
    assert new_dc != victim
    for node in survivors:
        view = c.status(node)
        assert online(view) == set(survivors), f"{node} sees {online(view)}"
        assert view["quorate"] and view["dc"] == new_dc
    if victim_kind == "member":
        assert new_dc == dc, "a healthy DC is not replaced when a member dies"


def start_pinned_dummy(c: NetnsCluster, rsc: str, node: str) -> None:
    c.ctl("node3", "property_set", name="stonith-enabled", value="false")
    c.ctl("node3", "resource_create", id=rsc, agent="ocf:vigil:Dummy")
    c.ctl("node3", "cib_put", section="constraints", mode="create",
          xml=f'<rsc_location id="{rsc}-on-{node}" rsc="{rsc}" node="{node}" score="100"/>')
    c.wait(lambda: c.where("node3", rsc) == [node], 30, f"{rsc} to run on {node}")


def dummy_state(c: NetnsCluster, node: str, rsc: str):
    return c.node_dir(node) / "state" / "run" / f"vigil-Dummy-{rsc}.state"


def test_partition_2_3_majority_keeps_quorum_minority_stops_and_heals(cluster5):
    c = cluster5
    c.wait_quorate()
    start_pinned_dummy(c, "pinned", "node1")
    state = dummy_state(c, "node1", "pinned")
    assert state.exists(), "the Dummy agent ran on node1 in node1's namespace"

    c.partition(MINORITY, MAJORITY)
    majority_dc = c.wait_quorate(MAJORITY, timeout_s=15)
    assert majority_dc in MAJORITY
    c.wait(lambda: without_quorum(c, MINORITY), 15, "the minority to lose quorum")

    # no-quorum-policy=stop (the default): the minority stops what it runs.
    c.wait(lambda: not state.exists(), 15,
           "pinned to be stopped on node1 (no-quorum-policy=stop)")
    for node in MINORITY:
        assert c.where(node, "pinned") == [], f"{node}'s status still shows pinned running"
    with pytest.raises(VigilError):
        c.ctl("node2", "property_set", name="cluster-delay", value="61s")
    c.ctl("node4", "property_set", name="cluster-delay", value="61s")  # only the majority writes

    c.heal()
    dc = c.wait_quorate(c.names, timeout_s=20)
    for node in c.names:
        view = c.status(node)
        assert online(view) == set(c.names) and view["dc"] == dc and view["quorate"]

    def cib_converged() -> bool:
        versions = {tuple(c.status(n)["version"]) for n in c.names}
        xml = c.ctl("node1", "cib_get", scope="configuration")["xml"]
        return len(versions) == 1 and 'name="cluster-delay" value="61s"' in xml

    c.wait(cib_converged, 15, "the majority's write to reach every node after healing")
    c.wait(lambda: c.where("node2", "pinned") == ["node1"], 30, "pinned back on node1")


@pytest.mark.parametrize("direction", ["dc_unheard", "dc_deaf"])
def test_one_way_partition_the_majority_keeps_a_working_dc(cluster5, direction):
    """What a one-way cut of the DC does; guaranteed: the other four keep a working DC.

    dc_unheard: the others drop what the DC sends, the DC still hears them.
    dc_deaf:    the DC drops what the others send, they still hear it.
    """
    c = cluster5
    dc = c.wait_quorate()
    others = [n for n in c.names if n != dc]
    if direction == "dc_unheard":
        c.one_way(senders=[dc], receivers=others)
        c.wait(lambda: all(dc not in online(c.status(n)) for n in others), 10,
               f"the others to stop hearing {dc}")
    else:
        c.one_way(senders=others, receivers=[dc])
        c.wait(lambda: online(c.status(dc)) == {dc}, 10, f"{dc} to stop hearing the others")
    new_dc = c.wait(lambda: working_dc(c, others), 15,
                    f"the other four to agree on a DC that knows it is the DC ({direction})")
    time.sleep(2)  # and it stays so
    assert working_dc(c, others) == new_dc
    print(f"one-way cut ({direction}) of DC {dc}: the others' DC is {new_dc}; "
          f"{dc}'s own view: dc={c.status(dc)['dc']} quorate={c.status(dc)['quorate']} "
          f"online={sorted(online(c.status(dc)))}")
    c.heal()
    assert c.wait_quorate(c.names, timeout_s=20)
