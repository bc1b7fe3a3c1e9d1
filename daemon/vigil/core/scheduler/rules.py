"""Evaluation of Pacemaker rules (location rules, rule-guarded attribute sets).

Rules
-----
* A rule holds when its expressions hold, combined with ``boolean-op`` (and/or, default
  and). A rule without expressions holds.
* Attribute expressions compare a node attribute with a value. ``type`` is string
  (case-insensitive), integer, number or version; without a type, lt/gt/lte/gte compare as
  numbers (integers unless either side has a "."). Values that do not parse as numbers
  are compared as strings. A missing attribute satisfies only ``ne`` and ``not_defined``.
* Date expressions (gt, lt, in_range, date_spec) are judged against ``now_s``; they are the
  only place a rule reads the clock, and the clock is an input.
* ``rsc_expression`` (rsc_defaults) matches the resource's agent: a given class or type
  must equal it, and the provider must equal it even when absent (a group or clone has
  no agent). ``op_expression`` holds only where an operation is known, which vigil's
  readers never ask for: such sets are not applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from .model import Expr, Rule


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        m = re.match(r"^\s*[+-]?\d+", text)
        return float(m.group(0)) if m else None


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.\-]", text.strip()))


def _compare(left: str, right: str, typ: str) -> int | None:
    if typ in ("integer", "number"):
        a, b = _num(left), _num(right)
        if a is None or b is None:  # Pacemaker compares them as strings then
            return _compare(left, right, "string")
        if typ == "integer":
            a, b = float(int(a)), float(int(b))
        return (a > b) - (a < b)
    if typ == "version":
        ka, kb = _version_key(left), _version_key(right)
        return (ka > kb) - (ka < kb)
    la, lb = left.lower(), right.lower()
    return (la > lb) - (la < lb)


def eval_attr_expr(expr: Expr, attrs: Mapping[str, str]) -> bool:
    op = expr.operation
    have = attrs.get(expr.attribute)
    if op == "defined":
        return have is not None
    if op == "not_defined":
        return have is None
    value = expr.value
    if expr.value_source in ("param", "meta") or value is None:
        value = value or ""
    if have is None:
        return op == "ne"
    typ = expr.type.lower() if expr.type else "string"
    if not expr.type:
        if op in ("lt", "gt", "lte", "gte"):
            typ = "number" if "." in have + value else "integer"
    cmp = _compare(have, value, typ)
    if cmp is None:
        return op == "ne"
    return {
        "eq": cmp == 0, "ne": cmp != 0, "lt": cmp < 0, "gt": cmp > 0,
        "lte": cmp <= 0, "gte": cmp >= 0,
    }.get(op, False)


def _parse_date(text: str | None) -> datetime | None:
    if not text:
        return None
    t = text.strip().replace(" ", "T")
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _in_ranges(value: int, spec: str | None) -> bool:
    if spec is None:
        return True
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            lo, _, hi = part.partition("-")
            if lo.strip().isdigit() and hi.strip().isdigit() and int(lo) <= value <= int(hi):
                return True
        elif part.isdigit() and int(part) == value:
            return True
    return False


def eval_date_expr(expr: Expr, now_s: float) -> bool:
    spec = expr.spec
    now = datetime.fromtimestamp(now_s, UTC)
    start, end = _parse_date(expr.start), _parse_date(expr.end)
    op = expr.operation
    if op == "gt":
        return start is not None and now > start
    if op == "lt":
        return end is not None and now < end
    if op == "in_range":
        if end is None and start is not None and spec:
            end = start + timedelta(
                days=float(spec.get("days", 0)) + 7 * float(spec.get("weeks", 0)),
                hours=float(spec.get("hours", 0)), minutes=float(spec.get("minutes", 0)),
                seconds=float(spec.get("seconds", 0)),
            )
        return (start is None or now >= start) and (end is None or now <= end)
    if op == "date_spec":
        fields = {
            "seconds": now.second, "minutes": now.minute, "hours": now.hour,
            "monthdays": now.day, "weekdays": now.isoweekday(), "months": now.month,
            "years": now.year, "yeardays": now.timetuple().tm_yday,
            "weeks": now.isocalendar()[1],
        }
        return all(_in_ranges(v, spec.get(k)) for k, v in fields.items())
    return False


Agent3 = tuple[str | None, str | None, str | None]


def _rsc_expr(expr: Expr, agent: Agent3 | None) -> bool:
    if agent is None:
        return False
    cls, provider, rtype = agent
    want = expr.spec
    if "class" in want and want["class"] != cls:
        return False
    if want.get("provider") != provider:
        return False
    return "type" not in want or want["type"] == rtype


def eval_rule(rule: Rule, attrs: Mapping[str, str], now_s: float,
              agent: Agent3 | None = None) -> bool:
    """True if ``rule`` holds for a node with attributes ``attrs`` at ``now_s`` (and, for
    rsc_expression, a resource whose (class, provider, type) is ``agent``)."""
    results = []
    for expr in rule.exprs:
        if expr.kind == "rule" and expr.rule is not None:
            ok = eval_rule(expr.rule, attrs, now_s, agent)
        elif expr.kind == "rsc":
            ok = _rsc_expr(expr, agent)
        elif expr.kind == "op":
            ok = False
        elif expr.kind == "date":
            ok = eval_date_expr(expr, now_s)
        else:
            ok = eval_attr_expr(expr, attrs)
        results.append(ok)
        if rule.boolean_op == "or" and ok:
            return True
        if rule.boolean_op != "or" and not ok:
            return False
    if not results:
        return True
    return rule.boolean_op != "or"
