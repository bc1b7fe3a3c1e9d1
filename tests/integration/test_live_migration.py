"""Live migration on a live cluster: an allow-migrate resource that moves is migrated
(migrate_to on the source, migrate_from on the target), never stopped and started, and
the agent's own state file says where it runs."""

import pytest

from vigil.core import cib as C

pytestmark = pytest.mark.cluster


def ok(res):
    assert res.returncode == 0, res.stderr
    return res.stdout


def ops_of(c, rsc):
    status = C.parse(c.vigilctl("node1", "cib", "get", "--scope", "status").stdout)
    return sorted((op.get("operation"), op.get("on_node")) for op in status.iter("lrm_rsc_op")
                  if op.get("operation_key", "").startswith(f"{rsc}_")
                  and op.get("operation") != "monitor")


def test_a_moving_allow_migrate_resource_is_migrated_not_restarted(cluster3):
    c = cluster3
    c.wait_quorate()
    ok(c.vigilctl("node1", "property", "set", "stonith-enabled", "false"))
    ok(c.vigilctl("node1", "resource", "create", "mig", "ocf:vigil:Dummy",
                  "--meta", "allow-migrate=true", "--op", "monitor:1s"))
    ok(c.vigilctl("node1", "resource", "move", "mig", "node2"))
    c.wait(lambda: c.dummy_running("mig") == ["node2"], 20, "mig on node2")
    ok(c.vigilctl("node3", "resource", "move", "mig", "node3"))
    c.wait(lambda: c.dummy_running("mig") == ["node3"]
           and c.where("node1", "mig") == ["node3"], 20, "mig migrated to node3")
    c.wait(lambda: ("migrate_from", "node3") in ops_of(c, "mig"), 10, "migrate_from recorded")
    ops = ops_of(c, "mig")
    assert ("start", "node3") not in ops, f"started instead of migrated: {ops}"
    assert ("stop", "node2") in ops, "the source is cleaned up after the migration"
    dc_log = c.log_path("node1").read_text()  # the DC records every result
    assert "mig_migrate_to_0 on node2: rc 0" in dc_log, "migrate_to ran on the source"
    assert "mig_migrate_from_0 on node3: rc 0" in dc_log, "migrate_from on the target"
    c.wait(lambda: not c.status("node1")["failed_actions"], 5, "no failed actions")
    # and it settles: no further transition moves it again
    assert c.dummy_running("mig") == ["node3"]
