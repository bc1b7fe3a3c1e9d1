"""The fault campaign's own logic, without a cluster: the agent-log timeline audits, the
fault table's replayable draws, and whom a fault entitles to be fenced."""

import random
from pathlib import Path
from types import SimpleNamespace

from vigil.testing.cts.audits import Auditor
from vigil.testing.cts.bed import Event, FenceRun
from vigil.testing.cts.faults import KINDS, Fault, draw, weights
from vigil.testing.cts.report import Recorder, excerpt, percentiles


def auditor(tmp_path: Path, lines: list[str], events=(), runs=()) -> Auditor:
    log = tmp_path / "agents.log"
    log.write_text("".join(f"{x}\n" for x in lines))
    bed = SimpleNamespace(names=["node1", "node2", "node3"], agent_log=log,
                          events=list(events), fence_runs=list(runs),
                          log_path=lambda n: tmp_path / f"{n}.log")
    rec = Recorder(bed.log_path)
    return Auditor(bed, rec, SimpleNamespace(acked=[]))  # type: ignore[arg-type]


def kinds(a: Auditor) -> list[str]:
    return sorted(v.kind for v in a.rec.violations)


def partition(index: int, start: float, healed: float, minority: tuple[str, ...]) -> Fault:
    rest = tuple(n for n in ("node1", "node2", "node3") if n not in minority)
    return Fault(index, "partition", healed - start, (0, 0, 0, 0), nodes=minority,
                 groups=(minority, rest), fence_ok=frozenset(minority), start=start,
                 healed=healed)


def test_a_clean_move_is_no_violation(tmp_path):
    a = auditor(tmp_path, ["10.0 node1 free1 start done 0", "20.0 node1 free1 stop begin",
                           "20.5 node2 free1 start done 0"])
    a.agent_log([])
    assert kinds(a) == []


def test_started_while_running_elsewhere_is_double_active(tmp_path):
    a = auditor(tmp_path, ["10.0 node1 free1 start done 0", "20.0 node2 free1 start done 0"])
    a.agent_log([])
    assert kinds(a) == ["double_active"]


def test_recovery_of_a_crashed_node_needs_its_fencing_first(tmp_path):
    crash = Event(15.0, "node1", "crash")
    early = FenceRun("node1", "reboot", 16.0, 17.0, "ok")
    a = auditor(tmp_path, ["10.0 node1 free1 start done 0", "16.5 node2 free1 start done 0"],
                [crash], [early])
    a.agent_log([])
    assert kinds(a) == ["recovered_before_fencing"]
    b = auditor(tmp_path, ["10.0 node1 free1 start done 0", "17.5 node2 free1 start done 0"],
                [crash], [early])
    b.agent_log([])
    assert kinds(b) == []


def test_a_node_booted_again_needs_no_fencing(tmp_path):
    a = auditor(tmp_path, ["10.0 node1 free1 start done 0", "19.0 node2 free1 start done 0"],
                [Event(15.0, "node1", "crash"), Event(18.0, "node1", "boot")])
    a.agent_log([])
    assert kinds(a) == []


def test_a_stop_on_the_far_side_of_a_cut_does_not_spare_the_fencing(tmp_path):
    lines = ["10.0 node1 free1 start done 0", "13.0 node1 free1 stop begin",
             "14.0 node2 free1 start done 0"]
    cut = partition(1, 12.0, 20.0, ("node1",))
    a = auditor(tmp_path, lines)
    a.agent_log([cut])
    assert kinds(a) == ["recovered_without_fencing"]
    fenced = FenceRun("node1", "reboot", 13.2, 13.5, "ok")
    b = auditor(tmp_path, lines, runs=[fenced])
    b.agent_log([cut])
    assert kinds(b) == []


def test_a_one_way_cut_only_hides_what_the_deaf_side_cannot_hear(tmp_path):
    deaf_old = Fault(1, "one_way", 8, (0, 0, 0, 0), nodes=("node1",),
                     groups=(("node2", "node3"), ("node1",)), start=12.0, healed=20.0)
    lines = ["10.0 node1 free1 start done 0", "13.0 node1 free1 stop begin",
             "14.0 node2 free1 start done 0"]
    a = auditor(tmp_path, lines)
    a.agent_log([deaf_old])  # node1 still reaches node2: its stop can be known there
    assert kinds(a) == []


def test_draws_replay_with_the_seed_whatever_the_cluster_does():
    mix = weights(None, use_netns=True)
    one = [draw(random.Random(7), i, mix, 30) for i in range(1, 3)]
    rng = random.Random(7)
    two = [draw(rng, i, mix, 30) for i in range(1, 3)]
    rng = random.Random(7)
    three = [draw(rng, 1, mix, 30), draw(rng, 2, mix, 30)]
    assert [(f.kind, f.duration_s, f.picks) for f in two] == \
        [(f.kind, f.duration_s, f.picks) for f in three]
    assert one[0].kind == two[0].kind
    assert all(KINDS[f.kind].duration_s[0] <= f.duration_s <= 30 for f in two)


def test_loopback_mix_has_no_network_faults():
    assert not [k for k in weights(None, use_netns=False) if KINDS[k].netns_only]
    assert "readonly" not in weights(None, use_netns=True)  # only on request


def test_excerpt_prefers_the_hint(tmp_path):
    log = tmp_path / "n.log"
    log.write_text("2026-01-01 10:00:00,000 node1 x INFO: a\n"
                   "2026-01-01 10:00:01,000 node1 x INFO: fencing node2\n"
                   "2026-01-01 10:00:09,000 node1 x INFO: later\n")
    import time
    t = time.mktime(time.strptime("2026-01-01 10:00:01", "%Y-%m-%d %H:%M:%S"))
    lines = excerpt(log, t, "node2")
    assert lines and "fencing node2" in lines[-1] and not any("later" in x for x in lines)


def test_percentiles():
    assert percentiles([]) == {"p50": None, "p90": None, "max": None}
    assert percentiles([3.0, 1.0, 2.0, 10.0]) == {"p50": 3.0, "p90": 10.0, "max": 10.0}
