"""Scheduler building blocks: scores, durations, rules, errors, status, action fields."""

from __future__ import annotations

import pytest
from lxml import etree

from vigil.core.scheduler import current_state, schedule
from vigil.core.scheduler.model import Expr, Rule
from vigil.core.scheduler.rules import eval_rule
from vigil.core.scheduler.scores import INFINITY, add, parse_duration_ms, parse_score
from vigil.errors import CibInvalid

UUID = "6a1e9b5c-0d7a-4c63-8a2e-1f0f6b1d2e3a"


def cib(resources: str, constraints: str = "", status: str = "", props: str = "",
        extra: str = "", quorum: str = "1") -> etree._Element:
    text = (
        f'<cib have-quorum="{quorum}" dc-uuid="1" epoch="1" num_updates="0" admin_epoch="0">'
        '<configuration><crm_config><cluster_property_set id="o">'
        '<nvpair id="o1" name="stonith-enabled" value="false"/>' + props +
        '</cluster_property_set></crm_config><nodes><node id="1" uname="node1"/>'
        '<node id="2" uname="node2"/></nodes>'
        f'<resources>{resources}</resources><constraints>{constraints}</constraints>{extra}'
        f'</configuration><status>{status or online("1", "node1") + online("2", "node2")}'
        '</status></cib>')
    return etree.fromstring(text)


def online(nid: str, name: str, lrm: str = "", attrs: str = "") -> str:
    ta = (f'<transient_attributes id="{nid}"><instance_attributes id="s{nid}">{attrs}'
          '</instance_attributes></transient_attributes>') if attrs else ""
    return (f'<node_state id="{nid}" uname="{name}" in_ccm="true" crmd="online" join="member"'
            f' expected="member">{ta}<lrm id="{nid}"><lrm_resources>{lrm}</lrm_resources>'
            '</lrm></node_state>')


def op(rsc: str, task: str, call: int, rc: int = 0, interval: int = 0, target: int = 0,
       reason: str = "") -> str:
    return (f'<lrm_rsc_op id="{rsc}_{task}_{interval}" operation_key="{rsc}_{task}_{interval}"'
            f' operation="{task}" interval="{interval}" call-id="{call}" rc-code="{rc}"'
            f' op-status="0" transition-key="1:1:{target}:{UUID}" exit-reason="{reason}"'
            f' transition-magic="0:{rc};1:1:{target}:{UUID}" last-rc-change="1700000000"/>')


DUMMY = ('<primitive id="web" class="ocf" provider="vigil" type="http">'
         '<instance_attributes id="web-ia"><nvpair id="p2" name="port" value="80"/>'
         '<nvpair id="p1" name="docroot" value="/srv"/></instance_attributes>'
         '<operations><op id="web-start" name="start" interval="0" timeout="1m"/>'
         '<op id="web-mon" name="monitor" interval="10s" timeout="30000ms"/></operations>'
         '</primitive>')


class TestScores:
    def test_infinity_forms_and_integers(self) -> None:
        assert parse_score("INFINITY", "x") == INFINITY
        assert parse_score("+infinity", "x") == INFINITY
        assert parse_score("-INFINITY", "x") == -INFINITY
        assert parse_score("2.0", "x") == 2
        assert parse_score("5000000", "x") == INFINITY

    def test_not_a_number_is_an_error_naming_the_element(self) -> None:
        with pytest.raises(CibInvalid, match="<rsc_location id='l1'>.*'abc'"):
            parse_score("abc", "<rsc_location id='l1'>")

    def test_minus_infinity_beats_plus_infinity(self) -> None:
        assert add(INFINITY, -INFINITY) == -INFINITY
        assert add(INFINITY, 5) == INFINITY
        assert add(999_999, 10) == INFINITY

    @pytest.mark.parametrize("text,ms", [("20s", 20000), ("30000ms", 30000), ("1m", 60000),
                                         ("20", 20000), ("PT10S", 10000), ("1h", 3600000)])
    def test_durations(self, text: str, ms: int) -> None:
        assert parse_duration_ms(text) == ms


