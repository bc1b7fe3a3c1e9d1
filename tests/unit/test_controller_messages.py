"""Messages around a peer's restart: who hears a result, what a dead process's stream may do.

Found by the seed benchmark on namespaces (bench_web_failover.py): a node that had just
restarted ran the DC's probes before it had seen the DC win the election, and dropped the
result, so the DC waited out the action timeout (26 s without service); and the DC's stream
to the dead process swallowed the first message meant for the new one.
"""

from __future__ import annotations

from vigil.core.codec import action_to_dict
from vigil.core.controller import ClusterSpec, Controller
from vigil.core.events import (
    AgentDone,
    Disconnect,
    Execute,
    Heartbeat,
    PeerMessage,
    Send,
    Tick,
)
from vigil.core.execmodel import AgentResult
from vigil.core.graph import Action

NAMES = {1: "node1", 2: "node2", 3: "node3"}


def node(me: int) -> Controller:
    spec = ClusterSpec("t", me, NAMES, {n: 1 for n in NAMES}, 200, 1000, join_timeout_ms=2000)
    return Controller(spec, incarnation=1000 + me, cib=None, now_ms=0)


def hb(sender: int, incarnation: int, now_ms: int, dc: int | None = None) -> Heartbeat:
    return Heartbeat(sender, incarnation, {"t": "hb", "c": "t", "dc": dc, "v": [0, 0, 0],
                                           "term": 0, "m": sorted(NAMES), "q": True}, now_ms)


def probe(on: str) -> Action:
    return Action(id=7, kind="rsc", key="vip_monitor_0", task="monitor", node=on, rsc="vip",
                  target_rc=7)


def test_a_result_goes_to_the_node_that_asked_even_before_the_election_is_seen() -> None:
    c = node(2)
    c.handle(Tick(0, 0.0))
    assert c.dc is None
    out = c.handle(PeerMessage(1, {"t": "exec", "token": "4:7",
                                   "action": action_to_dict(probe("node2"))}, 1001))
    assert [type(o) for o in out] == [Execute]
    # the executor answers before this node has heard anyone claim the DC role
    c.membership.heartbeat(1, 1001, 10, {})
    out = c.handle(AgentDone("4:7", probe("node2"), AgentResult(7, 0, "", 3, "")))
    sends = [o for o in out if isinstance(o, Send)]
    assert len(sends) == 1 and sends[0].node_id == 1
    assert sends[0].msg["t"] == "exec_result" and sends[0].msg["token"] == "4:7"


def test_a_result_without_any_dc_is_kept_for_the_next_one() -> None:
    c = node(2)
    c.handle(Tick(0, 0.0))
    monitor = Action(id=0, kind="rsc", key="vip_monitor_2000", task="monitor", node="node2",
                     rsc="vip", interval_ms=2000)
    from vigil.core.events import MonitorChanged

    out = c.handle(MonitorChanged(monitor, AgentResult(7, 0, "", 3, "")))
    assert not [o for o in out if isinstance(o, Send)]
    assert len(c.member.unreported) == 1
    # node1 claims the DC role and is elected: it is told at once
    now = 0
    sent: list[Send] = []
    while c.dc is None and now < 5000:
        now += 100
        for event in (hb(1, 1001, now, dc=1), hb(3, 1003, now, dc=1), Tick(now, now / 1000)):
            sent += [o for o in c.handle(event) if isinstance(o, Send)]
    assert c.dc == 1
    assert [s.msg["t"] for s in sent if s.node_id == 1] == ["monitor_change"]
    assert c.member.unreported == []


def test_a_message_from_a_dead_process_of_a_peer_is_dropped_and_counted() -> None:
    c = node(2)
    c.handle(hb(1, 5000, 0))
    before = c.cib
    out = c.handle(PeerMessage(1, {"t": "cib", "xml": "<cib/>", "term": 9}, 4000))
    assert out == [] and c.cib is before
    assert c.stale_messages == 1


def test_the_stream_to_a_restarted_or_lost_peer_is_dropped() -> None:
    c = node(1)
    now = 0
    for now in range(0, 1000, 100):
        c.handle(hb(2, 2000, now))
        c.handle(hb(3, 3000, now))
        c.handle(Tick(now, now / 1000))
    assert 2 in c.membership.members
    out = c.handle(hb(2, 2500, now + 50))  # node2 came back as a new process
    assert Disconnect(2) in out
    out = []
    for t in range(now + 100, now + 3000, 100):
        c.handle(hb(2, 2500, t))
        out += c.handle(Tick(t, t / 1000))
    assert Disconnect(3) in out  # node3 went silent: lost


