# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Properties, defaults and node attributes: merge, update in place, removal."""

from __future__ import annotations

import copy
import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import properties
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture
def conf():
    return cibxml.configuration(ET.parse(os.path.join(FIXTURES, "cluster.xml")).getroot())


def edit(conf, scope, values, node=None, state="present"):
    properties.edit(conf, scope, properties.normalize(values, "properties", state), node)
    return properties.read(conf, scope, node)


def test_set_merges_and_updates_where_the_name_is(conf):
    assert edit(conf, "crm_config", {"stonith-enabled": False, "no-quorum-policy": "freeze",
                                     "cluster-recheck-interval": "5min"}) == {
        "stonith-enabled": "false", "no-quorum-policy": "freeze",
        "cluster-recheck-interval": "5min"}
    site = conf.find("crm_config/cluster_property_set[@id='site-options']")
    assert [nv.get("name") for nv in site] == ["no-quorum-policy"]
    new = conf.find(".//nvpair[@name='cluster-recheck-interval']")
    assert new.get("id") == "cib-bootstrap-options-cluster-recheck-interval"


def test_same_values_are_no_change(conf):
    before = copy.deepcopy(conf)
    edit(conf, "crm_config", {"stonith-enabled": True})
    edit(conf, "rsc_defaults", {"resource-stickiness": 100})
    assert cibxml.equal(before, conf)


def test_rule_guarded_sets_are_left_alone(conf):
    assert edit(conf, "rsc_defaults", {"resource-stickiness": 5}) == {"resource-stickiness": "5"}
    guarded = conf.find(".//meta_attributes[@id='rsc-nightly']/nvpair")
    assert guarded.get("value") == "0"
    edit(conf, "rsc_defaults", {"resource-stickiness": None})
    assert guarded.get("value") == "0"
    assert conf.find(".//meta_attributes[@id='rsc-options']") is not None


def test_absent_removes_the_names_and_ignores_values(conf):
    assert edit(conf, "crm_config", {"no-quorum-policy": "whatever"}, state="absent") == {
        "stonith-enabled": "true"}
    assert conf.find("crm_config/cluster_property_set[@id='site-options']") is not None


def test_a_new_section_and_set_are_created_only_when_something_is_set(conf):
    before = copy.deepcopy(conf)
    assert edit(conf, "op_defaults", {"timeout": None}) == {}
    assert conf.find("op_defaults") is None and cibxml.equal(before, conf)
    assert edit(conf, "op_defaults", {"timeout": "60s"}) == {"timeout": "60s"}
    assert cibxml.display(conf.find("op_defaults")) == """\
<op_defaults>
  <meta_attributes id="op-options">
    <nvpair id="op-options-timeout" name="timeout" value="60s"/>
  </meta_attributes>
</op_defaults>
"""


def test_node_attributes(conf):
    assert edit(conf, "node", {"rack": 3}, node="node1") == {"ssd": "yes", "rack": "3"}
    assert edit(conf, "node", {"standby": "on"}, node="node2") == {"standby": "on"}
    nvpair = conf.find("nodes/node[@uname='node2']/instance_attributes/nvpair")
    assert nvpair.get("id") == "nodes-2-standby"
    assert conf.find("nodes/node[@uname='node2']/instance_attributes").get("id") == "nodes-2"


def test_unknown_node_is_refused(conf):
    with pytest.raises(VigilError) as err:
        edit(conf, "node", {"rack": 3}, node="node9")
    assert err.value.kind == "invalid"
    assert "no node named 'node9'" in err.value.message and "node1, node2" in err.value.message


@pytest.mark.parametrize("values, words", [
    ({"": "x"}, "an empty name"), ({"a": [1]}, "properties.a: expected a string"),
    (["a"], "expected a dict"),
])
def test_bad_values(values, words):
    with pytest.raises(VigilError) as err:
        properties.normalize(values, "properties")
    assert words in err.value.message
