"""Run vigil's scheduler and the real one (crm_simulate, through ``tools/oracle.py``) on
generated CIBs and compare them as the corpus test does (``vigil.testing.schedcompare``).

vigil runs the path ``vigilctl simulate --json`` runs (the file parsed as the CLI parses
it, ``sanitized=True``, "now" the CIB's ``execution-date``). The oracle script is loaded
once per worker process and its ``main`` called in-process: the same code as on the
command line, without a Python start-up per case. A CIB that differs is kept as
``<keep>/seed-<S>.xml``.

When crm_simulate cannot run its own transition (exit code 1, "An invalid transition was
produced": Pacemaker 2.1.5 sometimes leaves an input out of its graph), its placements and
roles are those of a half-run graph; such a case is compared on actions and fencing only
and reported as ``equal-invalid`` when they agree, else as ``invalid-transition`` (listed,
not counted as a difference: the graph may hold actions crm_simulate itself cannot run).
Placements crm_simulate misreports when it cancels a recurring op of a resource it stops
(see ``_cancel_artifacts``) are left out.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import multiprocessing
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from lxml import etree

from vigil.core import cib as C
from vigil.core.scheduler import schedule
from vigil.core.scheduler.render import transition_json

from .. import schedcompare
from . import generate

_ORACLES: dict[str, ModuleType] = {}


@dataclass(frozen=True)
class Outcome:
    seed: int
    # equal, equal-invalid, invalid-transition, differ, invalid, oracle-error, raised
    status: str
    kinds: tuple[str, ...]
    details: tuple[str, ...]
    features: frozenset[str]
    kept: str | None = None


def _oracle_module(path: Path) -> ModuleType:
    key = str(path)
    if key not in _ORACLES:
        spec = importlib.util.spec_from_file_location("pacemaker_oracle", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _ORACLES[key] = mod
    return _ORACLES[key]


def oracle_json(cib_path: Path, oracle: Path) -> dict[str, Any]:
    """crm_simulate's decision on ``cib_path``, as ``oracle.py CIB --compact`` prints it."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _oracle_module(oracle).main([str(cib_path), "--compact"])
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def vigil_json(xml: bytes, now_s: float) -> dict[str, Any]:
    """``vigilctl simulate --xml-file CIB --json`` on ``xml`` (without the CLI's IO)."""
    cib = C.parse(xml, "generated", keep_blanks=True)
    return transition_json(schedule(cib, now_s, sanitized=True))


def verify(cib_path: Path) -> str | None:
    """crm_verify's complaint when the CIB does not validate or its configuration is not
    valid. crm_verify also reports errors of the cluster's state (a resource active where
    it is not allowed, an action for an unclean node), so the configuration is checked
    with an empty status; the whole CIB must still pass the schema."""
    root = etree.parse(str(cib_path)).getroot()
    for st in root.findall("status"):
        for child in list(st):
            st.remove(child)
    bare = cib_path.with_suffix(".config.xml")
    bare.write_bytes(etree.tostring(root))
    proc = subprocess.run(["crm_verify", "--xml-file", str(bare)], capture_output=True,
                          text=True, check=False)
    schema = subprocess.run(["crm_verify", "--xml-file", str(cib_path)],
                            capture_output=True, text=True, check=False)
    text = proc.stdout + proc.stderr
    if "validity error" in schema.stdout + schema.stderr:
        text += schema.stdout + schema.stderr
    if "Errors found" in text or "not valid" in text.replace("may not be valid", ""):
        return text.strip()[-1500:]
    return None