def test_an_action_from_a_node_that_is_not_my_dc_is_refused_not_run() -> None:
    c = node(2)
    now = 0
    while c.dc is None and now < 5000:
        now += 100
        for event in (hb(1, 1001, now, dc=1), hb(3, 1003, now, dc=1), Tick(now, now / 1000)):
            c.handle(event)
    assert c.dc == 1
    out = c.handle(PeerMessage(3, {"t": "exec", "token": "9:7",
                                   "action": action_to_dict(probe("node2"))}, 1003))
    assert not [o for o in out if isinstance(o, Execute)]
    refused = [o for o in out if isinstance(o, Send)]
    assert len(refused) == 1 and refused[0].node_id == 3
    assert refused[0].msg["t"] == "exec_refused" and "node1" in refused[0].msg["reason"]


def test_a_node_that_cannot_hear_the_dc_its_members_follow_does_not_take_the_role() -> None:
    from vigil.core.election import choose_dc

    # one-way cut: node 2 no longer hears node 1, which 3, 4 and 5 still follow; node 2
    # is the lowest id of what it hears, yet must not become a second DC
    dc, why = choose_dc(2, frozenset({2, 3, 4, 5}), True, None,
                        {3: 1, 4: 1, 5: 1}, settled=True)
    assert dc is None and "node 1" in why
    # once they have given node 1 up too, the lowest id is chosen as usual
    assert choose_dc(2, frozenset({2, 3, 4, 5}), True, None, {3: None, 4: None, 5: None},
                     settled=True)[0] == 2


def test_a_members_heartbeat_with_nonsense_fields_never_raises() -> None:
    """A key holder's bugs (or a newer version's fields) must not crash a peer."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=8)
    fields = st.fixed_dictionaries({}, optional={
        k: json_values for k in ("t", "c", "dc", "v", "term", "m", "q", "vw")})

    @settings(max_examples=400, deadline=None, derandomize=True, database=None)
    @given(msg=fields, c_ok=st.booleans())
    def check(msg, c_ok):
        c = node(2)
        if c_ok:
            msg = {**msg, "c": "t"}
        for t in (0, 100, 200):
            c.handle(Heartbeat(1, 1001, msg, t))
            c.handle(Tick(t, t / 1000))

    check()


def test_a_members_message_with_nonsense_fields_is_dropped_not_raised() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers(-5, 2**40) | st.text(max_size=6)
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                          max_leaves=6)
    kinds = st.sampled_from(["cib", "cib_pull", "cib_push", "cib_ack", "exec", "exec_result",
                             "exec_refused", "monitor_change", "write", "write_reply",
                             "cancel", "shutdown", "leave", "fence_event", "nonsense"])
    keys = ["xml", "term", "pid", "token", "action", "result", "rid", "req", "reply",
            "rsc", "interval_ms", "entry", "wall_s", "reason", "call_id"]

    @settings(max_examples=400, deadline=None, derandomize=True, database=None)
    @given(kind=kinds, extra=st.fixed_dictionaries({}, optional={k: values for k in keys}),
           as_dc=st.booleans())
    def check(kind, extra, as_dc):
        c = node(1 if as_dc else 2)
        now = 0
        while c.dc is None and now < 4000:
            now += 100
            for event in (hb(3, 1003, now), hb(1 if not as_dc else 2, 1002, now),
                          Tick(now, now / 1000)):
                c.handle(event)
        c.handle(PeerMessage(3, {"t": kind, **extra}, 1003))

    check()


def test_what_a_fenced_boot_sent_is_dropped_even_before_its_new_boot_is_heard() -> None:
    """Its kernel delivers the dead process's last stream once the link is back; the node's
    new boot may not have sent a heartbeat yet (seen in bench_web_failover: a stale monitor
    failure got the rebooted node fenced a second time)."""
    c = node(1)
    now = 0
    for now in range(0, 1000, 100):
        for event in (hb(2, 2000, now), hb(3, 3000, now), Tick(now, now / 1000)):
            c.handle(event)
    for t in range(now + 100, now + 2000, 100):  # node3 goes silent: lost
        c.handle(hb(2, 2000, t))
        c.handle(Tick(t, t / 1000))
    assert 3 not in c.membership.members
    c.fenced("node3")
    stale = {"t": "monitor_change", "token": "", "action": action_to_dict(probe("node3")),
             "result": {"rc": 1, "op_status": 4, "exit_reason": "killed", "exec_ms": 1,
                        "output": ""}, "call_id": 9, "wall_s": 1}
    before = c.stale_messages
    c.handle(PeerMessage(3, stale, 3000))
    assert c.stale_messages == before + 1
