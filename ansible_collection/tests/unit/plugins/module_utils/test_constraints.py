# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Constraints: checking options, rendering, scores, rules, description."""

from __future__ import annotations

import copy
import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils import constraints
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture
def conf():
    return cibxml.configuration(ET.parse(os.path.join(FIXTURES, "cluster.xml")).getroot())


def apply(conf, **values):
    constraints.edit(conf, constraints.ConstraintSpec(values))
    elem, _parent = cibxml.find_by_id(conf, values["id"])
    return elem


@pytest.mark.parametrize("value, text", [
    (100, "100"), ("-50", "-50"), ("+7", "7"), ("INFINITY", "INFINITY"),
    ("+INFINITY", "INFINITY"), ("-infinity", "-INFINITY"), (" 0 ", "0"),
])
def test_scores(value, text):
    assert constraints.score_text(value, "score") == text


@pytest.mark.parametrize("value", ["inf", "10.5", "", True, None, "many"])
def test_bad_scores(value):
    with pytest.raises(VigilError) as err:
        constraints.score_text(value, "rules[0].score")
    assert err.value.kind == "invalid" and err.value.message.startswith("rules[0].score: ")


def test_location_renders_exactly_the_options(conf):
    elem = apply(conf, id="vip-on-node2", type="location", resource="vip", node="node2",
                 score=-100, role="Started")
    assert cibxml.display(elem) == ('<rsc_location id="vip-on-node2" node="node2" '
                                    'role="Started" rsc="vip" score="-100"/>\n')


def test_same_meaning_score_is_kept_as_written(conf):
    before = copy.deepcopy(conf)
    elem = apply(conf, id="web-prefers-node1", type="location", resource="web", node="node1")
    assert elem.get("score") == "+INFINITY"
    assert cibxml.equal(before, conf)


def test_location_rules_with_pacemaker_ids(conf):
    elem = apply(conf, id="wr", type="location", resource="web", rules=[
        dict(score=200, boolean_op="or", expressions=[
            dict(attribute="#uname", operation="eq", value="node1"),
            dict(attribute="ssd", operation="defined")]),
        dict(expressions=[dict(attribute="rack", operation="gte", value=2, type="integer")]),
    ])
    assert cibxml.display(elem) == """\
<rsc_location id="wr" rsc="web">
  <rule id="wr-rule" boolean-op="or" score="200">
    <expression id="wr-rule-expr" value="node1" attribute="#uname" operation="eq"/>
    <expression id="wr-rule-expr-1" attribute="ssd" operation="defined"/>
  </rule>
  <rule id="wr-rule-1" score="INFINITY">
    <expression id="wr-rule-1-expr" type="integer" value="2" attribute="rack" operation="gte"/>
  </rule>
</rsc_location>
"""


def test_existing_rules_keep_their_ids(conf):
    before = copy.deepcopy(conf)
    apply(conf, id="db-on-ssd", type="location", resource="db-group", rules=[
        dict(score="-INFINITY", boolean_op="and",
             expressions=[dict(attribute="ssd", operation="not_defined")])])
    assert cibxml.equal(before, conf)


def test_colocation_and_order(conf):
    elem = apply(conf, id="db-with-vip", type="colocation", resource="db-group",
                 with_resource="vip", score=500, role="Promoted", with_role="Started")
    assert elem.attrib == {"id": "db-with-vip", "rsc": "db-group", "rsc-role": "Promoted",
                           "with-rsc": "vip", "with-rsc-role": "Started", "score": "500"}
    elem = apply(conf, id="vip-then-db", type="order", first="vip", then="db-group",
                 first_action="start", then_action="promote", kind="Optional",
                 symmetrical=False)
    assert elem.attrib == {"id": "vip-then-db", "first": "vip", "first-action": "start",
                           "then": "db-group", "then-action": "promote", "kind": "Optional",
                           "symmetrical": "false"}


