"""Shared fixtures: the package import path and a real 3-node loopback cluster."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "daemon"))
os.environ["PYTHONPATH"] = str(ROOT / "daemon") + (
    os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")

from vigil.testing.loop import LoopCluster, running  # noqa: E402

SHARED = ROOT.parent / "shared"


@pytest.fixture
def cluster3(tmp_path_factory):
    """Three real vigild processes on loopback, quorate with a DC; powered off afterwards."""
    with running(LoopCluster(tmp_path_factory.mktemp("cluster"), size=3)) as cluster:
        yield cluster
