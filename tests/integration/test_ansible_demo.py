"""The README's demo, for real: playbooks/demo.yml on three local nodes, twice, then teardown.

The run is isolated from a demo a developer may have running: its own directory, ports and
multicast group (extra vars override inventories/local).
"""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .ansible_run import ROOT, playbook

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def check(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def recap(stdout: str) -> dict[str, dict[str, int]]:
    hosts = {}
    for match in re.finditer(r"^(\S+)\s+:\s+(.*)$", stdout, re.MULTILINE):
        counts = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2)))
        if "ok" in counts:
            hosts[match.group(1)] = counts
    return hosts


@pytest.fixture
def demo_vars(tmp_path: Path) -> dict[str, Any]:
    return {
        "vigil_local_dir": str(tmp_path / "local"),
        "vigil_cluster_name": "demo-test",
        "vigil_transport_port": random.randint(20000, 40000),
        "vigil_transport_group": f"239.255.{random.randint(1, 254)}.{random.randint(1, 254)}",
        "vigil_demo_http_port": random.randint(40001, 50000),
        "vigil_wait_timeout": 60,
    }


DEPLOY = """\
- name: Deploy the vigil nodes
  hosts: vigil_cluster
  gather_facts: false
  roles:
    - role: vigil_daemon
"""


def test_demo_fails_over_and_reruns(demo_vars: dict[str, Any], tmp_path: Path) -> None:
    inventory = str(ROOT / "inventories" / "local")
    deploy = tmp_path / "deploy.yml"
    deploy.write_text(DEPLOY)
    try:
        out = check(
            playbook(
                ROOT / "playbooks" / "demo.yml",
                inventory=inventory,
                extra_vars=demo_vars,
                timeout=900,
            )
        )
        assert "took over" in out and "served again" in out, out[-3000:]

        # Again: the powered-off node is started again, the resource is unchanged, and the
        # node now serving the page is powered off in turn.
        out = check(
            playbook(
                ROOT / "playbooks" / "demo.yml",
                inventory=inventory,
                extra_vars=demo_vars,
                timeout=900,
            )
        )
        assert "took over" in out, out[-3000:]
        assert "Declare the web server resource" in out
        declared = out.split("TASK [Declare the web server resource]")[1].split("TASK [")[0]
        assert "ok: [node1]" in declared, declared

        # The role converges: the first run starts the powered-off node, the next changes
        # nothing, and check mode predicts nothing either. (A fixed copy of the wheel the demo
        # built: a checkout edited meanwhile would rightly count as a change.)
        wheel = max((ROOT / "dist").glob("vigil_ha-*.whl"), key=lambda p: p.stat().st_mtime)
        fixed = dict(demo_vars, vigil_package=str(tmp_path / wheel.name))
        (tmp_path / wheel.name).write_bytes(wheel.read_bytes())
        check(playbook(deploy, inventory=inventory, extra_vars=fixed))
        for args in ((), ("--check", "--diff")):
            out = check(playbook(deploy, *args, inventory=inventory, extra_vars=fixed))
            counts = recap(out)
            assert sorted(counts) == ["node1", "node2", "node3"], out[-2000:]
            assert all(c["changed"] == 0 for c in counts.values()), out[-6000:]
    finally:
        out = check(
            playbook(
                ROOT / "playbooks" / "stop-local.yml",
                inventory=inventory,
                extra_vars=dict(demo_vars, vigil_stop_timeout=20, vigil_local_purge=True),
                timeout=300,
            )
        )
    assert not Path(demo_vars["vigil_local_dir"]).exists()
    assert all(counts["failed"] == 0 for counts in recap(out).values())
