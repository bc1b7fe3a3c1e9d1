"""Real vigild processes on loopback: membership, DC, CIB replication, bad input."""

import os
import socket
import time

import pytest

from vigil.core import cib as C

pytestmark = pytest.mark.cluster


def configuration(cluster, node):
    return cluster.ctl(node, "cib_get", scope="configuration")["xml"]


def test_one_dc_and_writes_replicate_through_any_node(cluster3):
    c = cluster3
    dc = c.wait_quorate()
    member = next(n for n in c.names if n != dc)
    res = c.vigilctl(member, "property", "set", "stonith-enabled", "false")
    assert res.returncode == 0, res.stderr
    version = c.status(dc)["version"]

    def replicated():
        return all(c.status(n)["version"] == version for n in c.names)

    c.wait(replicated, 5, "the property on every node")
    for node in c.names:
        xml = c.vigilctl(node, "cib", "get").stdout
        assert 'name="stonith-enabled" value="false"' in xml
        on_disk = C.parse((c.node_dir(node) / "state" / "cib.xml").read_bytes())
        assert list(C.version(on_disk)) == version, f"{node} persisted its replica"
    nodes = C.parse(c.vigilctl(dc, "cib", "get").stdout).findall("configuration/nodes/node")
    assert sorted(n.get("uname") for n in nodes) == c.names


def test_bad_input_is_refused_and_changes_nothing(cluster3, tmp_path):
    c = cluster3
    c.wait_quorate()
    res = c.vigilctl("node2", "resource", "create", "d1", "ocf:vigil:Dummy")
    assert res.returncode == 0, res.stderr
    before = configuration(c, "node1")

    bad = tmp_path / "bad.xml"
    bad.write_text("<configuration><resources><primitive id='x'")
    res = c.vigilctl("node3", "cib", "replace", str(bad))
    assert res.returncode == 2 and "not well-formed" in res.stderr

    bad.write_text("<configuration><crm_config/><nodes/><resources/><constraints>"
                   "<rsc_location id='l' rsc='ghost' node='node1' score='10'/>"
                   "</constraints></configuration>")
    res = c.vigilctl("node3", "cib", "replace", str(bad))
    assert res.returncode == 2 and "ghost" in res.stderr

    res = c.vigilctl("node2", "resource", "create", "d2", "ocf:nobody:NoSuchAgent")
    assert res.returncode == 2 and "ocf:nobody:NoSuchAgent" in res.stderr

    res = c.vigilctl("node1", "resource", "create", "d1", "ocf:vigil:Dummy")
    assert res.returncode == 2 and "already exists" in res.stderr

    res = c.vigilctl("node1", "resource", "delete", "nothing-here")
    assert res.returncode == 2 and "nothing-here" in res.stderr
    for node in c.names:
        assert configuration(c, node) == before


def test_forged_and_garbage_packets_are_dropped_and_counted(cluster3):
    c = cluster3
    dc = c.wait_quorate()
    before = c.status("node1")["counters"]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    for i in range(300):
        payload = b"VGL\x01" + os.urandom(20 + i % 200) if i % 2 else os.urandom(i % 300)
        sock.sendto(payload, (c.group, c.port))
        if i % 50 == 49:
            time.sleep(0.05)  # a burst larger than the socket buffer would be lost, not counted
    sock.close()

    def counted():
        now = c.status("node1")["counters"]
        dropped = sum(v for k, v in now.items() if k.startswith("packets_dropped"))
        return dropped - sum(v for k, v in before.items() if k.startswith("packets_dropped"))

    c.wait(lambda: counted() >= 300, 5, "300 drops to be counted")
    assert counted() >= 300
    assert c.wait_quorate() == dc, "garbage changed nothing"
    time.sleep(0.2)
    assert all(p.poll() is None for p in c.procs.values())
