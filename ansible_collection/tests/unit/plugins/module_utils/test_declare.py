# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""vigil.cluster.cib's declarations: merge, replace with ownership, round trip with cib_info."""

from __future__ import annotations

import copy
import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import changes, cibdata, declare
from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils.backend import EMPTY_CIB
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")

APP = dict(
    properties={"stonith-enabled": True},
    rsc_defaults={"resource-stickiness": 100},
    stonith=[dict(id="app-fence", agent="fence_dummy", params={"pcmk_host_list": "node1"})],
    resources=[
        dict(id="app-group", members=["app-vip", "app-web"]),
        dict(id="app-vip", agent="ocf:heartbeat:IPaddr2", params={"ip": "192.0.2.10"}),
        dict(kind="primitive", id="app-web", agent="ocf:vigil:http",
             ops=[dict(name="monitor", interval="10s")]),
        dict(id="app-clone", resource="app-agent", promotable=False),
        dict(id="app-agent", agent="ocf:vigil:Dummy"),
    ],
    constraints=[
        dict(id="app-prefers-node1", type="location", resource="app-group", node="node1",
             score=50),
        dict(id="app-after-agent", type="order", first="app-clone", then="app-group"),
    ],
    stonith_levels=[dict(node="node1", index=1, devices=["app-fence"])],
)


@pytest.fixture
def conf():
    return cibxml.configuration(ET.parse(os.path.join(FIXTURES, "cluster.xml")).getroot())


def empty():
    return cibxml.configuration(ET.fromstring(EMPTY_CIB))


def declared(conf, config, **kwargs):
    after = copy.deepcopy(conf)
    declare.Declaration(config, **kwargs).edit(after)
    return changes.ConfigChange(conf, after)


def test_a_declaration_builds_everything_in_one_change():
    change = declared(empty(), APP)
    assert change.changed and change.write is None
    assert change.ids("create") == [
        "cib-bootstrap-options", "app-fence", "app-clone", "app-agent", "app-group", "app-vip",
        "app-web", "app-prefers-node1", "app-after-agent", "rsc-options", "fl-node1-1"]
    conf = change.after_conf
    assert [p.get("id") for p in conf.find("resources/group")] == ["app-vip", "app-web"]
    assert conf.find("resources/clone/primitive").get("id") == "app-agent"
    # Declared again: nothing to do.
    assert declared(conf, APP).changed is False


def test_the_agents_to_check():
    assert declare.Declaration(APP).agents() == [
        "ocf:heartbeat:IPaddr2", "ocf:vigil:Dummy", "ocf:vigil:http", "stonith:fence_dummy"]


def test_merge_leaves_everything_else(conf):
    change = declared(conf, APP)
    assert change.ids("delete") == []
    assert change.ids("update") == ["fl-node1-1"]
    for elem_id in ("vip", "web", "db-group", "web-with-vip", "fl-node1-2"):
        assert cibxml.find_by_id(change.after_conf, elem_id)[0] is not None


def test_replace_removes_what_it_owns_and_no_longer_declares():
    conf = declared(empty(), APP).after_conf
    smaller = dict(APP, resources=[r for r in APP["resources"] if r["id"] not in (
        "app-clone", "app-agent", "app-group")], constraints=APP["constraints"][:0])
    change = declared(conf, smaller, mode="replace", owned=["app-"])
    assert sorted(change.ids("delete")) == sorted([
        "app-clone", "app-agent", "app-group", "app-prefers-node1", "app-after-agent"])
    assert [e.get("id") for e in change.after_conf.find("resources")] == [
        "app-fence", "app-vip", "app-web"]
    # A level is owned through a pattern (its id is generated).
    change = declared(change.after_conf, dict(smaller, stonith_levels=[]), mode="replace",
                      owned=["app-", "^fl-node1-"])
    assert change.ids("delete") == ["fl-node1-1"]


