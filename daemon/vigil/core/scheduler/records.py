"""One operation record of a resource's history on a node (an ``lrm_rsc_op``), as read.

A leaf module: :mod:`.history` parses the records and replays them, :mod:`.definition`
and :mod:`.migrate_history` read them; none of them needs the others to name the type.
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
