"""The netns harness itself, with plain processes: namespaces, multicast, faults, teardown.

Needs root, ``ip`` and ``nft``; skipped with the reason otherwise, failed when CI=true.
"""

import json
import os
import statistics
import subprocess
import sys

import pytest

from vigil.testing import netns
from vigil.testing.netns import Fabric

pytestmark = pytest.mark.slow

GROUP, PORT = "239.255.77.7", 5486
NAMES = ["node1", "node2", "node3"]

# Every node sends its name to the group every 20 ms and prints whom it heard.
PROBE = r"""
import json, socket, sys, time
name, addr, group, port, dur = sys.argv[1:4] + [int(sys.argv[4]), float(sys.argv[5])]
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
rx.bind((group, port))
rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
              socket.inet_aton(group) + socket.inet_aton(addr))
rx.settimeout(0.005)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr))
heard, end, next_send = set(), time.monotonic() + dur, 0.0
while time.monotonic() < end:
    if time.monotonic() >= next_send:
        tx.sendto(name.encode(), (group, port))
        next_send = time.monotonic() + 0.02
    try:
        heard.add(rx.recvfrom(100)[0].decode())
    except socket.timeout:
        pass
print(json.dumps(sorted(heard - {name})))
"""

# UDP echo: "serve ADDR PORT" answers; "ping ADDR PORT N" prints N round trips in ms.
ECHO = r"""
import json, socket, sys, time
role, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if role == "serve":
    s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(100)
        s.sendto(data, peer)
s.settimeout(2)
rtts = []
for i in range(int(sys.argv[4])):
    t0 = time.monotonic()
    s.sendto(str(i).encode(), (addr, port))
    while s.recvfrom(100)[0] != str(i).encode():
        pass
    rtts.append((time.monotonic() - t0) * 1000)
    time.sleep(0.01)
print(json.dumps(rtts))
"""


def require_netns() -> None:
    reason = netns.skip_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the netns harness cannot run: {reason}")
        pytest.skip(reason)
    netns.cleanup_stale()  # namespaces left by an earlier run that was killed


@pytest.fixture(scope="module")
def fabric():
    require_netns()
    fab = Fabric(NAMES)
    fab.up()
    try:
        yield fab
    finally:
        fab.down()


@pytest.fixture(autouse=True)
def healed(request):
    yield
    if "fabric" in request.fixturenames:
        request.getfixturevalue("fabric").heal()


def hears(fab: Fabric, duration_s: float = 1.0) -> dict[str, list[str]]:
    procs = {n: fab.popen(n, [sys.executable, "-c", PROBE, n, fab.address(n), GROUP,
                              str(PORT), str(duration_s)], stdout=subprocess.PIPE)
             for n in fab.names}
    return {n: json.loads(p.communicate(timeout=30)[0]) for n, p in procs.items()}


def everyone_but(name: str) -> list[str]:
    return [n for n in NAMES if n != name]


def test_namespaces_have_own_addresses_and_lo(fabric):
    for node in NAMES:
        out = fabric.run(node, ["ip", "-4", "-o", "addr"]).stdout
        assert f"inet {fabric.address(node)}/24" in out and "eth0" in out
        assert "inet 127.0.0.1/8" in out
        assert fabric.run(node, ["ip", "link", "show", "lo"]).stdout.count("UP") >= 1
    assert len({fabric.address(n) for n in NAMES}) == 3
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert all(ns in listed for ns in fabric.namespaces())


def test_multicast_crosses_the_bridge(fabric):
    assert hears(fabric) == {n: everyone_but(n) for n in NAMES}


def test_cut_link_isolates_the_node_until_restored(fabric):
    fabric.cut("node1")
    heard = hears(fabric)
    assert heard == {"node1": [], "node2": ["node3"], "node3": ["node2"]}
    fabric.restore("node1")
    assert hears(fabric) == {n: everyone_but(n) for n in NAMES}


def test_partition_both_ways_and_heal(fabric):
    fabric.partition(["node1"], ["node2", "node3"])
    assert hears(fabric) == {"node1": [], "node2": ["node3"], "node3": ["node2"]}
    fabric.heal()
    assert hears(fabric) == {n: everyone_but(n) for n in NAMES}


def test_one_way_partition_drops_one_direction_only(fabric):
    fabric.one_way(senders=["node1"], receivers=["node2"])
    heard = hears(fabric)
    assert heard["node2"] == ["node3"], "node2 no longer hears node1"
    assert heard["node1"] == ["node2", "node3"], "node1 still hears node2"
    assert heard["node3"] == ["node1", "node2"]


