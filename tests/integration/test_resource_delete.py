"""Deleting a resource stops it first (it becomes an orphan), then forgets its history.

Real daemons, real ocf:vigil:Dummy agents: the agent's own state file is the truth.
"""

import pytest

from vigil.core import cib as C

pytestmark = pytest.mark.cluster


def ok(res):
    assert res.returncode == 0, res.stderr
    return res.stdout


def history_of(c, rsc):
    status = C.parse(c.vigilctl("node1", "cib", "get", "--scope", "status").stdout)
    return [lr for lr in status.iter("lrm_resource") if lr.get("id") == rsc]


def test_deleting_a_running_resource_stops_it_then_removes_it(cluster3):
    c = cluster3
    c.wait_quorate()
    ok(c.vigilctl("node1", "property", "set", "stonith-enabled", "false"))
    for rsc in ("d1", "d2", "d3"):
        ok(c.vigilctl("node2", "resource", "create", rsc, "ocf:vigil:Dummy",
                      "--op", "monitor:1s"))
    c.wait(lambda: all(c.dummy_running(r) for r in ("d1", "d2", "d3")), 20, "all started")
    ok(c.vigilctl("node3", "resource", "delete", "d1"))
    ok(c.vigilctl("node1", "resource", "delete", "d2"))
    c.wait(lambda: not c.dummy_running("d1") and not c.dummy_running("d2"), 15,
           "the agents of d1 and d2 stopped")
    c.wait(lambda: not history_of(c, "d1") and not history_of(c, "d2"), 10,
           "their history deleted once stopped")
    ids = [r["id"] for r in c.status("node2")["resources"]]
    assert ids == ["d3"], ids
    assert len(c.dummy_running("d3")) == 1, "the others are untouched"
    assert "Traceback" not in "".join(c.log_path(n).read_text() for n in c.names)


def test_deleting_a_stopped_resource_starts_nothing(cluster3):
    c = cluster3
    c.wait_quorate()
    ok(c.vigilctl("node1", "property", "set", "stonith-enabled", "false"))
    ok(c.vigilctl("node2", "resource", "create", "s", "ocf:vigil:Dummy",
                  "--meta", "target-role=Stopped"))
    c.wait(lambda: len(history_of(c, "s")) == 3, 15, "s probed on every node")
    ok(c.vigilctl("node2", "resource", "delete", "s"))
    c.wait(lambda: not history_of(c, "s"), 10, "the history of s deleted")
    assert c.dummy_running("s") == [], "s never started"
    log = "".join(c.log_path(n).read_text() for n in c.names)
    assert "s_start_0" not in log, "no start was even planned"
