"""Scores, durations and booleans as Pacemaker 2.1.5 reads them.

Rules
-----
* A score is an integer clamped to [-INFINITY, +INFINITY] with INFINITY = 1,000,000.
  ``INFINITY``/``+INFINITY``/``-INFINITY`` (any case) are the bounds.
* :func:`parse_score` is strict: anything that is neither an integer (a decimal part is
  tolerated and dropped, "2.0" -> 2) nor +/-INFINITY raises :class:`CibInvalid` naming the
  element. :func:`lenient_int` is for meta values, where Pacemaker silently uses 0.
* :func:`add` saturates; -INFINITY wins over +INFINITY.
* Durations ("10s", "30000ms", "1m", "20", "PT10S") become milliseconds; a bare number means
  seconds.
"""

from __future__ import annotations

import re

from vigil.core.durations import parse_duration_ms as parse_duration_ms  # for the stages
from vigil.errors import CibInvalid

INFINITY = 1_000_000

_INT_RE = re.compile(r"^\s*([+-]?\d+)(?:\.\d*)?\s*$")
_LEAD_RE = re.compile(r"^\s*([+-]?\d+)")


def clamp(value: int) -> int:
    return max(-INFINITY, min(INFINITY, value))


def _infinity(text: str) -> int | None:
    low = text.strip().lower()
    if low in ("infinity", "+infinity", "inf", "+inf"):
        return INFINITY
    if low in ("-infinity", "-inf"):
        return -INFINITY
    return None


def parse_score(text: str | None, where: str, default: int = 0) -> int:
    """Parse a score attribute; ``where`` names the element for the error message."""
    if text is None:
        return default
    inf = _infinity(text)
    if inf is not None:
        return inf
    m = _INT_RE.match(text)
    if m is None:
        raise CibInvalid(f"{where}: score {text!r} is not a number (integer or [+-]INFINITY)")
    return clamp(int(m.group(1)))


def lenient_int(text: str | None, default: int = 0) -> int:
    """Integer value of a meta attribute, Pacemaker style: leading integer, else ``default``."""
    if text is None:
        return default
    inf = _infinity(text)
    if inf is not None:
        return inf
    m = _LEAD_RE.match(text)
    return clamp(int(m.group(1))) if m else default


def plain_int(text: str | None, default: int = 0) -> int:
    """A leading integer, unbounded (a time such as ``last-failure``), else ``default``."""
    m = _LEAD_RE.match(text or "")
    return int(m.group(1)) if m else default


def add(a: int, b: int) -> int:
    """Saturating score addition: -INFINITY beats +INFINITY."""
    if a <= -INFINITY or b <= -INFINITY:
        return -INFINITY
    if a >= INFINITY or b >= INFINITY:
        return INFINITY
    return clamp(a + b)


def is_true(text: str | None, default: bool = False) -> bool:
    if text is None:
        return default
    return text.strip().lower() in ("true", "on", "yes", "y", "1")


def score_text(score: int) -> str:
    if score >= INFINITY:
        return "INFINITY"
    if score <= -INFINITY:
        return "-INFINITY"
    return str(score)
