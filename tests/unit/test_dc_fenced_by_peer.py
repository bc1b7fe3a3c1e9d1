"""Fencing the DC: a peer carries it out, and the next DC does not fence it a second time.

Real controllers on the simulated network (fake clock); only the fence device is
simulated: a ``Fence`` command "powers off" its target at once (when the outcome says so)
and answers ``FenceDone`` after ``fence_ms``, as a reboot through a power switch would.
"""

from __future__ import annotations

from typing import Any

from vigil.core import cib as C
from vigil.core.controller import Controller
from vigil.core.events import AgentDone, Command, Execute, Fence, FenceDone
from vigil.core.execmodel import AgentResult
from vigil.core.statusview import status_view
from vigil.testing.simnet import SimCluster, SimNode

WALL0 = 1_700_000_000


class FencingSim(SimCluster):
    """SimCluster whose nodes can fence: outcomes are "ok", "fail" or "hang" (no answer)."""

    def __init__(self, outcomes: list[str], fence_ms: int = 100, size: int = 3) -> None:
        super().__init__(size)
        self.outcomes = list(outcomes)
        self.fence_ms = fence_ms
        self.fences: list[tuple[int, str, str, int]] = []  # (node, target, action, at_ms)
        self.stop_fails: set[str] = set()

    def _do(self, src: int, cmd: Command) -> None:
        if self._execute(src, cmd):
            return
        if not isinstance(cmd, Fence):
            super()._do(src, cmd)
            return
        self.fences.append((src, cmd.target, cmd.action, self.now_ms))
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        target = next(n for n, s in self.nodes.items() if s.ctrl.spec.my_name == cmd.target)
        if outcome == "ok" and cmd.action != "on":
            self.kill(target)
        if outcome == "hang":
            return
        done_ms = self.now_ms + self.fence_ms
        self._at(done_ms, src, FenceDone(
            cmd.token, cmd.target, cmd.action, outcome == "ok",
            "fence-sim" if outcome == "ok" else "", "" if outcome == "ok" else "no power",
            cmd.requested, WALL0 + done_ms / 1000))

    def _execute(self, src: int, cmd: Command) -> bool:
        """Stops of a resource in ``self.stop_fails`` fail (rc 1); False: not handled."""
        if (isinstance(cmd, Execute) and cmd.action.task == "stop"
                and cmd.action.rsc in self.stop_fails):
            self._at(self.now_ms + 1, src,
                     AgentDone(cmd.token, cmd.action, AgentResult(1, 0, "cannot stop", 1, "")))
            return True
        return False

    def restart(self, node_id: int) -> None:
        """The fenced node boots again: a new process with an empty memory."""
        old = self.nodes[node_id].ctrl
        self.nodes[node_id] = SimNode(Controller(old.spec, old.incarnation + 1, old.cib,
                                                 self.now_ms))


def ctl(sim: SimCluster, at: int, ms: int = 300, **req: Any) -> dict[str, Any]:
    rid = sim.request(at, **req)
    sim.run(ms)
    reply = sim.reply(at, rid)
    assert reply is not None and reply["ok"], reply
    result: dict[str, Any] = reply["result"]
    return result


def add_fence_device(sim: SimCluster, hosts: str | None = None,
                     meta: dict[str, str] | None = None) -> None:
    """The simulated fence device ``fence-sim``, able to fence ``hosts`` (default: every
    node), created through node2."""
    names = hosts or " ".join(n.ctrl.spec.my_name for n in sim.nodes.values())
    dev = C.primitive_element("fence-sim", "stonith:fence_sim", {"pcmk_host_list": names},
                              meta)
    ctl(sim, 2, section="resources", xml=C.to_bytes(dev).decode(), mode="create",
        op="cib_put")


def cluster(outcomes: list[str], fence_ms: int = 100,
            stonith_timeout: str | None = None, size: int = 3) -> FencingSim:
    """Three nodes (or ``size``), node1 the DC, a fence device and resource ``d`` on node1."""
    sim = FencingSim(outcomes, fence_ms, size)
    sim.run(3000)
    assert sim.dcs() == {n: 1 for n in range(1, size + 1)}
    add_fence_device(sim, "node1 node2 node3")
    ctl(sim, 2, op="resource_create", id="d", agent="ocf:pacemaker:Dummy")
    ctl(sim, 2, op="resource_move", id="d", node="node1")
    if stonith_timeout:
        ctl(sim, 2, op="property_set", name="stonith-timeout", value=stonith_timeout)
    sim.run(2000)
    assert "d" in sim.nodes[1].running
    return sim


def history(sim: SimCluster, node: int, target: str = "node1") -> list[dict[str, Any]]:
    return [e for e in sim.nodes[node].ctrl.fence_history if e["target"] == target]


