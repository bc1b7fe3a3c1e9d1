# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""The checks of cluster_health."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import health
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

CONF = """
<configuration>
  <crm_config>
    <cluster_property_set id="cib-bootstrap-options">%s</cluster_property_set>
  </crm_config>
  <nodes>
    <node id="1" uname="node1"/><node id="2" uname="node2"/><node id="3" uname="node3"/>
  </nodes>
  <resources>
    <primitive id="web" class="ocf" provider="vigil" type="http"/>
    %s
  </resources>
  <constraints/>
</configuration>
"""
FENCE = '<primitive id="fence1" class="stonith" type="fence_ipmilan"/>'

HEALTHY = {
    "node": "node1", "dc": "node2", "quorate": True,
    "nodes": [{"name": "node%d" % i, "online": True, "standby": False, "unclean": False}
              for i in (1, 2, 3)],
    "resources": [{"id": "web", "role": "Started", "nodes": ["node1"]}],
    "failed_actions": [],
}


def conf(properties="", devices=FENCE):
    return ET.fromstring(CONF % (properties, devices))


def evaluate(status, configuration=None, expected_nodes=None, **kwargs):
    configuration = conf() if configuration is None else configuration
    nodes = health.expected(configuration, status, expected_nodes)
    return health.evaluate(status, configuration, nodes, **kwargs)


def test_healthy_cluster_has_no_reasons():
    reasons, summary = evaluate(HEALTHY)
    assert reasons == []
    assert summary["online_nodes"] == ["node1", "node2", "node3"]
    assert summary["fence_devices"] == ["fence1"] and summary["stonith_enabled"] is True
    assert summary["dc"] == "node2" and summary["resources"] == 1


def test_a_lost_node_gives_one_reason_per_problem_in_order():
    status = copy.deepcopy(HEALTHY)
    status["nodes"][2].update(online=False, unclean=True)
    status["failed_actions"] = [{"rsc": "web", "op": "monitor", "interval_ms": 10000,
                                 "node": "node1", "rc": 7, "reason": "not running"}]
    reasons, summary = evaluate(status)
    assert reasons == [
        {"check": "nodes", "message": "node node3 is offline"},
        {"check": "unclean", "message": "node node3 is unclean: lost and not fenced yet"},
        {"check": "failed_actions",
         "message": "web monitor (every 10 s) on node1 failed (rc 7: not running)"},
    ]
    assert summary["offline_nodes"] == ["node3"] and summary["unclean_nodes"] == ["node3"]
    assert summary["failed_actions"] == 1
    reasons = evaluate(status, allow_failed_actions=True)[0]
    assert [r["check"] for r in reasons] == ["nodes", "unclean"]


def test_no_quorum_and_no_dc():
    status = dict(HEALTHY, quorate=False, dc=None)
    reasons = evaluate(status)[0]
    assert reasons == [{"check": "quorum", "message": "node1's partition has no quorum"},
                       {"check": "dc", "message": "node1 knows no DC"}]


@pytest.mark.parametrize("properties, devices, messages", [
    ('<nvpair id="p1" name="stonith-enabled" value="false"/>', FENCE,
     ["stonith-enabled is false: lost nodes are not fenced"]),
    ("", "", ["no fence device (stonith primitive) is configured"]),
    ('<nvpair id="p1" name="stonith-enabled" value="true"/>', FENCE, []),
])
def test_fencing_must_be_configured(properties, devices, messages):
    reasons = evaluate(HEALTHY, conf(properties, devices))[0]
    assert [r["message"] for r in reasons if r["check"] == "fencing"] == messages
    assert evaluate(HEALTHY, conf(properties, devices), require_fencing=False)[0] == []


def test_expected_nodes_narrow_the_node_check():
    status = copy.deepcopy(HEALTHY)
    status["nodes"][2]["online"] = False
    assert evaluate(status, expected_nodes=["node1", "node2"])[0] == []
    assert [r["message"] for r in evaluate(status)[0]] == ["node node3 is offline"]


def test_an_unknown_expected_node_is_bad_input():
    with pytest.raises(VigilError) as exc:
        evaluate(HEALTHY, expected_nodes=["node1", "nodeX"])
    assert exc.value.kind == "invalid"
    assert "nodeX" in exc.value.message and "node1, node2, node3" in exc.value.message


def test_describe_joins_the_reasons():
    reasons = [{"check": "nodes", "message": "node node3 is offline"},
               {"check": "fencing", "message": "no fence device"}]
    assert health.describe(reasons) == "nodes: node node3 is offline; fencing: no fence device"