def test_replace_never_removes_what_it_does_not_own(conf):
    before = copy.deepcopy(conf)
    with pytest.raises(VigilError) as err:
        declared(conf, dict(resources=[dict(id="web", agent="ocf:vigil:http")]), mode="replace",
                 owned=["^vip$"])
    assert ("would also remove vip-then-web, web-with-vip, which this play does not own"
            in err.value.message)
    assert cibxml.equal(before, conf)
    change = declared(conf, dict(resources=[dict(id="web", agent="ocf:vigil:http")],
                                 constraints=[]), mode="replace",
                      owned=["^vip$", "web-with", "^vip-then-"])
    assert change.ids("delete") == ["vip", "web-with-vip", "vip-then-web"]


def test_replace_needs_owned():
    with pytest.raises(VigilError) as err:
        declare.Declaration({}, mode="replace")
    assert err.value.message.startswith("owned: mode=replace needs")


@pytest.mark.parametrize("config, words", [
    (dict(resources=[dict(id="a", agent="ocf:vigil:Dummy"), dict(id="a", members=["b"])]),
     "config.resources[1]: 'a' is declared twice (also in config.resources[0])"),
    (dict(resources=[dict(id="a")]), "config.resources[0]: say which kind"),
    (dict(resources=[dict(id="a", kind="bundle")]), "config.resources[0].kind: 'bundle'"),
    (dict(resources=[dict(id="a", agent="ocf:vigil:Dummy", parms={})]),
     "config.resources[0]: unknown option parms"),
    (dict(constraints=[dict(id="c", type="order", first="x")]),
     "config.constraints[0].then: is required"),
    (dict(stonith_levels=[dict(node="n", index=1, devices=["d"]),
                          dict(node="n", index=1, devices=["e"])]),
     "'level n/1' is declared twice"),
    (dict(resource=[]), "config: unknown option resource"),
    (dict(properties=["a"]), "config.properties: expected a dict"),
    (dict(stonith=[dict(id="f", agent="ocf:vigil:Dummy")]),
     "config.stonith[0].agent: 'ocf:vigil:Dummy' is not a fence agent"),
])
def test_bad_declarations_are_refused_before_reading(config, words):
    with pytest.raises(VigilError) as err:
        declare.Declaration(config)
    assert err.value.kind == "invalid" and words in err.value.message, err.value.message


def test_a_missing_reference_is_refused(conf):
    before = copy.deepcopy(conf)
    with pytest.raises(VigilError) as err:
        declared(conf, dict(constraints=[dict(id="c", type="order", first="vip", then="ghost")]))
    assert ("config.constraints[0].then: constraint 'c' names resource 'ghost'"
            in err.value.message)
    assert cibxml.equal(before, conf)


def test_xml_fragment_is_upserted(conf):
    change = declared(conf, {}, xml='<constraints><rsc_ticket id="db-ticket" rsc="db-group" '
                                    'ticket="site-b"/><rsc_ticket id="t2" rsc="vip" '
                                    'ticket="site-a"/></constraints>')
    assert change.ids("create") == ["t2"] and change.ids("update") == ["db-ticket"]


@pytest.mark.parametrize("xml, words", [
    ("<resources><primitive class='ocf'/></resources>",
     "xml: <primitive> in <resources> has no id"),
    ("<status/>", "xml: expected <configuration>"),
    ("<configuration><status/></configuration>", "xml: <status> is not a configuration section"),
    ("<resources>", "xml is not well-formed"),
])
def test_bad_xml(xml, words):
    with pytest.raises(VigilError) as err:
        declare.Declaration({}, xml=xml)
    assert words in err.value.message


def test_cib_info_output_declares_the_same_configuration(conf):
    described = cibdata.configuration(conf)
    supported = dict(described, constraints=[c for c in described["constraints"]
                                             if "xml" not in c])
    assert declared(conf, supported).changed is False
    rebuilt = declared(empty(), supported).after_conf
    again = cibdata.configuration(rebuilt)
    assert sorted(again["resources"], key=lambda r: r["id"]) == sorted(
        described["resources"], key=lambda r: r["id"])
    assert again["stonith"] == described["stonith"]
    assert again["stonith_levels"] == described["stonith_levels"]
    # +INFINITY is written INFINITY: the same score.
    assert again["constraints"][0] == dict(supported["constraints"][0], score="INFINITY")
    assert again["constraints"][1:] == supported["constraints"][1:]
    assert again["properties"] == described["properties"]
