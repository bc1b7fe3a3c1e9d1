# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Rendering a primitive from module parameters and planning against a CIB."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import cib
from ansible_collections.vigil.cluster.plugins.module_utils import primitive
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

EMPTY = ET.fromstring('<cib epoch="1" admin_epoch="0" num_updates="0"><configuration>'
                      '<resources/><constraints/></configuration></cib>')


def spec(rsc_id="web", agent="ocf:vigil:http", params=None, meta=None, ops=None):
    return primitive.PrimitiveSpec(rsc_id, agent, params, meta, ops)


WEB = dict(params={"docroot": "/srv/www", "port": 8080}, meta={"resource-stickiness": 100},
           ops=[{"name": "monitor", "interval": "10s", "timeout": "20s"},
                {"name": "start", "interval": 0, "timeout": 30}])


@pytest.mark.parametrize("text, parts", [
    ("ocf:vigil:http", ("ocf", "vigil", "http")),
    ("stonith:fence_dummy", ("stonith", None, "fence_dummy")),
    ("systemd:nginx@main.service", ("systemd", None, "nginx@main.service")),
])
def test_parse_agent(text, parts):
    agent = primitive.parse_agent(text)
    assert (agent.klass, agent.provider, agent.type) == parts
    assert str(agent) == text


@pytest.mark.parametrize("text", ["http", "ocf:http", "ocf:vigil:http:x", "foo:bar",
                                  "stonith:a:b", "ocf::http", "ocf:vi gil:http", ""])
def test_parse_agent_rejects(text):
    with pytest.raises(VigilError) as err:
        primitive.parse_agent(text)
    assert err.value.kind == "invalid"


def test_render_new_primitive_with_pacemaker_style_ids():
    elem = primitive.render(spec(**WEB))
    assert cib.to_text(elem) == """\
<primitive id="web" class="ocf" provider="vigil" type="http">
  <instance_attributes id="web-instance_attributes">
    <nvpair id="web-instance_attributes-docroot" name="docroot" value="/srv/www"/>
    <nvpair id="web-instance_attributes-port" name="port" value="8080"/>
  </instance_attributes>
  <meta_attributes id="web-meta_attributes">
    <nvpair id="web-meta_attributes-resource-stickiness" name="resource-stickiness" value="100"/>
  </meta_attributes>
  <operations>
    <op id="web-monitor-interval-10s" name="monitor" interval="10s" timeout="20s"/>
    <op id="web-start-interval-0s" name="start" interval="0s" timeout="30s"/>
  </operations>
</primitive>"""


def test_render_is_deterministic():
    assert cib.to_text(primitive.render(spec(**WEB))) == cib.to_text(primitive.render(spec(**WEB)))


def test_stonith_primitive_has_no_provider():
    elem = primitive.render(spec("fence1", "stonith:fence_dummy"))
    assert elem.attrib == {"id": "fence1", "class": "stonith", "type": "fence_dummy"}


def test_values_are_rendered_as_pacemaker_text():
    elem = primitive.render(spec(params={"on": True, "off": False, "n": 3, "f": 1.5}))
    values = dict((nv.get("name"), nv.get("value")) for nv in elem.iter("nvpair"))
    assert values == {"on": "true", "off": "false", "n": "3", "f": "1.5"}


def test_odd_parameter_names_give_valid_ids():
    elem = primitive.render(spec(params={"a b:c": "x"}))
    assert elem.find("instance_attributes/nvpair").get("id") == "web-instance_attributes-a_b_c"


def test_generated_ids_avoid_ids_in_use():
    cib_root = ET.fromstring(
        '<cib epoch="1"><configuration><resources/><constraints>'
        '<rsc_location id="web-instance_attributes" rsc="x" node="n" score="1"/>'
        '<rsc_location id="web-monitor-interval-10s" rsc="x" node="n" score="1"/>'
        '</constraints></configuration></cib>')
    plan = primitive.plan(cib_root, spec(**WEB))
    assert plan.after.find("instance_attributes").get("id") == "web-instance_attributes-1"
    assert plan.after.find("operations/op").get("id") == "web-monitor-interval-10s-1"


def test_plan_create(fixture_xml):
    plan = primitive.plan(EMPTY, spec(**WEB))
    assert plan.changed and plan.action == "create" and plan.before is None


def test_plan_same_resource_written_differently_is_no_change(fixture_xml):
    cib_root = fixture_xml("web.xml")
    ops = [{"name": "start", "interval": "0", "timeout": "30000ms"},
           {"name": "monitor", "interval": 10, "timeout": "PT20S"}]
    plan = primitive.plan(cib_root, spec(params={"port": "8080", "docroot": "/srv/www"},
                                         meta={"resource-stickiness": "100"}, ops=ops))
    assert not plan.changed and plan.action == "none"


def test_plan_omitted_options_keep_what_is_there(fixture_xml):
    plan = primitive.plan(fixture_xml("web.xml"), spec())
    assert not plan.changed


def test_update_in_place_keeps_ids_and_unmanaged_children(fixture_xml):
    plan = primitive.plan(fixture_xml("web.xml"), spec(params={"docroot": "/srv/www", "port": 9090,
                                                               "ip": "127.0.0.1"}))
    assert plan.changed and plan.action == "update"
    after = plan.after
    assert after.get("id") == "web"
    ids = dict((nv.get("name"), nv.get("id")) for nv in after.find("instance_attributes"))
    assert ids == {"docroot": "web-instance_attributes-docroot",
                   "port": "web-instance_attributes-port",
                   "ip": "web-instance_attributes-ip"}
    assert after.find("utilization/nvpair").get("name") == "cpu"
    assert after.find("meta_attributes") is not None
    assert len(after.findall("operations/op")) == 2


