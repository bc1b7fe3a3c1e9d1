"""vigilctl resource move/ban/clear/cleanup/restart and node standby on a live cluster."""

import time

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


def test_changing_a_running_resources_parameters_restarts_it_with_them(cluster3, tmp_path):
    """As in Pacemaker: a new definition (op-digest differs) restarts the resource where it
    runs; a meta attribute alone restarts nothing."""
    import urllib.request

    from vigil.core import cib as C

    c = cluster3
    c.wait_quorate()
    ok(c.vigilctl("node1", "property", "set", "stonith-enabled", "false"))
    old, new = tmp_path / "old", tmp_path / "new"
    for d, text in ((old, "old\n"), (new, "new\n")):
        d.mkdir()
        (d / "index.html").write_text(text)
    port = c.port + 3

    def web(docroot, meta=None):
        return C.to_bytes(C.primitive_element(
            "web", "ocf:vigil:http", {"docroot": str(docroot), "port": str(port),
                                      "ip": "127.0.0.1"},
            meta, [{"name": "monitor", "interval": "1s"}])).decode()

    def get():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as resp:
            return resp.read().decode()

    c.ctl("node1", "cib_put", section="resources", xml=web(old), mode="create")
    holder = c.wait(lambda: c.where("node1", "web"), 20, "web to start")[0]
    c.wait(lambda: get() == "old\n", 10, "the old page")

    def starts():
        xml = C.parse(c.ctl("node1", "cib_get", scope="status")["xml"])
        return [op.get("call-id") for op in xml.iter("lrm_rsc_op")
                if op.get("operation_key") == "web_start_0"]

    before = starts()
    c.ctl("node2", "cib_put", section="resources", xml=web(new), mode="replace")
    c.wait(lambda: get() == "new\n", 20, "the page from the new docroot")
    # restarted in place, not moved (the start is recorded once the agent has returned)
    c.wait(lambda: c.where("node1", "web") == [holder] and starts() != before, 10,
           "the new start recorded on the same node")
    after = starts()
    c.ctl("node2", "cib_put", section="resources",
          xml=web(new, {"description": "meta only"}), mode="replace")
    time.sleep(3)
    assert starts() == after, "a meta attribute alone restarts nothing"
