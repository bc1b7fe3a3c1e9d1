"""Parity with Pacemaker 2.1.5 on the 67 shared scheduler cases.

Each case under ``<repo>/../shared/pacemaker-scheduler-cases/`` has a CIB (``xml/``) and
crm_simulate's normalized answer (``oracle/NAME.json``). vigil must reach the same
placements, promotable roles, executor actions (clone instance numbers stripped) and
fenced nodes on at least 64 of the 67 cases.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from vigil.core.scheduler import schedule
from vigil.core.scheduler.render import transition_json

REPO = Path(__file__).resolve().parents[2]
CASES = REPO.parent / "shared" / "pacemaker-scheduler-cases"
INSTANCE = re.compile(r":\d+(?=$|_)")
# any present-day time works (failcount-block expires failures against "now")
NOW_S = 1_750_000_000
REQUIRED = 64


def _strip(items: list[str]) -> Counter[str]:
    return Counter(INSTANCE.sub("", x) for x in items)


def compare(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Human-readable differences on the four compared keys (empty when equal)."""
    diffs = []
    for key in ("placements", "roles", "fencing"):
        if expected.get(key) != got.get(key):
            diffs.append(f"{key}: expected {expected.get(key)} got {got.get(key)}")
    want, have = _strip(expected["actions"]), _strip(got["actions"])
    if want != have:
        diffs.append(f"actions: missing {sorted((want - have).elements())} "
                     f"extra {sorted((have - want).elements())}")
    return diffs


def run_case(name: str) -> list[str]:
    cib = etree.parse(str(CASES / "xml" / f"{name}.xml")).getroot()
    # crm_simulate reads a CIB file as sanitized (secrets may be masked; on-fail-ignore)
    got = transition_json(schedule(cib, NOW_S, sanitized=True))
    expected = json.loads((CASES / "oracle" / f"{name}.json").read_text())
    return compare(expected, got)


def case_names() -> list[str]:
    return sorted(p.stem for p in (CASES / "xml").glob("*.xml"))


def test_shared_pacemaker_cases_match_crm_simulate() -> None:
    if not (CASES / "xml").is_dir():
        reason = f"shared Pacemaker cases not found at {CASES}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    names = case_names()
    assert len(names) == 67, f"expected 67 shared cases, found {len(names)}"
    mismatches = {}
    for name in names:
        try:
            diffs = run_case(name)
        except Exception as exc:  # a crash is a mismatch too, reported by name
            diffs = [f"raised {exc!r}"]
        if diffs:
            mismatches[name] = diffs
    equal = len(names) - len(mismatches)
    detail = "\n".join(f"  {n}: {'; '.join(d)}" for n, d in sorted(mismatches.items()))
    assert equal >= REQUIRED, (
        f"{equal}/{len(names)} cases match crm_simulate (need {REQUIRED}); "
        f"mismatches: {', '.join(sorted(mismatches))}\n{detail}")


def test_compare_reports_a_wrong_placement() -> None:
    """The comparison itself must notice differences (guards against a vacuous pass)."""
    expected = {"placements": {"a": ["n1"]}, "roles": {}, "actions": ["a_start_0 n1"],
                "fencing": []}
    got = {"placements": {"a": ["n2"]}, "roles": {}, "actions": ["a:3_start_0 n1"],
           "fencing": []}
    diffs = compare(expected, got)
    assert len(diffs) == 1 and diffs[0].startswith("placements")
