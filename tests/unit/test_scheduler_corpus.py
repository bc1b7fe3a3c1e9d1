"""Parity with Pacemaker 2.1.5 on its whole scheduler regression suite (799 inputs).

The corpus lives in ``<repo>/../shared/pacemaker-corpus/`` (see its README): ``xml/NAME.xml``
is upstream's input, ``oracle/NAME.json`` what crm_simulate 2.1.5 decided on it, and
``index.json`` the features each input uses and its clock (``--now`` for the four ``-t``
cases, else the CIB's ``execution-date``, as crm_simulate takes it).

vigil runs the path ``vigilctl simulate --json`` runs and is compared on placements, roles,
actions and fencing: clone instance numbers stripped (duplicates kept), lists sorted,
``Stopped`` the same as ``[]``.

``tests/scheduler_corpus_floor.json`` holds the floors, which only go up: equal inputs
overall, equal inputs among those using none of migration, notifications, remote/guest
nodes or bundles ("plain"), accepted inputs, and the names of the inputs that were equal
when the floor was last raised: any of them no longer equal fails the test by name.
Raise the floor after an improvement with::

    .venv/bin/python tests/unit/test_scheduler_corpus.py --update

(it never lowers a number, and refuses to drop a name that used to pass).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "daemon") not in sys.path:  # when run as a script (--update)
    sys.path.insert(0, str(REPO / "daemon"))

from lxml import etree  # noqa: E402

from vigil.core.scheduler import schedule  # noqa: E402
from vigil.core.scheduler.render import transition_json  # noqa: E402
from vigil.errors import CibInvalid  # noqa: E402
from vigil.testing.schedcompare import describe, diff_kinds, normalize  # noqa: E402

CORPUS = REPO.parent / "shared" / "pacemaker-corpus"
FLOOR_FILE = REPO / "tests" / "scheduler_corpus_floor.json"
# crm_simulate used the time of the oracle run for inputs with neither -t nor execution-date;
# any present-day time gives the same answers (failure-timeout expiry)
DEFAULT_NOW_S = 1_750_000_000
NOT_PLAIN = {"migration", "migrate-ops-in-status", "notify", "remote-node", "guest-node",
             "bundle"}
WORKERS = 2


# -- running -----------------------------------------------------------------------------
def load_index() -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = json.loads((CORPUS / "index.json").read_text())["cases"]
    return cases


def case_now(entry: dict[str, Any]) -> float:
    args = list(entry.get("vigil_args") or [])
    if "--now" in args:
        return float(args[args.index("--now") + 1])
    if entry.get("execution_date"):
        return float(entry["execution_date"])
    return float(DEFAULT_NOW_S)


def run_case(name: str, now_s: float) -> tuple[str, str, list[str], list[str]]:
    """(name, outcome, diff kinds, details); outcome is equal, differ, refused or raised."""
    expected = json.loads((CORPUS / "oracle" / f"{name}.json").read_text())
    try:
        cib = etree.parse(str(CORPUS / "xml" / f"{name}.xml")).getroot()
        got = transition_json(schedule(cib, now_s, sanitized=True))
    except CibInvalid as exc:
        return name, "refused", ["refused"], [f"refused: {exc}"]
    except Exception as exc:  # noqa: BLE001 - a crash is reported by name, not raised
        return name, "raised", ["raised"], [f"raised {exc!r}"]
    if normalize(expected) == normalize(got):
        return name, "equal", [], []
    return name, "differ", diff_kinds(expected, got), describe(expected, got)


def _run_star(args: tuple[str, float]) -> tuple[str, str, list[str], list[str]]:
    return run_case(*args)


def run_corpus(names: Iterable[str] | None = None, workers: int = WORKERS
               ) -> dict[str, tuple[str, list[str], list[str]]]:
    index = load_index()
    jobs = [(n, case_now(index[n])) for n in sorted(names or index)]
    if workers > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(workers) as pool:
            rows = pool.map(_run_star, jobs, chunksize=8)
    else:
        rows = [run_case(*j) for j in jobs]
    return {n: (outcome, kinds, details) for n, outcome, kinds, details in rows}


def is_plain(entry: dict[str, Any]) -> bool:
    return not (set(entry["features"]) & NOT_PLAIN)


def report(results: dict[str, tuple[str, list[str], list[str]]],
           index: dict[str, dict[str, Any]]) -> str:
    total = len(results)
    equal = {n for n, r in results.items() if r[0] == "equal"}
    plain = {n for n in results if is_plain(index[n])}
    lines = [f"equal {len(equal)}/{total} ({100 * len(equal) / total:.1f} %); plain "
             f"{len(equal & plain)}/{len(plain)} "
             f"({100 * len(equal & plain) / max(1, len(plain)):.1f} %)",
             "outcomes: " + ", ".join(f"{k} {v}" for k, v in
                                      sorted(Counter(r[0] for r in results.values()).items())),
             "per feature (equal/total):"]
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for n in results:
        for f in index[n]["features"]:
            per[f][1] += 1
            per[f][0] += n in equal
    for f, (e, t) in sorted(per.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0])):
        lines.append(f"  {f:<30} {e:>4}/{t:<4} {100 * e / t:5.1f} %")
    kinds = Counter(k for r in results.values() for k in r[1])
    lines.append("diff kinds: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    lines.append("misses:")
    for n, (outcome, _k, details) in sorted(results.items()):
        if outcome != "equal":
            lines.append(f"  {n} [{outcome}]: {'; '.join(details)[:400]}")
    return "\n".join(lines)


def load_floor() -> dict[str, Any]:
    floor: dict[str, Any] = json.loads(FLOOR_FILE.read_text())
    return floor


# -- tests -------------------------------------------------------------------------------
def _require_corpus() -> None:
    if not (CORPUS / "index.json").is_file():
        reason = f"Pacemaker corpus not found at {CORPUS}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def test_corpus_parity_floor(capsys: pytest.CaptureFixture[str]) -> None:
    _require_corpus()
    index = load_index()
    assert len(index) == 799, f"expected 799 corpus inputs, found {len(index)}"
    results = run_corpus()
    text = report(results, index)
    with capsys.disabled():
        print("\n" + text)
    floor = load_floor()
    equal = {n for n, r in results.items() if r[0] == "equal"}
    plain = {n for n in equal if is_plain(index[n])}
    accepted = [n for n, r in results.items() if r[0] not in ("refused", "raised")]
    regressed = sorted(set(floor["passing"]) - equal)
    problems = []
    if regressed:
        problems.append("used to match and no longer do: " + ", ".join(regressed))
    if len(equal) < floor["equal"]:
        problems.append(f"{len(equal)} equal, floor {floor['equal']}")
    if len(plain) < floor["equal_plain"]:
        problems.append(f"{len(plain)} plain inputs equal, floor {floor['equal_plain']}")
    if len(accepted) < floor["accepted"]:
        problems.append(f"{len(accepted)} inputs accepted, floor {floor['accepted']}")
    assert not problems, "; ".join(problems) + "\n" + text


def test_normalize_follows_the_readme() -> None:
    a = {"placements": {"c": ["n2", "n1"], "d": "Stopped"}, "roles": {},
         "actions": ["c:1_start_0 n1", "c:0_start_0 n1"], "fencing": []}
    b = {"placements": {"c": ["n1", "n2"], "d": []}, "roles": {},
         "actions": ["c_start_0 n1", "c_start_0 n1"], "fencing": []}
    assert normalize(a) == normalize(b)
    b["actions"] = ["c_start_0 n1"]  # duplicates are kept
    assert normalize(a) != normalize(b)
    assert diff_kinds(a, b) == ["actions-start"]


# -- raising the floor -------------------------------------------------------------------
def update_floor() -> int:
    index = load_index()
    results = run_corpus()
    print(report(results, index))
    equal = sorted(n for n, r in results.items() if r[0] == "equal")
    new = {
        "equal": len(equal),
        "equal_plain": sum(1 for n in equal if is_plain(index[n])),
        "accepted": sum(1 for r in results.values() if r[0] not in ("refused", "raised")),
        "passing": equal,
    }
    if FLOOR_FILE.is_file():
        old = load_floor()
        lost = sorted(set(old["passing"]) - set(equal))
        if lost:
            print("not raising the floor: these used to match: " + ", ".join(lost))
            return 1
        for key in ("equal", "equal_plain", "accepted"):
            new[key] = max(new[key], old[key])
    FLOOR_FILE.write_text(json.dumps(new, indent=1) + "\n")
    print(f"floor: {new['equal']} equal, {new['equal_plain']} plain, "
          f"{new['accepted']} accepted")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        sys.exit(update_floor())
    res = run_corpus(sys.argv[1:] or None)
    print(report(res, load_index()))
