from vigil.core.election import choose_dc
from vigil.core.membership import Liveness, Membership


def make(me=1, n=3, **kw):
    return Membership(me, {i: 1 for i in range(1, n + 1)}, deadtime_ms=1000,
                      heartbeat_interval_ms=200, **kw)


def feed(m, peers, start, end, step=100):
    """Ticks every `step` ms; the listed peers send a heartbeat every tick."""
    change = None
    for t in range(start, end + 1, step):
        for p in peers:
            change = m.heartbeat(p, 1, t, {}) or change
        change = m.tick(t) or change
    return change


def test_alone_a_node_of_three_has_no_quorum():
    m = make()
    assert m.members == {1} and not m.quorate


def test_majority_gives_quorum_and_silence_takes_it_away():
    m = make()
    change = m.heartbeat(2, 1, 0, {})
    assert change and change.joined == {2} and change.quorate
    feed(m, [2, 3], 0, 1000)
    assert m.members == {1, 2, 3}
    # node 3 falls silent: suspect first, dead after deadtime
    feed(m, [2], 1100, 1500)
    assert m.liveness(3) is Liveness.SUSPECT and 3 in m.members
    feed(m, [2], 1600, 2100)
    assert m.liveness(3) is Liveness.DEAD and m.members == {1, 2} and m.quorate
    feed(m, [], 2200, 3300)
    assert m.members == {1} and not m.quorate


def test_a_paused_node_does_not_declare_live_peers_dead():
    m = make()
    feed(m, [2, 3], 0, 1000)
    # this node is stopped for 3 s: no ticks, no packets processed
    assert m.tick(4000) is None
    assert m.members == {1, 2, 3}
    # right after the pause the peers' heartbeats arrive again: nobody is lost
    assert feed(m, [2, 3], 4100, 5000) is None
    assert m.members == {1, 2, 3}


def test_restart_is_reported():
    m = make()
    m.heartbeat(2, 1, 0, {})
    change = m.heartbeat(2, 2, 100, {})
    assert change and change.restarted == {2}


def test_two_node_and_wait_for_all():
    m = Membership(1, {1: 1, 2: 1}, 1000, 200, two_node=True, wait_for_all=True)
    assert not m.quorate, "wait_for_all: not before both were seen"
    m.heartbeat(2, 1, 0, {})
    assert m.quorate
    feed(m, [], 100, 1500)
    assert m.members == {1} and m.quorate, "two_node: one survivor keeps quorum"


def test_election_rules():
    members = frozenset({1, 2, 3})
    assert choose_dc(1, frozenset({1}), False, 1, {}, True)[0] == 1, \
        "a partition without quorum keeps a DC (to apply no-quorum-policy)"
    # a quorate claimant beats a lower-id claimant without quorum
    assert choose_dc(1, members, True, 1, {2: 2}, True, {2: True})[0] == 1
    assert choose_dc(3, members, True, None, {1: 1, 2: 2}, True, {1: False, 2: True})[0] == 2
    assert choose_dc(2, members, True, None, {}, False)[0] is None
    assert choose_dc(2, members, True, None, {}, True)[0] == 1
    # a healthy DC (3) is kept when a lower id (1) joins
    assert choose_dc(1, members, True, None, {3: 3, 2: 3}, False)[0] == 3
    assert choose_dc(3, members, True, 3, {1: None, 2: 3}, True)[0] == 3
    # two claimants after a partition heals: the lower id wins
    assert choose_dc(3, members, True, 3, {2: 2}, True, {2: True})[0] == 2
