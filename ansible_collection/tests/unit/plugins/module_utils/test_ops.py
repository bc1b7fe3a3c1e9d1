# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""What node and resource_ctl would change, where a resource runs, and polling."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import ops
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

CONF = ET.fromstring("""
<configuration>
  <crm_config><cluster_property_set id="cib-bootstrap-options"/></crm_config>
  <nodes>
    <node id="1" uname="node1"/>
    <node id="2" uname="node2">
      <instance_attributes id="nodes-2">
        <nvpair id="nodes-2-standby" name="standby" value="on"/>
      </instance_attributes>
    </node>
    <node id="3" uname="node3">
      <instance_attributes id="nodes-3">
        <nvpair id="nodes-3-standby" name="standby" value="off"/>
        <nvpair id="nodes-3-maintenance" name="maintenance" value="true"/>
      </instance_attributes>
    </node>
  </nodes>
  <resources>
    <primitive id="web" class="ocf" provider="vigil" type="http">
      <meta_attributes id="web-meta_attributes">
        <nvpair id="web-meta_attributes-target-role" name="target-role" value="Stopped"/>
      </meta_attributes>
    </primitive>
    <group id="g">
      <primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2"/>
      <primitive id="db" class="ocf" provider="vigil" type="Dummy"/>
    </group>
    <clone id="st-clone">
      <primitive id="st" class="ocf" provider="pacemaker" type="Stateful"/>
    </clone>
  </resources>
  <constraints>
    <rsc_location id="cli-prefer-web" rsc="web" node="node2" score="INFINITY"/>
    <rsc_location id="cli-ban-web-on-node3" rsc="web" node="node3" score="-INFINITY"/>
    <rsc_location id="web-likes-node1" rsc="web" node="node1" score="100"/>
  </constraints>
</configuration>
""")


# ---------------------------------------------------------------------------- nodes

@pytest.mark.parametrize("node, state, request_", [
    ("node1", "standby", {"node": "node1", "name": "standby", "value": "on"}),
    ("node1", "online", None),
    ("node1", "ready", None),
    ("node1", "maintenance", {"node": "node1", "name": "maintenance", "value": "true"}),
    ("node2", "standby", None),
    ("node2", "online", {"node": "node2", "name": "standby", "value": None}),
    ("node2", "unstandby", {"node": "node2", "name": "standby", "value": None}),
    # standby="off" is already online: nothing to write
    ("node3", "online", None),
    ("node3", "maintenance", None),
    ("node3", "ready", {"node": "node3", "name": "maintenance", "value": None}),
])
def test_plan_node_writes_only_when_the_meaning_changes(node, state, request_):
    before, after, request = ops.plan_node(CONF, node, state)
    assert request == request_
    assert (before != after) == (request is not None)


def test_plan_node_before_and_after():
    before, after = ops.plan_node(CONF, "node2", "online")[:2]
    assert before == {"standby": True, "maintenance": False}
    assert after == {"standby": False, "maintenance": False}
    assert ops.describe_node_state(after) == "standby: off\nmaintenance: off\n"


def test_unknown_node_names_the_known_ones():
    with pytest.raises(VigilError) as exc:
        ops.plan_node(CONF, "node9", "standby")
    assert exc.value.kind == "not_found"
    assert "'node9'" in exc.value.message and "node1, node2, node3" in exc.value.message


STATUS = {
    "dc": "node1",
    "nodes": [{"name": "node1", "online": True, "standby": False, "maintenance": False},
              {"name": "node2", "online": True, "standby": True, "maintenance": False},
              {"name": "node3", "online": False, "standby": False, "maintenance": True}],
    "resources": [
        {"id": "web", "role": "Started", "nodes": ["node1"], "roles": {"node1": "Started"},
         "failed": False},
        {"id": "ip", "role": "Started", "nodes": ["node2"], "roles": {"node2": "Started"},
         "failed": False},
        {"id": "db", "role": "Stopped", "nodes": [], "roles": {}, "failed": False},
        {"id": "st", "role": "Promoted", "nodes": ["node1", "node2"],
         "roles": {"node1": "Promoted", "node2": "Unpromoted"}, "failed": False},
    ],
}


