"""fence_vigil_docker (molecule/shared/files/, the Molecule hosts' fence agent): the
fence-agents protocol as vigil's fencer speaks it.

The agent runs as a process, with key=value lines on stdin, exactly as ``vigil.io.fenceagent``
starts it. Powering real containers off and on is exercised by the Molecule scenarios
(molecule/failover, molecule/fencing); these tests cover what needs no Docker engine.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from vigil.core.fencing import parse_metadata

ROOT = Path(__file__).resolve().parents[2]
AGENT = ROOT / "molecule" / "shared" / "files" / "fence_vigil_docker"


def run(stdin: str = "", *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(AGENT), *args], input=stdin,
                          capture_output=True, text=True, timeout=30)


def test_agent_is_executable() -> None:
    assert AGENT.stat().st_mode & 0o111


def test_metadata_describes_actions_and_parameters_for_the_fencer() -> None:
    proc = run("action=metadata\n")
    assert proc.returncode == 0, proc.stderr
    root = ET.fromstring(proc.stdout.strip())
    assert root.get("name") == "fence_vigil_docker"
    actions, params = parse_metadata(proc.stdout)
    assert {"on", "off", "reboot", "status", "list", "monitor", "metadata"} <= actions
    # vigil's fencer passes the plug under "plug" when the agent declares it.
    assert {"action", "plug", "socket"} <= params


def test_meta_data_spelling_and_command_line_options_are_accepted() -> None:
    assert run("action=meta-data\n").returncode == 0
    proc = run("", "-o", "metadata")
    assert proc.returncode == 0 and "<resource-agent" in proc.stdout
    proc = run("", "--action=metadata")
    assert proc.returncode == 0 and "<resource-agent" in proc.stdout


def test_an_engine_that_is_not_there_fails_with_a_reason(tmp_path: Path) -> None:
    sock = tmp_path / "docker.sock"
    for action in ("monitor", "list", "status", "off", "on", "reboot"):
        proc = run(f"action={action}\nplug=node1\nsocket={sock}\n")
        assert proc.returncode == 1, (action, proc)
        assert proc.stderr.startswith("failed: Docker engine at " + str(sock)), proc.stderr


def test_port_and_option_are_the_fence_agents_aliases(tmp_path: Path) -> None:
    # The request reaches the engine (and fails there), so the plug and action were read.
    sock = tmp_path / "docker.sock"
    proc = run(f"# a comment\noption=status\nport=node7\nsocket={sock}\nnodename=node7\n")
    assert proc.returncode == 1 and "Docker engine at" in proc.stderr


def test_actions_on_a_node_need_a_plug() -> None:
    for action in ("status", "off", "on", "reboot"):
        proc = run(f"action={action}\nsocket=/nonexistent\n")
        assert proc.returncode == 1
        assert f"action {action} needs a plug" in proc.stderr


def test_unknown_action_is_refused() -> None:
    proc = run("action=poweroff\nplug=node1\n")
    assert proc.returncode == 1
    assert "unsupported action 'poweroff'" in proc.stderr
