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

from vigil.errors import CibInvalid

INFINITY = 1_000_000

_INT_RE = re.compile(r"^\s*([+-]?\d+)(?:\.\d*)?\s*$")
_LEAD_RE = re.compile(r"^\s*([+-]?\d+)")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_ISO_RE = re.compile(
    r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE
)
_UNIT_MS = {
    "": 1000.0, "s": 1000.0, "sec": 1000.0, "secs": 1000.0,
    "ms": 1.0, "msec": 1.0, "msecs": 1.0, "us": 0.001, "usec": 0.001,
    "m": 60_000.0, "min": 60_000.0, "mins": 60_000.0,
    "h": 3_600_000.0, "hr": 3_600_000.0, "hrs": 3_600_000.0,
}


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


def add(a: int, b: int) -> int:
    """Saturating score addition: -INFINITY beats +INFINITY."""
    if a <= -INFINITY or b <= -INFINITY:
        return -INFINITY
    if a >= INFINITY or b >= INFINITY:
        return INFINITY
    return clamp(a + b)


def parse_duration_ms(text: str | None, default_ms: int = 0) -> int:
    """Milliseconds of a duration such as "10s", "30000ms", "1m", "20" or "PT10S"."""
    if text is None or not text.strip():
        return default_ms
    t = text.strip()
    iso = _ISO_RE.match(t)
    if iso and t.upper() != "P":
        d, h, m, s = (float(x) if x else 0.0 for x in iso.groups())
        return int(((d * 24 + h) * 60 + m) * 60_000 + s * 1000)
    m2 = _DURATION_RE.match(t)
    if m2 is None:
        return default_ms
    factor = _UNIT_MS.get(m2.group(2).lower())
    if factor is None:
        return default_ms
    return int(float(m2.group(1)) * factor)


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
