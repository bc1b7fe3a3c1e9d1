"""Hostile input on the control socket (issue 13, item 11): a clear error, then close.

Deeply nested JSON and a request line over 16 MiB used to get no reply and leave a
traceback in the log. Asserted against a real vigild: the reply's error kind and words,
the daemon's peak RSS, the socket still answering, and no traceback in the log.
"""

import json
import socket
import threading

import pytest

from vigil.errors import VigilError
from vigil.testing.loop import LoopCluster, running
from vigil.testing.probe import free_port, proc_status_kib

pytestmark = [pytest.mark.cluster]
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def cluster1(tmp_path_factory):
    with running(LoopCluster(tmp_path_factory.mktemp("control"), size=1, port=free_port(1),
                          log_level="info")) as cluster:
        yield cluster


def raw(cluster, data: bytes, timeout_s: float = 20) -> dict:
    """Send ``data`` (from a thread, so a daemon that answers early is seen) and read the
    reply line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(str(cluster.socket("node1")))

        def send() -> None:
            try:
                sock.sendall(data)
            except OSError:
                pass

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except OSError as exc:
            pytest.fail(f"no reply: {exc}")
        sender.join(timeout_s)
    assert chunks, "the daemon closed the connection without a reply"
    return json.loads(b"".join(chunks))


def assert_healthy(cluster) -> None:
    assert cluster.status("node1")["node"] == "node1"
    assert cluster.procs["node1"].poll() is None
    log = cluster.log_path("node1").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    peak_mib = proc_status_kib(cluster.procs["node1"].pid, "VmHWM") / 1024
    assert peak_mib < 100, f"peak RSS {peak_mib:.0f} MiB"


@pytest.mark.parametrize("depth", [2_000, 100_000, 4_000_000])
def test_deeply_nested_json_gets_a_clear_error(cluster1, depth):
    body = b'{"op": "status", "x": ' + b"[" * depth + b"]" * depth + b"}\n"
    reply = raw(cluster1, body)
    assert reply["ok"] is False
    assert reply["error"]["kind"] == "invalid"
    assert "nested" in reply["error"]["message"], reply
    assert_healthy(cluster1)


def test_a_request_line_over_16_mib_gets_a_clear_error(cluster1):
    reply = raw(cluster1, b'{"op": "status", "x": "' + b"a" * (17 * MIB) + b'"}\n')
    assert reply["ok"] is False and reply["error"]["kind"] == "invalid"
    assert "16 MiB" in reply["error"]["message"], reply
    assert_healthy(cluster1)


def test_a_line_without_end_over_16_mib_is_answered(cluster1):
    """No newline at all, then the client stops sending and waits for an answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(20)
        sock.connect(str(cluster1.socket("node1")))
        sent = 0
        try:
            while sent < 20 * MIB:
                sock.sendall(b"a" * MIB)
                sent += MIB
        except OSError:
            pass
        data = sock.recv(65536)
    reply = json.loads(data)
    assert reply["ok"] is False and "16 MiB" in reply["error"]["message"]
    assert_healthy(cluster1)


def test_vigilctl_client_sees_the_error_for_a_huge_request(cluster1):
    with pytest.raises(VigilError, match="16 MiB"):
        cluster1.ctl("node1", "cib_replace", xml="<configuration>" + "x" * (17 * MIB))
    assert_healthy(cluster1)
