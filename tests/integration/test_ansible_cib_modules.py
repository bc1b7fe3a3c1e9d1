"""The CIB-object modules of vigil.cluster against a live 3-node loopback cluster.

One cluster for the whole file; each test runs one playbook (several modules, all through
the action group's module_defaults) and checks what a user checks: changed on the first
run and not on the second, check mode predicts and writes nothing (the CIB version stays),
diff mode shows before and after, updates in place, deletes, and bad input fails with a
message naming what is wrong while the configuration stays byte-identical. Writes go
through one node and are read back through another.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from vigil.testing.loop import LoopCluster

from .ansible_run import playbook

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

Task = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopCluster]:
    c = LoopCluster(tmp_path_factory.mktemp("cib-modules"), size=3)
    try:
        c.start()
        c.wait_quorate()
        # No working fence device on loopback: without this, nothing may start.
        assert c.vigilctl("node1", "property", "set", "stonith-enabled", "false").returncode == 0
        yield c
    finally:
        c.close()


def task(name: str, module: str, check: bool = False, diff: bool = False,
         **params: Any) -> Task:
    body: dict[str, Any] = {f"vigil.cluster.{module}": params}
    if check:
        body["check_mode"] = True
    if diff:
        body["diff"] = True
    return name, body


def play(tmp_path: Path, cluster: LoopCluster, tasks: list[Task],
         node: str = "node1") -> dict[str, dict[str, Any]]:
    """Run ``tasks`` in one playbook against ``node``'s socket; their results by name."""
    out = tmp_path / "results.json"
    out.unlink(missing_ok=True)
    body = []
    for index, (name, spec) in enumerate(tasks):
        body.append({"name": name, **spec, "register": f"r{index}", "ignore_errors": True})
    names = json.dumps([name for name, _spec in tasks])
    values = ", ".join(f"r{i}" for i in range(len(tasks)))
    body.append({"name": "save the results", "check_mode": False, "ansible.builtin.copy": {
        "content": f"{{{{ dict({names} | zip([{values}])) | to_json }}}}",
        "dest": str(out), "mode": "0644"}})
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump([{
        "name": "CIB modules", "hosts": "localhost", "gather_facts": False,
        "module_defaults": {"group/vigil.cluster.cluster": {"socket": str(cluster.socket(node))}},
        "tasks": body}], sort_keys=False))
    proc = playbook(path, inventory="localhost,", extra_vars={
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable})
    if not out.exists():
        raise AssertionError(f"ansible-playbook failed ({proc.returncode}):\n"
                             f"{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
    results: dict[str, dict[str, Any]] = json.loads(out.read_text())
    return results


def configuration(cluster: LoopCluster, node: str = "node2") -> str:
    return str(cluster.ctl(node, "cib_get", scope="configuration")["xml"])


def conf(cluster: LoopCluster, node: str = "node2") -> ET.Element:
    wait_replicated(cluster)
    return ET.fromstring(configuration(cluster, node))


def wait_replicated(cluster: LoopCluster) -> None:
    def same() -> bool:
        return len({tuple(cluster.status(n)["version"][:2]) for n in cluster.running()}) == 1

    cluster.wait(same, 10, "every node at the same CIB version")


def ok(result: dict[str, Any], changed: bool) -> dict[str, Any]:
    assert result.get("failed") is not True, result
    assert result["changed"] is changed, result
    return result


def epoch(result: dict[str, Any]) -> list[int]:
    return list(result["version"][:2])


def top_level(root: ET.Element) -> list[str]:
    return [str(e.get("id")) for e in root.find("resources") or []]


def put(cluster: LoopCluster, section: str, xml: str) -> None:
    """Set up what a test needs straight through the control API (no Ansible)."""
    cluster.ctl("node1", "cib_put", section=section, xml=xml, mode="upsert")


def dummy_xml(rsc_id: str) -> str:
    return (f'<primitive id="{rsc_id}" class="ocf" provider="vigil" type="Dummy">'
            f'<meta_attributes id="{rsc_id}-meta_attributes"><nvpair '
            f'id="{rsc_id}-meta_attributes-target-role" name="target-role" value="Stopped"/>'
            '</meta_attributes></primitive>')


def fence_xml(rsc_id: str, hosts: str) -> str:
    return (f'<primitive id="{rsc_id}" class="stonith" type="fence_dummy"><instance_attributes '
            f'id="{rsc_id}-instance_attributes"><nvpair id="{rsc_id}-instance_attributes-hosts" '
            f'name="pcmk_host_list" value="{hosts}"/></instance_attributes></primitive>')


def dummy(rsc_id: str, **extra: Any) -> Task:
    return task(f"primitive {rsc_id}", "cib_resource", id=rsc_id, agent="ocf:vigil:Dummy",
                **extra)


def test_groups_and_clones(tmp_path: Path, cluster: LoopCluster) -> None:
    r = play(tmp_path, cluster, [
        dummy("ga"), dummy("gb"), dummy("gc", meta={"target-role": "Stopped"}),
        task("predict group", "cib_group", check=True, id="grp", members=["ga", "gb"]),
        task("info after check", "cib_info"),
        task("create group", "cib_group", diff=True, id="grp", members=["ga", "gb"]),
        task("group again", "cib_group", id="grp", members=["ga", "gb"]),
        task("reorder and add", "cib_group", id="grp", members=["gb", "ga", "gc"],
             meta={"target-role": "Started"}),
        task("release gc", "cib_group", id="grp", members=["gb", "ga"]),
        task("predict clone", "cib_clone", check=True, id="grp-clone", resource="grp"),
        task("clone", "cib_clone", diff=True, id="grp-clone", resource="grp",
             meta={"clone-max": 2}),
        task("clone again", "cib_clone", id="grp-clone", resource="grp", meta={"clone-max": 2}),
        task("promotable", "cib_clone", id="grp-clone", promotable=True,
             meta={"clone-max": 2, "target-role": "Stopped"}),
    ])
    predicted = ok(r["predict group"], True)
    assert predicted["action"] == "create" and predicted["group"]["members"] == ["ga", "gb"]
    info = ok(r["info after check"], False)
    assert epoch(info) == epoch(predicted), "check mode wrote to the CIB"
    assert "grp" not in [x["id"] for x in info["config"]["resources"]]

    created = ok(r["create group"], True)
    assert created["action"] == "create" and created["created"] == ["grp"]
    assert created["updated"] == ["ga", "gb"]
    assert 'id="ga"' in created["diff"]["before"] and '<group id="grp">' not in created[
        "diff"]["before"]
    assert created["diff"]["after"].startswith('<group id="grp">')
    assert ok(r["group again"], False)["action"] == "none"

    reordered = ok(r["reorder and add"], True)
    assert reordered["group"] == dict(id="grp", members=["gb", "ga", "gc"],
                                      meta={"target-role": "Started"}, parent=None)
    assert ok(r["release gc"], True)["group"]["members"] == ["gb", "ga"]

    ok(r["predict clone"], True)
    cloned = ok(r["clone"], True)
    assert cloned["clone"] == dict(id="grp-clone", resource="grp", promotable=False,
                                   meta={"clone-max": "2"})
    assert '<clone id="grp-clone">' in cloned["diff"]["after"]
    assert epoch(cloned)[1] == epoch(r["release gc"])[1] + 1, "check mode wrote to the CIB"
    ok(r["clone again"], False)
    assert ok(r["promotable"], True)["clone"]["promotable"] is True

    root = conf(cluster)
    clone = root.find("resources/clone[@id='grp-clone']")
    assert clone is not None
    assert [p.get("id") for p in clone.findall("group/primitive")] == ["gb", "ga"]
    assert clone.find("meta_attributes/nvpair[@name='promotable']").get("value") == "true"
    assert top_level(root)[-2:] == ["grp-clone", "gc"]

    r = play(tmp_path, cluster, [
        task("unwrap", "cib_clone", diff=True, id="grp-clone", state="absent"),
        task("unwrap again", "cib_clone", id="grp-clone", state="absent"),
        task("ungroup", "cib_group", id="grp", state="absent"),
        task("group to delete", "cib_group", id="grp2", members=["gc"]),
        task("delete with members", "cib_group", id="grp2", state="absent", delete_members=True),
    ], node="node3")
    unwrapped = ok(r["unwrap"], True)
    assert unwrapped["action"] == "delete" and unwrapped["removed"] == ["grp-clone"]
    assert unwrapped["diff"]["after"].startswith('<group id="grp">')
    ok(r["unwrap again"], False)
    assert ok(r["ungroup"], True)["removed"] == ["grp"]
    deleted = ok(r["delete with members"], True)
    assert deleted["removed"] == ["grp2", "gc"] and deleted["group"] is None
    root = conf(cluster)
    assert [i for i in top_level(root) if i.startswith("g")] == ["gb", "ga"]


def test_constraints(tmp_path: Path, cluster: LoopCluster) -> None:
    location = dict(id="ca-prefers-node2", type="location", resource="ca", node="node2",
                    score=100)
    r = play(tmp_path, cluster, [
        dummy("ca"), dummy("cb"),
        task("predict", "cib_constraint", check=True, **location),
        task("info", "cib_info"),
        task("location", "cib_constraint", diff=True, **location),
        task("location again", "cib_constraint", **location),
        task("new score", "cib_constraint", diff=True, **dict(location, score="-INFINITY")),
        task("same meaning", "cib_constraint", **dict(location, score="-infinity")),
        task("rules", "cib_constraint", id="cb-on-big-nodes", type="location", resource="cb",
             rules=[{"score": 50, "boolean_op": "or", "expressions": [
                 {"attribute": "#uname", "operation": "eq", "value": "node3"},
                 {"attribute": "memory", "operation": "gte", "value": 4096,
                  "type": "integer"}]}]),
        task("rules again", "cib_constraint", id="cb-on-big-nodes", type="location",
             resource="cb", rules=[{"score": 50, "boolean_op": "or", "expressions": [
                 {"attribute": "#uname", "operation": "eq", "value": "node3"},
                 {"attribute": "memory", "operation": "gte", "value": "4096",
                  "type": "integer"}]}]),
        task("colocation", "cib_constraint", id="cb-with-ca", type="colocation", resource="cb",
             with_resource="ca", score=200),
        task("order", "cib_constraint", id="ca-then-cb", type="order", first="ca", then="cb",
             kind="Optional", symmetrical=False),
        task("order again", "cib_constraint", id="ca-then-cb", type="order", first="ca",
             then="cb", kind="Optional", symmetrical=False),
        task("delete", "cib_constraint", diff=True, id="ca-then-cb", state="absent"),
        task("delete again", "cib_constraint", id="ca-then-cb", state="absent"),
    ], node="node2")
    assert ok(r["predict"], True)["action"] == "create"
    assert epoch(ok(r["info"], False)) == epoch(r["predict"])
    created = ok(r["location"], True)
    assert created["constraint"] == dict(id="ca-prefers-node2", type="location", resource="ca",
                                         node="node2", score="100")
    assert created["diff"]["before"] == ""
    assert created["diff"]["after"] == ('<rsc_location id="ca-prefers-node2" node="node2" '
                                        'rsc="ca" score="100"/>\n')
    ok(r["location again"], False)
    changed = ok(r["new score"], True)
    assert changed["action"] == "update" and 'score="-INFINITY"' in changed["diff"]["after"]
    ok(r["same meaning"], False)
    assert ok(r["rules"], True)["constraint"]["rules"][0]["expressions"][1]["value"] == "4096"
    ok(r["rules again"], False)
    ok(r["colocation"], True)
    ok(r["order"], True)
    ok(r["order again"], False)
    deleted = ok(r["delete"], True)
    assert deleted["action"] == "delete" and deleted["constraint"] is None
    assert 'id="ca-then-cb"' in deleted["diff"]["before"] and deleted["diff"]["after"] == ""
    ok(r["delete again"], False)

    constraints = conf(cluster, "node1").find("constraints")
    rule = constraints.find("rsc_location[@id='cb-on-big-nodes']/rule")
    assert rule.get("id") == "cb-on-big-nodes-rule" and rule.get("boolean-op") == "or"
    assert [e.get("id") for e in rule] == ["cb-on-big-nodes-rule-expr",
                                           "cb-on-big-nodes-rule-expr-1"]
    assert constraints.find("rsc_colocation[@id='cb-with-ca']").get("with-rsc") == "ca"
    assert constraints.find("rsc_order") is None


def test_properties_fencing_and_levels(tmp_path: Path, cluster: LoopCluster) -> None:
    device = dict(id="fence-one", agent="fence_dummy",
                  params={"pcmk_host_list": "node1", "pcmk_delay_max": "2s"},
                  ops=[{"name": "monitor", "interval": "60s"}])
    r = play(tmp_path, cluster, [
        task("predict property", "cib_property", check=True,
             properties={"no-quorum-policy": "stop", "cluster-recheck-interval": "2min"}),
        task("info", "cib_info"),
        task("property", "cib_property", diff=True,
             properties={"no-quorum-policy": "stop", "cluster-recheck-interval": "2min"}),
        task("property again", "cib_property", properties={"no-quorum-policy": "stop"}),
        task("rsc defaults", "cib_property", scope="rsc_defaults",
             properties={"resource-stickiness": 50}),
        task("op defaults", "cib_property", scope="op_defaults", properties={"timeout": "30s"}),
        task("node attribute", "cib_property", scope="node", node="node2",
             properties={"rack": "r2"}),
        task("remove property", "cib_property", state="absent",
             properties={"cluster-recheck-interval": None}),
        task("predict device", "cib_stonith", check=True, **device),
        task("device", "cib_stonith", diff=True, **device),
        task("device again", "cib_stonith", **device),
        task("device update", "cib_stonith", id="fence-one", agent="stonith:fence_dummy",
             params={"pcmk_host_list": "node1 node2"}),
        task("second device", "cib_stonith", id="fence-two", agent="fence_dummy",
             params={"pcmk_host_list": "node2"}),
        task("level", "cib_stonith_level", diff=True, node="node2", index=1,
             devices=["fence-two"]),
        task("level again", "cib_stonith_level", node="node2", index=1, devices=["fence-two"]),
        task("level update", "cib_stonith_level", node="node2", index=1,
             devices=["fence-two", "fence-one"]),
        task("device in use", "cib_stonith", id="fence-two", state="absent"),
        task("level delete", "cib_stonith_level", node="node2", index=1, state="absent"),
        task("device delete", "cib_stonith", id="fence-two", state="absent"),
        task("final info", "cib_info"),
    ], node="node3")
    predicted = ok(r["predict property"], True)
    assert epoch(ok(r["info"], False)) == epoch(predicted)
    assert "cluster-recheck-interval" not in r["info"]["config"]["properties"]
    prop = ok(r["property"], True)
    assert prop["properties"]["stonith-enabled"] == "false", "a name not given was touched"
    assert prop["properties"]["no-quorum-policy"] == "stop"
    assert prop["updated"] == ["cib-bootstrap-options"]
    assert 'name="cluster-recheck-interval"' in prop["diff"]["after"]
    ok(r["property again"], False)
    assert ok(r["rsc defaults"], True)["properties"] == {"resource-stickiness": "50"}
    assert ok(r["op defaults"], True)["properties"] == {"timeout": "30s"}
    assert ok(r["node attribute"], True)["properties"] == {"rack": "r2"}
    assert "cluster-recheck-interval" not in ok(r["remove property"], True)["properties"]

    ok(r["predict device"], True)
    created = ok(r["device"], True)
    assert created["device"]["agent"] == "stonith:fence_dummy"
    assert epoch(created)[1] == epoch(r["remove property"])[1] + 1, "check mode wrote"
    assert '<primitive id="fence-one" class="stonith" type="fence_dummy">' in created["diff"][
        "after"]
    ok(r["device again"], False)
    assert ok(r["device update"], True)["device"]["params"] == {"pcmk_host_list": "node1 node2"}
    ok(r["second device"], True)
    level = ok(r["level"], True)
    assert level["level"] == dict(id="fl-node2-1", node="node2", index=1, devices=["fence-two"])
    assert level["diff"]["after"] == ('<fencing-level id="fl-node2-1" devices="fence-two" '
                                      'index="1" target="node2"/>\n')
    ok(r["level again"], False)
    assert ok(r["level update"], True)["level"]["devices"] == ["fence-two", "fence-one"]
    in_use = r["device in use"]
    assert in_use["failed"] is True and in_use["error_kind"] == "invalid"
    assert "used by fencing level fl-node2-1 (node2, index 1)" in in_use["msg"]
    assert ok(r["level delete"], True)["removed"] == ["fl-node2-1"]
    assert ok(r["device delete"], True)["removed"] == ["fence-two"]

    info = ok(r["final info"], False)
    assert [d["id"] for d in info["config"]["stonith"]] == ["fence-one"]
    assert info["config"]["stonith_levels"] == []
    assert info["config"]["rsc_defaults"] == {"resource-stickiness": "50"}
    assert info["config"]["op_defaults"] == {"timeout": "30s"}
    assert {n["name"]: n["attributes"] for n in info["nodes"]}["node2"] == {"rack": "r2"}

    root = conf(cluster, "node1")
    nvpair = root.find("nodes/node[@uname='node2']/instance_attributes/nvpair[@name='rack']")
    assert nvpair is not None and nvpair.get("value") == "r2"
    assert root.find("rsc_defaults/meta_attributes").get("id") == "rsc-options"


APP: dict[str, Any] = {
    "rsc_defaults": {"migration-threshold": 3},
    "resources": [
        {"id": "app-a", "agent": "ocf:vigil:Dummy", "params": {"fake": "a"}},
        {"id": "app-b", "agent": "ocf:vigil:Dummy"},
        {"id": "app-group", "members": ["app-a", "app-b"]},
        {"id": "app-c", "agent": "ocf:vigil:Dummy", "meta": {"target-role": "Stopped"}},
        {"id": "app-c-clone", "resource": "app-c"},
    ],
    "constraints": [
        {"id": "app-after-c", "type": "order", "first": "app-c-clone", "then": "app-group"},
        {"id": "app-on-node1", "type": "location", "resource": "app-group", "node": "node1",
         "score": 10},
    ],
}


def test_declarative_cib(tmp_path: Path, cluster: LoopCluster) -> None:
    smaller = dict(APP, resources=APP["resources"][:3], constraints=APP["constraints"][1:])
    put(cluster, "resources", dummy_xml("other-x"))
    foreign = {"id": "other-after-app", "type": "order", "first": "other-x",
               "then": "app-c-clone"}
    r = play(tmp_path, cluster, [
        task("predict", "cib", check=True, config=APP),
        task("info", "cib_info"),
        task("declare", "cib", diff=True, config=APP),
        task("declare again", "cib", config=APP),
        task("foreign constraint", "cib_constraint", **foreign),
        task("replace blocked", "cib", mode="replace", owned=["app-"], config=smaller),
        task("foreign gone", "cib_constraint", id=foreign["id"], state="absent"),
        task("predict replace", "cib", check=True, mode="replace", owned=["app-"],
             config=smaller),
        task("replace", "cib", diff=True, mode="replace", owned=["app-"], config=smaller),
        task("replace again", "cib", mode="replace", owned=["app-"], config=smaller),
        task("xml", "cib", xml='<constraints><rsc_location id="app-xml-loc" rsc="app-group" '
                               'node="node2" score="-5"/></constraints>'),
        task("final info", "cib_info"),
    ])
    predicted = ok(r["predict"], True)
    assert epoch(ok(r["info"], False)) == epoch(predicted), "check mode wrote to the CIB"
    declared = ok(r["declare"], True)
    assert declared["created"] == predicted["created"]
    assert set(declared["created"]) >= {"app-a", "app-b", "app-group", "app-c", "app-c-clone",
                                        "app-after-c", "app-on-node1"}
    assert '<group id="app-group">' in declared["diff"]["after"]
    assert epoch(declared)[1] == epoch(predicted)[1] + 1, "one declaration, one write"
    ok(r["declare again"], False)
    blocked = r["replace blocked"]
    assert blocked["failed"] is True and blocked["error_kind"] == "invalid"
    assert "would also remove other-after-app, which this play does not own" in blocked["msg"]
    assert epoch(r["foreign gone"])[1] == epoch(r["foreign constraint"])[1] + 1, (
        "the refused replace wrote")
    assert ok(r["predict replace"], True)["removed"] == ["app-c-clone", "app-c", "app-after-c"]
    replaced = ok(r["replace"], True)
    assert replaced["removed"] == ["app-c-clone", "app-c", "app-after-c"]
    assert 'id="app-c-clone"' in replaced["diff"]["before"]
    ok(r["replace again"], False)
    assert ok(r["xml"], True)["created"] == ["app-xml-loc"]

    config = ok(r["final info"], False)["config"]
    ids = [x["id"] for x in config["resources"]]
    assert "app-c" not in ids and "app-group" in ids
    assert "other-x" in ids, "replace removed what it does not own"
    assert [c["id"] for c in config["constraints"] if c["id"].startswith("app-")] == [
        "app-on-node1", "app-xml-loc"]

    # What cib_info returns declares the same configuration, here into a CIB file.
    cib_file = tmp_path / "copy.xml"
    r = play(tmp_path, cluster, [
        task("copy", "cib", cib_file=str(cib_file), config=config),
        task("copy again", "cib", cib_file=str(cib_file), config=config),
        task("read copy", "cib_info", cib_file=str(cib_file)),
    ])
    ok(r["copy"], True)
    ok(r["copy again"], False)
    copied = ok(r["read copy"], False)
    assert copied["status"] is None
    assert sorted(x["id"] for x in copied["config"]["resources"]) == sorted(ids)
    assert copied["config"]["constraints"] == config["constraints"]


def test_bad_input_fails_clearly_and_changes_nothing(tmp_path: Path,
                                                    cluster: LoopCluster) -> None:
    for rsc_id in ("bi-a", "bi-b"):
        put(cluster, "resources", dummy_xml(rsc_id))
    put(cluster, "resources", f'<group id="bi-group">{dummy_xml("bi-m")}</group>')
    put(cluster, "resources", fence_xml("bi-fence", "node3"))
    before = configuration(cluster, "node1")
    r = play(tmp_path, cluster, [
        task("group of a ghost", "cib_group", id="bad-group", members=["bi-a", "ghost"]),
        task("group of a device", "cib_group", id="bad-group", members=["bi-fence"]),
        task("clone of a member", "cib_clone", id="bad-clone", resource="bi-m"),
        task("constraint on a ghost", "cib_constraint", id="bad-loc", type="location",
             resource="ghost", node="node1"),
        task("bad score", "cib_constraint", id="bad-col", type="colocation", resource="bi-a",
             with_resource="bi-b", score="very much"),
        task("option of another type", "cib_constraint", id="bad-ord", type="order",
             first="bi-a", then="bi-b", node="node1"),
        task("attribute of a ghost node", "cib_property", scope="node", node="node9",
             properties={"rack": "r9"}),
        task("unknown fence agent", "cib_stonith", id="bad-fence", agent="fence_nosuchagent"),
        task("not a fence agent", "cib_stonith", id="bad-fence", agent="ocf:vigil:Dummy"),
        task("device id of a resource", "cib_stonith", id="bi-a", agent="fence_dummy"),
        task("level of a ghost device", "cib_stonith_level", node="node1", index=1,
             devices=["ghost-fence"]),
        task("typo in cib", "cib", config={"resources": [
            {"id": "bad-x", "agent": "ocf:vigil:Dummy", "parms": {"a": 1}}]}),
        task("half-valid declaration", "cib", config={
            "resources": [{"id": "bad-y", "agent": "ocf:vigil:Dummy"}],
            "constraints": [{"id": "bad-z", "type": "order", "first": "bad-y",
                             "then": "ghost"}]}),
    ], node="node2")
    expected = {
        "group of a ghost": ("invalid", "members: no primitive with id 'ghost'"),
        "group of a device": ("invalid", "'bi-fence' is a fence device"),
        "clone of a member": ("invalid", "'bi-m' is inside <group id='bi-group'>"),
        "constraint on a ghost": ("invalid", "names resource 'ghost', which does not exist"),
        "bad score": ("invalid", "score: 'very much' is not a score"),
        "option of another type": ("invalid", "node: is not an option of order constraints"),
        "attribute of a ghost node": ("invalid", "no node named 'node9'"),
        "unknown fence agent": ("agent", "stonith:fence_nosuchagent is not installed"),
        "not a fence agent": ("invalid", "'ocf:vigil:Dummy' is not a fence agent"),
        "device id of a resource": ("invalid", "'bi-a' is already used by a ocf:vigil:Dummy"),
        "level of a ghost device": ("invalid", "devices: no fence device 'ghost-fence'"),
        "typo in cib": ("invalid", "config.resources[0]: unknown option parms"),
        "half-valid declaration": ("invalid", "config.constraints[0].then: constraint 'bad-z' "
                                              "names resource 'ghost'"),
    }
    for name, (kind, words) in expected.items():
        result = r[name]
        assert result.get("failed") is True, (name, result)
        assert result["error_kind"] == kind and words in result["msg"], (name, result)
        assert result["changed"] is False, name
    assert configuration(cluster, "node1") == before


def test_cib_info_reports_status(tmp_path: Path, cluster: LoopCluster) -> None:
    state = tmp_path / "watched.state"
    put(cluster, "resources", fence_xml("info-fence", " ".join(cluster.names)))
    r = play(tmp_path, cluster, [
        task("watched", "cib_resource", id="watched", agent="ocf:vigil:Dummy",
             params={"state": str(state)}, ops=[{"name": "monitor", "interval": "1s"}]),
        task("prefer node3", "cib_constraint", id="watched-on-node3", type="location",
             resource="watched", node="node3", score="INFINITY"),
        ("started", {"vigil.cluster.cluster_info": {"wait_for": "started",
                                                    "resource": "watched", "timeout": 30}}),
    ])
    ok(r["watched"], True)
    assert r["started"].get("failed") is not True, r["started"]
    # A failure: the monitor finds the state file gone, the cluster counts it and recovers.
    state.unlink()
    cluster.wait(lambda: "fail-count-watched#monitor_1000" in cluster.ctl(
        "node1", "cib_get", scope="status")["xml"], 20, "the fail count of watched")
    # A fencing action for the history; "on" leaves a running node alone.
    target = [n for n in cluster.names if n != cluster.status("node1")["dc"]][0]
    cluster.ctl("node1", "fence", target=target, action="on", confirm=True)
    r = play(tmp_path, cluster, [task("info", "cib_info")], node="node2")
    info = ok(r["info"], False)
    status = info["status"]
    assert status["node"] == "node2" and status["quorate"] is True
    assert status["dc"] in cluster.names
    assert sorted(n["name"] for n in status["nodes"] if n["online"]) == cluster.names
    assert status["summary"]["joined"] is True
    placed = status["summary"]["resources"]["watched"]
    assert placed["nodes"] == ["node3"] and placed["agent"] == "ocf:vigil:Dummy"
    fail = [f for f in status["fail_counts"] if f["resource"] == "watched"]
    assert fail and fail[0]["node"] == "node3" and fail[0]["operation"] == "monitor"
    assert fail[0]["interval_ms"] == 1000 and fail[0]["count"] >= 1
    fenced = [e for e in status["fencing_history"] if e["target"] == target]
    assert fenced and fenced[-1]["action"] == "on" and fenced[-1]["state"] == "success"
    assert info["version"][:2] == status["version"][:2]
    watched = [x for x in info["config"]["resources"] if x["id"] == "watched"][0]
    assert watched["ops"][0]["interval"] == "1s"


def test_absent_stops_a_running_resource_before_it_is_gone(tmp_path: Path,
                                                           cluster: LoopCluster) -> None:
    """state=absent of a running primitive: its agent stops (the agent's state file is the
    truth), then its history is deleted; absent of a stopped one starts nothing."""
    state_files = cluster.dummy_running

    def history(rsc: str) -> list[str]:
        status = ET.fromstring(cluster.ctl("node1", "cib_get", scope="status")["xml"])
        return [str(lr.get("id")) for lr in status.iter("lrm_resource") if lr.get("id") == rsc]

    r = play(tmp_path, cluster, [dummy("live"), dummy("idle", meta={"target-role": "Stopped"})])
    ok(r["primitive live"], True)
    cluster.wait(lambda: state_files("live"), 20, "live to start")
    cluster.wait(lambda: len(history("idle")) == 3, 15, "idle probed everywhere")
    r = play(tmp_path, cluster, [
        task("remove live", "cib_resource", id="live", state="absent"),
        task("remove idle", "cib_resource", id="idle", state="absent")], node="node3")
    ok(r["remove live"], True)
    ok(r["remove idle"], True)
    cluster.wait(lambda: not state_files("live"), 15, "live's agent stopped")
    cluster.wait(lambda: not history("live") and not history("idle"), 10, "histories deleted")
    assert state_files("idle") == [], "removing a stopped resource started nothing"
