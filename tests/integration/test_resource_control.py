"""vigilctl resource move/ban/clear/cleanup/restart and node standby on a live cluster."""

import pytest

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def ok(res):
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_move_ban_clear_standby_cleanup_restart(cluster3):
    c = cluster3
    c.wait_quorate()
    ok(c.vigilctl("node1", "property", "set", "stonith-enabled", "false"))
    ok(c.vigilctl("node1", "resource", "create", "d", "ocf:vigil:Dummy", "--op", "monitor:1s"))
    c.wait(lambda: c.where("node1", "d"), 20, "d to start")

    ok(c.vigilctl("node2", "resource", "move", "d", "node3"))
    c.wait(lambda: c.where("node1", "d") == ["node3"], 15, "d on node3")
    ok(c.vigilctl("node2", "resource", "ban", "d", "node3"))
    c.wait(lambda: c.where("node1", "d") not in ([], ["node3"]), 15, "d off node3")
    out = ok(c.vigilctl("node1", "resource", "clear", "d"))
    assert "cli-prefer-d" in out and "cli-ban-d-on-node3" in out
    res = c.vigilctl("node1", "resource", "move", "d", "node9")
    assert res.returncode == 2 and "node9" in res.stderr

    holder = c.where("node1", "d")[0]
    ok(c.vigilctl("node1", "node", "standby", holder))
    c.wait(lambda: c.where("node1", "d") not in ([], [holder]), 15, "d off the standby node")
    st = c.status("node1")
    assert [n for n in st["nodes"] if n["name"] == holder][0]["standby"]
    ok(c.vigilctl("node1", "node", "online", holder))

    node = c.where("node1", "d")[0]
    state = c.node_dir(node) / "state" / "run" / "vigil-Dummy-d.state"
    state.unlink()
    c.wait(lambda: c.status("node1")["failed_actions"], 15, "the failure to be recorded")
    c.wait(lambda: c.where("node1", "d"), 15, "d recovered")
    ok(c.vigilctl("node3", "resource", "cleanup", "d"))
    c.wait(lambda: not c.status("node1")["failed_actions"], 10, "failures forgotten")

    out = ok(c.vigilctl("node2", "resource", "restart", "d"))
    assert "restarted" in out
    assert c.where("node1", "d")
