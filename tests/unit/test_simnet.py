"""Membership, election and CIB sync under faults, on a simulated network (fake clock)."""

import random

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vigil.testing.simnet import NetConfig, SimCluster


def agreed_dc(sim, nodes):
    dcs = {sim.nodes[n].ctrl.dc for n in nodes}
    return dcs.pop() if len(dcs) == 1 else "disagree"


def test_three_nodes_elect_one_dc_and_share_the_cib():
    sim = SimCluster(3)
    sim.run(3000)
    assert agreed_dc(sim, [1, 2, 3]) == 1
    rid = sim.request(2, op="property_set", name="stonith-enabled", value="false")
    sim.run(500)
    reply = sim.reply(2, rid)
    assert reply and reply["ok"], reply
    assert len({sim.version(n) for n in (1, 2, 3)}) == 1


def test_dc_loss_elects_a_new_dc_within_two_deadtimes():
    sim = SimCluster(3)
    sim.run(3000)
    sim.kill(1)
    sim.run(2000)
    assert agreed_dc(sim, [2, 3]) == 2


def test_a_joining_node_does_not_replace_a_healthy_dc():
    sim = SimCluster(3)
    sim.partition({1}, {2, 3})
    sim.run(4000)
    assert agreed_dc(sim, [2, 3]) == 2 and not sim.nodes[1].ctrl.membership.quorate
    sim.heal()
    sim.run(2000)
    assert agreed_dc(sim, [1, 2, 3]) == 2, "node 1 has the lowest id but 2 stays DC"


def test_minority_has_no_quorum_and_refuses_writes():
    sim = SimCluster(5)
    sim.run(3000)
    sim.partition({1, 2}, {3, 4, 5})
    sim.run(3000)
    assert not any(sim.nodes[n].ctrl.membership.quorate for n in (1, 2))
    assert agreed_dc(sim, [1, 2]) == 1, "the minority has a DC to apply no-quorum-policy"
    assert sim.nodes[1].ctrl.cib.get("have-quorum") == "0"
    assert agreed_dc(sim, [3, 4, 5]) == 3
    for node in (1, 2):
        rid = sim.request(node, op="property_set", name="x", value="1")
        sim.run(200)
        assert sim.reply(node, rid)["error"]["kind"] == "unavailable"
    sim.heal()
    sim.run(3000)
    assert agreed_dc(sim, [1, 2, 3, 4, 5]) == 3, "the quorate DC is preferred"
    assert sim.nodes[1].ctrl.cib.get("have-quorum") == "1"


def test_newest_cib_wins_after_a_partition_heals():
    sim = SimCluster(3)
    sim.run(3000)
    sim.partition({1}, {2, 3})
    sim.run(2000)
    rid = sim.request(3, op="property_set", name="written-in-majority", value="yes")
    sim.run(500)
    assert sim.reply(3, rid)["ok"]
    newest = sim.version(2)
    sim.heal()
    sim.run(3000)
    assert {sim.version(n) >= newest for n in (1, 2, 3)} == {True}
    from vigil.core import cib as C
    assert C.get_property(sim.nodes[1].ctrl.cib, "written-in-majority") == "yes"


def test_a_paused_member_does_not_disturb_the_others():
    sim = SimCluster(3)
    sim.run(3000)
    dc = agreed_dc(sim, [1, 2, 3])
    sim.pause(3, 400)  # less than deadtime: nobody may be declared dead
    sim.run(3000)
    assert agreed_dc(sim, [1, 2, 3]) == dc
    assert all(sim.nodes[n].ctrl.membership.members == {1, 2, 3} for n in (1, 2, 3))


def test_one_way_cut_heals():
    sim = SimCluster(5)
    sim.run(3000)
    sim.cut_one_way(1, 3)  # node 3 stops hearing the DC; the DC still hears node 3
    sim.run(4000)
    majority_dcs = {sim.nodes[n].ctrl.dc for n in (2, 4, 5)}
    assert None not in majority_dcs
    sim.heal()
    sim.run(4000)
    assert agreed_dc(sim, [1, 2, 3, 4, 5]) != "disagree"
    assert len({sim.version(n) for n in sim.nodes}) == 1


