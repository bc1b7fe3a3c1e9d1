"""The collection passes ansible-test (sanity and units); roles and playbooks pass ansible-lint.

ansible-test runs through ansible_collection/tests/run-ansible-test.sh, which lays the
collection out under ansible_collections/vigil/cluster and keeps ansible-test's tools in a
virtualenv of their own (installed from PyPI on the first run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .ansible_run import ROOT

pytestmark = pytest.mark.slow


def test_ansible_test_sanity_and_units() -> None:
    proc = subprocess.run(
        ["bash", str(ROOT / "ansible_collection" / "tests" / "run-ansible-test.sh")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-4000:]
    assert "ansible-test: all passed" in proc.stdout


def test_ansible_lint_production_profile() -> None:
    lint = shutil.which("ansible-lint") or str(Path(sys.executable).parent / "ansible-lint")
    if not Path(lint).exists():
        pytest.skip("ansible-lint is not installed (pip install ansible-lint)")
    proc = subprocess.run(
        [lint, "--nocolor"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-4000:]
