"""The cluster-operation modules of vigil.cluster (node, resource_ctl, fence, cluster_health)
against a live 3-node loopback cluster, through ansible-playbook.

One cluster for the file; each test runs a playbook of several steps (every module reaches
the socket through the action group's module_defaults, as a user would write it) and checks
what an operator checks: the cluster did it (a node drained, a resource moved, stopped,
restarted, a node powered off), a second run reports changed=false where the action is
idempotent, check mode predicts and does nothing, diff mode shows before and after, and bad
input fails with a message naming what is wrong while nothing changes. The fencing test
powers a node off, so it comes last.
"""

from __future__ import annotations

import json
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from vigil.core import cib as C
from vigil.testing.loop import LoopCluster

from .ansible_run import playbook

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

Step = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopCluster]:
    c = LoopCluster(tmp_path_factory.mktemp("ops-modules"), size=3)
    try:
        c.start()
        c.wait_quorate()
        # the fence device below only reaches one node: lost nodes are not fenced
        c.ctl("node1", "property_set", name="stonith-enabled", value="false")
        c.ctl("node1", "resource_create", id="d", agent="ocf:vigil:Dummy",
              ops=[{"name": "monitor", "interval": "1s"}])
        c.wait(lambda: c.where("node1", "d"), 30, "d to start")
        yield c
    finally:
        c.close()


def step(label: str, module: str, /, check: bool = False, diff: bool = False,
         **params: Any) -> Step:
    body: dict[str, Any] = {module if "." in module else f"vigil.cluster.{module}": params}
    if check:
        body["check_mode"] = True
    if diff:
        body["diff"] = True
    return label, body


def play(tmp_path: Path, cluster: LoopCluster, node: str, steps: list[Step]
         ) -> dict[str, dict[str, Any]]:
    """Run ``steps`` in one playbook against ``node``'s socket; their results by name."""
    out = tmp_path / "results.json"
    out.unlink(missing_ok=True)
    tasks = [dict(body, name=name, register=name, ignore_errors=True) for name, body in steps]
    everything = "{{ {" + ", ".join(f"'{name}': {name}" for name, _ in steps) + "} | to_json }}"
    tasks.append({"name": "save the results", "ansible.builtin.copy": {
        "content": everything, "dest": str(out), "mode": "0644"}, "check_mode": False})
    book = [{"name": "operate the cluster", "hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/vigil.cluster.cluster": {
                 "socket": str(cluster.socket(node))}},
             "tasks": tasks}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(book, sort_keys=False))
    proc = playbook(path, inventory="localhost,", extra_vars={
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable})
    if not out.exists():
        raise AssertionError(f"ansible-playbook failed ({proc.returncode}):\n{proc.stdout}\n"
                             f"{proc.stderr}")
    results: dict[str, dict[str, Any]] = json.loads(out.read_text())
    return results