def node1_state(sim: SimCluster, observer: int) -> dict[str, Any]:
    view = status_view(sim.nodes[observer].ctrl)
    state: dict[str, Any] = next(n for n in view["nodes"] if n["name"] == "node1")
    return state


def test_a_member_asked_to_fence_the_dc_carries_it_out_and_tells_every_member() -> None:
    sim = cluster(["ok"], fence_ms=3000)
    rid = sim.request(3, op="fence", target="node1", action="reboot", confirm=True)
    sim.run(50)
    assert [f[:3] for f in sim.fences] == [(3, "node1", "reboot")], "node3 fences, not the DC"
    for node in (2, 3):  # node1 is powered off already; it got the entry before
        [entry] = history(sim, node)
        assert entry["state"] == "pending" and entry["origin"] == "node3"
    sim.run(4000)
    reply = sim.reply(3, rid)
    assert reply is not None and reply["ok"], reply
    assert reply["result"]["state"] == "success" and reply["result"]["origin"] == "node3"
    assert history(sim, 2) == history(sim, 3) == [reply["result"]]


def test_success_heard_before_the_loss_new_dc_marks_it_down_without_fencing() -> None:
    sim = cluster(["ok"], fence_ms=100)
    ctl(sim, 3, ms=500, op="fence", target="node1", action="reboot", confirm=True)
    sim.run(5000)
    assert sim.dcs() == {2: 2, 3: 2}
    assert len(sim.fences) == 1, sim.fences
    for node in (2, 3):
        state = node1_state(sim, node)
        assert not state["online"] and not state["unclean"]
    assert "d" in sim.nodes[2].running | sim.nodes[3].running, "d recovered"
    # the fenced DC boots again: it rejoins, is not fenced, and gets the history
    sim.restart(1)
    sim.run(4000)
    assert sim.dcs() == {1: 2, 2: 2, 3: 2}
    assert len(sim.fences) == 1
    assert history(sim, 1) == history(sim, 2) == history(sim, 3)
    assert history(sim, 1)[0]["origin"] == "node3"
    assert 1 not in sim.nodes[2].ctrl.history.last_fenced_ms, "forgotten once it rejoined"


def test_loss_seen_first_new_dc_joins_the_running_fencing() -> None:
    sim = cluster(["ok"], fence_ms=4000)
    rid = sim.request(3, op="fence", target="node1", action="reboot", confirm=True)
    sim.run(3000)  # node1 lost and node2 elected before the fencing ends
    assert sim.dcs() == {2: 2, 3: 2}
    assert list(sim.nodes[2].ctrl.duties.fencing.joined), "the DC's fence action waits"
    assert node1_state(sim, 2)["unclean"]
    assert "d" not in sim.nodes[2].running | sim.nodes[3].running, "blocked until fenced"
    sim.run(3000)
    assert len(sim.fences) == 1, sim.fences
    reply = sim.reply(3, rid)
    assert reply is not None and reply["ok"] and reply["result"]["origin"] == "node3"
    assert not node1_state(sim, 2)["unclean"]
    assert "d" in sim.nodes[2].running | sim.nodes[3].running
    assert not sim.nodes[2].ctrl.duties.fencing.joined


def test_the_peer_carrying_out_the_fencing_becomes_dc_and_joins_its_own_fencing() -> None:
    sim = cluster(["ok"], fence_ms=4000)
    rid = sim.request(2, op="fence", target="node1", action="off", confirm=True)
    sim.run(3000)
    assert sim.dcs() == {2: 2, 3: 2} and sim.nodes[2].ctrl.duties.fencing.joined
    sim.run(3000)
    reply = sim.reply(2, rid)
    assert reply is not None and reply["ok"] and reply["result"]["origin"] == "node2"
    assert [f[:3] for f in sim.fences] == [(2, "node1", "off")]
    assert not node1_state(sim, 3)["unclean"]
    assert "d" in sim.nodes[2].running | sim.nodes[3].running


def test_a_failed_delegated_fencing_makes_the_new_dc_fence_it_itself() -> None:
    sim = cluster(["fail", "ok"], fence_ms=3000)
    rid = sim.request(3, op="fence", target="node1", action="reboot", confirm=True)
    sim.run(10)
    sim.kill(1)  # the DC dies anyway (its fencing will fail)
    sim.run(8100)  # 3 s failed fencing, 2 s pause, the record's round trip, 3 s fencing
    reply = sim.reply(3, rid)
    assert reply is not None and reply["error"]["kind"] == "fencing", reply
    assert [f[:2] for f in sim.fences] == [(3, "node1"), (2, "node1")]
    assert [(e["origin"], e["state"]) for e in history(sim, 3)] == [
        ("node3", "failed"), ("node2", "success")]
    assert not node1_state(sim, 2)["unclean"]


