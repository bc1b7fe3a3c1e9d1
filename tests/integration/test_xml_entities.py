"""Issue 13, item 7, on real vigild processes: a CIB file with a DOCTYPE entity is refused
(exit 2, a clear error) and changes nothing on any node; later writes work, and a DC killed
with SIGKILL loads its own cib.xml again."""

import signal

import pytest

pytestmark = pytest.mark.cluster

ENTITY_FILE = """<?xml version="1.0"?>
<!DOCTYPE configuration [<!ENTITY x "boom">]>
<configuration><crm_config/><nodes/><resources/><constraints/><acls>&x;</acls></configuration>
"""


def snapshot(c):
    """Per node: (admin_epoch, epoch) and the configuration section as bytes."""
    return {n: (tuple(c.status(n)["version"][:2]),
                c.vigilctl(n, "cib", "get", "--scope", "configuration").stdout)
            for n in c.names}


def test_an_entity_in_a_replacement_is_refused_everywhere_and_changes_nothing(
        cluster3, tmp_path):
    c = cluster3
    dc = c.wait_quorate()
    member = next(n for n in c.names if n != dc)
    assert c.vigilctl(member, "property", "set", "cluster-name", "before").returncode == 0
    version = c.status(dc)["version"]
    c.wait(lambda: all(c.status(n)["version"] == version for n in c.names), 5, "replicas")
    before = snapshot(c)
    bad = tmp_path / "entity.xml"
    bad.write_text(ENTITY_FILE)

    for node in (member, dc):  # forwarded to the DC, and on the DC itself
        res = c.vigilctl(node, "cib", "replace", str(bad))
        assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
        assert "DOCTYPE" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert snapshot(c) == before

    res = c.vigilctl(member, "property", "set", "cluster-name", "after")
    assert res.returncode == 0, res.stderr
    version = c.status(dc)["version"]
    c.wait(lambda: all(c.status(n)["version"] == version for n in c.names), 5,
           "the later write on every node")

    proc = c.procs.pop(dc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    c.start([dc])
    c.wait_quorate()
    log = c.log_path(dc).read_text(errors="replace")
    restart = log[log.rindex("loaded CIB") - 200:] if "loaded CIB" in log else ""
    assert f"from {c.node_dir(dc) / 'state' / 'cib.xml'}" in restart, log[-3000:]
    for node in c.names:
        conf = c.vigilctl(node, "cib", "get", "--scope", "configuration").stdout
        assert 'value="after"' in conf and "&x;" not in conf
        assert "Traceback" not in c.log_path(node).read_text(errors="replace")
