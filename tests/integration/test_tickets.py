"""Tickets on a live cluster: grant starts what a ticket gates, revoke stops it (the agents'
own state files are the truth), and wrong input is refused with the CIB unchanged."""

import json

import pytest

pytestmark = pytest.mark.cluster


def ok(res):
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_grant_and_revoke_a_ticket_start_and_stop_its_resource(cluster3):
    c = cluster3
    c.wait_quorate()
    ok(c.vigilctl("node1", "property", "set", "stonith-enabled", "false"))
    ok(c.vigilctl("node1", "resource", "create", "gated", "ocf:vigil:Dummy"))
    c.ctl("node1", "cib_put", section="constraints", mode="create",
          xml='<rsc_ticket id="gated-needs-t1" rsc="gated" ticket="t1" loss-policy="stop"/>')
    listed = json.loads(ok(c.vigilctl("node2", "ticket", "list", "--json")))
    assert listed == [{"id": "t1", "granted": False, "standby": False, "constraints": [
        {"constraint": "gated-needs-t1", "rsc": "gated", "loss_policy": "stop"}]}]
    c.wait(lambda: len([r for r in c.status("node1")["resources"] if r["id"] == "gated"]), 5,
           "gated known")
    assert c.dummy_running("gated") == [], "without its ticket, gated does not start"

    assert "ticket t1: granted" in ok(c.vigilctl("node3", "ticket", "grant", "t1"))
    c.wait(lambda: c.dummy_running("gated"), 20, "gated to start once t1 is granted")
    assert "(unchanged)" in ok(c.vigilctl("node2", "ticket", "grant", "t1"))

    before = c.status("node1")["version"]
    res = c.vigilctl("node2", "ticket", "revoke", "t1")
    assert res.returncode == 2 and "force" in res.stderr, res.stderr
    res = c.vigilctl("node2", "ticket", "dance", "t1")
    assert res.returncode == 2
    res = c.vigilctl("node2", "ticket", "grant", "")
    assert res.returncode == 2 and "ticket" in res.stderr
    assert c.status("node1")["version"] == before, "refused requests changed nothing"

    ok(c.vigilctl("node2", "ticket", "revoke", "t1", "--force"))
    c.wait(lambda: not c.dummy_running("gated"), 20, "gated to stop once t1 is revoked")
    out = ok(c.vigilctl("node1", "ticket", "list"))
    assert "t1: revoked; gated (loss-policy stop)" in out, out
    ok(c.vigilctl("node1", "ticket", "grant", "t1"))
    ok(c.vigilctl("node1", "ticket", "standby", "t1", "--force"))
    c.wait(lambda: not c.dummy_running("gated"), 20, "gated to stop in standby")
    assert "granted, standby" in ok(c.vigilctl("node3", "ticket", "list"))
    ok(c.vigilctl("node1", "ticket", "activate", "t1"))
    c.wait(lambda: c.dummy_running("gated"), 20, "gated to start once t1 is active again")
