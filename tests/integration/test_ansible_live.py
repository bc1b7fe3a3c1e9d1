"""vigil.cluster modules against a live 3-node loopback cluster, through ansible-playbook.

The same checks as with a CIB file, on real daemons: writes go through one node's socket
(forwarded to the DC) and are read back through another's.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from .ansible_run import run_module

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

DUMMY: dict[str, Any] = {
    "id": "d1",
    "agent": "ocf:vigil:Dummy",
    "params": {"fake": "one"},
    "ops": [{"name": "monitor", "interval": "2s", "timeout": "10s"}],
}


def configuration(cluster: Any, node: str) -> tuple[str, list[int]]:
    """The configuration section's XML and the (admin_epoch, epoch) it was read at."""
    reply = cluster.ctl(node, "cib_get", scope="configuration")
    return reply["xml"], list(reply["version"][:2])


def primitive(cluster: Any, node: str, rsc_id: str) -> ET.Element | None:
    xml, _ = configuration(cluster, node)
    return ET.fromstring(xml).find(f".//primitive[@id='{rsc_id}']")


def resource(tmp_path: Path, cluster: Any, node: str, **params: Any) -> dict[str, Any]:
    check = params.pop("_check", False)
    diff = params.pop("_diff", False)
    params["socket"] = str(cluster.socket(node))
    return run_module(tmp_path, "vigil.cluster.cib_resource", params, check=check, diff=diff)


def wait_replicated(cluster: Any) -> None:
    def same() -> bool:
        versions = {tuple(cluster.status(n)["version"][:2]) for n in cluster.running()}
        return len(versions) == 1

    cluster.wait(same, 10, "every node at the same CIB version")


def test_cluster_info_waits_until_joined(tmp_path: Path, cluster3: Any) -> None:
    info = run_module(
        tmp_path,
        "vigil.cluster.cluster_info",
        {"socket": str(cluster3.socket("node2")), "wait_for": "quorate", "timeout": 30},
    )
    assert info.get("failed") is not True, info
    assert info["joined"] is True and info["quorate"] is True and info["dc"] in cluster3.names
    assert info["node"] == "node2"
    assert sorted(info["online_nodes"]) == cluster3.names
    assert info["cluster"]["cluster_name"] == cluster3.name


def test_cluster_info_without_a_daemon_fails_clearly(tmp_path: Path) -> None:
    info = run_module(
        tmp_path, "vigil.cluster.cluster_info", {"socket": str(tmp_path / "nothing.sock")}
    )
    assert info["failed"] is True and info["error_kind"] == "socket"
    assert "does not exist" in info["msg"]


def test_resource_lifecycle(tmp_path: Path, cluster3: Any) -> None:
    c = cluster3
    c.wait_quorate()
    # No fence device on loopback: without this, nothing may start.
    assert c.vigilctl("node1", "property", "set", "stonith-enabled", "false").returncode == 0

    predicted = resource(tmp_path, c, "node2", _check=True, **DUMMY)
    assert predicted["changed"] is True and predicted["action"] == "create", predicted
    assert primitive(c, "node1", "d1") is None

    created = resource(tmp_path, c, "node2", _diff=True, **DUMMY)
    assert created["changed"] is True, created
    assert created["diff"]["before"] == "" and 'id="d1"' in created["diff"]["after"]
    wait_replicated(c)
    prim = primitive(c, "node3", "d1")
    assert prim is not None and prim.get("type") == "Dummy"

    started = run_module(
        tmp_path,
        "vigil.cluster.cluster_info",
        {"socket": str(c.socket("node3")), "wait_for": "started", "resource": "d1", "timeout": 30},
    )
    assert started.get("failed") is not True, started
    assert started["resources"]["d1"]["role"] == "Started"

    before = configuration(c, "node1")
    again = resource(tmp_path, c, "node3", **DUMMY)
    assert again["changed"] is False, again
    assert configuration(c, "node1") == before

    update = dict(DUMMY, params={"fake": "two"})
    predicted = resource(tmp_path, c, "node1", _check=True, **update)
    assert predicted["changed"] is True
    assert configuration(c, "node1") == before

    updated = resource(tmp_path, c, "node1", _diff=True, **update)
    assert updated["changed"] is True and updated["action"] == "update"
    assert 'value="one"' in updated["diff"]["before"] and 'value="two"' in updated["diff"]["after"]
    wait_replicated(c)
    prim = primitive(c, "node2", "d1")
    nvpair = prim.find("instance_attributes/nvpair[@name='fake']")
    assert nvpair.get("value") == "two" and nvpair.get("id") == "d1-instance_attributes-fake"

    deleted = resource(tmp_path, c, "node2", id="d1", state="absent")
    assert deleted["changed"] is True
    wait_replicated(c)
    assert primitive(c, "node3", "d1") is None
    gone = resource(tmp_path, c, "node3", id="d1", state="absent")
    assert gone["changed"] is False


@pytest.mark.parametrize("check", [False, True])
def test_unknown_agent_fails_and_changes_nothing(
    tmp_path: Path, cluster3: Any, check: bool
) -> None:
    c = cluster3
    c.wait_quorate()
    before = configuration(c, "node1")
    result = resource(
        tmp_path, c, "node2", _check=check, **dict(DUMMY, id="d9", agent="ocf:vigil:NoSuchAgent")
    )
    assert result.get("failed") is True, result
    assert result["error_kind"] == "agent"
    assert "ocf:vigil:NoSuchAgent" in result["msg"]
    assert configuration(c, "node1") == before


def test_invalid_op_fails_and_changes_nothing(tmp_path: Path, cluster3: Any) -> None:
    c = cluster3
    c.wait_quorate()
    before = configuration(c, "node1")
    result = resource(
        tmp_path,
        c,
        "node1",
        **dict(DUMMY, ops=[{"name": "monitor", "interval": "every now and then"}]),
    )
    assert result.get("failed") is True and result["error_kind"] == "invalid"
    assert "ops[0].interval" in result["msg"]
    assert configuration(c, "node1") == before
