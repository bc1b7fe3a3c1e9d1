"""The TCP peer port before authentication: bounded memory, bounded connections (issue 13).

What a user sees is asserted against a real 3-node loopback cluster: the attacked daemon's
peak RSS (VmHWM in /proc), its control socket still answering, the cluster still whole,
and the counters in ``status --json`` naming what was refused. Attacks come from loopback
addresses that are no node's (127.0.0.50 and up), as they would from off the cluster.
"""

import os
import resource
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from vigil.testing.loop import LoopCluster, running
from vigil.testing.probe import free_port, proc_status_kib

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
MIB = 1024 * 1024


@pytest.fixture
def cluster3(tmp_path_factory):
    with running(LoopCluster(tmp_path_factory.mktemp("peerport"), size=3, port=free_port(),
                          log_level="info")) as cluster:
        yield cluster


def connect_from(source: str, port: int, target: str = "127.0.0.2") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect((target, port))
    return sock


def stuff(sock: socket.socket, declared: int, send: int, block: bytes) -> None:
    """Declare a frame of ``declared`` bytes and send ``send`` bytes of it (never all)."""
    try:
        sock.sendall(struct.pack("!I", declared))
        sent = 0
        while sent < send:
            piece = block[: send - sent]
            sock.sendall(piece)
            sent += len(piece)
    except OSError:
        pass  # the daemon closed the connection: that is the point


def test_unauthenticated_big_frames_do_not_blow_up_memory(cluster3):
    """12 connections declaring 64 MiB frames (and 48 more declaring 1 MiB, from 12
    sources) may not take the daemon anywhere near the 800 MB the issue saw."""
    c = cluster3
    dc = c.wait_quorate()
    pid = c.procs["node2"].pid
    block = os.urandom(MIB)
    socks, threads = [], []
    plan = [(64 * MIB, 48 * MIB)] * 12 + [(MIB, MIB - 1)] * 48
    for i, (declared, send) in enumerate(plan):
        try:
            sock = connect_from(f"127.0.0.{50 + i % 12}", c.port)
        except OSError:
            continue
        socks.append(sock)
        t = threading.Thread(target=stuff, args=(sock, declared, send, block), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(60)
    time.sleep(1.0)
    peak_mib = proc_status_kib(pid, "VmHWM") / 1024
    st = c.ctl("node2", "status", timeout_s=10)
    for sock in socks:
        sock.close()
    print(f"node2 peak RSS {peak_mib:.0f} MiB; counters {st['counters']}")
    assert peak_mib < 100, f"node2's RSS peaked at {peak_mib:.0f} MiB before any frame " \
        "was authenticated"
    assert c.procs["node2"].poll() is None
    assert c.wait_quorate() == dc
    counters = st["counters"]
    refused = sum(v for k, v in counters.items()
                  if k.startswith(("connections_dropped_", "packets_dropped_size")))
    assert refused >= 12, f"the refused frames and connections are counted: {counters}"


def test_a_cib_over_a_mebibyte_still_replicates(cluster3):
    """Large messages pass in bounded, separately authenticated frames."""
    c = cluster3
    c.wait_quorate()
    blob = "x" * (3 * MIB // 2)
    xml = c.ctl("node1", "cib_get", scope="configuration")["xml"]
    assert "<crm_config>" in xml or "<crm_config/>" in xml
    big = (f'<cluster_property_set id="big"><nvpair id="big-blob" name="blob" '
           f'value="{blob}"/></cluster_property_set>')
    xml = (xml.replace("<crm_config/>", f"<crm_config>{big}</crm_config>") if "<crm_config/>"
           in xml else xml.replace("<crm_config>", f"<crm_config>{big}", 1))
    result = c.ctl("node1", "cib_replace", xml=xml, timeout_s=30)
    version = result["version"]
    for node in c.names:
        c.wait(lambda node=node: c.ctl(node, "cib_get")["version"] == version, 15,
               f"{node} to hold CIB {version}")
        assert blob in c.ctl(node, "cib_get")["xml"]


def test_idle_connections_cannot_exhaust_file_descriptors(cluster3):
    """1,100 idle connections against a daemon with 1,024 fds: the control socket keeps
    answering, writes still go through, and unauthenticated connections are capped and
    time out (the issue saw the control socket die while heartbeats kept the node up)."""
    c = cluster3
    dc = c.wait_quorate()
    pid = c.procs["node2"].pid
    _soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (1024, hard))
    socks = []
    for i in range(1100):
        try:
            socks.append(connect_from(f"127.0.{1 + i // 200}.{50 + i % 200}", c.port))
        except OSError:
            pass
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        st = c.ctl("node2", "status", timeout_s=10)
        answered_s = time.monotonic() - t0
        c.ctl("node2", "property_set", name="fd-test", value="1", timeout_s=10)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        # wait past the authentication timeout: the idle connections are closed
        deadline, closed = time.monotonic() + 15, 0
        while time.monotonic() < deadline:
            closed = sum(1 for s in socks if _closed_by_peer(s))
            if closed == len(socks):
                break
            time.sleep(0.5)
        after = c.ctl("node2", "status", timeout_s=10)["counters"]
    finally:
        for s in socks:
            s.close()
    print(f"status answered in {answered_s:.2f} s with {len(socks)} connections held; node2 "
          f"had {fds} fds; {closed} closed by node2; counters {after}")
    assert fds < 900, f"node2 holds {fds} fds for idle unauthenticated connections"
    assert closed == len(socks), f"only {closed} of {len(socks)} idle connections timed out"
    assert after.get("connections_dropped_limit", 0) > 0
    assert after.get("connections_dropped_auth_timeout", 0) > 0
    assert st["quorate"] and c.wait_quorate() == dc


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        sock.setblocking(False)
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_out_of_file_descriptors_is_answered_counted_and_survived(cluster3):
    """When the daemon does run out of fds, its control socket answers a clear error
    instead of hanging, the accept loops survive, and the condition is counted."""
    c = cluster3
    dc = c.wait_quorate()
    pid = c.procs["node2"].pid
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 3, hard))
    socks = []
    for i in range(8):
        try:
            socks.append(connect_from(f"127.0.0.{50 + i}", c.port))
        except OSError:
            pass
    time.sleep(0.5)
    answer = _raw_request(c.socket("node2"), b'{"op": "status"}\n')
    for s in socks:
        s.close()
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    st = c.wait(lambda: c.ctl("node2", "status", timeout_s=3), 15, "node2 to answer again")
    print(f"answer while out of fds: {answer!r}; counters {st['counters']}")
    assert b"file descriptors" in answer or b'"ok": true' in answer, \
        f"no clear answer while out of fds: {answer!r}"
    assert st["counters"].get("accept_errors_peer", 0) + \
        st["counters"].get("accept_errors_control", 0) > 0
    assert c.procs["node2"].poll() is None and c.wait_quorate() == dc
    log = c.log_path("node2").read_text(errors="replace")
    assert "Traceback" not in log


