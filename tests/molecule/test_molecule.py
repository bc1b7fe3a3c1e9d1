"""The Molecule scenarios (molecule/), each a real cluster of Docker containers with systemd,
run the way a developer runs them: ``scripts/molecule SCENARIO`` (docs/molecule.md).

Each test passes when ``molecule test`` passed: create, converge, idempotence (nothing
changed on a second run), side effects and verify, destroy. Skipped when this machine
cannot run containers (not root, or no Docker and no apt-get to install it), except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["default", "failover", "fencing", "rolling", "membership"]
# A scenario takes one to three minutes; the first one also installs Docker and builds the
# test image (about a minute more).
TIMEOUT_S = 1200
# scripts/molecule's timing lines: "== STEP  1.2 s", "   SCENARIO  passed  98.7 s", "   total ..."
TIMES = re.compile(r"^(== .* s|   \S+ +(passed|FAILED) +[0-9.]+ s|   total .* s)$")

pytestmark = [pytest.mark.molecule, pytest.mark.slow]


def why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root: installs and starts Docker, runs containers with systemd"
    if shutil.which("dockerd") is None and shutil.which("apt-get") is None:
        return "Docker is not installed and apt-get is not there to install it"
    return None


@pytest.fixture(scope="module", autouse=True)
def containers_possible() -> None:
    reason = why_not()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"Molecule scenarios must run under CI: {reason}")
    pytest.skip(reason)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str) -> None:
    assert (ROOT / "molecule" / scenario / "molecule.yml").is_file()
    started = time.monotonic()
    proc = subprocess.run(
        [str(ROOT / "scripts" / "molecule"), scenario],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S,
        env=dict(os.environ, PYTHONPATH=""),
    )
    took = time.monotonic() - started
    # The setup steps' and the scenario's wall times (pytest -rA shows them).
    print("\n".join(line for line in proc.stdout.splitlines() if TIMES.match(line)))
    assert proc.returncode == 0, (
        f"scripts/molecule {scenario} failed after {took:.0f} s "
        f"(log: run/molecule/logs/{scenario}.log):\n{proc.stdout[-8000:]}\n{proc.stderr[-2000:]}")
    assert re.search(rf"^   {scenario} +passed ", proc.stdout, re.MULTILINE), proc.stdout[-2000:]
