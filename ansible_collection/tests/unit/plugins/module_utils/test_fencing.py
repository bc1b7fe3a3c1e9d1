# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Fence devices and fencing levels."""

from __future__ import annotations

import copy
import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import fencing
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture
def conf():
    return cibxml.configuration(ET.parse(os.path.join(FIXTURES, "cluster.xml")).getroot())


def device(conf, **values):
    fencing.edit_device(conf, fencing.StonithSpec(values))
    elem, _parent = cibxml.find_by_id(conf, values["id"])
    return fencing.describe_device(elem) if elem is not None else None


def level(conf, **values):
    fencing.edit_level(conf, fencing.LevelSpec(values))
    return fencing.describe_level(fencing.find_level(conf, values["node"], values["index"])[0])


def refused(edit, *words):
    with pytest.raises(VigilError) as err:
        edit()
    assert err.value.kind == "invalid"
    for word in words:
        assert word in err.value.message, err.value.message


@pytest.mark.parametrize("text", ["fence_ipmilan", "stonith:fence_ipmilan", " fence_ipmilan "])
def test_agent_forms(text):
    assert fencing.fence_agent(text) == "stonith:fence_ipmilan"


@pytest.mark.parametrize("text", ["ocf:vigil:Dummy", "stonith:", "", "fence ipmi", "systemd:x"])
def test_bad_agents(text):
    with pytest.raises(VigilError) as err:
        fencing.fence_agent(text)
    assert "is not a fence agent" in err.value.message


def test_new_device_is_a_stonith_primitive(conf):
    info = device(conf, id="fence-c", agent="fence_ipmilan",
                  params={"ip": "192.0.2.1", "pcmk_host_list": "node2", "pcmk_delay_max": "10s"},
                  ops=[{"name": "monitor", "interval": "60s"}])
    assert info["agent"] == "stonith:fence_ipmilan"
    assert info["params"] == {"ip": "192.0.2.1", "pcmk_host_list": "node2",
                              "pcmk_delay_max": "10s"}
    elem = conf.find("resources/primitive[@id='fence-c']")
    assert elem.attrib == {"id": "fence-c", "class": "stonith", "type": "fence_ipmilan"}
    assert elem.find("operations/op").get("id") == "fence-c-monitor-interval-60s"


def test_update_keeps_ids_and_what_is_omitted(conf):
    before = copy.deepcopy(conf)
    device(conf, id="fence-a", agent="fence_dummy")
    assert cibxml.equal(before, conf)
    info = device(conf, id="fence-a", agent="fence_dummy", params={"pcmk_host_list": "node2"})
    assert info["params"] == {"pcmk_host_list": "node2"}
    nvpair = conf.find(".//primitive[@id='fence-a']/instance_attributes/nvpair")
    assert nvpair.get("id") == "fence-a-instance_attributes-pcmk_host_list"


@pytest.mark.parametrize("values, words", [
    (dict(id="vip", agent="fence_dummy"), ("'vip' is already used by a ocf:heartbeat:IPaddr2",
                                           "fence devices (class stonith) only")),
    (dict(id="db-group", agent="fence_dummy"), ("already used by <group>",)),
    (dict(id="f", agent="fence_dummy", params={"pcmk_delay_max": "soon"}),
     ("params: pcmk_delay_max: 'soon' is not a duration",)),
    (dict(id="f", agent="ocf:vigil:Dummy"), ("agent: 'ocf:vigil:Dummy' is not a fence agent",)),
    (dict(id="f"), ("agent: is required",)),
    (dict(id="9f", agent="fence_dummy"), ("not a valid XML id",)),
    (dict(id="fence-a", state="absent"), ("used by fencing levels fl-node1-1",)),
])
def test_bad_devices_are_refused_and_change_nothing(conf, values, words):
    before = copy.deepcopy(conf)
    refused(lambda: device(conf, **values), *words)
    assert cibxml.equal(before, conf)


def test_a_device_no_level_uses_can_go(conf):
    level(conf, node="node1", index=2, devices=["fence-a"])
    assert device(conf, id="fence-b", state="absent") is None
    assert device(conf, id="fence-b", state="absent") is None


def test_new_level_gets_a_stable_id(conf):
    info = level(conf, node="node2", index=1, devices=["fence-b", "fence-a"])
    assert info == dict(id="fl-node2-1", node="node2", index=1, devices=["fence-b", "fence-a"])
    assert conf.find("fencing-topology/fencing-level[@id='fl-node2-1']").get(
        "devices") == "fence-b,fence-a"


def test_existing_level_is_updated_in_place_with_its_id(conf):
    before = copy.deepcopy(conf)
    assert level(conf, node="node1", index=2, devices=["fence-a", "fence-b"])["id"] == "fl-node1-2"
    assert cibxml.equal(before, conf)
    assert level(conf, node="node1", index=1, devices=["fence-b"])["devices"] == ["fence-b"]
    assert [lv.get("id") for lv in conf.find("fencing-topology")] == ["fl-node1-1", "fl-node1-2"]


def test_level_topology_is_created_when_missing(conf):
    conf.remove(conf.find("fencing-topology"))
    level(conf, node="node1", index=1, devices=["fence-a"])
    assert conf.find("fencing-topology/fencing-level").get("id") == "fl-node1-1"


@pytest.mark.parametrize("values, words", [
    (dict(node="node1", index=3, devices=["vip"]),
     ("devices: no fence device 'vip'", "fence devices: fence-a, fence-b")),
    (dict(node="node1", index=0, devices=["fence-a"]), ("index: must be at least 1",)),
    (dict(node="node1", index=3, devices=[]), ("devices: give at least one",)),
    (dict(node="node1", index=3), ("devices: is required",)),
    (dict(node="node1", index="two", devices=["fence-a"]), ("index: expected an integer",)),
    (dict(node="node1", index=3, devices=["fence-a", "fence-a"]), ("listed twice",)),
])
def test_bad_levels_are_refused_and_change_nothing(conf, values, words):
    before = copy.deepcopy(conf)
    refused(lambda: level(conf, **values), *words)
    assert cibxml.equal(before, conf)


def test_level_absent(conf):
    assert level(conf, node="node1", index=2, state="absent") is None
    assert [lv.get("id") for lv in conf.find("fencing-topology")] == ["fl-node1-1"]
    before = copy.deepcopy(conf)
    assert level(conf, node="node1", index=2, state="absent") is None
    assert cibxml.equal(before, conf)
