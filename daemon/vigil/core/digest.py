"""Pacemaker 2.1.5's parameter digests of an ``lrm_rsc_op``: ``op-digest``, and the optional
``op-restart-digest`` and ``op-secure-digest``.

For each start, promote, probe and recurring monitor in the history of an active resource,
Pacemaker's scheduler recomputes the digest from the configuration; a missing or different
``op-digest`` makes it restart the resource (or reschedule the recurring monitor). vigil
therefore writes exactly Pacemaker's value, or Pacemaker's scheduler run on a CIB written by
vigil restarts everything.

Rules, as read in Pacemaker 2.1.5 (``lib/pengine/pe_digest.c``, ``lib/common/operations.c``,
``lib/common/digest.c``, ``lib/common/xml.c``) and checked against ``crm_simulate``:

1. The input is what the agent call receives: the resource's instance attributes (the op's
   own ``instance_attributes`` too), then the op's meta-attributes as ``CRM_meta_<name>``;
   the first value of a name wins.
2. Filter: every name starting with ``CRM_meta_`` goes, and so do ``id``,
   ``crm_feature_set``, ``op-digest``, ``on_node``, ``on_node_uuid`` and
   ``pcmk_external_ip``. A recurring operation keeps ``CRM_meta_timeout`` (decimal
   milliseconds): a new monitor timeout reschedules the monitor, while a start's timeout is
   not part of its digest.
3. Text: one element, attributes sorted by name (byte order), with a leading space and a
   trailing newline: ``' <parameters a="1" b="2"/>\\n'`` (``' <parameters/>\\n'`` when
   nothing is left). Values are escaped Pacemaker's way (:func:`escape`), names are not.
4. The digest is the lowercase hex MD5 of that text's UTF-8 bytes.

``op-restart-digest`` exists only for agents that support ``reload-agent``: rule 2's set
reduced to the non-reloadable parameters named in ``op-force-restart``. Without it, Pacemaker
restarts the resource on any parameter change. ``op-secure-digest`` is rule 2's set without
the private parameters named in ``op-secure-params``; ``crm_simulate`` ignores a changed
``op-digest`` when it still matches (a CIB whose secrets were masked). Both lists come from
agent meta-data, which core/ does not read, and vigil does not reload agents, so the status
writer records only ``op-digest``, as Pacemaker's controller does for such agents.

Limits: the digest covers the parameters vigil gives the agent, so wherever vigil's reading
of the configuration differs from Pacemaker's, the digests differ too (and Pacemaker would
restart). Pacemaker 2.1.5's own XML writer stops escaping at the first non-ASCII character,
so a value such as ``é&x"q`` comes back truncated each time Pacemaker writes and re-reads
the CIB: its digest cannot match the one of the configured value.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

META_PREFIX = "CRM_meta_"
TIMEOUT_KEY = META_PREFIX + "timeout"
INTERVAL_KEY = META_PREFIX + "interval"
# Names that never count, whatever their origin.
FILTERED = frozenset(
    {"id", "crm_feature_set", "op-digest", "on_node", "on_node_uuid", "pcmk_external_ip"}
)
_INT_RE = re.compile(r"\s*\+?(\d+)")
_ENTITIES = {"<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "&": "&amp;",
             "\t": "    ", "\n": "\\n", "\r": "\\r"}


def escape(value: str) -> str:
    """``value`` escaped as Pacemaker escapes attribute values for a digest.

    ``< > " ' &`` become entities, a tab four spaces, newline and carriage return the two
    characters ``\\n`` and ``\\r``, any other control character or DEL a backslash and three
    octal digits. Pacemaker stops at the first multi-byte UTF-8 sequence: from the first
    non-ASCII character on, the value is kept as it is (even a later ``&`` or ``"``).
    """
    out: list[str] = []
    for i, ch in enumerate(value):
        if ord(ch) >= 0x80:
            out.append(value[i:])
            break
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch < " " or ch == "\x7f":
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return "".join(out)


def call_params(params: Iterable[tuple[str, str]], interval_ms: int,
                timeout_ms: int) -> dict[str, str]:
    """Rule 1 for one agent call: ``params`` then the meta-attributes that matter here,
    ``CRM_meta_interval`` (recurring only) and ``CRM_meta_timeout``. As in Pacemaker, the
    first value of a name wins, so an instance attribute named ``CRM_meta_timeout`` hides
    the op's timeout."""
    out: dict[str, str] = {}
    for name, value in params:
        out.setdefault(name, value)
    if interval_ms != 0:
        out.setdefault(INTERVAL_KEY, str(interval_ms))
    out.setdefault(TIMEOUT_KEY, str(timeout_ms))
    return out


def filter_for_digest(params: Mapping[str, str]) -> dict[str, str]:
    """Rule 2: what is left of a full parameter set (rule 1) for the digest."""
    out = {k: v for k, v in params.items() if not k.startswith(META_PREFIX) and k not in FILTERED}
    if _interval_ms(params.get(INTERVAL_KEY)) != 0 and TIMEOUT_KEY in params:
        out[TIMEOUT_KEY] = params[TIMEOUT_KEY]
    return out


def _interval_ms(text: str | None) -> int:
    # Pacemaker reads the interval as a leading decimal integer; negative, out of range
    # (above 2**32 - 1) or not a number counts as 0.
    match = _INT_RE.match(text or "")
    value = int(match.group(1)) if match else 0
    return value if value <= 0xFFFFFFFF else 0


def canonical_text(params: Mapping[str, str]) -> str:
    """Rule 3: the text Pacemaker hashes for an already filtered parameter set."""
    attrs = "".join(f' {name}="{escape(params[name])}"' for name in sorted(params))
    return f" <parameters{attrs}/>\n"


def digest_of(params: Mapping[str, str]) -> str:
    """Rule 4: the digest of an already filtered parameter set."""
    text = canonical_text(params).encode()
    return hashlib.md5(text, usedforsecurity=False).hexdigest()


def op_digest(params: Iterable[tuple[str, str]], interval_ms: int, timeout_ms: int) -> str:
    """``op-digest`` of an operation whose agent call gets the instance attributes
    ``params``, with interval ``interval_ms`` and timeout ``timeout_ms``."""
    return digest_of(filter_for_digest(call_params(params, interval_ms, timeout_ms)))


def word_list(names: Iterable[str]) -> str:
    """``op-force-restart`` / ``op-secure-params`` text, as Pacemaker's controller writes
    it: ``"  a b  "`` (each name is later looked up as ``" name "``); ``""`` for none."""
    words = [n for n in names if n]
    return f"  {' '.join(words)}  " if words else ""


def _listed(name: str, listed: str) -> bool:
    return f" {name} " in listed


def restart_digest(params: Mapping[str, str], force_restart: str) -> str:
    """``op-restart-digest``: ``params`` (filtered by rule 2) reduced to the names in the
    ``op-force-restart`` text ``force_restart``."""
    return digest_of({k: v for k, v in params.items() if _listed(k, force_restart)})


def secure_digest(params: Mapping[str, str], secure_params: str) -> str:
    """``op-secure-digest`` as Pacemaker's scheduler computes it (CRM feature set 3.16.0 or
    later): ``params`` (filtered by rule 2) without the names in the ``op-secure-params``
    text ``secure_params``, filtered once more, which drops ``CRM_meta_timeout`` even for a
    recurring operation."""
    return digest_of(filter_for_digest(
        {k: v for k, v in params.items() if not _listed(k, secure_params)}))