def round_trips_ms(fab: Fabric, client: str, server: str, count: int = 20) -> list[float]:
    srv = fab.popen(server, [sys.executable, "-c", ECHO, "serve", fab.address(server),
                             "7777"])
    try:
        for _ in range(50):  # the server needs a moment to bind
            res = fab.run(client, [sys.executable, "-c", ECHO, "ping", fab.address(server),
                                   "7777", str(count)], check=False)
            if res.returncode == 0:
                return list(json.loads(res.stdout))
        raise AssertionError(f"no echo from {server}: {res.stderr}")
    finally:
        srv.kill()
        srv.wait()


def test_delay_raises_the_round_trip_by_100_ms(fabric):
    plain = statistics.median(round_trips_ms(fabric, "node1", "node2"))
    how = fabric.impair("node1", delay_ms=100)
    delayed = statistics.median(round_trips_ms(fabric, "node1", "node2"))
    fabric.heal()
    healed = statistics.median(round_trips_ms(fabric, "node1", "node2"))
    print(f"UDP round trip node1->node2 ({how}): {plain:.2f} ms plain, "
          f"{delayed:.2f} ms with 100 ms delay, {healed:.2f} ms healed")
    assert plain < 20
    assert 100 <= delayed < 160
    assert healed < 20


def test_loss_drops_about_the_given_share(fabric):
    fabric.impair("node1", loss_pct=100)
    heard = hears(fabric)
    assert "node1" not in heard["node2"] + heard["node3"]
    assert heard["node1"] == ["node2", "node3"], "only what node1 sends is lost"


def test_teardown_on_exception_and_cleanup_of_stale_runs():
    require_netns()
    with pytest.raises(RuntimeError, match="boom"):
        with Fabric(["a", "b"]) as fab:
            names = fab.namespaces()
            raise RuntimeError("boom")
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(ns in listed for ns in names)

    crashed = Fabric(["a", "b"])
    crashed.up()
    (netns.OWNERS / crashed.prefix).write_text("999999999 0\n")  # its owner is gone
    sleeper = crashed.popen("a", ["sleep", "600"])
    removed = netns.cleanup_stale()
    assert sorted(removed) == sorted(crashed.namespaces())
    assert sleeper.wait(10) == -9, "processes in stale namespaces are killed"
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(ns in listed for ns in crashed.namespaces())


def test_cleanup_spares_live_instances(fabric):
    assert not set(netns.cleanup_stale()) & set(fabric.namespaces())
    assert hears(fabric, 0.5) == {n: everyone_but(n) for n in NAMES}


# TCP: "serve ADDR PORT" counts the bytes of one connection and answers the count;
# "send ADDR PORT N" sends N bytes and prints the answer.
BULK = r"""
import socket, sys
role, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if role == "serve":
    srv = socket.create_server((addr, port))
    conn, _ = srv.accept()
    total = 0
    while chunk := conn.recv(1 << 16):
        total += len(chunk)
        if total >= int(sys.argv[4]):
            break
    conn.sendall(str(total).encode())
else:
    conn = socket.create_connection((addr, port), timeout=20)
    conn.sendall(b"x" * int(sys.argv[4]))
    print(conn.recv(100).decode())
"""


def test_tcp_bulk_transfer_crosses_an_impaired_link(fabric):
    """The relay (used when the kernel has no netem) must carry real TCP streams."""
    fabric.impair("node1", delay_ms=5, direction="both")
    size = 4 << 20
    srv = fabric.popen("node2", [sys.executable, "-c", BULK, "serve", fabric.address("node2"),
                                 "7778", str(size)])
    try:
        for _ in range(50):
            res = fabric.run("node1", [sys.executable, "-c", BULK, "send",
                                       fabric.address("node2"), "7778", str(size)], check=False)
            if res.returncode == 0:
                break
        assert res.stdout.strip() == str(size), res.stderr
    finally:
        srv.kill()
        srv.wait()


def test_skip_reason_names_what_is_missing(monkeypatch):
    require_netns()
    assert netns.skip_reason() is None
    monkeypatch.setattr(netns.shutil, "which", lambda tool: None if tool == "nft" else "/x")
    assert "nft" in str(netns.skip_reason())
    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    assert "root" in str(netns.skip_reason())
