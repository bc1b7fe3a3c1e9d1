# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Canonical form, display and lookups of CIB elements."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import cib
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError


@pytest.mark.parametrize("text, expected", [
    ("10", 10000), ("10s", 10000), ("10000ms", 10000), ("2min", 120000), ("1h", 3600000),
    ("0", 0), ("0s", 0), ("1.5s", 1500), ("PT20S", 20000), ("PT1M30S", 90000),
    ("10 s", 10000), ("abc", None), ("10parsecs", None), ("", None), (None, None), ("P", None),
])
def test_duration_ms(text, expected):
    assert cib.duration_ms(text) == expected


def web(fixture_xml):
    return fixture_xml("web.xml").find("configuration/resources/primitive")


def test_reordered_primitive_is_equal(fixture_xml):
    assert cib.equal(web(fixture_xml), fixture_xml("web-reordered.xml"))


def test_group_member_order_matters(fixture_xml):
    group = fixture_xml("web.xml").find("configuration/resources/group")
    assert not cib.equal(group, fixture_xml("group-swapped.xml"))


def test_value_change_is_a_difference(fixture_xml):
    changed = web(fixture_xml)
    changed.find("instance_attributes/nvpair[@name='port']").set("value", "8081")
    assert not cib.equal(web(fixture_xml), changed)


def test_op_timeout_change_is_a_difference(fixture_xml):
    changed = web(fixture_xml)
    changed.find("operations/op[@name='monitor']").set("timeout", "21s")
    assert not cib.equal(web(fixture_xml), changed)


def test_id_change_is_a_difference(fixture_xml):
    changed = web(fixture_xml)
    changed.find("instance_attributes").set("id", "web-params")
    assert not cib.equal(web(fixture_xml), changed)


def test_attribute_sets_of_one_kind_keep_their_order():
    first = ET.fromstring('<primitive id="p"><instance_attributes id="a"/>'
                          '<instance_attributes id="b"/></primitive>')
    second = ET.fromstring('<primitive id="p"><instance_attributes id="b"/>'
                           '<instance_attributes id="a"/></primitive>')
    assert not cib.equal(first, second)


def test_equal_handles_none():
    elem = ET.fromstring('<primitive id="p"/>')
    assert cib.equal(None, None)
    assert not cib.equal(None, elem)
    assert not cib.equal(elem, None)


def test_display_is_stable_and_sorted(fixture_xml, fixture_text):
    text = cib.display(fixture_xml("web-reordered.xml"))
    assert text == fixture_text("web-display.txt")
    assert cib.display(None) == ""


def test_display_of_equal_elements_differs_only_by_spelling(fixture_xml):
    left = cib.display(web(fixture_xml)).splitlines()
    right = cib.display(fixture_xml("web-reordered.xml")).splitlines()
    assert len(left) == len(right)


def test_to_text_writes_pacemaker_style_empty_elements():
    assert cib.to_text(ET.fromstring('<a><b x="1&gt; /&gt;"/></a>')) == \
        '<a>\n  <b x="1&gt; /&gt;"/>\n</a>'


@pytest.mark.parametrize("value, ok", [
    ("web", True), ("_x", True), ("web-1.a_b", True), ("1web", False), ("", False),
    ("we b", False), ("a:b", False),
])
def test_valid_id(value, ok):
    assert cib.valid_id(value) is ok


def test_id_part_replaces_characters_ids_cannot_hold():
    assert cib.id_part("a b:c/d") == "a_b_c_d"


def test_unique_id_suffixes_taken_ids():
    taken = {"x", "x-1"}
    assert cib.unique_id("x", taken) == "x-2"
    assert cib.unique_id("y", taken) == "y"
    assert {"x-2", "y"} <= taken


def test_find_by_id_returns_parent(fixture_xml):
    conf = cib.configuration(fixture_xml("web.xml"))
    elem, parent = cib.find_by_id(conf, "vip")
    assert elem.tag == "primitive" and parent.get("id") == "g1"
    assert cib.find_by_id(conf, "nope") == (None, None)


def test_all_ids_excludes_an_element(fixture_xml):
    conf = cib.configuration(fixture_xml("web.xml"))
    prim = conf.find("resources/primitive")
    ids = cib.all_ids(conf, exclude=prim)
    assert "web-instance_attributes" not in ids and "web" not in ids
    assert "vip-params-ip" in ids and "cib-bootstrap-options" in ids


def test_configuration_requires_a_cib():
    with pytest.raises(VigilError) as err:
        cib.configuration(ET.fromstring("<resources/>"))
    assert err.value.kind == "invalid"


def test_version_of(fixture_xml):
    assert cib.version_of(fixture_xml("web.xml")) == [0, 7, 3]
    with pytest.raises(VigilError):
        cib.version_of(ET.fromstring('<cib epoch="x"/>'))


def test_parse_xml_reports_syntax_errors():
    with pytest.raises(VigilError) as err:
        cib.parse_xml("<cib>", "the file")
    assert err.value.kind == "invalid" and "the file" in err.value.message
