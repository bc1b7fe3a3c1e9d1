"""A node whose disk is full: real daemons, a real tmpfs filled to the last byte (root).

One node's state directory is a 1 MiB tmpfs. Once it is full, that node cannot save the
CIB: it must not acknowledge writes it did not save nor advertise their version, every
node's status names its disk, and when it is the DC (node1) it hands the role over.
"""

import os
import subprocess

import pytest

pytestmark = pytest.mark.cluster

FULL_MARK = "No space left on device"


def _mount_small_tmpfs(path):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(path)],
                   check=True)


def _fill(path):
    with open(path / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            f.flush()
        except OSError:
            pass


@pytest.fixture(params=["node1", "node3"])
def full_disk_cluster(cluster3, request):
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs as root: the full-disk test must run")
        pytest.skip("needs root to mount a small tmpfs as a node's state directory")
    c = cluster3
    c.wait_quorate()
    for node in c.names:
        c.stop(node)
    victim = request.param
    state = c.node_dir(victim) / "state"
    saved = {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()}
    for p in state.iterdir():
        if p.is_file():
            p.unlink()
    _mount_small_tmpfs(state)
    for name, data in saved.items():
        (state / name).write_bytes(data)
    try:
        c.start()
        c.wait_quorate()
        yield c, state, victim
    finally:
        c.close()
        subprocess.run(["umount", "-l", str(state)], check=False)


def test_a_node_with_a_full_disk_neither_acks_nor_advertises_and_hands_over(
        full_disk_cluster):
    c, state, victim = full_disk_cluster
    index = c.names.index(victim)
    res = c.vigilctl("node2", "property", "set", "p", "before")
    assert res.returncode == 0, res.stderr
    assert c.status("node2")["dc"] == "node1"
    _fill(state)
    res = c.vigilctl("node2", "property", "set", "p", "while-full")
    assert res.returncode == 0, f"the two others saved it, a majority: {res.stderr}"

    def named_everywhere():
        return all(c.status(o)["nodes"][index].get("disk_error") for o in c.names)

    c.wait(named_everywhere, 10, f"every node's status naming {victim}'s disk")
    st = c.status(victim)
    assert FULL_MARK in st["nodes"][index]["disk_error"], st["nodes"][index]
    assert st["saved_version"] != st["version"], "it holds a version it could not save"
    assert st["counters"]["cib_save_failures"] >= 1
    text = c.vigilctl("node2", "status").stdout
    assert f"{victim}: CANNOT SAVE THE CIB" in text, text
    metrics = c.vigilctl("node2", "metrics").stdout
    assert f'vigil_node_cannot_save_cib{{node="{victim}"}} 1' in metrics
    c.wait(lambda: all(c.status(o)["dc"] == ("node2" if victim == "node1" else "node1")
                       for o in c.names), 10, "a DC that can save")
    res = c.vigilctl("node3", "property", "set", "p", "after-handover")
    assert res.returncode == 0, res.stderr
    log = c.log_path(victim).read_text()
    assert "cannot save the CIB" in log and "Traceback" not in log
    os.unlink(state / "filler")
    res = c.vigilctl("node3", "property", "set", "p", "after")
    assert res.returncode == 0, res.stderr
    c.wait(lambda: not c.status("node2")["nodes"][index]["disk_error"], 10,
           f"{victim}'s disk error cleared once a save works")
    c.wait(lambda: c.status(victim)["saved_version"] == c.status("node2")["version"], 10,
           "the victim saved the newest version again")