def _raw_request(path: Path, data: bytes, timeout_s: float = 5) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
            sock.sendall(data)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)
        except OSError as exc:
            return f"<{exc}>".encode()


def test_the_systemd_unit_raises_the_fd_limit():
    unit = Path(__file__).resolve().parents[2] / "roles/vigil_daemon/templates/vigild.service.j2"
    limits = [line for line in unit.read_text().splitlines() if line.startswith("LimitNOFILE=")]
    assert limits and int(limits[0].split("=", 1)[1].split(":")[0]) >= 65536


def test_a_node_out_of_file_descriptors_does_not_look_healthy(cluster3):
    """The DC runs out of fds: every node's status and metrics say so, and the DC hands
    its role over (it cannot take clients or peers); once accepting works again for
    ten seconds the trouble clears."""
    c = cluster3
    assert c.wait_quorate() == "node1"
    pid = c.procs["node1"].pid
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 3, hard))
    socks = []
    try:
        for i in range(8):
            try:
                socks.append(connect_from(f"127.0.0.{50 + i}", c.port, target="127.0.0.1"))
            except OSError:
                pass
        c.wait(lambda: c.status("node3")["nodes"][0]["fd_error"], 10,
               "node3's status naming node1's trouble")
        c.wait(lambda: c.status("node3")["dc"] == "node2", 10, "node1 handing the DC over")
        assert "node1: OUT OF FILE DESCRIPTORS" in c.vigilctl("node3", "status").stdout
        assert 'vigil_node_out_of_fds{node="node1"} 1' in c.vigilctl("node2", "metrics").stdout
    finally:
        for s in socks:
            s.close()
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    c.wait(lambda: not c.status("node2")["nodes"][0]["fd_error"], 20,
           "node1's trouble cleared once it accepts again")
    assert c.status("node1")["dc"] == "node2", "a healthy DC is not replaced"
    assert "Traceback" not in c.log_path("node1").read_text(errors="replace")