def test_update_in_place_drops_options_left_out(conf):
    elem = apply(conf, id="vip-then-web", type="order", first="vip", then="web")
    assert "kind" not in elem.attrib
    assert list(conf.find("constraints")).index(elem) == 2


@pytest.mark.parametrize("values, words", [
    (dict(type="location", resource="nope", node="node1"),
     ("resource: constraint 'c1' names resource 'nope', which does not exist",
      "agent, agent-clone, db")),
    (dict(type="colocation", resource="web", with_resource="ghost"),
     ("with_resource:", "'ghost'")),
    (dict(type="order", first="vip", then="ghost"), ("then:", "'ghost'")),
    (dict(type="order", first="vip", then="web", node="node1"),
     ("node: is not an option of order constraints",)),
    (dict(type="location", resource="web"), ("give either node or rules",)),
    (dict(type="location", resource="web", node="n", rules=[]), ("give either node or rules",)),
    (dict(type="location", resource="web", rules=[dict(score=1, expressions=[])]),
     ("rules[0].expressions: give at least one expression",)),
    (dict(type="location", resource="web", rules=[
        dict(expressions=[dict(attribute="a", operation="eq")])]),
     ("rules[0].expressions[0].value: is required with operation eq",)),
    (dict(type="location", resource="web", rules=[
        dict(expressions=[dict(attribute="a", operation="defined", value="x")])]),
     ("takes no value",)),
    (dict(type="location", resource="web", rules=[dict(expressions=[], color="red")]),
     ("rules[0]: unknown option color",)),
    (dict(type="colocation", resource="web", with_resource="web"), ("with itself",)),
    (dict(type="colocation", resource="web", with_resource="vip", score="lots"),
     ("score: 'lots' is not a score",)),
    (dict(type="location", resource="vip", node="node1", role="Master"),
     ("role: 'Master' is not one of Started, Stopped, Promoted, Unpromoted",)),
    (dict(type="order", first="vip"), ("then: is required",)),
    (dict(type="ordering"), ("type: 'ordering' is not one of location, colocation, order",)),
    (dict(), ("type: is required",)),
])
def test_bad_constraints_are_refused_and_change_nothing(conf, values, words):
    before = copy.deepcopy(conf)
    with pytest.raises(VigilError) as err:
        apply(conf, id="c1", **values)
    assert err.value.kind == "invalid"
    for word in words:
        assert word in err.value.message, err.value.message
    assert cibxml.equal(before, conf)


def test_an_id_of_another_kind_is_refused(conf):
    with pytest.raises(VigilError) as err:
        apply(conf, id="web-with-vip", type="order", first="vip", then="web")
    assert "already used by a <rsc_colocation>" in err.value.message


def test_absent(conf):
    assert apply(conf, id="web-with-vip", state="absent") is None
    assert apply(conf, id="never-there", state="absent") is None
    with pytest.raises(VigilError):
        apply(conf, id="vip", state="absent")


def test_describe_gives_the_options_back(conf):
    described = [constraints.describe(c) for c in conf.find("constraints")]
    assert described[:4] == [
        dict(id="web-prefers-node1", type="location", resource="web", node="node1",
             score="+INFINITY"),
        dict(id="web-with-vip", type="colocation", resource="web", with_resource="vip",
             score="INFINITY"),
        dict(id="vip-then-web", type="order", first="vip", then="web", kind="Mandatory"),
        dict(id="db-on-ssd", type="location", resource="db-group", rules=[dict(
            score="-INFINITY", boolean_op="and",
            expressions=[dict(attribute="ssd", operation="not_defined")])]),
    ]
    assert described[4]["type"] == "ticket" and 'ticket="site-a"' in described[4]["xml"]
    before = copy.deepcopy(conf)
    for values in described[:4]:
        constraints.edit(conf, constraints.ConstraintSpec(values))
    assert cibxml.equal(before, conf)