def test_ids_of_foreign_resources_are_adopted():
    cib_root = ET.fromstring(
        '<cib epoch="1"><configuration><resources>'
        '<primitive id="web" class="ocf" provider="vigil" type="http">'
        '<instance_attributes id="web-params"><nvpair id="p1" name="port" value="80"/>'
        '</instance_attributes><operations><op id="mon" name="monitor" interval="10"/>'
        '</operations></primitive></resources></configuration></cib>')
    plan = primitive.plan(cib_root, spec(params={"port": 80},
                                         ops=[{"name": "monitor", "interval": "10s"}]))
    assert not plan.changed
    plan = primitive.plan(cib_root, spec(params={"port": 81},
                                         ops=[{"name": "monitor", "interval": "10s", "timeout": 5}]))
    assert plan.after.find("instance_attributes").get("id") == "web-params"
    assert plan.after.find("instance_attributes/nvpair").get("id") == "p1"
    assert plan.after.find("operations/op").get("id") == "mon"


def test_empty_params_remove_the_set(fixture_xml):
    plan = primitive.plan(fixture_xml("web.xml"), spec(params={}, ops=[]))
    assert plan.after.find("instance_attributes") is None
    assert plan.after.find("operations") is None
    assert plan.after.find("meta_attributes") is not None


def test_agent_change_is_an_update(fixture_xml):
    plan = primitive.plan(fixture_xml("web.xml"), spec(agent="ocf:heartbeat:apache"))
    assert plan.action == "update" and plan.after.get("provider") == "heartbeat"


def test_plan_absent(fixture_xml):
    plan = primitive.plan(fixture_xml("web.xml"), "web", state="absent")
    assert plan.action == "delete" and plan.after is None
    plan = primitive.plan(EMPTY, "web", state="absent")
    assert not plan.changed and plan.action == "none"


def test_id_used_by_another_kind_of_element(fixture_xml):
    with pytest.raises(VigilError) as err:
        primitive.plan(fixture_xml("web.xml"), spec("g1"))
    assert err.value.kind == "invalid" and "<group>" in err.value.message


def test_status_section_ids_do_not_count(fixture_xml):
    # lrm_resource ids in the status section repeat resource ids by design.
    plan = primitive.plan(fixture_xml("web.xml"), "web", state="absent")
    assert plan.before.tag == "primitive"


def test_group_member_reports_its_parent(fixture_xml):
    plan = primitive.plan(fixture_xml("web.xml"), spec("vip", "ocf:heartbeat:IPaddr2"))
    assert not plan.changed
    assert primitive.describe(plan.after, plan.parent)["parent"] == "g1"


def test_describe(fixture_xml):
    prim = fixture_xml("web.xml").find("configuration/resources/primitive")
    described = primitive.describe(prim)
    assert described["agent"] == "ocf:vigil:http"
    assert described["params"] == {"docroot": "/srv/www", "port": "8080"}
    assert described["meta"] == {"resource-stickiness": "100"}
    assert [op["name"] for op in described["ops"]] == ["monitor", "start"]
    assert described["parent"] is None
    assert primitive.describe(None) is None


@pytest.mark.parametrize("ops, words", [
    ([{"interval": "10s"}], "'name' is required"),
    ([{"name": "monitor", "interval": "10x"}], "ops[0].interval"),
    ([{"name": "monitor", "interval": True}], "ops[0].interval"),
    ([{"name": "monitor", "timeout": "soon"}], "ops[0].timeout"),
    ([{"name": "monitor", "interval": "10s"}, {"name": "monitor", "interval": "10000ms"}],
     "duplicates ops[0]"),
    ([{"name": "monitor", "bad key": 1}], "not a valid op attribute name"),
    ([{"name": "monitor", "on-fail": ["x"]}], "ops[0].on-fail"),
    (["monitor"], "expected a dict"),
    ([{"name": "monitor", "id": "1bad"}], "not a valid XML id"),
])
def test_invalid_ops(ops, words):
    with pytest.raises(VigilError) as err:
        spec(ops=ops)
    assert err.value.kind == "invalid" and words in err.value.message


def test_same_name_different_roles_are_two_ops():
    ops = primitive.normalize_ops([{"name": "monitor", "interval": "10s", "role": "Promoted"},
                                   {"name": "monitor", "interval": "10s", "role": "Unpromoted"}])
    assert len(ops) == 2


@pytest.mark.parametrize("kwargs, words", [
    (dict(rsc_id="1web"), "not a valid XML id"),
    (dict(params={"x": None}), "params.x"),
    (dict(meta={"x": [1]}), "meta.x"),
    (dict(params={"": "v"}), "empty name"),
])
def test_invalid_spec(kwargs, words):
    with pytest.raises(VigilError) as err:
        spec(**kwargs)
    assert words in err.value.message


def test_plan_absent_lists_what_goes_with_the_resource():
    cib_root = ET.fromstring(
        '<cib epoch="1"><configuration><resources>'
        '<group id="g"><primitive id="a" class="ocf" provider="vigil" type="Dummy"/>'
        '<primitive id="b" class="ocf" provider="vigil" type="Dummy"/></group>'
        '</resources><constraints>'
        '<rsc_location id="l1" rsc="a" node="n1" score="10"/>'
        '<rsc_location id="l2" rsc="g" node="n1" score="10"/>'
        '</constraints></configuration></cib>')
    plan = primitive.plan(cib_root, "a", state="absent")
    assert plan.removed_ids == ["a", "l1"]
    cib_root.find(".//primitive[@id='b']").set("id", "b")
    group = cib_root.find(".//group")
    group.remove(group.find("primitive[@id='b']"))
    plan = primitive.plan(cib_root, "a", state="absent")
    assert plan.removed_ids == ["g", "l1", "l2"]
