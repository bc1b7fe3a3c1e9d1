# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""cib_info's reading of the configuration and of the status section."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import cibdata

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture
def cib():
    return ET.parse(os.path.join(FIXTURES, "cluster.xml")).getroot()


def test_configuration(cib):
    data = cibdata.configuration(cibxml.configuration(cib))
    assert [(r["kind"], r["id"]) for r in data["resources"]] == [
        ("primitive", "vip"), ("primitive", "web"), ("group", "db-group"), ("primitive", "fs"),
        ("primitive", "db"), ("clone", "agent-clone"), ("primitive", "agent")]
    assert data["resources"][0] == dict(kind="primitive", id="vip", agent="ocf:heartbeat:IPaddr2",
                                        params={"ip": "192.0.2.10"}, meta={}, ops=[])
    assert data["resources"][2] == dict(kind="group", id="db-group", members=["fs", "db"],
                                        meta={})
    assert data["resources"][5] == dict(kind="clone", id="agent-clone", resource="agent",
                                        promotable=False, meta={"interleave": "true"})
    assert [d["id"] for d in data["stonith"]] == ["fence-a", "fence-b"]
    assert data["stonith"][0]["agent"] == "stonith:fence_dummy"
    assert data["stonith_levels"][1] == dict(id="fl-node1-2", node="node1", index=2,
                                             devices=["fence-a", "fence-b"])
    assert data["properties"] == {"stonith-enabled": "true", "no-quorum-policy": "stop"}
    assert data["rsc_defaults"] == {"resource-stickiness": "100"}
    assert data["op_defaults"] == {}
    assert [c["type"] for c in data["constraints"]] == [
        "location", "colocation", "order", "location", "ticket"]


def test_nodes(cib):
    assert cibdata.nodes(cibxml.configuration(cib)) == [
        dict(id="1", name="node1", attributes={"ssd": "yes"}),
        dict(id="2", name="node2", attributes={})]


def test_fail_counts_and_transient_attributes(cib):
    fail_counts, attributes = cibdata.transient(cib)
    assert fail_counts == [dict(node="node1", resource="web", operation="monitor",
                                interval_ms=10000, count=2, last_failure=1700000000)]
    assert attributes == {"node1": {"pingd": "100"}}


def test_an_empty_cib():
    cib = ET.fromstring("<cib><configuration/></cib>")
    assert cibdata.configuration(cibxml.configuration(cib))["resources"] == []
    assert cibdata.transient(cib) == ([], {})
