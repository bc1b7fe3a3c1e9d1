"""Run vigil.cluster modules and playbooks for real, the way a user does (ansible-playbook).

Used by tests/integration/test_ansible_*.py. Every run uses the repository's ansible.cfg
(so ``vigil.cluster`` resolves from the checkout) and the Python running the tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def ansible_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def playbook(
    path: Path,
    *args: str,
    inventory: str | None = None,
    timeout: float = 600,
    extra_vars: dict[str, Any] | None = None,
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook PATH, from the repository root, with the test's Python."""
    argv = [sys.executable, "-m", "ansible", "playbook", str(path)]
    if inventory:
        argv += ["-i", inventory]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    argv += list(args)
    return subprocess.run(
        argv, cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=timeout
    )


def run_module(
    tmp_path: Path,
    module: str,
    params: dict[str, Any],
    *,
    check: bool = False,
    diff: bool = False,
    play_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one vigil.cluster module on localhost; return its registered result."""
    result_file = tmp_path / "result.json"
    result_file.unlink(missing_ok=True)
    play: dict[str, Any] = {
        "name": "run one module",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {
                "name": "the module",
                module: params,
                "register": "r",
                "ignore_errors": True,
                "check_mode": check,
                "diff": diff,
            },
            {
                "name": "save the result",
                "ansible.builtin.copy": {
                    "content": "{{ r | to_json }}",
                    "dest": str(result_file),
                    "mode": "0644",
                },
                "check_mode": False,
            },
        ],
    }
    play.update(play_extra or {})
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump([play], sort_keys=False))
    proc = playbook(
        path,
        inventory="localhost,",
        extra_vars={"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
    )
    if not result_file.exists():
        raise AssertionError(
            f"ansible-playbook failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    result: dict[str, Any] = json.loads(result_file.read_text())
    result["_stdout"] = proc.stdout
    return result
