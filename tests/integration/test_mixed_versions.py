"""A cluster of two versions: the previous landed vigil on one node, this checkout on two.

What a rolling upgrade goes through: the wire format must not have changed for anything
the previous version sends or understands. The previous version is taken from git
(:data:`PREVIOUS`, the last landed commit before the typed peer messages, the fence gate
and second opinions), so the test needs the repository's history: a clone has it (CI),
an exported tree does not (the test then skips and says why).
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from vigil.core import cib as C
from vigil.testing.loop import LoopCluster

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PREVIOUS = "d0704d6"


def previous_tree(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "previous.tar"
    proc = subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), PREVIOUS,
                           "daemon"], capture_output=True, text=True)
    if proc.returncode != 0:
        reason = f"the previous version ({PREVIOUS}) is not in this checkout's git history"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: {proc.stderr.strip()}")
        pytest.skip(reason)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / "daemon"


@pytest.fixture
def mixed(tmp_path):
    old = previous_tree(tmp_path / "old")
    c = LoopCluster(tmp_path / "cluster", size=3)
    c.package_roots["node1"] = old
    try:
        c.start()
        yield c
    finally:
        c.close()


def loopback_fence_device(c: LoopCluster) -> str:
    host_map = ";".join(f"{n}:{c.config_path(n)}" for n in c.names)
    return C.to_bytes(C.primitive_element(
        "fence-loop", "stonith:fence_vigil_loopback", {"pcmk_host_map": host_map})).decode()


def test_old_and_new_nodes_form_one_cluster_replicate_and_fence(mixed):
    c = mixed
    dc = c.wait_quorate()
    versions = {n: c.status(n)["daemon_version"] for n in c.names}
    environ = Path(f"/proc/{c.procs['node1'].pid}/environ").read_bytes().split(b"\0")
    assert any(e.startswith(b"PYTHONPATH=" + str(c.package_roots["node1"]).encode())
               for e in environ), "node1 runs the previous version's package"
    assert not (c.package_roots["node1"] / "vigil" / "core" / "messages.py").exists()
    assert dc == "node1", "the lowest id, running the previous version, is DC"
    # writes through an old and a new node reach everyone
    for via, value in (("node1", "old"), ("node3", "new")):
        res = c.vigilctl(via, "property", "set", f"written-via-{via}", value)
        assert res.returncode == 0, res.stderr
    c.wait(lambda: len({tuple(c.status(n)["version"]) for n in c.names}) == 1, 10,
           "every node at one CIB version")
    for node in c.names:
        xml = c.vigilctl(node, "cib", "get", "--scope", "configuration").stdout
        assert 'value="old"' in xml and 'value="new"' in xml, node
    # resources run on both versions' nodes, reported the same everywhere
    c.ctl("node2", "cib_put", section="resources", xml=loopback_fence_device(c),
          mode="create")
    for rsc, node in (("on-old", "node1"), ("on-new", "node3")):
        assert c.vigilctl("node2", "resource", "create", rsc, "ocf:vigil:Dummy").returncode == 0
        assert c.vigilctl("node2", "resource", "move", rsc, node).returncode == 0
    c.wait(lambda: c.where("node2", "on-old") == ["node1"]
           and c.where("node2", "on-new") == ["node3"], 30, "both resources placed")
    # the old DC dies: the new nodes elect one of theirs, which fences it through the
    # gate (its pending record acknowledged by node3) and recovers its resource
    t0 = time.time()
    c.poweroff("node1")
    c.wait(lambda: c.status("node2")["dc"] == "node2", 15, "node2 DC")
    c.wait(lambda: c.where("node2", "on-old") in (["node2"], ["node3"]), 30,
           "on-old recovered after node1 was fenced")
    history = c.ctl("node3", "fence_history")
    fenced = [e for e in history if e["target"] == "node1" and e["state"] == "success"]
    assert fenced and fenced[-1]["requested"] >= t0 - 1, history
    assert fenced[-1]["origin"] == "node2"
    assert versions["node2"] == versions["node3"]
    logs = "".join(c.log_path(n).read_text() for n in c.names)
    assert "Traceback" not in logs
    assert "dropped a malformed message" not in logs, "a message one version sent that " \
        "the other could not read"
