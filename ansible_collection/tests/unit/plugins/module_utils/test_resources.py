# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Groups and clones: moving primitives, ungrouping, wrapping, promotable, errors."""

from __future__ import annotations

import copy
import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import resources
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture
def conf():
    return cibxml.configuration(ET.parse(os.path.join(FIXTURES, "cluster.xml")).getroot())


def top_level(conf):
    return [e.get("id") for e in conf.find("resources")]


def group(conf, group_id, **values):
    resources.edit_group(conf, resources.GroupSpec(dict(values, id=group_id)))
    elem, parent = cibxml.find_by_id(conf, group_id)
    return resources.describe_group(elem, parent) if elem is not None else None


def clone(conf, clone_id, **values):
    resources.edit_clone(conf, resources.CloneSpec(dict(values, id=clone_id)))
    elem, _parent = cibxml.find_by_id(conf, clone_id)
    return resources.describe_clone(elem) if elem is not None else None


def refused(edit, *words):
    with pytest.raises(VigilError) as err:
        edit()
    assert err.value.kind == "invalid"
    for word in words:
        assert word in err.value.message, err.value.message
    return err.value.message


def test_new_group_takes_top_level_primitives_in_order(conf):
    info = group(conf, "web-group", members=["web", "vip"], meta={"target-role": "Stopped"})
    assert info == dict(id="web-group", members=["web", "vip"], meta={"target-role": "Stopped"},
                        parent=None)
    assert top_level(conf) == ["db-group", "agent-clone", "fence-a", "fence-b", "web-group"]
    assert cibxml.display(conf.find("resources/group[@id='web-group']")) == """\
<group id="web-group">
  <meta_attributes id="web-group-meta_attributes">
    <nvpair id="web-group-meta_attributes-target-role" name="target-role" value="Stopped"/>
  </meta_attributes>
  <primitive id="web" class="ocf" provider="vigil" type="http"/>
  <primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2">
    <instance_attributes id="vip-instance_attributes">
      <nvpair id="vip-instance_attributes-ip" name="ip" value="192.0.2.10"/>
    </instance_attributes>
  </primitive>
</group>
"""
    # The constraints on the members stay.
    assert conf.find("constraints/rsc_colocation[@rsc='web']") is not None


def test_same_group_again_is_equal(conf):
    before = copy.deepcopy(conf)
    assert group(conf, "db-group", members=["fs", "db"])["members"] == ["fs", "db"]
    assert cibxml.equal(before, conf)
    assert group(conf, "db-group")["members"] == ["fs", "db"]
    assert cibxml.equal(before, conf)


def test_member_order_is_a_change(conf):
    before = copy.deepcopy(conf)
    assert group(conf, "db-group", members=["db", "fs"])["members"] == ["db", "fs"]
    assert not cibxml.equal(before, conf)


def test_members_no_longer_listed_go_back_after_the_group(conf):
    assert group(conf, "db-group", members=["db"])["members"] == ["db"]
    assert top_level(conf)[:4] == ["vip", "web", "db-group", "fs"]


def test_a_member_can_move_from_another_group(conf):
    group(conf, "db-group", members=["fs", "db", "web"])
    assert group(conf, "web-group", members=["web", "db"])["members"] == ["web", "db"]
    assert group(conf, "db-group")["members"] == ["fs"]


def test_a_group_may_not_be_emptied_by_a_move(conf):
    group(conf, "one", members=["vip"])
    refused(lambda: group(conf, "two", members=["vip"]), "'vip'", "'one' empty")


def test_meta_is_kept_when_omitted_and_exact_when_given(conf):
    group(conf, "db-group", meta={"target-role": "Stopped", "priority": 5})
    assert group(conf, "db-group", members=["db", "fs"])["meta"] == {
        "target-role": "Stopped", "priority": "5"}
    assert group(conf, "db-group", meta={"priority": 5})["meta"] == {"priority": "5"}
    nvpair = conf.find(".//group[@id='db-group']/meta_attributes/nvpair")
    assert nvpair.get("id") == "db-group-meta_attributes-priority"
    assert group(conf, "db-group", meta={})["meta"] == {}
    assert conf.find(".//group[@id='db-group']/meta_attributes") is None


@pytest.mark.parametrize("members, words", [
    (["nope"], ("members: no primitive with id 'nope'", "vip, web")),
    (["db-group"], ("'db-group' is a <group>, not a primitive",)),
    (["fence-a"], ("'fence-a' is a fence device",)),
    (["agent"], ("'agent' is inside <clone id='agent-clone'>",)),
    ([], ("at least one member",)),
    (["vip", "vip"], ("'vip' is listed twice",)),
])
def test_bad_members_are_refused_and_change_nothing(conf, members, words):
    before = copy.deepcopy(conf)
    refused(lambda: group(conf, "web-group", members=members), *words)
    assert cibxml.equal(before, conf)


def test_creating_needs_members(conf):
    refused(lambda: group(conf, "web-group", meta={"a": 1}), "members: is required")