class TestRules:
    def test_typed_comparisons_and_or(self) -> None:
        attrs = {"#uname": "node2", "ram": "2048"}
        gt = Expr(id="e1", kind="attr", attribute="ram", operation="gt", value="1024",
                  type="integer")
        eq = Expr(id="e2", kind="attr", attribute="#uname", operation="eq", value="node1")
        assert eval_rule(Rule(id="r", exprs=(gt,)), attrs, 0)
        assert not eval_rule(Rule(id="r", exprs=(gt, eq)), attrs, 0)
        assert eval_rule(Rule(id="r", boolean_op="or", exprs=(gt, eq)), attrs, 0)

    def test_missing_attribute_only_satisfies_ne(self) -> None:
        ne = Expr(id="e", kind="attr", attribute="zone", operation="ne", value="a")
        lt = Expr(id="e", kind="attr", attribute="zone", operation="lt", value="5")
        assert eval_rule(Rule(id="r", exprs=(ne,)), {}, 0)
        assert not eval_rule(Rule(id="r", exprs=(lt,)), {}, 0)


class TestErrors:
    def test_bad_location_score(self) -> None:
        bad = '<rsc_location id="loc1" rsc="web" node="node1" score="high"/>'
        with pytest.raises(CibInvalid, match="rsc_location id='loc1'"):
            schedule(cib(DUMMY, bad), 0)

    def test_constraint_naming_a_missing_resource(self) -> None:
        bad = '<rsc_colocation id="c1" rsc="web" with-rsc="db" score="INFINITY"/>'
        with pytest.raises(CibInvalid, match="rsc_colocation id='c1'.*'db'"):
            schedule(cib(DUMMY, bad), 0)

    def test_primitive_without_type_and_duplicate_ids(self) -> None:
        with pytest.raises(CibInvalid, match="primitive id='x'"):
            schedule(cib('<primitive id="x" class="ocf" provider="p"/>'), 0)
        with pytest.raises(CibInvalid, match="duplicate"):
            schedule(cib(DUMMY + DUMMY), 0)


class TestActionFields:
    def test_start_and_monitor_carry_agent_params_timeouts(self) -> None:
        tr = schedule(cib(DUMMY, '<rsc_location id="l" rsc="web" node="node2" score="10"/>'), 0)
        by_key = {(a.key, a.node): a for a in tr.actions}
        start = by_key[("web_start_0", "node2")]
        assert start.agent is not None and start.agent.spec == "ocf:vigil:http"
        assert start.params == (("docroot", "/srv"), ("port", "80"))
        assert start.timeout_ms == 60000 and start.target_rc == 0
        mon = by_key[("web_monitor_10000", "node2")]
        assert (mon.interval_ms, mon.timeout_ms) == (10000, 30000)
        probe = by_key[("web_monitor_0", "node1")]
        assert probe.is_probe and probe.target_rc == 7 and probe.timeout_ms == 30000
        assert start.id in mon.requires and probe.id in start.requires
        assert tr.placements == {"web": ("node2",)}
        assert tr.summary == ("start web node2",)
        assert tr.scores["primitive"]["web"] == {"node1": 0, "node2": 10}

    def test_op_defaults_timeout(self) -> None:
        extra = ('<op_defaults><meta_attributes id="od"><nvpair id="od1" name="timeout" '
                 'value="45s"/></meta_attributes></op_defaults>')
        prim = '<primitive id="db" class="ocf" provider="heartbeat" type="pgsql"/>'
        tr = schedule(cib(prim, extra=extra), 0)
        assert {a.timeout_ms for a in tr.actions if a.kind == "rsc"} == {45000}

    def test_schedule_is_deterministic_and_leaves_input_alone(self) -> None:
        doc = cib(DUMMY)
        before = etree.tostring(doc)
        assert schedule(doc, 5) == schedule(doc, 5)
        assert etree.tostring(doc) == before


class TestCurrentState:
    def test_nodes_resources_roles_and_failed_ops(self) -> None:
        lrm = ('<lrm_resource id="web" class="ocf" provider="vigil" type="http">'
               + op("web", "start", 2) + op("web", "monitor", 3, rc=7, interval=10000,
                                            reason="no answer")
               + '</lrm_resource>')
        status = (online("1", "node1", lrm, '<nvpair id="a" name="standby" value="on"/>')
                  + '<node_state id="2" uname="node2" in_ccm="false" crmd="offline" '
                  'join="down" expected="down"/>')
        state = current_state(cib(DUMMY, status=status), 0)
        assert state.nodes["node1"].flags() == ["online", "standby"]
        assert state.nodes["node2"].flags() == ["offline"]
        web = state.resources["web"]
        assert (web.running, web.role_name, web.failed) == (("node1",), "Started", True)
        assert web.agent is not None and web.agent.type == "http"
        [failed] = state.failed_ops
        assert (failed.rsc, failed.task, failed.interval_ms, failed.node, failed.rc,
                failed.exit_reason) == ("web", "monitor", 10000, "node1", 7, "no answer")
