"""The metrics endpoint on real daemons: 3 nodes on loopback, each with metrics_listen."""

import os
import re
import socket
import time
import urllib.request

import pytest

from vigil import wire
from vigil.testing.loop import LoopCluster

pytestmark = pytest.mark.cluster

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')


def metrics_at(cfg):
    """metrics_listen for a node: its own 127.0.0.N, the cluster port + 1."""
    node = next(n for n in cfg["nodes"] if n["name"] == cfg["node_name"])
    return f"{node['address']}:{cfg['transport']['port'] + 1}"


@pytest.fixture
def cluster(tmp_path_factory):
    def hook(_node, cfg):
        cfg["metrics_listen"] = metrics_at(cfg)

    c = LoopCluster(tmp_path_factory.mktemp("metrics"), size=3, config_hook=hook)
    try:
        c.start()
        c.wait_quorate()
        yield c
    finally:
        c.close()


def url(c, node):
    index = c.names.index(node) + 1
    return f"http://127.0.0.{index}:{c.port + 1}/metrics"


def scrape(c, node):
    with urllib.request.urlopen(url(c, node), timeout=5) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return resp.read().decode()


def samples(text):
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        out[(match.group(1), match.group(2) or "")] = float(match.group(3))
    return out


def families(text):
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def raw_http(c, node, data):
    index = c.names.index(node) + 1
    with socket.create_connection((f"127.0.0.{index}", c.port + 1), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


def test_metrics_endpoint_counts_drops_refuses_junk_and_matches_vigilctl(cluster):
    c = cluster
    dc = c.wait_quorate()
    for node in c.names:
        s = samples(scrape(c, node))
        assert s[("vigil_up", "")] == 1
        assert s[("vigil_quorate", "")] == 1
        assert s[("vigil_members", "")] == 3
        assert s[("vigil_nodes_configured", "")] == 3
        assert s[("vigil_is_dc", "")] == (1 if node == dc else 0)
        assert s[("vigil_node_online", '{node="node3"}')] == 1

    def drops(reason):
        return samples(scrape(c, "node1"))[
            ("vigil_packets_dropped_total", f'{{reason="{reason}"}}')]

    before = {r: drops(r) for r in ("auth", "malformed")}
    forged = wire.HEADER.pack(wire.MAGIC, wire.VERSION, 2, 0, 1, 10**9) + os.urandom(80)
    junk = b"this is not a vigil packet" + bytes(60)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    for _ in range(5):
        sock.sendto(junk, (c.group, c.port))
        sock.sendto(forged, (c.group, c.port))
    sock.close()
    c.wait(lambda: all(drops(r) >= before[r] + 5 for r in before), 5,
           "the junk packets to show in vigil_packets_dropped_total")

    for bad in (b"BLAH\r\n\r\n", b"GET /metrics HTTP/9\r\n\r\n", b"\xff" * 20000,
                b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 500 + b"\r\n"):
        answer = raw_http(c, "node1", bad)
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:100]
    assert raw_http(c, "node1", b"GET /nothing HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404 ")
    time.sleep(0.2)
    assert c.procs["node1"].poll() is None, "junk HTTP requests left vigild running"
    assert samples(scrape(c, "node1"))[("vigil_quorate", "")] == 1

    res = c.vigilctl("node1", "metrics")
    assert res.returncode == 0, res.stderr
    assert families(res.stdout) == families(scrape(c, "node1"))
    assert samples(res.stdout)[("vigil_members", "")] == 3
    assert c.wait_quorate() == dc, "nothing of this moved the DC"