def test_a_fencing_whose_outcome_never_comes_is_fenced_again_after_the_timeout() -> None:
    sim = cluster(["hang", "ok"], fence_ms=100, stonith_timeout="10s")
    sim.request(3, op="fence", target="node1", action="reboot", confirm=True)
    sim.run(10)
    asked_ms = sim.now_ms
    sim.kill(1)
    sim.run(9000)
    assert len(sim.fences) == 1 and sim.nodes[2].ctrl.duties.fencing.joined
    sim.run(6000)
    assert [f[:2] for f in sim.fences] == [(3, "node1"), (2, "node1")]
    assert sim.fences[1][3] - asked_ms >= 10000
    assert not node1_state(sim, 2)["unclean"]


def test_the_dc_asked_to_fence_itself_hands_it_to_a_peer() -> None:
    sim = cluster(["ok"], fence_ms=100)
    rid = sim.request(1, op="fence", target="node1", action="on", confirm=True)
    sim.run(500)
    assert [f[:3] for f in sim.fences] == [(2, "node1", "on")]
    reply = sim.reply(1, rid)  # "on" leaves the DC running: the answer comes back
    assert reply is not None and reply["ok"] and reply["result"]["origin"] == "node2"
    assert history(sim, 1) == history(sim, 2) == history(sim, 3) == [reply["result"]]
    rid = sim.request(1, op="fence", target="node1", action="reboot", confirm=True)
    sim.run(5000)
    assert [f[:3] for f in sim.fences][1:] == [(2, "node1", "reboot")]
    assert sim.reply(1, rid) is None, "the DC is gone before the answer"
    assert sim.dcs() == {2: 2, 3: 2} and not node1_state(sim, 3)["unclean"]
    assert history(sim, 2) == history(sim, 3)


def test_requests_for_other_nodes_still_go_to_the_dc_and_bad_ones_are_refused() -> None:
    sim = cluster(["ok"], fence_ms=100)
    rid = sim.request(3, op="fence", target="node1", action="reboot")
    sim.run(200)
    assert sim.reply(3, rid) == {"ok": False, "error": {
        "kind": "invalid", "message": "fencing needs confirm: true"}}
    assert sim.fences == []
    entry = ctl(sim, 3, ms=500, op="fence", target="node2", action="reboot", confirm=True)
    assert entry["origin"] == "node1" and [f[:2] for f in sim.fences] == [(1, "node2")]


def test_a_stop_that_fails_on_the_dc_gets_the_dc_fenced_by_a_peer() -> None:
    """The scheduler fences the node where a stop failed (on-fail=fence); when that node is
    the DC, its transition hands the fencing to a peer, and d is recovered elsewhere."""
    sim = cluster(["ok"], fence_ms=100)
    sim.stop_fails.add("d")
    ctl(sim, 2, op="resource_move", id="d", node="node3")  # d must stop on node1, the DC
    sim.run(6000)
    assert [f[:3] for f in sim.fences] == [(2, "node1", "reboot")], sim.fences
    assert sim.dcs() == {2: 2, 3: 2}
    assert not node1_state(sim, 2)["unclean"]
    assert "d" in sim.nodes[3].running, "recovered where it was moved"
    entries = history(sim, 3)
    assert [(e["origin"], e["state"]) for e in entries] == [("node2", "success")], entries


def test_a_fencing_whose_node_leaves_is_recorded_failed_and_done_again_at_once() -> None:
    """node3 fences node1, the DC, and dies before the outcome: the next DC records that
    fencing as failed (nobody can know how it ended) and fences node1 itself at once,
    not after the fence timeout."""
    sim = cluster(["hang", "ok"], fence_ms=100, size=5)
    sim.request(3, op="fence", target="node1", action="reboot", confirm=True)
    sim.run(10)
    sim.kill(1)
    sim.run(3000)
    assert sim.dcs() == {2: 2, 3: 2, 4: 2, 5: 2}
    assert sim.nodes[2].ctrl.duties.fencing.joined, "waiting for node3's fencing"
    killed_ms = sim.now_ms
    sim.kill(3)
    sim.run(4000)  # far less than the 60 s fence timeout
    # node1 fenced by node2 once node3 is seen gone (node3, lost too, is fenced after it)
    node1_fences = [f for f in sim.fences if f[1] == "node1"]
    assert [f[:2] for f in node1_fences] == [(3, "node1"), (2, "node1")], sim.fences
    assert node1_fences[1][3] - killed_ms < 4000
    entries = history(sim, 4)
    assert [(e["origin"], e["state"]) for e in entries] == [("node3", "failed"),
                                                              ("node2", "success")], entries
    assert "left the cluster" in entries[0]["reason"]
    assert history(sim, 2) == history(sim, 5) == entries
    assert not node1_state(sim, 2)["unclean"]
