"""Durations as Pacemaker writes them, in milliseconds (one parser for every core).

Accepted: a number with an optional unit ("20" is seconds; "500ms", "90s", "2min", "1h",
plural and long forms too) or ISO 8601 ("PT10S", "P1DT2H"). Anything else, or nothing,
gives the caller's default.
"""

from __future__ import annotations

import re

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


_MSEC_RE = re.compile(r"^[ \t\n\r\f]*([0-9.]+)[ \t\n\r\f]*(.*)$", re.DOTALL)


def parse_msec(text: str | None) -> int | None:
    """Milliseconds of a timeout as Pacemaker 2.1.5 reads one (``crm_get_msec``), or None.

    Unlike an interval, a timeout is never ISO 8601 ("PT40S" does not parse). The number is
    the leading run of digits and dots, of which only the integer part counts ("1.5s" is
    1000); the unit is recognised by its first letters, case-insensitively ("ms", "us",
    "s", "m", "h"; none means seconds) and whatever follows it is ignored.
    """
    m = _MSEC_RE.match(text or "")
    if m is None:
        return None
    whole = re.match(r"\d+", m.group(1))
    if whole is None:
        return None
    value = int(whole.group(0))
    unit = m.group(2).lower()
    for prefix, factor in (("ms", 1.0), ("us", 0.001), ("s", 1000.0), ("m", 60_000.0),
                           ("h", 3_600_000.0)):
        if unit.startswith(prefix):
            return int(value * factor)
    return value * 1000 if unit == "" else None
