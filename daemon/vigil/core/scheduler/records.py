"""One operation record of a resource's history on a node (an ``lrm_rsc_op``), as read.

A leaf module: :mod:`.history` parses the records and replays them, :mod:`.definition`
and :mod:`.migrate_history` read them; none of them needs the others to name the type.

Rules (Pacemaker 2.1.5 pe__is_newer_op): on one node the higher call id is newer; equal
call ids (or two nodes) compare ``last-rc-change``. A pending op (call id -1) is newer than
a completed one unless both carry the same transition UUID with different transition
numbers: then the lower number is older, and number -1 is newest.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpRecord:
    id: str
    key: str
    task: str
    interval_ms: int
    rc: int
    status: int
    call_id: int
    target_rc: int | None
    last_rc_change: int | None
    exit_reason: str
    order: int
    digest: str | None = None
    secure_digest: str | None = None
    secure_params: str | None = None
    feature_set: str | None = None
    on_node: str | None = None
    migrate_source: str | None = None
    migrate_target: str | None = None
    magic: str | None = None

    @property
    def is_probe(self) -> bool:
        return self.task == "monitor" and self.interval_ms == 0

    @property
    def is_last_failure(self) -> bool:
        return self.id.endswith("_last_failure_0")


def _transition(op: OpRecord) -> tuple[str, int]:
    """(UUID, transition number) from ``transition-magic`` (``status:rc;id:num:rc:uuid``)."""
    key = (op.magic or "").partition(";")[2].split(":")
    if len(key) < 4:
        return "", -1
    try:
        return key[3], int(key[1])
    except ValueError:
        return key[3], -1


def newer(a: OpRecord, b: OpRecord, same_node_default: bool) -> int:
    """> 0 when ``a`` happened after ``b``, < 0 before, 0 when they cannot be told apart."""
    same = same_node_default if a.on_node is None or b.on_node is None \
        else a.on_node == b.on_node
    ca, cb = a.call_id, b.call_id
    if ca == -1 and cb == -1:
        return 0
    if same and 0 <= ca < cb:
        return -1
    if same and cb >= 0 and ca > cb:
        return 1
    if ca >= 0 and cb >= 0 and (not same or ca == cb):
        la, lb = a.last_rc_change or -1, b.last_rc_change or -1
        if 0 <= la < lb:
            return -1
        if lb >= 0 and la > lb:
            return 1
        return 0
    (ua, ta), (ub, tb) = _transition(a), _transition(b)
    if ua != ub or ta == tb:
        return -1 if cb == -1 else 1
    if 0 <= ta < tb or tb == -1:
        return -1
    return 1