def check(seed: int, oracle: Path, keep: Path, with_verify: bool = False) -> Outcome:
    """Generate the CIB of ``seed``, decide it both ways, compare."""
    case = generate(seed)
    with tempfile.TemporaryDirectory(prefix="cibgen-") as td:
        path = Path(td) / f"seed-{seed}.xml"
        path.write_bytes(case.xml)
        problem = verify(path) if with_verify else None
        if problem:
            return _keep(case.xml, keep, Outcome(seed, "invalid", ("invalid",), (problem,),
                                                 case.features))
        expected = oracle_json(path, oracle)
    if "error" in expected:
        return _keep(case.xml, keep, Outcome(seed, "oracle-error", ("oracle-error",),
                                             (str(expected["error"])[:500],), case.features))
    try:
        got = vigil_json(case.xml, case.now_s)
    except Exception as exc:  # noqa: BLE001 - a crash is a finding, reported by seed
        return _keep(case.xml, keep, Outcome(seed, "raised", ("raised",), (repr(exc),),
                                             case.features))
    for rid in _cancel_artifacts(expected, case.xml):
        for d in (expected, got):
            for key in ("placements", "roles"):
                d[key] = {k: v for k, v in (d.get(key) or {}).items() if k != rid}
    if (expected.get("meta") or {}).get("rc", 0) != 0:
        # crm_simulate produced a transition it could not run itself ("An invalid
        # transition was produced": an input missing from its graph); its placements are
        # those of a half-run graph, so only actions and fencing are compared
        expected = {**expected, "placements": got.get("placements"), "roles": got.get("roles")}
        if schedcompare.equal(expected, got):
            return Outcome(seed, "equal-invalid", (), (), case.features)
        return _keep(case.xml, keep, Outcome(
            seed, "invalid-transition", tuple(schedcompare.diff_kinds(expected, got)),
            tuple(schedcompare.describe(expected, got)), case.features))
    if schedcompare.equal(expected, got):
        return Outcome(seed, "equal", (), (), case.features)
    return _keep(case.xml, keep, Outcome(
        seed, "differ", tuple(schedcompare.diff_kinds(expected, got)),
        tuple(schedcompare.describe(expected, got)), case.features))


def _cancel_artifacts(expected: dict[str, Any], xml: bytes) -> set[str]:
    """Resources (and their parents) whose placement crm_simulate misreports: when its
    graph cancels a recurring op of a resource it also stops there (and does not start
    again), crm_simulate records the simulated cancellation after the stop, and the
    history it re-reads then shows the resource active on that node."""
    acts = set(expected.get("actions") or [])
    hit: set[str] = set()
    for a in acts:
        if not a.startswith("Cancel "):
            continue
        key, node = a[len("Cancel "):].rsplit(" ", 1)
        rsc = key.rsplit("_", 2)[0]
        if f"{rsc}_stop_0 {node}" in acts and f"{rsc}_start_0 {node}" not in acts:
            hit.add(schedcompare.strip_instance(rsc))
    if not hit:
        return hit
    root = etree.fromstring(xml)
    out = set(hit)
    for el in root.iterfind(".//resources//*[@id]"):
        if el.get("id") in hit:
            out.update(p.get("id", "") for p in el.iterancestors()
                       if p.tag in ("group", "clone", "master"))
    return out


def _keep(xml: bytes, keep: Path, o: Outcome) -> Outcome:
    keep.mkdir(parents=True, exist_ok=True)
    path = keep / f"seed-{o.seed}.xml"
    path.write_bytes(xml)
    return Outcome(o.seed, o.status, o.kinds, o.details, o.features, str(path))


def _check_star(args: tuple[int, Path, Path, bool]) -> Outcome:
    return check(*args)


def run_many(seeds: Iterable[int], oracle: Path, keep: Path, workers: int = 2,
             with_verify: bool = False) -> list[Outcome]:
    jobs = [(s, oracle, keep, with_verify) for s in seeds]
    if workers <= 1:
        return [check(*j) for j in jobs]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return list(pool.imap(_check_star, jobs, chunksize=4))


def report(outcomes: list[Outcome], oracle: Path) -> str:
    """Totals, differences by kind, feature coverage and one line per failing seed."""
    status = Counter(o.status for o in outcomes)
    kinds = Counter(k for o in outcomes for k in o.kinds)
    features = Counter(f for o in outcomes for f in o.features)
    bad = [o for o in outcomes if not o.status.startswith("equal")]
    lines = [f"{len(outcomes)} random CIBs: " + ", ".join(
                 f"{k} {v}" for k, v in sorted(status.items())),
             "differences by kind: " + (", ".join(f"{k} {v}" for k, v in kinds.most_common())
                                        or "none"),
             f"features exercised ({len(features)}): " + ", ".join(
                 f"{k} {v}" for k, v in sorted(features.items()))]
    for o in bad:
        lines.append(f"seed {o.seed} [{o.status}] {'; '.join(o.details)[:600]}")
        lines.append(f"  replay: python -m vigil.testing.cibgen --seed {o.seed} > case.xml; "
                     f"vigilctl simulate --xml-file case.xml --json; "
                     f"python3 {oracle} case.xml   (kept: {o.kept})")
    return "\n".join(lines)
