# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Convenience values and wait conditions of cluster_info."""

from __future__ import annotations

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import status

STATUS = {
    "cluster_name": "demo", "node": "node1", "dc": "node2", "quorate": True,
    "version": [0, 7, 12],
    "nodes": [{"name": "node1", "id": 1, "online": True},
              {"name": "node2", "id": 2, "online": True},
              {"name": "node3", "id": 3, "online": False}],
    "resources": [{"id": "web", "class": "ocf", "provider": "vigil", "type": "http",
                   "role": "Started", "nodes": ["node2"], "failed": False},
                  {"id": "fence1", "class": "stonith", "type": "fence_dummy",
                   "role": "Stopped", "nodes": [], "failed": False}],
    "failed_actions": [],
}


def params(wait_for, resource=None, not_on=()):
    return {"wait_for": wait_for, "resource": resource, "not_on": list(not_on)}


def test_summarize():
    facts = status.summarize(STATUS)
    assert facts["joined"] and facts["dc"] == "node2" and facts["node"] == "node1"
    assert facts["online_nodes"] == ["node1", "node2"]
    assert facts["resources"]["web"] == {"role": "Started", "nodes": ["node2"], "failed": False,
                                         "agent": "ocf:vigil:http"}
    assert facts["resources"]["fence1"]["agent"] == "stonith:fence_dummy"


@pytest.mark.parametrize("change", [
    {"quorate": False}, {"dc": None}, {"node": "node3"},
])
def test_not_joined(change):
    facts = status.summarize(dict(STATUS, **change))
    assert not facts["joined"]
    assert not status.condition_met(params("quorate"), facts)


def test_dc_without_quorum_is_enough_for_dc():
    facts = status.summarize(dict(STATUS, quorate=False))
    assert status.condition_met(params("dc"), facts)


@pytest.mark.parametrize("wanted, met", [
    (params("started", "web"), True),
    (params("started", "web", not_on=["node2"]), False),
    (params("started", "web", not_on=["node1"]), True),
    (params("started", "fence1"), False),
    (params("started", "nope"), False),
    (params(None), True),
])
def test_started(wanted, met):
    assert status.condition_met(wanted, status.summarize(STATUS)) is met


def test_failed_resource_is_not_started():
    broken = dict(STATUS, resources=[dict(STATUS["resources"][0], failed=True)])
    assert not status.condition_met(params("started", "web"), status.summarize(broken))


def test_describe_wait_names_what_is_missing():
    facts = status.summarize(STATUS)
    assert "web is Started on node2" in status.describe_wait(params("started", "web"), facts, None)
    assert "no resource 'x'" in status.describe_wait(params("started", "x"), facts, None)
    assert status.describe_wait(params("quorate"), None, "socket: gone") == "last error: socket: gone"


def test_restart_order_puts_the_node_running_the_service_last_and_the_dc_late():
    # node2 is the DC and runs web: last; node1 and node3 run nothing, inventory order kept
    assert status.summarize(STATUS)["restart_order"] == ["node1", "node3", "node2"]
    both = dict(STATUS, dc="node1", resources=STATUS["resources"] + [
        {"id": "db", "role": "Started", "nodes": ["node3"]},
        {"id": "ip", "role": "Started", "nodes": ["node3"]}])
    # idle node first, then the DC (it runs nothing), then by load: web (1) before db+ip (2)
    assert status.restart_order(both) == ["node1", "node2", "node3"]
    idle_dc = dict(STATUS, dc="node1", resources=[])
    assert status.restart_order(idle_dc) == ["node2", "node3", "node1"]


def test_restart_order_counts_only_active_resources_and_every_clone_instance():
    clone = dict(STATUS, dc="node3", resources=[
        {"id": "ping-clone", "role": "Started", "nodes": ["node1", "node2", "node3"]},
        {"id": "failed", "role": "Failed", "nodes": ["node1"]},
        {"id": "stopped", "role": "Stopped", "nodes": []}])
    assert status.restart_order(clone) == ["node1", "node2", "node3"]


def test_restart_order_weighs_services_before_fence_devices():
    fencing = dict(STATUS, dc="node1", resources=[
        {"id": "fence-node2", "class": "stonith", "role": "Started", "nodes": ["node1"]},
        {"id": "fence-node3", "class": "stonith", "role": "Started", "nodes": ["node1"]},
        {"id": "fence-node1", "class": "stonith", "role": "Started", "nodes": ["node3"]},
        {"id": "vip", "class": "ocf", "role": "Started", "nodes": ["node3"]}])
    # node2 runs nothing; node1 runs two devices (and is the DC) but no service: before node3
    assert status.restart_order(fencing) == ["node2", "node1", "node3"]
