"""An anonymous clone on a live cluster: one instance per node, by the agents' own state,
the history kept under the clone's primitive id as Pacemaker keeps it, and a cluster that
settles (no instance recovered again and again); a node's loss and return move nothing
but that node's instance."""

import time

import pytest

from vigil.core import cib as C

pytestmark = pytest.mark.cluster


def transitions(c):
    return c.log_path("node1").read_text().count("transition ")


def test_an_anonymous_clone_runs_once_per_node_and_settles(cluster3):
    c = cluster3
    c.wait_quorate()
    assert c.vigilctl("node1", "property", "set", "stonith-enabled", "false").returncode == 0
    prim = C.primitive_element("cl", "ocf:vigil:Dummy", {}, None,
                               [{"name": "monitor", "interval": "1s"}])
    clone = C.to_bytes(C.parse(f'<clone id="cl-clone">{C.to_bytes(prim).decode()}</clone>'))
    c.ctl("node1", "cib_put", section="resources", xml=clone.decode(), mode="create")
    c.wait(lambda: c.dummy_running("cl") == c.names, 20, "one instance on each node")
    time.sleep(3)
    before = transitions(c)
    time.sleep(5)
    assert transitions(c) == before, "the cluster keeps re-deciding a settled clone"
    status = C.parse(c.vigilctl("node1", "cib", "get", "--scope", "status").stdout)
    ids = {lr.get("id") for lr in status.iter("lrm_resource")}
    assert "cl" in ids and not any(i.startswith("cl:") for i in ids), ids
    assert not c.status("node1")["failed_actions"]
    c.stop("node3")
    c.wait(lambda: c.dummy_running("cl") == ["node1", "node2"], 20, "node3's instance gone with it")
    c.start(["node3"])
    c.wait(lambda: c.dummy_running("cl") == c.names, 30, "node3's instance back")
    assert not c.status("node2")["failed_actions"]