@pytest.mark.parametrize("node, state, settled", [
    ("node2", "standby", False),  # ip and st still run there
    ("node1", "online", True),
    ("node2", "online", False),
    ("node3", "online", False),  # offline
    ("node3", "maintenance", True),
    ("node1", "ready", True),
    ("node9", "online", False),
])
def test_node_settled(node, state, settled):
    assert ops.node_settled(STATUS, node, state) is settled


def test_standby_settles_once_drained():
    drained = dict(STATUS, resources=[r for r in STATUS["resources"] if "node2" not in r["nodes"]])
    assert ops.node_settled(drained, "node2", "standby") is True
    assert ops.resources_on(STATUS, "node2") == ["ip", "st"]


# ---------------------------------------------------------------------------- resources

@pytest.mark.parametrize("action, node, changed, after", [
    ("move", "node2", False, "cli-ban-web-on-node3: -INFINITY on node3\n"
                             "cli-prefer-web: INFINITY on node2\n"),
    ("move", "node1", True, "cli-ban-web-on-node3: -INFINITY on node3\n"
                            "cli-prefer-web: INFINITY on node1\n"),
    ("ban", "node3", False, None),
    ("ban", "node1", True, None),
    ("clear", None, True, ""),
    ("clear", "node3", True, "cli-prefer-web: INFINITY on node2\n"),
    ("clear", "node1", False, None),
])
def test_plan_constraints(action, node, changed, after):
    before, planned, is_changed = ops.plan_resource(CONF, "web", action, node)
    assert is_changed is changed
    assert "web-likes-node1" not in before  # only move/ban constraints are ours
    if after is not None:
        assert planned == after
    if not changed:
        assert planned == before


def test_clear_without_constraints_changes_nothing():
    assert ops.plan_resource(CONF, "g", "clear")[2] is False


@pytest.mark.parametrize("rsc, action, changed, after", [
    ("web", "enable", True, "target-role: (not set)\n"),
    ("web", "disable", False, "target-role: Stopped\n"),
    ("g", "enable", False, "target-role: (not set)\n"),
    ("g", "disable", True, "target-role: Stopped\n"),
])
def test_plan_target_role(rsc, action, changed, after):
    planned, is_changed = ops.plan_resource(CONF, rsc, action)[1:]
    assert (is_changed, planned) == (changed, after)


def test_unknown_resource_names_the_known_ones():
    with pytest.raises(VigilError) as exc:
        ops.plan_resource(CONF, "nope", "enable")
    assert exc.value.kind == "not_found"
    assert "'nope'" in exc.value.message and "web, g, ip, db, st-clone, st" in exc.value.message


def test_move_to_an_unknown_node_is_refused():
    with pytest.raises(VigilError) as exc:
        ops.plan_resource(CONF, "web", "move", "node9")
    assert exc.value.kind == "not_found" and "node9" in exc.value.message


def test_primitive_ids_of_containers():
    assert ops.primitive_ids(ops.find_resource(CONF, "g")) == ["ip", "db"]
    assert ops.primitive_ids(ops.find_resource(CONF, "st-clone")) == ["st"]
    assert ops.primitive_ids(ops.find_resource(CONF, "web")) == ["web"]


STATUS_XML = ET.fromstring("""
<status>
  <node_state id="1" uname="node1">
    <transient_attributes id="1">
      <instance_attributes id="status-1">
        <nvpair id="status-1-fc" name="fail-count-web#monitor_10000" value="1"/>
        <nvpair id="status-1-lf" name="last-failure-web#monitor_10000" value="1700000000"/>
        <nvpair id="status-1-other" name="fail-count-webby#start_0" value="1"/>
      </instance_attributes>
    </transient_attributes>
    <lrm id="1"><lrm_resources>
      <lrm_resource id="web" type="http" class="ocf" provider="vigil">
        <lrm_rsc_op id="web_last_0" operation="start"/>
        <lrm_rsc_op id="web_last_failure_0" operation="monitor"/>
      </lrm_resource>
      <lrm_resource id="db" type="Dummy" class="ocf" provider="vigil">
        <lrm_rsc_op id="db_last_0" operation="start"/>
      </lrm_resource>
    </lrm_resources></lrm>
  </node_state>
  <node_state id="2" uname="node2">
    <lrm id="2"><lrm_resources>
      <lrm_resource id="ip" type="IPaddr2" class="ocf" provider="heartbeat">
        <lrm_rsc_op id="ip_last_failure_0" operation="start"/>
      </lrm_resource>
    </lrm_resources></lrm>
  </node_state>
</status>
""")