def test_an_id_of_another_kind_is_refused(conf):
    refused(lambda: group(conf, "vip", members=["web"]), "'vip' is already used by a <primitive>")


def test_ungroup_puts_members_where_the_group_was_and_drops_its_constraints(conf):
    assert group(conf, "db-group", state="absent") is None
    assert top_level(conf)[:4] == ["vip", "web", "fs", "db"]
    assert conf.find("constraints/rsc_location[@id='db-on-ssd']") is None
    assert conf.find("constraints/rsc_ticket") is None
    assert conf.find("constraints/rsc_colocation") is not None


def test_absent_with_delete_members_deletes_them(conf):
    group(conf, "db-group", state="absent", delete_members=True)
    assert cibxml.find_by_id(conf, "fs")[0] is None and cibxml.find_by_id(conf, "db")[0] is None
    assert conf.find("constraints/rsc_ticket") is None


def test_absent_group_that_does_not_exist_is_nothing(conf):
    before = copy.deepcopy(conf)
    assert group(conf, "nothing", state="absent") is None
    assert cibxml.equal(before, conf)


def test_wrapping_takes_the_resource_place(conf):
    info = clone(conf, "web-clone", resource="web", meta={"clone-max": 2})
    assert info == dict(id="web-clone", resource="web", promotable=False,
                        meta={"clone-max": "2"})
    assert top_level(conf)[:2] == ["vip", "web-clone"]
    assert conf.find("resources/clone[@id='web-clone']/primitive").get("id") == "web"


def test_promotable_is_a_meta_attribute(conf):
    clone(conf, "db-clone", resource="db-group", promotable=True)
    elem = conf.find("resources/clone[@id='db-clone']")
    assert cibxml.display(elem).startswith("""\
<clone id="db-clone">
  <meta_attributes id="db-clone-meta_attributes">
    <nvpair id="db-clone-meta_attributes-promotable" name="promotable" value="true"/>
  </meta_attributes>
  <group id="db-group">
""")
    # Omitted, promotable and meta stay; given false, the attribute goes.
    assert clone(conf, "db-clone")["promotable"] is True
    assert clone(conf, "db-clone", promotable=False)["promotable"] is False
    assert conf.find("resources/clone[@id='db-clone']/meta_attributes") is None


def test_promotable_keeps_the_other_meta(conf):
    before = conf.find(".//clone/meta_attributes").get("id")
    info = clone(conf, "agent-clone", promotable=True)
    assert info["meta"] == {"interleave": "true"} and info["promotable"] is True
    assert conf.find(".//clone/meta_attributes").get("id") == before


def test_meta_and_promotable_must_agree(conf):
    refused(lambda: clone(conf, "x", resource="web", promotable=False,
                          meta={"promotable": "true"}), "contradicts")


@pytest.mark.parametrize("values, words", [
    (dict(resource="nope"), ("resource: no resource with id 'nope'", "db-group, vip, web")),
    (dict(resource="fs"), ("'fs' is inside <group id='db-group'>",)),
    (dict(resource="fence-a"), ("fence device",)),
    (dict(resource="web-with-vip"), ("'web-with-vip' is a <rsc_colocation>",)),
    (dict(meta={"a": 1}), ("resource: is required",)),
])
def test_bad_clones_are_refused_and_change_nothing(conf, values, words):
    before = copy.deepcopy(conf)
    refused(lambda: clone(conf, "new-clone", **values), *words)
    assert cibxml.equal(before, conf)


def test_a_clone_wraps_what_it_wraps(conf):
    refused(lambda: clone(conf, "agent-clone", resource="web"), "wraps 'agent', not 'web'")
    assert clone(conf, "agent-clone", resource="agent")["resource"] == "agent"


def test_unwrap_puts_the_child_back_and_drops_the_clone_constraints(conf):
    ET.SubElement(conf.find("constraints"), "rsc_colocation",
                  {"id": "c1", "rsc": "web", "with-rsc": "agent-clone", "score": "100"})
    assert clone(conf, "agent-clone", state="absent") is None
    assert top_level(conf)[:4] == ["vip", "web", "db-group", "agent"]
    assert conf.find("constraints/rsc_colocation[@id='c1']") is None


def test_a_group_inside_a_clone_is_not_ungrouped(conf):
    clone(conf, "db-clone", resource="db-group")
    refused(lambda: group(conf, "db-group", state="absent"), "inside <clone id='db-clone'>")
    group(conf, "db-group", state="absent", delete_members=True)
    assert cibxml.find_by_id(conf, "db-clone")[0] is None


def test_edit_primitive_refuses_to_remove_a_device_in_use(conf):
    refused(lambda: resources.edit_primitive(conf, "fence-a", None, "absent"),
            "fl-node1-1 (node1, index 1), fl-node1-2 (node1, index 2)")
    resources.edit_primitive(conf, "web", None, "absent")
    assert conf.find("constraints/rsc_colocation") is None
