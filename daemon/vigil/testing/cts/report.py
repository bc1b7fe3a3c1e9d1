"""Violations, log excerpts and the campaign's report (text and JSON).

A violation names its kind, the fault it happened under (0: before the first fault), the
time, the node whose ``vigild.log`` tells the story, a one-line detail, and a few log
lines around the time (those matching ``hint`` first). The same (kind, key) is recorded
once per fault.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .faults import Fault

LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


@dataclass
class Violation:
    kind: str
    fault: int
    t: float
    node: str | None
    detail: str
    excerpt: list[str] = field(default_factory=list)


def log_time(line: str) -> float | None:
    m = LOG_TIME.match(line)
    if not m:
        return None
    return time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000


def excerpt(path: Path, t: float, hint: str | None = None, before_s: float = 3.0,
            after_s: float = 1.0, max_lines: int = 8) -> list[str]:
    """Lines of a vigild.log from ``before_s`` before ``t`` to ``after_s`` after it: those
    containing ``hint`` (with their neighbours) when there are any, else the last ones."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    window: list[str] = []
    stamp: float | None = None
    for line in lines:
        stamp = log_time(line) or stamp  # tracebacks: lines without a time follow theirs
        if stamp is not None and t - before_s <= stamp <= t + after_s:
            window.append(line)
    if hint:
        hits = [i for i, line in enumerate(window) if hint in line]
        if hits:
            keep = sorted({j for i in hits[-3:] for j in range(i - 2, i + 3)
                           if 0 <= j < len(window)})
            window = [window[j] for j in keep]
    return [line[:300] for line in window[-max_lines:]]


class Recorder:
    """Collects violations from the campaign's threads."""

    def __init__(self, log_of: Any) -> None:
        self.log_of = log_of  # node -> Path of its vigild.log
        self.lock = threading.Lock()
        self.violations: list[Violation] = []
        self.keys: set[tuple[str, int, str]] = set()
        self.fault = 0  # the fault under way (or the last one)

    def add(self, kind: str, detail: str, node: str | None = None, t: float | None = None,
            key: str | None = None, hint: str | None = None, fault: int | None = None,
            lines: list[str] | None = None, once: bool = False) -> Violation | None:
        """Record a violation; the same (kind, key) once per fault, or once at all."""
        t = t or time.time()
        index = self.fault if fault is None else fault
        with self.lock:
            dedupe = (kind, -1 if once else index, key if key is not None else detail)
            if dedupe in self.keys:
                return None
            self.keys.add(dedupe)
        if lines is None:
            lines = excerpt(self.log_of(node), t, hint) if node else []
        v = Violation(kind, index, t, node, detail, [f"{node}| {x}" for x in lines]
                      if node else lines)
        with self.lock:
            self.violations.append(v)
        return v

    def since(self, count: int) -> list[Violation]:
        with self.lock:
            return self.violations[count:]


def clock(t: float) -> str:
    """Wall-clock time of day with milliseconds, as in vigild.log."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "max": None}
    xs = sorted(values)

    def pct(p: float) -> float:
        return round(xs[min(int(p * len(xs)), len(xs) - 1)], 2)

    return {"p50": pct(0.5), "p90": pct(0.9), "max": round(xs[-1], 2)}


def summary(seed: int, faults: list[Fault], rec: Recorder, writes: dict[str, int],
            runtime_s: float, notes: list[str]) -> dict[str, Any]:
    settles = [f.settle_s for f in faults if f.settle_s is not None]
    by_kind = Counter(f.kind for f in faults)
    kinds = {k: {"count": n, "settle": percentiles(
        [f.settle_s for f in faults if f.kind == k and f.settle_s is not None]),
        "not_settled": sum(1 for f in faults if f.kind == k and f.settle_s is None)}
        for k, n in sorted(by_kind.items())}
    return {
        "seed": seed,
        "faults": len(faults),
        "runtime_s": round(runtime_s, 1),
        "by_kind": kinds,
        "settle": percentiles(settles),
        "not_settled": sum(1 for f in faults if f.settle_s is None),
        "writes": writes,
        "violations": [asdict(v) for v in rec.violations],
        "violations_by_kind": dict(Counter(v.kind for v in rec.violations)),
        "fault_list": [f.to_json() for f in faults],
        "notes": notes,
    }


def render(report: dict[str, Any], describe: dict[int, str]) -> str:
    s = report["settle"]
    out = [f"\nvigil fault campaign: seed {report['seed']}, {report['faults']} faults in "
           f"{report['runtime_s']:.0f} s",
           f"settle time: p50 {s['p50']} s, p90 {s['p90']} s, max {s['max']} s; "
           f"{report['not_settled']} faults did not settle",
           "writes: " + ", ".join(f"{k} {v}" for k, v in report["writes"].items()),
           "\nfaults by kind:"]
    for kind, info in report["by_kind"].items():
        ks = info["settle"]
        out.append(f"  {kind:<11} {info['count']:>4}   settle p50 {ks['p50']} p90 {ks['p90']} "
                   f"max {ks['max']}" + (f", {info['not_settled']} not settled"
                                         if info["not_settled"] else ""))
    for note in report["notes"]:
        out.append(f"note: {note}")
    vs = report["violations"]
    if not vs:
        out.append("\nno violations")
        return "\n".join(out)
    out.append(f"\n{len(vs)} violations: " + ", ".join(
        f"{k} {n}" for k, n in sorted(report["violations_by_kind"].items())))
    for v in vs:
        when = clock(v["t"])
        what = describe.get(v["fault"], "before the first fault")
        out.append(f"\n[{v['kind']}] fault #{v['fault']} ({what}) at {when}: {v['detail']}")
        out.extend(f"    {line}" for line in v["excerpt"])
    return "\n".join(out)


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