def ok(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("failed"), result.get("msg")
    return result


def failed(result: dict[str, Any], kind: str, *words: str) -> str:
    assert result.get("failed") is True and result["changed"] is False, result
    assert result.get("error_kind") == kind, result
    for word in words:
        assert word in result["msg"], result["msg"]
    return str(result["msg"])


def configuration(cluster: LoopCluster) -> str:
    return str(cluster.ctl("node1", "cib_get", scope="configuration")["xml"])


def node_attrs(cluster: LoopCluster, node: str) -> dict[str, str]:
    conf = ET.fromstring(configuration(cluster))
    el = conf.find(f"nodes/node[@uname='{node}']")
    assert el is not None
    return {nv.get("name", ""): nv.get("value", "") for nv in el.iter("nvpair")}


def status_node(status: dict[str, Any], node: str) -> dict[str, Any]:
    return next(n for n in status["nodes"] if n["name"] == node)


def test_node_standby_online_maintenance(tmp_path: Path, cluster: LoopCluster) -> None:
    c = cluster
    holder = c.where("node1", "d")[0]
    r = play(tmp_path, c, "node2", [
        step("predict", "node", check=True, diff=True, name=holder, state="standby"),
        step("seen", "cluster_info"),
        step("standby", "node", diff=True, name=holder, state="standby", wait=True,
             timeout=30),
        step("again", "node", name=holder, state="standby"),
        step("online", "node", name=holder, state="unstandby", wait=True, timeout=30),
        step("maintenance", "node", name=holder, state="maintenance", wait=True, timeout=30),
        step("ready", "node", diff=True, name=holder, state="ready", wait=True, timeout=30),
        step("ready_again", "node", name=holder, state="ready"),
        step("unknown", "node", name="node9", state="standby"),
    ])
    predicted = ok(r["predict"])
    assert predicted["changed"] is True
    assert predicted["after"] == {"standby": True, "maintenance": False}
    assert predicted["diff"]["after"].startswith("standby: on")
    assert status_node(ok(r["seen"])["cluster"], holder)["standby"] is False  # nothing done

    standby = ok(r["standby"])
    assert standby["changed"] is True and standby["resources"] == []
    assert standby["status"]["standby"] is True
    assert standby["diff"]["before"].startswith("standby: off")
    assert ok(r["again"])["changed"] is False

    online = ok(r["online"])
    assert online["changed"] is True and online["after"]["standby"] is False
    assert online["status"]["online"] is True and online["status"]["standby"] is False
    assert ok(r["maintenance"])["status"]["maintenance"] is True
    ready = ok(r["ready"])
    assert ready["changed"] is True and ready["status"]["maintenance"] is False
    assert "maintenance: on" in ready["diff"]["before"]
    assert "maintenance: off" in ready["diff"]["after"]
    assert ok(r["ready_again"])["changed"] is False
    failed(r["unknown"], "not_found", "node9", "node1, node2, node3")

    assert node_attrs(c, holder) == {}  # standby and maintenance deleted, not set to off
    c.wait(lambda: c.where("node1", "d"), 20, "d running again")


def test_resource_ctl_move_ban_clear_disable_enable_restart(
        tmp_path: Path, cluster: LoopCluster) -> None:
    c = cluster
    start = c.where("node1", "d")[0]
    target, other = [n for n in c.names if n != start]
    r = play(tmp_path, c, "node3", [
        step("predict", "resource_ctl", check=True, diff=True, resource="d", action="move",
             node=target),
        step("move", "resource_ctl", diff=True, resource="d", action="move", node=target,
             wait_for="Started", wait_node=target, timeout=30),
        step("move_again", "resource_ctl", resource="d", action="move", node=target),
        step("ban", "resource_ctl", resource="d", action="ban", node=other),
        step("clear_other", "resource_ctl", diff=True, resource="d", action="clear",
             node=other),
        step("clear", "resource_ctl", resource="d", action="clear"),
        step("clear_again", "resource_ctl", resource="d", action="clear"),
        step("disable", "resource_ctl", resource="d", action="disable", wait_for="Stopped",
             timeout=30),
        step("disable_again", "resource_ctl", resource="d", action="disable"),
        step("enable", "resource_ctl", diff=True, resource="d", action="enable",
             wait_for="Started", timeout=30),
        step("enable_again", "resource_ctl", resource="d", action="enable"),
        step("restart_predict", "resource_ctl", check=True, resource="d", action="restart"),
    ])
    predicted = ok(r["predict"])
    assert predicted["changed"] is True and predicted["constraints"] == ["cli-prefer-d"]
    assert predicted["placement"]["nodes"] == [start]  # check mode moved nothing
    assert predicted["diff"] == {"before": "", "after": f"cli-prefer-d: INFINITY on {target}\n",
                                 "before_header": "resource d", "after_header": "resource d"}

    moved = ok(r["move"])
    assert moved["changed"] is True and moved["placement"]["nodes"] == [target]
    assert moved["placement"]["members"]["d"]["roles"] == {target: "Started"}
    assert ok(r["move_again"])["changed"] is False
    banned = ok(r["ban"])
    assert banned["changed"] is True and banned["constraints"] == [f"cli-ban-d-on-{other}"]
    cleared = ok(r["clear_other"])
    assert cleared["constraints"] == [f"cli-ban-d-on-{other}"]
    assert cleared["diff"]["after"] == f"cli-prefer-d: INFINITY on {target}\n"
    assert ok(r["clear"])["constraints"] == ["cli-prefer-d"]
    assert ok(r["clear_again"])["changed"] is False

    disabled = ok(r["disable"])
    assert disabled["changed"] is True and disabled["placement"]["role"] == "Stopped"
    assert ok(r["disable_again"])["changed"] is False
    enabled = ok(r["enable"])
    assert enabled["changed"] is True and enabled["placement"]["role"] == "Started"
    assert enabled["diff"] == {"before": "target-role: Stopped\n",
                               "after": "target-role: (not set)\n",
                               "before_header": "resource d", "after_header": "resource d"}
    assert ok(r["enable_again"])["changed"] is False

    assert ok(r["restart_predict"])["changed"] is True
    conf = ET.fromstring(configuration(c))
    assert conf.find("constraints/rsc_location") is None
    assert conf.find(".//primitive[@id='d']/meta_attributes/nvpair") is None

    before = time.time()
    r = play(tmp_path, c, "node1", [
        step("restart", "resource_ctl", resource="d", action="restart", timeout=30)])
    restarted = ok(r["restart"])
    assert restarted["changed"] is True and restarted["placement"]["role"] == "Started"
    where = restarted["restarted_on"]["after"]
    assert where == restarted["placement"]["nodes"] and len(where) == 1
    # Dummy writes its state file when it starts: this one is younger than the restart
    state = c.node_dir(where[0]) / "state" / "run" / "vigil-Dummy-d.state"
    assert state.stat().st_mtime >= before
    after = ET.fromstring(configuration(c))  # the restart left no target-role behind
    assert after.find(".//primitive[@id='d']/meta_attributes/nvpair") is None


def test_cleanup_and_bad_input(tmp_path: Path, cluster: LoopCluster) -> None:
    c = cluster
    node = c.wait(lambda: c.where("node1", "d"), 20, "d running")[0]
    (c.node_dir(node) / "state" / "run" / "vigil-Dummy-d.state").unlink()  # d "crashes"
    c.wait(lambda: c.status("node1")["failed_actions"], 15, "the failure to be recorded")
    before = configuration(c)
    r = play(tmp_path, c, "node2", [
        step("predict", "resource_ctl", check=True, diff=True, resource="d", action="cleanup"),
        step("cleanup", "resource_ctl", resource="d", action="cleanup", wait_for="Started",
             timeout=30),
        step("cleanup_again", "resource_ctl", resource="d", action="cleanup"),
        step("no_resource", "resource_ctl", resource="nope", action="disable"),
        step("no_node", "resource_ctl", resource="d", action="move", node="node9"),
        step("node_not_used", "resource_ctl", resource="d", action="enable", node="node1"),
        step("node_missing", "resource_ctl", resource="d", action="ban"),
        step("bad_state", "node", name="node1", state="sideways"),
    ])
    predicted = ok(r["predict"])
    assert predicted["changed"] is True and "d" in predicted["cleaned"]
    assert f"on {node}" in predicted["diff"]["before"]
    cleaned = ok(r["cleanup"])
    assert cleaned["changed"] is True and cleaned["placement"]["role"] == "Started"
    again = ok(r["cleanup_again"])
    assert again["changed"] is False and again["cleaned"] == {}
    assert c.status("node3")["failed_actions"] == []

    failed(r["no_resource"], "not_found", "'nope'", "d")
    failed(r["no_node"], "not_found", "node9")
    failed(r["node_not_used"], "invalid", "node is not used with action=enable")
    assert "node" in r["node_missing"]["msg"] and r["node_missing"]["failed"] is True
    assert "sideways" in r["bad_state"]["msg"] and r["bad_state"]["failed"] is True
    assert configuration(c) == before


def test_fence_and_cluster_health(tmp_path: Path, cluster: LoopCluster) -> None:
    c = cluster
    dc = c.wait_quorate()
    victim, spared = [n for n in c.names if n != dc]
    device = C.primitive_element("fence-loop", "stonith:fence_vigil_loopback",
                                 {"pcmk_host_map": f"{victim}:{c.config_path(victim)}"})
    c.ctl(dc, "cib_put", section="resources", xml=C.to_bytes(device).decode(), mode="create")
    r = play(tmp_path, c, dc, [
        step("healthy", "cluster_health", require_fencing=False),
        step("no_stonith", "cluster_health"),
        step("unconfirmed", "fence", node=victim),
        step("no_device", "fence", node=spared, confirm=True),
        step("unknown", "fence", node="node9", confirm=True),
        step("predict", "fence", check=True, node=victim, action="off", confirm=True),
        step("still_there", "cluster_info"),
        step("fence", "fence", node=victim, action="off", confirm=True, timeout=60),
    ])
    healthy = ok(r["healthy"])
    assert healthy["healthy"] is True and healthy["reasons"] == []
    assert sorted(healthy["summary"]["online_nodes"]) == c.names
    sick = r["no_stonith"]
    assert sick["failed"] is True and sick["healthy"] is False
    assert sick["error_kind"] == "unhealthy"
    assert sick["reasons"] == [{"check": "fencing",
                                "message": "stonith-enabled is false: lost nodes are not fenced"}]

    failed(r["unconfirmed"], "invalid", "confirm: true", victim)
    failed(r["no_device"], "fencing", f"no configured fence device can fence {spared}",
           "not in pcmk_host_list/pcmk_host_map")
    failed(r["unknown"], "not_found", "node9")
    predicted = ok(r["predict"])
    assert predicted["changed"] is True and predicted["levels"] == [["fence-loop"]]
    assert "history" not in predicted
    assert status_node(ok(r["still_there"])["cluster"], victim)["online"] is True

    fenced = ok(r["fence"])
    entry = fenced["history"]
    assert fenced["changed"] is True
    assert (entry["target"], entry["action"], entry["state"], entry["device"]) == (
        victim, "off", "success", "fence-loop")
    assert entry["requested"] <= entry["completed"]
    assert c.procs[victim].wait(10) is not None  # its daemon is gone
    assert entry in c.ctl(spared, "fence_history")
    c.procs.pop(victim)

    r = play(tmp_path, c, spared, [
        step("down", "cluster_health", require_fencing=False, wait=True, timeout=1),
        step("survivors", "cluster_health", require_fencing=False,
             expected_nodes=[dc, spared], wait=True, timeout=30),
        step("bad_name", "cluster_health", expected_nodes=["nodeX"]),
    ])
    down = r["down"]
    assert down["failed"] is True and down["healthy"] is False
    assert {"check": "nodes", "message": f"node {victim} is offline"} in down["reasons"]
    assert victim in down["summary"]["offline_nodes"]
    assert "not healthy (waited 1 s)" in down["msg"]
    assert ok(r["survivors"])["healthy"] is True
    failed(r["bad_name"], "invalid", "nodeX", "not a node of this cluster")


def test_cib_ticket_grants_revokes_and_refuses_without_force(tmp_path: Path,
                                                             cluster: LoopCluster) -> None:
    """What a user checks: check mode predicts and changes nothing, a grant starts the
    gated resource (its agent's state file), a second run changes nothing, a revoke
    without force is refused naming the loss-policy, with force it stops the resource."""
    c = cluster
    first = c.running()[0]
    c.ctl(first, "resource_create", id="tk", agent="ocf:vigil:Dummy")
    c.ctl(first, "cib_put", section="constraints", mode="create",
          xml='<rsc_ticket id="tk-needs-site" rsc="tk" ticket="site" loss-policy="stop"/>')

    def running() -> list[str]:
        return c.dummy_running("tk")

    alive = c.running()  # an earlier test of this module fenced a node
    version = c.status(alive[0])["version"]
    r = play(tmp_path, c, alive[-1], [
        step("predict", "cib_ticket", check=True, diff=True, ticket="site", state="granted"),
    ])
    predicted = ok(r["predict"])
    assert predicted["changed"] is True and predicted["actions"] == ["grant"]
    assert predicted["diff"]["after"] == "granted: true\nstandby: false\n"
    assert c.status(alive[0])["version"][:2] == version[:2] and running() == []
    assert [t["granted"] for t in c.ctl(alive[0], "ticket_list")] == [False]
    r = play(tmp_path, c, alive[-1], [
        step("grant", "cib_ticket", ticket="site", state="granted"),
        step("again", "cib_ticket", ticket="site", state="granted"),
        step("revoke_unforced", "cib_ticket", ticket="site", state="revoked"),
        step("nothing", "cib_ticket", ticket="site"),
    ])
    assert ok(r["grant"])["ticket"]["granted"] is True
    assert ok(r["again"])["changed"] is False
    failed(r["revoke_unforced"], "invalid", "force", "tk: stop")
    assert r["nothing"].get("failed") is True, "state or standby is required"
    c.wait(running, 20, "tk to start once the ticket is granted")
    r = play(tmp_path, c, alive[0], [
        step("revoke", "cib_ticket", ticket="site", state="revoked", force=True),
    ])
    assert ok(r["revoke"])["ticket"]["granted"] is False
    c.wait(lambda: not running(), 20, "tk to stop once the ticket is revoked")
