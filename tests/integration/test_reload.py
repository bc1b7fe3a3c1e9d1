"""Reloading a running node's configuration: authkey rotation and nodes added or removed,
with no restart of the running daemons and no membership change on the way."""

import os
import socket
import time

import pytest

from vigil import wire
from vigil.errors import VigilError
from vigil.testing.loop import LoopCluster

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def seal_with(key: bytes, sender: int, seq: int) -> bytes:
    return wire.seal(key, sender, 1, seq, {"t": "hb", "c": "x"}, os.urandom(wire.NONCE_LEN))


def lost_lines(c, node):
    return [ln for ln in c.log_path(node).read_text().splitlines() if " lost" in ln]


def pids(c):
    return {n: c.procs[n].pid for n in c.procs}


def test_authkey_rotation_without_downtime(tmp_path):
    old_key = tmp_path / "key-old"
    new_key = tmp_path / "key-new"
    for key in (old_key, new_key):  # owner-only: a key others may read is refused
        key.write_bytes(os.urandom(32))
        key.chmod(0o600)
    keys = {"authkey": str(old_key), "authkey_accept": []}

    def hook(node, cfg):
        cfg.update(keys)

    c = LoopCluster(tmp_path / "cluster", size=3, config_hook=hook)
    try:
        c.start()
        dc = c.wait_quorate()
        started = pids(c)

        def rewrite_and_reload(nodes, pause_s=0.0):
            for node in nodes:
                c.write_config(node)
                reply = c.ctl(node, "reload")
                assert reply["needs_restart"] == [], reply
                time.sleep(pause_s)

        # 1: everyone also accepts the new key; 2: everyone sends with it, one node at a
        # time (the others must still understand it); 3: the old key is dropped
        keys.update(authkey=str(old_key), authkey_accept=[str(new_key)])
        rewrite_and_reload(c.names)
        keys.update(authkey=str(new_key), authkey_accept=[str(old_key)])
        rewrite_and_reload(c.names, pause_s=2.0)  # two deadtimes between nodes
        keys.update(authkey=str(new_key), authkey_accept=[])
        rewrite_and_reload(c.names)
        time.sleep(2.0)

        assert pids(c) == started, "no daemon restarted"
        assert all(lost_lines(c, n) == [] for n in c.names), "nobody was ever declared lost"
        st = c.status("node1")
        assert st["dc"] == dc and st["quorate"] and st["view"]["agreed"]
        assert all(n["online"] for n in st["nodes"])
        assert st["counters"].get("packets_dropped_auth", 0) == 0

        # the old key is refused now: a packet sealed with it is dropped as unauthenticated
        before = st["counters"].get("packets_dropped_auth", 0)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                        socket.inet_aton("127.0.0.1"))
        for seq in range(1, 6):
            sock.sendto(seal_with(old_key.read_bytes(), 2, 10**6 + seq), (c.group, c.port))
        sock.close()
        c.wait(lambda: c.status("node1")["counters"].get("packets_dropped_auth", 0)
               >= before + 5, 10, "packets sealed with the retired key to be dropped")
    finally:
        c.close()


def test_a_bad_reload_changes_nothing(cluster3):
    c = cluster3
    c.wait_quorate()
    path = c.config_path("node2")
    good = path.read_text()
    try:
        path.write_text(good.replace("deadtime_ms: 1000", "deadtime_ms: 10"))
        with pytest.raises(VigilError) as err:
            c.ctl("node2", "reload")
        assert "timing.deadtime_ms" in str(err.value)
        path.write_text(good.replace("authkey: ", "authkey: /nonexistent"))
        with pytest.raises(VigilError) as err:
            c.ctl("node2", "reload")
        assert "authkey" in str(err.value) and "nonexistent" in str(err.value)
    finally:
        path.write_text(good)
    assert c.ctl("node2", "reload") == {"keys_changed": False, "nodes_changed": False,
                                        "needs_restart": []}
    assert c.status("node2")["quorate"]


def test_nodes_added_and_removed_while_running(tmp_path):
    listed = {"node1", "node2", "node3"}

    def hook(node, cfg):
        cfg["nodes"] = [n for n in cfg["nodes"] if n["name"] in listed]

    c = LoopCluster(tmp_path / "cluster", size=4, config_hook=hook)
    try:
        c.start(["node1", "node2", "node3"])
        dc = c.wait_quorate(["node1", "node2", "node3"])
        started = pids(c)
        assert c.status("node1")["votes"]["expected"] == 3

        # fencing on, with a device that could fence node4 (fence_dummy: harmless here)
        from vigil.core import cib as C

        dev = C.primitive_element("fence-all", "stonith:fence_dummy",
                                  {"type": "file", "status_file": str(tmp_path / "power"),
                                   "pcmk_host_list": "node1 node2 node3 node4"})
        c.ctl("node1", "cib_put", section="resources", xml=C.to_bytes(dev).decode(),
              mode="create")
        # add node4: the running nodes learn it by reload, then it starts
        listed.add("node4")
        for node in c.names:
            c.write_config(node)
        for node in ("node1", "node2", "node3"):
            assert c.ctl(node, "reload")["nodes_changed"] is True
        time.sleep(3)  # a node added but not yet started is not a lost node: no fencing
        assert [e for e in c.ctl(dc, "fence_history") if e["target"] == "node4"] == []
        c.start(["node4"])
        c.wait(lambda: all(len(c.status(n)["view"]["members"]) == 4 and
                           c.status(n)["view"]["agreed"] for n in c.names), 20,
               "four members agreeing on the view")
        st = c.status("node4")
        assert st["dc"] == dc and st["votes"] == {"members": 4, "expected": 4, "configured": 4}
        cib = c.ctl(dc, "cib_get")["xml"]
        assert 'uname="node4"' in cib
        assert {n: pids(c)[n] for n in started} == started, "the others were not restarted"
        assert [e for e in c.ctl(dc, "fence_history") if e["target"] == "node4"] == []

        # remove node4: stop it cleanly, then reload the others
        c.stop("node4")
        listed.discard("node4")
        for node in ("node1", "node2", "node3"):
            c.write_config(node)
            assert c.ctl(node, "reload")["nodes_changed"] is True
        c.wait(lambda: [n["name"] for n in c.status("node1")["nodes"]]
               == ["node1", "node2", "node3"], 10, "node4 to be gone from status")
        assert c.status("node1")["votes"]["expected"] == 3
        c.wait(lambda: 'uname="node4"' not in c.ctl(dc, "cib_get")["xml"], 10,
               "node4 to be gone from the CIB")
        # 2 of the 3 remaining votes are a majority now (2 of 4 would not be)
        victim = next(n for n in ("node1", "node2", "node3") if n != dc)
        c.poweroff(victim)
        survivors = [n for n in ("node1", "node2", "node3") if n != victim]
        c.wait(lambda: all(c.status(n)["quorate"] and len(c.status(n)["view"]["members"]) == 2
                           for n in survivors), 10, "the two survivors to stay quorate")
    finally:
        c.close()


def test_vigilctl_reload_reports_what_needs_a_restart(cluster3):
    c = cluster3
    path = c.config_path("node3")
    good = path.read_text()
    try:
        path.write_text(good.replace("log_level: debug", "log_level: info")
                        .replace("heartbeat_interval_ms: 200", "heartbeat_interval_ms: 250"))
        res = c.vigilctl("node3", "reload")
        assert res.returncode == 0, res.stderr
        assert "keys unchanged, nodes unchanged" in res.stdout
        assert "after a restart: heartbeat_interval_ms" in res.stdout
    finally:
        path.write_text(good)