faults = st.lists(st.tuples(
    st.sampled_from(["partition", "oneway", "heal", "pause", "write", "run"]),
    st.integers(1, 5), st.integers(1, 5), st.integers(100, 3000)), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), steps=faults, loss=st.sampled_from([0.0, 0.1, 0.3]))
@example(
    seed=9096,
    steps=[('partition', 5, 1, 100),
     ('partition', 5, 1, 212),
     ('partition', 5, 1, 621),
     ('oneway', 1, 1, 1534),
     ('partition', 1, 1, 100),
     ('write', 1, 1, 1064),
     ('write', 1, 1, 1373),
     ('partition', 1, 1, 100),
     ('partition', 5, 1, 460),
     ('partition', 5, 1, 1691),
     ('oneway', 1, 1, 525),
     ('write', 1, 1, 580)],
    loss=0.3,
).via('discovered failure')
@example(
    seed=9096,
    steps=[('write', 1, 1, 1064),
     ('heal', 1, 1, 1534),
     ('oneway', 3, 3, 1690),
     ('partition', 1, 1, 1373),
     ('partition', 5, 1, 100),
     ('partition', 5, 1, 621),
     ('partition', 1, 1, 100),
     ('partition', 5, 1, 460),
     ('partition', 5, 1, 1691),
     ('oneway', 1, 1, 525),
     ('write', 1, 1, 585)],
    loss=0.3,
).via('discovered failure')
def test_invariants_under_random_faults(seed, steps, loss):
    sim = SimCluster(5, seed=seed, net=NetConfig(loss=loss, delay_ms=(0, 30), duplicate=0.1))
    sim.run(3000)
    acked: list[tuple[str, str]] = []
    asymmetric = False
    last_version = {n: sim.version(n) for n in sim.nodes}
    for kind, a, b, ms in steps:
        if kind == "partition":
            sim.partition({n for n in sim.nodes if n <= a}, {n for n in sim.nodes if n > a})
        elif kind == "oneway" and a != b:
            sim.cut_one_way(a, b)
            asymmetric = True
        elif kind == "heal":
            sim.heal()
            asymmetric = False
        elif kind == "pause":
            sim.pause(a, ms // 4)
        elif kind == "write":
            name = f"p{len(acked)}"
            rid = sim.request(a, op="property_set", name=name, value="1")
            sim.run(400)
            reply = sim.reply(a, rid)
            if reply and reply.get("ok"):
                acked.append((name, "1"))
        sim.run(ms)
        # quorum means a strict majority of the 5 votes in the view
        for n in sim.nodes:
            ctrl = sim.nodes[n].ctrl
            assert ctrl.membership.quorate == (len(ctrl.membership.members) * 2 > 5)
        # at most one quorate DC in a partition whose views have settled (right after a
        # change two may overlap until claims are heard; they cannot both commit a write,
        # each needs a majority that only follows one of them; one-way cuts need an agreed
        # view: issue 4). Exactly one DC once healed: checked at the end.
        if ms >= 2500:
            # long after the last fault, one-way cuts included: one quorate DC at most in
            # the whole cluster (a node that cannot hear the DC its members follow never
            # takes the role itself)
            quorate_dcs = [m for m in sim.nodes if sim.nodes[m].ctrl.is_dc
                           and sim.nodes[m].ctrl.membership.quorate]
            assert len(quorate_dcs) <= 1, f"two quorate DCs: {quorate_dcs}"
        if not asymmetric:
            for n in sim.nodes:
                group = sim.side(n)
                settled = all(sim.nodes[m].ctrl.membership.members == group for m in group)
                dcs_in_group = [m for m in group if sim.nodes[m].ctrl.is_dc
                                and sim.nodes[m].ctrl.membership.quorate]
                assert not settled or len(dcs_in_group) <= 1, \
                    f"two DCs in partition {group}: {dcs_in_group}"
        # CIB versions never go backwards on any node
        for n in sim.nodes:
            assert sim.version(n) >= last_version[n], f"node {n} went back"
            last_version[n] = sim.version(n)
    sim.heal()
    sim.net = NetConfig()  # healed: no more loss either
    sim.run(6000)
    dcs = {sim.nodes[n].ctrl.dc for n in sim.nodes}
    assert len(dcs) == 1 and None not in dcs, f"views converge after healing: {dcs}"
    views = {sim.nodes[n].ctrl.membership.members for n in sim.nodes}
    assert views == {frozenset(sim.nodes)}
    from vigil.core import cib as C
    for name, value in acked:
        for n in sim.nodes:
            assert C.get_property(sim.nodes[n].ctrl.cib, name) == value, \
                f"acknowledged write {name} lost on node {n}"


def view_ids(sim, nodes):
    return {sim.nodes[n].ctrl.view_id for n in nodes}


def test_a_settled_partition_agrees_on_a_view_number_and_a_new_view_gets_a_higher_one():
    sim = SimCluster(5)
    sim.run(3000)
    (first,) = view_ids(sim, sim.nodes)
    assert first[0] > 0 and all(sim.nodes[n].ctrl.view_agreed() for n in sim.nodes)
    sim.partition({1, 2}, {3, 4, 5})
    sim.run(3000)
    (minority,) = view_ids(sim, [1, 2])
    (majority,) = view_ids(sim, [3, 4, 5])
    assert minority != majority, "two partitions never share a view number"
    assert majority[0] > first[0] and majority[1] == 3
    sim.heal()
    sim.run(3000)
    (healed,) = view_ids(sim, sim.nodes)
    assert healed[0] > max(minority[0], majority[0])
    assert all(sim.nodes[n].ctrl.view_agreed() for n in sim.nodes)


def test_last_man_standing_keeps_quorum_while_nodes_fail_one_at_a_time():
    sim = SimCluster(5, last_man_standing=True, lms_window_ms=2000)
    plain = SimCluster(5)
    for s in (sim, plain):
        s.run(3000)
    for victim in (5, 4, 3):
        for s in (sim, plain):
            s.kill(victim)
            s.run(3000)  # longer than the window: the survivors lower expected votes
    survivors = [1, 2]
    assert all(sim.nodes[n].ctrl.membership.quorate for n in survivors)
    assert sim.nodes[1].ctrl.membership.expected_votes == 2
    assert not any(plain.nodes[n].ctrl.membership.quorate for n in survivors), \
        "without last man standing, 2 of 5 votes is no quorum"
    rid = sim.request(1, op="property_set", name="still", value="writable")
    sim.run(500)
    assert sim.reply(1, rid)["ok"]


def test_last_man_standing_never_lowers_expected_votes_in_a_minority():
    sim = SimCluster(5, last_man_standing=True, lms_window_ms=2000)
    sim.run(3000)
    sim.partition({1, 2}, {3, 4, 5})  # all at once: the 2 side never had quorum
    sim.run(6000)
    assert not any(sim.nodes[n].ctrl.membership.quorate for n in (1, 2))
    assert sim.nodes[1].ctrl.membership.expected_votes == 5
    assert sim.nodes[3].ctrl.membership.expected_votes == 3
    sim.heal()
    sim.run(3000)
    assert {sim.nodes[n].ctrl.membership.expected_votes for n in sim.nodes} == {5}


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("seed", range(8))
def test_nodes_starting_at_different_times_never_report_no_dc_once_they_have_one(size, seed):
    """Nodes start up to 0.4 s apart, with up to 20 ms of network delay: once a node reports
    a DC, it keeps reporting that DC (no 'no DC' blip while the DC's claim is on the way)."""
    rng = random.Random(seed)
    sim = SimCluster(size, seed=seed, net=NetConfig(delay_ms=(0, 20)))
    for n in range(2, size + 1):
        sim.pause(n, rng.randint(0, 400))  # a paused node has not started yet
    reported: dict[int, int | None] = {}
    changes = []
    while sim.now_ms < 6000:
        sim.run(10)
        for n, node in sim.nodes.items():
            dc = node.ctrl.dc
            if reported.get(n) is not None and dc != reported[n]:
                changes.append((sim.now_ms, f"node{n}", reported[n], dc))
            if dc is not None or n in reported:
                reported[n] = dc
    assert not changes, changes
    assert set(reported.values()) == {1}
