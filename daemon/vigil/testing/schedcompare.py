"""Compare two scheduler results in ``tools/oracle.py``'s JSON shape (crm_simulate's, and
``vigilctl simulate --json``'s).

The compared keys are ``placements``, ``roles``, ``actions`` and ``fencing``, normalized as
the corpus README says: clone instance numbers stripped (``rsc:3_start_0`` ->
``rsc_start_0``, duplicates kept), lists sorted, ``Stopped`` the same as ``[]``. Used by the
corpus test and by the differential test of random CIBs (``vigil.testing.cibgen``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

INSTANCE = re.compile(r":\d+(?=$|_)")
KEYS = ("placements", "roles", "fencing")


def strip_instance(name: str) -> str:
    return INSTANCE.sub("", name)


def normalize(result: dict[str, Any]) -> dict[str, Any]:
    """The README's normal form of the four compared keys."""
    placements: dict[str, list[str]] = defaultdict(list)
    for rsc, nodes in (result.get("placements") or {}).items():
        placements[strip_instance(rsc)].extend(
            [] if nodes in ("Stopped", None) else list(nodes))
    roles: dict[str, dict[str, list[str]]] = {}
    for rsc, by_role in (result.get("roles") or {}).items():
        merged = roles.setdefault(strip_instance(rsc), {})
        for role, nodes in by_role.items():
            merged.setdefault(role, []).extend(nodes)
    return {
        "placements": {k: sorted(v) for k, v in placements.items() if v},
        "roles": {k: {r: sorted(n) for r, n in v.items() if n}
                  for k, v in roles.items() if any(v.values())},
        "actions": sorted(strip_instance(a) for a in result.get("actions") or []),
        "fencing": sorted(result.get("fencing") or []),
    }


def task_of(action: str) -> str:
    """``rsc_start_0 node1`` -> ``start``; probes are ``probe``, cancellations ``cancel``."""
    if action.startswith("Cancel "):
        return "cancel"
    key = action.split(" ", 1)[0]
    parts = key.rsplit("_", 2)
    task = parts[1] if len(parts) == 3 else key
    return "probe" if task == "monitor" and parts[-1] == "0" else task


def diff_kinds(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Short labels for what differs: ``placements``, ``roles``, ``fencing``, and
    ``actions+<task>`` / ``actions-<task>`` for extra / missing actions by task."""
    want, have = normalize(expected), normalize(got)
    kinds = [k for k in KEYS if want[k] != have[k]]
    w, h = Counter(want["actions"]), Counter(have["actions"])
    for sign, items in (("-", w - h), ("+", h - w)):
        tasks = sorted({task_of(a) for a in items.elements()})
        kinds.extend(f"actions{sign}{t}" for t in tasks)
    return kinds


def describe(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """One line per differing key (empty when the results are equal)."""
    want, have = normalize(expected), normalize(got)
    out = [f"{k}: expected {want[k]} got {have[k]}" for k in KEYS if want[k] != have[k]]
    w, h = Counter(want["actions"]), Counter(have["actions"])
    if w != h:
        out.append(f"actions: missing {sorted((w - h).elements())} "
                   f"extra {sorted((h - w).elements())}")
    return out


def equal(expected: dict[str, Any], got: dict[str, Any]) -> bool:
    return normalize(expected) == normalize(got)
