"""Unicast transport on real hosts: 3 vigild nodes in network namespaces, multicast blocked.

Every namespace drops all IPv4 multicast (224.0.0.0/4) in and out with nftables before
the daemons start, and a probe shows the block bites (EPERM on a send to a group), so
membership, election, loss and rejoin here run on unicast heartbeats and TCP alone.
Needs root, ``ip`` and ``nft``; skipped with the reason otherwise, failed when CI=true.
"""

import errno
import time

import pytest

from vigil.testing.netns import NetnsCluster

from .test_netns_membership import online, require_netns

pytestmark = pytest.mark.slow

NO_MULTICAST = """table inet vigil_nomcast {
  chain output { type filter hook output priority -200; policy accept;
    ip daddr 224.0.0.0/4 counter drop
  }
  chain input { type filter hook input priority -200; policy accept;
    ip daddr 224.0.0.0/4 counter drop
  }
}
"""

# Sends one datagram to a multicast group out of the given address; prints the errno.
PROBE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
try:
    s.sendto(b"probe", ("239.255.86.1", 5486))
    print(0)
except OSError as exc:
    print(exc.errno)
"""


@pytest.fixture
def unicast3(tmp_path_factory):
    require_netns()
    cluster = NetnsCluster(tmp_path_factory.mktemp("netns-unicast"), size=3,
                           transport_mode="unicast")
    try:
        cluster.fabric.up()
        for node in cluster.names:
            cluster.fabric.run(node, ["nft", "-f", "-"], input=NO_MULTICAST)
        cluster.start()
        yield cluster
    finally:
        cluster.close()


def test_unicast_cluster_forms_detects_a_kill_and_rejoins_without_multicast(unicast3):
    c = unicast3
    for node in c.names:
        text = (c.node_dir(node) / "vigil.yaml").read_text()
        assert "mode: unicast" in text and "group:" not in text
        probe = c.fabric.run(node, ["python3", "-c", PROBE, c.address(node)])
        assert int(probe.stdout) == errno.EPERM, f"multicast is not blocked in {node}"

    t0 = time.monotonic()
    dc = c.wait_quorate(timeout_s=30)
    print(f"unicast: 3 nodes quorate with DC {dc} after {time.monotonic() - t0:.2f} s")
    # right after start-up a node may still wait a heartbeat for the DC's own claim
    c.wait(lambda: all(c.status(n)["dc"] == dc and c.status(n)["quorate"]
                       and online(c.status(n)) == set(c.names) for n in c.names), 10,
           "every node to report the DC")
    for node in c.names:
        assert c.status(node)["counters"]["packets_received"] > 0

    victim = next(n for n in reversed(c.names) if n != dc)
    survivors = [n for n in c.names if n != victim]
    t0 = time.monotonic()
    c.poweroff(victim)
    c.wait(lambda: all(online(c.status(n)) == set(survivors) for n in survivors), 10,
           f"the survivors to drop {victim}")
    print(f"kill -9 {victim}: dropped from both survivors' views after "
          f"{time.monotonic() - t0:.2f} s")
    assert c.wait_quorate(survivors, timeout_s=10) == dc, "a healthy DC stays DC"

    t0 = time.monotonic()
    c.start([victim])
    assert c.wait_quorate(c.names, timeout_s=20) == dc
    print(f"{victim} restarted: back in every view after {time.monotonic() - t0:.2f} s")
    for node in c.names:
        assert online(c.status(node)) == set(c.names)

    dropped = c.fabric.run(c.names[0], ["nft", "list", "table", "inet", "vigil_nomcast"])
    assert "counter packets" in dropped.stdout, "the multicast block was still in place"
