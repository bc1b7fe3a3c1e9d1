"""Differential property test: vigil's scheduler against the real one on random CIBs.

``vigil.testing.cibgen`` turns a seed into a random but valid Pacemaker CIB (nodes in every
state, primitives, groups, clones, promotable clones, every kind of constraint, resource
sets, tickets, utilization, failures in the status section...). Each one is decided by
vigil (the path of ``vigilctl simulate --json``) and by crm_simulate 2.1.5 through
``../shared/tools/oracle.py``, in a pool of 2 processes, and compared on placements,
roles, actions and fencing with the corpus test's normalization
(``vigil.testing.schedcompare``).

The seeds are fixed (``range(EXAMPLES)``), so a run is deterministic. More examples for a
manual run: ``VIGIL_DIFF_EXAMPLES=20000 pytest tests/unit/test_scheduler_differential.py``
or ``python -m vigil.testing.cibgen --count 20000``. A failure prints each seed with its
differences and keeps its CIB (``$TMPDIR/vigil-diff/seed-S.xml``); replay with

    python -m vigil.testing.cibgen --seed S > case.xml
    vigilctl simulate --xml-file case.xml --json
    python3 ../shared/tools/oracle.py case.xml

Skipped, with the reason, when crm_simulate or ``../shared`` is missing; failed instead
under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

if __name__ == "__main__":  # run as a script (--update)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "daemon"))

from vigil.testing.cibgen.differ import Outcome, report, run_many  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ORACLE = REPO.parent / "shared" / "tools" / "oracle.py"
EXAMPLES = int(os.environ.get("VIGIL_DIFF_EXAMPLES", "3000"))
START = int(os.environ.get("VIGIL_DIFF_START", "0"))
WORKERS = 2
KEEP = Path(tempfile.gettempdir()) / "vigil-diff"
# crm_simulate itself may crash on a few inputs (a failed assertion): those seeds are
# counted, not compared; more than this share means the generator went wrong
MAX_ORACLE_ERRORS = 0.01
# Differences still open (seed -> what differs, and the rule where it is known), kept in
# scheduler_differential_known.json. A new difference fails the test; so does a listed
# seed that agrees again, so the ledger only shrinks. After fixing rules:
#     python tests/unit/test_scheduler_differential.py --update   (drops the fixed seeds)
LEDGER = Path(__file__).with_name("scheduler_differential_known.json")


def load_known() -> dict[int, str]:
    if not LEDGER.is_file():
        return {}
    data: dict[str, str] = json.loads(LEDGER.read_text())["open"]
    return {int(k): v for k, v in data.items()}


KNOWN = load_known()
# What the generated CIBs must exercise between them (see vigil.testing.cibgen)
REQUIRED_FEATURES = {
    "node:online", "node:offline", "node:unclean", "node:unseen", "node:standby",
    "node:maintenance", "node:shutdown", "kind:primitive", "kind:group", "kind:clone",
    "kind:promotable", "clone:unique", "clone:clone-max", "clone:clone-node-max",
    "clone:interleave", "clone:ordered", "clone:group", "clone:master-tag",
    "clone:promoted-max", "promotion-score", "op:iso-interval", "op:role-monitor",
    "op:role-stopped-monitor", "location:node", "location:rule", "rule:role",
    "rule:score-attribute", "rule:date", "location:rsc-pattern",
    "resource-discovery:never", "resource-discovery:exclusive", "constraint:role",
    "colocation", "colocation:node-attribute", "order:Mandatory", "order:Optional",
    "order:Serialize", "order:symmetrical=false", "order:first-action", "order:then-action",
    "set:order", "set:colocation", "set:location", "set:ticket", "set:require-all", "ticket",
    "ticket:stop", "ticket:demote", "ticket:freeze", "ticket:fence", "ticket:standby",
    "placement-strategy:utilization", "placement-strategy:minimal",
    "placement-strategy:balanced", "utilization", "stickiness:default", "stickiness:rsc",
    "target-role:Stopped", "target-role:Promoted", "is-managed:false", "migration-threshold",
    "failure-timeout", "history:monitor-failed", "history:start-failed",
    "history:stop-failed", "history:probe-active", "history:probe-error",
    "history:past-failure", "history:start-pending", "history:degraded",
    "history:param-changed", "history:stale-monitor", "no-quorum",
    "no-quorum-policy:stop", "no-quorum-policy:freeze", "no-quorum-policy:ignore",
    "no-quorum-policy:demote", "no-quorum-policy:suicide", "stonith",
    "symmetric-cluster:false", "multiple-active", "on-fail:block", "on-fail:stop",
}


def _require_oracle() -> None:
    missing = []
    if shutil.which("crm_simulate") is None:
        missing.append("crm_simulate (pacemaker-cli-utils) is not installed")
    if not ORACLE.is_file():
        missing.append(f"{ORACLE} is missing (../shared not present)")
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def test_random_cibs_decided_as_crm_simulate_decides(
        capsys: pytest.CaptureFixture[str]) -> None:
    _require_oracle()
    t0 = time.monotonic()
    outcomes = run_many(range(START, START + EXAMPLES), ORACLE, KEEP, WORKERS)
    elapsed = time.monotonic() - t0
    by_seed = {o.seed: o for o in outcomes}
    status = Counter(o.status for o in outcomes)
    new = [o for o in outcomes if o.status in ("differ", "raised", "invalid")
           and o.seed not in KNOWN]
    fixed = sorted(s for s in KNOWN if s in by_seed and by_seed[s].status.startswith("equal"))
    features = {f for o in outcomes for f in o.features}
    still_open = Counter(rule.split(" [")[0] for seed, rule in KNOWN.items()
                         if seed in by_seed and not by_seed[seed].status.startswith("equal"))
    with capsys.disabled():
        print("\n" + "\n".join(report(outcomes, ORACLE).splitlines()[:3]))
        print(f"{elapsed:.1f} s for {len(outcomes)} examples; known open differences by "
              f"area: " + ", ".join(f"{k} {v}" for k, v in still_open.most_common()))
    problems = _describe(new)
    if fixed:
        problems.append(f"known differences now agree, remove them from KNOWN: {fixed}")
    if status["oracle-error"] > MAX_ORACLE_ERRORS * len(outcomes):
        problems.append(f"crm_simulate failed on {status['oracle-error']} inputs")
    if EXAMPLES >= 1000 and START == 0:
        missing = sorted(REQUIRED_FEATURES - features)
        if missing:
            problems.append(f"features never generated: {missing}")
    assert not problems, "\n".join(problems)


def _describe(new: list[Outcome]) -> list[str]:
    out = []
    for o in new:
        out.append(f"seed {o.seed} [{o.status}]: {'; '.join(o.details)[:800]}\n"
                   f"  kept as {o.kept}; replay: python -m vigil.testing.cibgen --seed "
                   f"{o.seed} > case.xml")
    return out


# -- updating the ledger ---------------------------------------------------------------
def update_ledger(add: bool) -> int:
    """Rewrite the ledger from a run: fixed seeds go; new ones are added only with --add
    (each should then get its rule written next to it)."""
    outcomes = run_many(range(START, START + EXAMPLES), ORACLE, KEEP, WORKERS)
    open_now = {o.seed: o for o in outcomes if o.status in ("differ", "raised", "invalid")}
    known = load_known()
    new = sorted(set(open_now) - set(known))
    if new and not add:
        print(f"new differences (fix them, or rerun with --add): {new}")
        return 1
    ledger = {s: known.get(s) or "; ".join(open_now[s].kinds) for s in sorted(open_now)}
    dropped = sorted(set(known) - set(open_now))
    LEDGER.write_text(json.dumps({"examples": EXAMPLES, "open": {str(k): v for k, v in
                                                                  ledger.items()}},
                                 indent=1) + "\n")
    print(f"{len(ledger)} open, {len(dropped)} fixed: {dropped}, {len(new)} added: {new}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--update"]:
        sys.exit(update_ledger("--add" in sys.argv[2:]))
    print(__doc__)
