"""Pacemaker's ``op-digest`` (issue 5): known answers from Pacemaker 2.1.5 itself, and
Pacemaker's scheduler run on a CIB written by vigil's status writer.

Where the known answers come from (crm_simulate / crm_resource 2.1.5, Debian 12):

* ``op_digest``: ``crm_simulate -x CIB -S --save-output OUT`` on a one-node CIB with every
  resource stopped; each simulated start and monitor is recorded in OUT with the digest
  Pacemaker computes (and ``crm_simulate -x OUT -S`` then proposes nothing).
* ``restart_digest`` / ``secure_digest``: ``CIB_file=OUT crm_resource --digests -r RSC -N
  node1 --output-as xml`` after adding ``op-force-restart`` / ``op-secure-params`` to the
  history entries ("nonreloadable" and "nonprivate" hashes).
* ``escape``: ``crm_xml_escape()`` of libcrmcommon.so.34, called through ctypes.

The crm_simulate tests need ``crm_simulate`` (package pacemaker-cli-utils): skipped when it
is missing, except under ``CI=true`` where they fail instead.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from lxml import etree

from vigil.core import digest as D
from vigil.core import status as S
from vigil.core.graph import Action, Agent
from vigil.core.scheduler import schedule

DUMMY = {"state": "/run/d1.state", "fake": "x y"}
IPADDR = {"ip": "192.0.2.10", "cidr_netmask": "24", "nic": "eth0", "iflabel": "vip"}
ORDER = {"z": "1", "a": "2", "Abc": "3", "_u": "4", "a-b": "5", "a_b": "6", "A": "7", "0n": "8"}
ESCAPE = {"p": "a<b&\"c'd>e"}
CONTROLS = {"t": "a\tb", "n": "a\nb", "r": "a\rb", "d": "a\x7fb"}
UTF8 = {"p": "café", "q": "a&\"<>' é", "r": "日本語"}
FILTERED = {"fake": "1", "pcmk_external_ip": "192.0.2.1", "CRM_meta_timeout": "5",
            "CRM_meta_x": "y", "on_node": "n", "on_node_uuid": "u", "crm_feature_set": "3",
            "op-digest": "d"}
FENCE = {"pcmk_host_list": "node1", "delay": "1", "pcmk_monitor_timeout": "50s"}

# (params, interval_ms, timeout_ms, digest Pacemaker recorded)
KNOWN = {
    "no-params-start": ({}, 0, 20000, "f2317cad3d54cec5d7d7aa7d0bf35cf8"),
    "no-params-monitor": ({}, 10000, 20000, "4811cef7f7f94e3a35a70be7916cb2fd"),
    "dummy-start": (DUMMY, 0, 20000, "647da2f9fb990087ce1274ab3114d8ee"),
    "dummy-monitor": (DUMMY, 10000, 30000, "876528dea52040d60774d310ad80e4b6"),
    "ipaddr2-start": (IPADDR, 0, 20000, "00128ed2b05a532c5f681c65c383c466"),
    "ipaddr2-monitor": (IPADDR, 10000, 20000, "d61c16e3b392f6f3778a8de5fd858cc4"),
    "sort-order-start": (ORDER, 0, 20000, "ba390727c0243bf2750c0dc4f51845d0"),
    "sort-order-monitor": (ORDER, 60000, 120000, "65ffcd53af08cd3572bdf43e3cf67d7b"),
    "escape-start": (ESCAPE, 0, 20000, "3ae5e8ae7209f4709c7d775e89f07d8d"),
    "escape-monitor": (ESCAPE, 15000, 90000, "bbacb3c0d56e3d9af59bda4741f9d0cf"),
    "controls-start": (CONTROLS, 0, 20000, "4554c4276e9cb422b9088f5f7a35aa97"),
    "controls-monitor": (CONTROLS, 5000, 1500, "e1f567858d4d223f06b7247f58accb6f"),
    "spaces-empty-start": ({"s": " a  b ", "e": ""}, 0, 20000,
                           "e57e9ccc554ac51f052c95d6a9df7359"),
    "spaces-empty-monitor": ({"s": " a  b ", "e": ""}, 20000, 20000,
                             "d557209be35971903fc6bd2b5110a558"),
    "utf8-start": (UTF8, 0, 20000, "cf65904df2f6e3fa8e7e701ceaed93e8"),
    "utf8-monitor": (UTF8, 30000, 3600000, "39a8fcee7b451e2cce7430f43df3a2ab"),
    # CRM_meta_timeout=5 configured as a parameter hides the monitor's 20 s timeout
    "filtered-start": (FILTERED, 0, 20000, "2b1b5ccbabbdb96f3f7edb41b0775563"),
    "filtered-monitor": (FILTERED, 10000, 20000, "cd56f3788eb12f2a56a8dbda690f9b88"),
    "stonith-start": (FENCE, 0, 50000, "a69425ec37cf7b94a5943ccee58bf4de"),
    "stonith-monitor": (FENCE, 60000, 20000, "bb507d3948d8f6cca4f6c90cf190013c"),
    "lt": ({"p": "a<b"}, 0, 20000, "90a35e817c45697e1283a9558b735bfb"),
    "amp": ({"p": "a&b"}, 0, 20000, "2f2552dbed991ec77f5ef2de658590a9"),
    "quot": ({"p": 'a"b'}, 0, 20000, "27dbfe6325eb9d665bce75452a6599e4"),
    "apos": ({"p": "a'b"}, 0, 20000, "3c197daabf7a7e8d9d69d3b39a3ee965"),
    "gt": ({"p": "a>b"}, 0, 20000, "9f5c9f5e04eb8f8c8aa0d185f5276111"),
    "empty": ({"p": ""}, 0, 20000, "9f6f094afcb74d4658228bc1f940808b"),
    "tab": ({"p": "a\tb"}, 0, 20000, "2bc77e7d34cd0acc55479522e5a6f538"),
    "newline": ({"p": "a\nb"}, 0, 20000, "143553c7b2793aec688018334aea970d"),
    "del": ({"p": "a\x7fb"}, 0, 20000, "75e792e37d928b3d5fd3e2d12babe4ff"),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_op_digest_matches_pacemaker(name: str) -> None:
    params, interval_ms, timeout_ms, expected = KNOWN[name]
    assert D.op_digest(params.items(), interval_ms, timeout_ms) == expected


def test_canonical_text() -> None:
    assert D.canonical_text({}) == " <parameters/>\n"
    full = D.call_params([("b", "2"), ("a", "<1>"), ("id", "x")], 10000, 30000)
    assert D.canonical_text(D.filter_for_digest(full)) == (
        ' <parameters CRM_meta_timeout="30000" a="&lt;1&gt;" b="2"/>\n')
    # a start's timeout is not part of its digest
    assert D.filter_for_digest(D.call_params([("a", "1")], 0, 30000)) == {"a": "1"}


@pytest.mark.parametrize(("value", "escaped"), [
    ("a<b>&\"'", "a&lt;b&gt;&amp;&quot;&apos;"),
    ("a\tb\nc\rd\x7f\x01", "a    b\\nc\\rd\\177\\001"),
    ("é&x\"q", "é&x\"q"),  # Pacemaker stops escaping at the first multi-byte character
    ("x&é<", "x&amp;é<"),
])
def test_escape_like_crm_xml_escape(value: str, escaped: str) -> None:
    assert D.escape(value) == escaped


def _filtered(params: dict[str, str], interval_ms: int = 0, timeout_ms: int = 20000
              ) -> dict[str, str]:
    return D.filter_for_digest(D.call_params(params.items(), interval_ms, timeout_ms))


def test_restart_and_secure_digests_match_crm_resource() -> None:
    assert D.restart_digest(_filtered(DUMMY), "  state  ") == "860a3efd4bb0c8d314e4be994e685fad"
    assert D.secure_digest(_filtered(DUMMY), "  fake  ") == "860a3efd4bb0c8d314e4be994e685fad"
    assert (D.restart_digest(_filtered(IPADDR), "  ip nic cidr_netmask  ")
            == "1f128da8f65790eb6aeb18b549874394")
    assert (D.secure_digest(_filtered(IPADDR), "  iflabel nic  ")
            == "ae06a3ac7cfcb6a2ecf8efb773617766")
    assert D.restart_digest(_filtered(ORDER), "") == "f2317cad3d54cec5d7d7aa7d0bf35cf8"
    # the scheduler's secure digest of a monitor leaves out CRM_meta_timeout
    mon = _filtered(ESCAPE, 15000, 90000)
    assert D.secure_digest(mon, "  q  ") == "3ae5e8ae7209f4709c7d775e89f07d8d"
    assert D.secure_digest(mon, "  p  ") == "f2317cad3d54cec5d7d7aa7d0bf35cf8"
    assert D.word_list(["ip", "nic"]) == "  ip nic  "
    assert D.word_list([]) == ""


def test_status_writer_records_pacemaker_digest() -> None:
    cib = etree.fromstring(b"<cib><configuration/><status/></cib>")
    agent = Agent("ocf", "heartbeat", "IPaddr2")
    for interval_ms, expected in ((0, KNOWN["ipaddr2-start"][3]),
                                  (10000, KNOWN["ipaddr2-monitor"][3])):
        action = Action(id=1, kind="rsc", key=f"ip_{'monitor' if interval_ms else 'start'}_"
                        f"{interval_ms}", task="monitor" if interval_ms else "start",
                        node="node1", rsc="ip", agent=agent, interval_ms=interval_ms,
                        timeout_ms=20000, params=tuple(sorted(IPADDR.items())))
        S.record_op(cib, S.OpRecord(action=action, node_id=1, node="node1", rc=0,
                                    op_status=0, exit_reason="", call_id=3, transition_id=1,
                                    exec_ms=5, wall_s=1_700_000_000, uuid="u"))
        op = cib.find(f".//lrm_rsc_op[@interval='{interval_ms}']")
        assert op is not None and op.get("op-digest") == expected


# --- crm_simulate on a CIB written by vigil ------------------------------------------------

NOW_S = 1_750_000_000
NODES = ("node1", "node2", "node3")


def _crm_simulate() -> str:
    found = shutil.which("crm_simulate") or shutil.which("crm_simulate", path="/usr/sbin:/sbin")
    if found is None:
        reason = "crm_simulate not found (apt-get install pacemaker-cli-utils)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def _attrs(kind: str, owner: str, pairs: dict[str, str]) -> str:
    if not pairs:
        return ""
    nvs = "".join(f'<nvpair id="{owner}-{kind}-{k}" name="{k}" value={quoteattr(v)}/>'
                  for k, v in pairs.items())
    return f'<{kind} id="{owner}-{kind}">{nvs}</{kind}>'


def _primitive(rid: str, agent: str, params: dict[str, str] | None = None,
               meta: dict[str, str] | None = None, ops: str = "") -> str:
    cls, *rest = agent.split(":")
    provider = f' provider="{rest[0]}"' if len(rest) == 2 else ""
    return (f'<primitive id="{rid}" class="{cls}"{provider} type="{rest[-1]}">'
            f'{_attrs("instance_attributes", rid, params or {})}'
            f'{_attrs("meta_attributes", rid, meta or {})}<operations>{ops}</operations>'
            "</primitive>")


def _op(rid: str, name: str, interval: str, timeout: str | None = None, role: str = "") -> str:
    t = f' timeout="{timeout}"' if timeout else ""
    r = f' role="{role}"' if role else ""
    return f'<op id="{rid}-{name}-{interval}{role}" name="{name}" interval="{interval}"{t}{r}/>'


RESOURCES = "".join([
    _primitive("d1", "ocf:heartbeat:Dummy", DUMMY, ops=_op("d1", "monitor", "10s", "30s")),
    _primitive("d2", "ocf:pacemaker:Dummy", meta={"resource-stickiness": "100"},
               ops=_op("d2", "monitor", "15s") + _op("d2", "start", "0s", "45s")
               + _op("d2", "stop", "0", "1min")),
    _primitive("ip", "ocf:heartbeat:IPaddr2", IPADDR, ops=_op("ip", "monitor", "10s", "20s")),
    _primitive("odd", "ocf:pacemaker:Dummy", {**ESCAPE, **CONTROLS, "e": "", "u": "café"},
               ops=_op("odd", "monitor", "1min", "2min")),
    _primitive("fence1", "stonith:fence_dummy", {"pcmk_host_list": " ".join(NODES),
                                                 "delay": "1"},
               ops=_op("fence1", "monitor", "60s")),
    # group- and clone-level instance attributes reach the members (theirs win), and an
    # nvpair without a value sets nothing: what the agent gets is what the digest covers
    '<group id="g">',
    _attrs("instance_attributes", "g", {"passwd": "from-group", "fake": "overridden"}),
    _primitive("g1", "ocf:pacemaker:Dummy", {"fake": "g"}, ops=_op("g1", "monitor", "10s")),
    _primitive("g2", "ocf:heartbeat:IPaddr2", {"ip": "192.0.2.11"},
               ops=_op("g2", "monitor", "5s", "1500ms")),
    '</group><clone id="cl">',
    _attrs("instance_attributes", "cl", {"op_sleep": "1"}),
    _primitive("cd", "ocf:pacemaker:Dummy", {"fake": "clone"},
               ops=_op("cd", "monitor", "20s", "40s")),
    '</clone><clone id="ms">',
    _attrs("meta_attributes", "ms", {"promotable": "true"}),
    _primitive("st", "ocf:pacemaker:Stateful", {"state": "/run/st"},
               ops=_op("st", "monitor", "10s", "20s", "Promoted")
               + _op("st", "monitor", "11s", "", "Unpromoted")),
    "</clone>",
])
OP_DEFAULTS = ('<op_defaults><meta_attributes id="opd"><nvpair id="opd-t" name="timeout" '
               'value="33s"/></meta_attributes></op_defaults>')


def _config() -> etree._Element:
    nodes = "".join(f'<node id="{i}" uname="{n}"/>' for i, n in enumerate(NODES, 1))
    return etree.fromstring(
        '<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.7" epoch="7" '
        'num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1"><configuration>'
        '<crm_config><cluster_property_set id="opts"/></crm_config>'
        f"<nodes>{nodes}</nodes><resources>{RESOURCES}</resources><constraints/>"
        f"{OP_DEFAULTS}</configuration><status/></cib>")


def _converge(cib: etree._Element) -> etree._Element:
    """Run vigil's transitions, every action succeeding, through vigil's status writer."""
    ids = {name: i for i, name in enumerate(NODES, 1)}
    for name, nid in ids.items():
        S.set_member(cib, nid, name, True)
    call_id = 0
    for transition_id in range(1, 6):
        actions = [a for a in schedule(cib, NOW_S).actions if a.kind == "rsc"]
        if not actions:
            return cib
        done: set[int] = set()
        pending = {a.id: a for a in actions}
        known = set(pending)
        while pending:  # in dependency order, so call ids follow the graph
            ready = [a for a in pending.values() if not (a.requires & known) - done]
            assert ready, "dependency cycle"
            for a in ready:
                call_id += 1
                rc = 7 if a.is_probe else a.target_rc
                assert a.node is not None
                S.record_op(cib, S.OpRecord(
                    action=a, node_id=ids[a.node], node=a.node, rc=rc, op_status=0,
                    exit_reason="", call_id=call_id, transition_id=transition_id, exec_ms=10,
                    wall_s=NOW_S + call_id, uuid="6a1e9b5c-0d7a-4c63-8a2e-1f0f6b1d2e3a"))
                done.add(a.id)
                del pending[a.id]
    raise AssertionError("vigil's scheduler did not settle in 5 transitions")


@pytest.fixture(scope="module")
def settled() -> etree._Element:
    return _converge(_config())


def _pacemaker_actions(cib: etree._Element, tmp: Path) -> set[str]:
    """Executor actions of crm_simulate's transition graph: "<operation_key> <node>"."""
    binary = _crm_simulate()
    path, graph = tmp / "cib.xml", tmp / "graph.xml"
    path.write_bytes(etree.tostring(cib))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIB_")}
    env["CIB_shadow_dir"] = str(tmp)
    proc = subprocess.run([binary, "-x", str(path), "-S", "-G", str(graph), "-Q"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and graph.exists(), proc.stderr[-2000:]
    return {f"{op.get('operation_key')} {op.get('on_node')}"
            for op in etree.parse(str(graph)).iter("rsc_op")}


def test_pacemaker_proposes_nothing_on_a_cib_written_by_vigil(
        settled: etree._Element, tmp_path: Path) -> None:
    assert _pacemaker_actions(settled, tmp_path) == set()


def _running_on(cib: etree._Element, rsc: str) -> str:
    for op in cib.iter("lrm_rsc_op"):
        if op.get("id") == f"{rsc}_last_0" and op.get("operation") == "start":
            return str(op.get("on_node"))
    raise AssertionError(f"{rsc} not started")


def _set(cib: etree._Element, xpath: str, attr: str, value: str) -> None:
    (el,) = cib.xpath(xpath)
    el.set(attr, value)


@pytest.mark.parametrize(("change", "xpath", "attr", "value", "expected"), [
    ("parameter", "//primitive[@id='d1']//nvpair[@name='fake']", "value", "changed",
     {"d1_stop_0", "d1_start_0", "d1_monitor_10000"}),
    ("IPaddr2 parameter", "//primitive[@id='ip']//nvpair[@name='nic']", "value", "eth1",
     {"ip_stop_0", "ip_start_0", "ip_monitor_10000"}),
    ("fencing parameter", "//primitive[@id='fence1']//nvpair[@name='delay']", "value", "2",
     {"fence1_stop_0", "fence1_start_0", "fence1_monitor_60000"}),
    ("monitor timeout", "//op[@id='d1-monitor-10s']", "timeout", "31s", {"d1_monitor_10000"}),
    ("start timeout", "//op[@id='d2-start-0s']", "timeout", "46s", set()),
    ("meta-attribute", "//primitive[@id='d2']//nvpair[@name='resource-stickiness']", "value",
     "200", set()),
])
def test_pacemaker_compares_the_digests(
        settled: etree._Element, tmp_path: Path, change: str, xpath: str, attr: str,
        value: str, expected: set[str]) -> None:
    cib = copy.deepcopy(settled)
    _set(cib, xpath, attr, value)
    rsc = next(iter(expected)).split("_")[0] if expected else ""
    node = _running_on(cib, rsc) if rsc else ""
    assert _pacemaker_actions(cib, tmp_path) == {f"{k} {node}" for k in expected}, change