def test_failures_are_what_cleanup_forgets():
    assert ops.failures(STATUS_XML, ["web"]) == {"web": [
        "fail-count-web#monitor_10000 on node1", "last-failure-web#monitor_10000 on node1",
        "web_last_failure_0 on node1"]}
    assert ops.failures(STATUS_XML, ["ip", "db"]) == {"ip": ["ip_last_failure_0 on node2"]}
    assert ops.failures(STATUS_XML, ["ip", "db"], node="node1") == {}
    assert ops.failures(STATUS_XML, ["db"]) == {}
    assert ops.describe_failures({"ip": ["b", "a"]}) == "ip: a, b\n"


# ---------------------------------------------------------------------------- placement

def test_placement_of_a_group_and_a_promotable_clone():
    group = ops.placement(STATUS, ["ip", "db"])
    assert group["role"] == "Partial" and group["nodes"] == ["node2"]
    assert group["members"]["db"] == {"role": "Stopped", "nodes": [], "roles": {},
                                      "failed": False}
    clone = ops.placement(STATUS, ["st"])
    assert clone["role"] == "Promoted" and clone["nodes"] == ["node1", "node2"]
    assert ops.placement(STATUS, ["gone"])["role"] == "Stopped"


@pytest.mark.parametrize("prims, role, node, reached", [
    (["web"], "Started", None, True),
    (["web"], "Started", "node1", True),
    (["web"], "Started", "node2", False),
    (["web"], "Stopped", None, False),
    (["web"], "Stopped", "node2", True),
    (["db"], "Stopped", None, True),
    (["ip", "db"], "Started", None, False),  # every member must be started
    (["st"], "Promoted", None, True),
    (["st"], "Promoted", "node1", True),
    (["st"], "Promoted", "node2", False),
    (["st"], "Unpromoted", "node2", True),
    (["st"], "Started", "node2", True),
])
def test_role_reached(prims, role, node, reached):
    assert ops.role_reached(ops.placement(STATUS, prims), role, node) is reached


def test_a_failed_member_is_not_started():
    failed = {"resources": [{"id": "web", "role": "Failed", "nodes": ["node1"],
                             "roles": {"node1": "Started"}, "failed": True}]}
    place = ops.placement(failed, ["web"])
    assert place["role"] == "Failed"
    assert not ops.role_reached(place, "Started")


def test_placement_without_per_node_roles_uses_the_role():
    old = {"resources": [{"id": "web", "role": "Started", "nodes": ["node1"]}]}
    assert ops.placement(old, ["web"])["members"]["web"]["roles"] == {"node1": "Started"}


# ---------------------------------------------------------------------------- polling

class FakeClock(object):
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_poll_returns_the_first_done_value():
    clock = FakeClock()
    answers = iter([(False, 1), (False, 2), (True, 3)])
    assert ops.poll(lambda: next(answers), 10, clock, clock.sleep) == (True, 3, None)
    assert clock.now == pytest.approx(100.4)


def test_poll_keeps_the_last_value_and_error_when_time_runs_out():
    clock = FakeClock()
    calls = []

    def probe():
        calls.append(clock.now)
        if len(calls) % 2:
            return False, len(calls)
        raise VigilError("unavailable", "no DC")

    done, value, error = ops.poll(probe, 1.0, clock, clock.sleep, interval_s=0.25)
    assert not done and len(calls) == 5
    assert value == 5 and error is None
    done, value, error = ops.poll(probe, 0.5, clock, clock.sleep, interval_s=0.25)
    assert not done and len(calls) == 8
    assert value == 7 and error.kind == "unavailable"


@pytest.mark.parametrize("action, node, ids", [
    ("move", "node2", []),
    ("move", "node1", ["cli-prefer-web"]),
    ("ban", "node1", ["cli-ban-web-on-node1"]),
    ("clear", None, ["cli-ban-web-on-node3", "cli-prefer-web"]),
    ("clear", "node3", ["cli-ban-web-on-node3"]),
])
def test_changed_constraint_ids(action, node, ids):
    assert ops.changed_ids(*ops.plan_constraints(CONF, "web", action, node)) == ids
