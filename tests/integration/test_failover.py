"""The walking skeleton's promise: a resource fails over when its node dies."""

import time
import urllib.request

import pytest

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def get(url, timeout=1.0):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read().decode()


def test_http_resource_serves_and_fails_over_when_its_node_dies(cluster3, tmp_path):
    c = cluster3
    c.wait_quorate()
    docroot = tmp_path / "www"
    docroot.mkdir()
    (docroot / "index.html").write_text("hello from vigil\n")
    port = c.port + 1
    assert c.vigilctl("node1", "property", "set", "stonith-enabled", "false").returncode == 0
    res = c.vigilctl("node1", "resource", "create", "web", "ocf:vigil:http",
                     f"docroot={docroot}", f"port={port}", "ip=127.0.0.1",
                     "--op", "monitor:1s")
    assert res.returncode == 0, res.stderr
    first = c.wait(lambda: c.where("node1", "web"), 20, "web to start")
    assert len(first) == 1
    assert get(f"http://127.0.0.1:{port}/") == "hello from vigil\n"

    victim = first[0]
    survivor = next(n for n in c.names if n != victim)
    t0 = time.monotonic()
    c.poweroff(victim)
    moved = c.wait(lambda: [n for n in c.where(survivor, "web") if n != victim], 15,
                   "web to run on another node")
    elapsed = time.monotonic() - t0
    assert moved[0] != victim
    assert get(f"http://127.0.0.1:{port}/") == "hello from vigil\n"
    status = c.status(survivor)
    lost = next(n for n in status["nodes"] if n["name"] == victim)
    assert not lost["online"]
    assert status["quorate"], "two of three keep quorum"
    print(f"failover took {elapsed:.2f} s")


def test_failed_monitor_is_recovered_in_place(cluster3, tmp_path):
    c = cluster3
    c.wait_quorate()
    assert c.vigilctl("node1", "property", "set", "stonith-enabled", "false").returncode == 0
    res = c.vigilctl("node2", "resource", "create", "d", "ocf:vigil:Dummy",
                     "--op", "monitor:1s")
    assert res.returncode == 0, res.stderr
    node = c.wait(lambda: c.where("node1", "d"), 20, "d to start")[0]
    state = c.node_dir(node) / "state" / "run"
    files = [p for p in state.rglob("*") if p.is_file() and "d" in p.name.lower()]
    assert files, f"Dummy keeps its state under the node's own state dir {state}"
    for f in files:
        f.unlink()  # the resource "dies" behind the cluster's back

    def recovered():
        st = c.status("node1")
        failed = [f for f in st["failed_actions"] if f["rsc"] == "d"]
        return failed and c.where("node1", "d")

    c.wait(recovered, 15, "the failure to be recorded and d running again")
    failed = [f for f in c.status("node1")["failed_actions"] if f["rsc"] == "d"]
    assert failed[0]["op"] == "monitor" and failed[0]["rc"] == 7
