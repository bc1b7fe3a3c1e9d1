"""Stage 1c: one resource's operation history on one node -> :class:`NodeHistory`.

Rules (Pacemaker 2.1.5 ``unpack_rsc_op``)
-----------------------------------------
* Operations are replayed in call-id order; the last relevant one decides the role.
  A successful start means Started, promote Promoted, demote Unpromoted, stop Stopped.
  A probe (monitor, interval 0) returning 7 means stopped, 0 running, 8 running Promoted.
* The expected rc is the third field of ``transition-key`` (7 for probes without one).
  An op failed when ``op-status`` is not 0 (and not pending/cancelled) or rc differs from
  the expected rc. A probe never fails on 0, 7 or 8.
* A failure's ``on-fail`` comes from the matching configured op (name and interval), else
  ``op_defaults``, else ``restart`` (for a stop: ``fence`` with fencing enabled, otherwise
  ``block``). ``on-fail=ignore`` pretends the op succeeded. ``stop`` forces the next role
  to Stopped everywhere. Hard errors (rc 2, 3, 4, 5 or op-status 5/7) ban the node; rc 6
  (op-status 6) bans every node.
* A failed start or monitor leaves the resource active and failed on that node.
* A failure older than the resource's ``failure-timeout`` is ignored (and its fail count
  cleared by the transition), unless its op has ``on-fail=block``. An expired recurring
  monitor failure is rescheduled. Any op older than the failure-timeout whose rc is not
  the expected one counts as expired, an op still pending (rc 193) included, while no
  unexpired fail count remains.
* A ``*_last_failure_0`` start or monitor that has not expired, with an ``op-digest`` that
  no longer matches the definition, also has its fail count cleared (see
  :mod:`.definition`).
* A monitor's degraded result (rc 190, 191) is listed as a failed op but read as
  success (0, 8: running, Promoted).
* ``check_ops`` (for :mod:`.definition`): an active resource's ops from its last start on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cmp_to_key

from lxml import etree

from . import scores
from .definition import digest_changed
from .migrate_history import (
    MigrationEffects,
    MigrationView,
    migrate_from_failure,
    migrate_to_failure,
    migrate_to_success,
)
from .model import OpSpec, RscSpec
from .records import OpRecord, newer

Element = etree._Element

UNKNOWN, STOPPED, STARTED, UNPROMOTED, PROMOTED = 0, 1, 2, 3, 4
ROLE_NAMES = ("Unknown", "Stopped", "Started", "Unpromoted", "Promoted")
ROLE_BY_NAME = {n: i for i, n in enumerate(ROLE_NAMES)}

# on-fail severity order (Pacemaker's cmp_on_fail)
_SEVERITY = {"ignore": 0, "demote": 1, "restart": 2, "recover": 2, "restart-container": 3,
             "block": 4, "migrate": 5, "standby": 5, "stop": 6, "fence": 7}

# op-status codes
DONE, PENDING, CANCELLED, NOT_INSTALLED = 0, -1, 1, 7
HARD_RC = {2, 3, 4, 5}
# a monitor's OCF_DEGRADED / OCF_DEGRADED_PROMOTED count as OCF_OK / OCF_RUNNING_PROMOTED
DEGRADED = {190: 0, 191: 8}


@dataclass(frozen=True)
class FailedOp:
    rsc: str
    node: str
    task: str
    interval_ms: int
    rc: int
    status: int
    exit_reason: str
    key: str
    call_id: int
    last_rc_change: int | None = None


@dataclass
class NodeHistory:
    """Summary of one resource's history on one node (internal, built then frozen)."""

    role: int = UNKNOWN
    on_fail: str = "ignore"
    next_role: int | None = None
    clear_next_role: bool = False
    failed_ops: list[FailedOp] = field(default_factory=list)
    ban_node: bool = False
    ban_all: bool = False
    # hard / fatal errors ban the resource, or its whole clone if anonymous: Pacemaker's
    # resource_location(parent, ...) in unpack_rsc_op
    ban_parent_node: bool = False
    ban_parent_all: bool = False
    failure_ignored: bool = False
    start_pending: bool = False
    active_recurring: set[tuple[str, int]] = field(default_factory=set)
    reschedule: set[tuple[str, int]] = field(default_factory=set)
    check_ops: list[OpRecord] = field(default_factory=list)
    clear_failcount: bool = False
    known: bool = False
    migrations: list[MigrationEffects] = field(default_factory=list)


def _int(text: str | None, default: int) -> int:
    if text is not None and text.isdigit():
        return int(text)
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def parse_op(el: Element, rsc_id: str, order: int) -> OpRecord:
    task = el.get("operation", "")
    itext = el.get("interval") or "0"
    interval = int(itext) if itext.isdigit() else scores.parse_duration_ms(itext + "ms", 0)
    key = el.get("operation_key") or f"{rsc_id}_{task}_{interval}"
    target: int | None = None
    tk = el.get("transition-key")
    if tk:
        parts = tk.split(":")
        if len(parts) >= 3 and parts[2].lstrip("-").isdigit():
            target = int(parts[2])
    lrc = el.get("last-rc-change") or el.get("last-run")
    return OpRecord(
        id=el.get("id", ""), key=key, task=task, interval_ms=interval,
        rc=_int(el.get("rc-code"), 0), status=_int(el.get("op-status"), 0),
        call_id=_int(el.get("call-id"), -1), target_rc=target,
        last_rc_change=_int(lrc, 0) if lrc is not None else None,
        exit_reason=el.get("exit-reason", ""), order=order, digest=el.get("op-digest"),
        secure_digest=el.get("op-secure-digest"), secure_params=el.get("op-secure-params"),
        feature_set=el.get("crm_feature_set"), on_node=el.get("on_node"),
        migrate_source=el.get("migrate_source"), migrate_target=el.get("migrate_target"),
        magic=el.get("transition-magic"),
    )


def sorted_ops(lrm_rsc: Element, rsc_id: str) -> list[OpRecord]:
    """The entries oldest first, as Pacemaker orders them (:func:`.records.newer`)."""
    ops = [parse_op(el, rsc_id, i) for i, el in enumerate(lrm_rsc.iterfind("lrm_rsc_op"))]
    ids = {o.call_id for o in ops}
    if len(ids) == len(ops) and -1 not in ids:  # the usual case: call ids decide
        return sorted(ops, key=lambda o: o.call_id)
    return sorted(ops, key=cmp_to_key(_newer_here))


def _newer_here(a: OpRecord, b: OpRecord) -> int:
    return newer(a, b, True)  # entries of one lrm_resource are on one node


def find_op(spec: RscSpec, task: str, interval_ms: int) -> OpSpec | None:
    for op in spec.ops:
        if op.name == task and op.interval_ms == interval_ms:
            return op
    return None


def on_fail_for(spec: RscSpec, op: OpRecord, op_defaults: Mapping[str, str],
                stonith_enabled: bool, in_container: bool = False) -> str:
    conf = find_op(spec, op.task, op.interval_ms)
    value = (conf.on_fail if conf else None) or op_defaults.get("on-fail")
    if value is not None and value.lower() == "restart-container" and not in_container:
        value = None
    if value is None and in_container:
        return "restart-container"
    if value is None:
        if op.task == "stop":
            return "fence" if stonith_enabled else "block"
        return "restart"
    value = value.lower()
    if value == "fence" and not stonith_enabled:
        return "stop"
    if value == "recover":
        return "restart"
    return value if value in _SEVERITY else "restart"


def active_indexes(ops: Sequence[OpRecord]) -> tuple[int, int]:
    """(start_index, stop_index) as Pacemaker's calculate_active_ops computes them."""
    start = stop = -1
    implied_monitor = implied_clone = -1
    for i, op in enumerate(ops):
        if op.task == "stop" and op.status == DONE:
            stop = i
        elif op.task in ("start", "migrate_from"):
            start = i
        elif implied_monitor <= stop and op.task == "monitor":
            if op.rc in (0, 8):
                implied_monitor = i
        elif op.task in ("promote", "demote"):
            implied_clone = i
    if start == -1:
        start = implied_clone if implied_clone != -1 else implied_monitor
    return start, stop


@dataclass(frozen=True)
class HistoryContext:
    """What interpreting a history needs besides the ops themselves."""

    rsc_id: str
    node: str
    node_online: bool
    spec: RscSpec
    op_defaults: Mapping[str, str]
    stonith_enabled: bool
    failure_timeout_s: int
    raw_failcount: int
    effective_failcount: int
    now_s: float
    managed: bool = True
    default_timeout_ms: int = 20000
    migration: MigrationView | None = None
    in_container: bool = False  # a filler (``container`` meta)


def _expired(op: OpRecord, ctx: HistoryContext, h: NodeHistory) -> bool:
    """Pacemaker's check_operation_expiry (also the last-failure definition check)."""
    expired = False
    if ctx.failure_timeout_s > 0 and op.last_rc_change is not None:
        expired = ctx.now_s >= op.last_rc_change + ctx.failure_timeout_s
    if expired and ctx.raw_failcount:
        if ctx.effective_failcount == 0:
            h.clear_failcount = True
        else:
            expired = False
    if (not expired and op.is_last_failure and op.task in ("start", "monitor")
            and digest_changed(op, ctx.spec, ctx.default_timeout_ms)):
        h.clear_failcount = True
    if expired and op.is_probe and op.rc in (0, 7, 8, 190, 191):
        expired = False
    return expired


def _outcome(op: OpRecord, target: int, h: NodeHistory, managed: bool = True) -> str:
    """"done", "error", "hard" or "fatal" for an op that completed with status done or
    error; the outcome depends on the rc and the expected rc (Pacemaker's remap_operation),
    and adjusts the role the way Pacemaker does."""
    rc = op.rc
    outcome = "done" if rc == target else "error"
    if rc == 0:
        if op.is_probe and target == 7:
            outcome = "done"
    elif rc == 7:
        if op.is_probe or target == 7 or not managed:
            outcome = "done"
            h.role = STOPPED
            h.on_fail = "ignore"
            h.clear_next_role = True
            h.next_role = None
    elif rc == 8:
        if op.is_probe:
            outcome = "done"
        h.role = PROMOTED
    elif rc in (9, 191):
        h.role = PROMOTED
        outcome = "error"
    elif rc == 6:
        outcome = "fatal"
    elif rc == 3:
        outcome = "hard" if op.interval_ms == 0 else "error"
    elif rc in (2, 4, 5):
        outcome = "hard"
    return outcome


def _clear_past_failure(h: NodeHistory) -> None:
    if h.on_fail in ("stop", "fence", "migrate", "standby"):
        return
    h.on_fail = "ignore"
    h.next_role = None
    h.clear_next_role = True


def _migration(h: NodeHistory, fx: MigrationEffects) -> None:
    if fx.role is not None:
        h.role = fx.role
    h.migrations.append(fx)


def _succeeded(op: OpRecord, rc: int, h: NodeHistory, last_failure_key: str | None,
               ctx: HistoryContext | None = None) -> None:
    task = op.task
    if rc == 7:
        _clear_past_failure(h)
    elif task == "monitor":
        if last_failure_key is not None and last_failure_key == op.key:
            _clear_past_failure(h)
        if rc == 8:
            h.role = PROMOTED
        elif h.role < STARTED:
            h.role = STARTED
    elif task in ("start", "migrate_from"):
        h.role = STARTED
        _clear_past_failure(h)
    elif task == "migrate_to":
        if ctx is not None and ctx.migration is not None:
            _migration(h, migrate_to_success(ctx.migration, ctx.node, op))
    elif task == "stop":
        h.role = STOPPED
        _clear_past_failure(h)
    elif task == "promote":
        h.role = PROMOTED
        _clear_past_failure(h)
    elif task == "demote":
        if h.on_fail == "demote":
            _clear_past_failure(h)
        h.role = UNPROMOTED
    elif h.role < STARTED:
        h.role = STARTED


def _failed_op(op: OpRecord, ctx: HistoryContext) -> FailedOp:
    return FailedOp(
        rsc=ctx.rsc_id, node=ctx.node, task=op.task, interval_ms=op.interval_ms, rc=op.rc,
        status=op.status, exit_reason=op.exit_reason, key=op.key, call_id=op.call_id,
        last_rc_change=op.last_rc_change,
    )


def _failed(op: OpRecord, outcome: str, ctx: HistoryContext, h: NodeHistory) -> None:
    h.failed_ops.append(_failed_op(op, ctx))
    of = on_fail_for(ctx.spec, op, ctx.op_defaults, ctx.stonith_enabled, ctx.in_container)
    if outcome == "hard" or op.status in (5, 7):
        h.ban_parent_node = True
    if outcome == "fatal" or op.status == 6:
        h.ban_parent_all = True
    if _SEVERITY.get(of, 2) > _SEVERITY.get(h.on_fail, 0):
        h.on_fail = of
    if op.task == "stop":
        h.ban_node = True
    elif op.task in ("migrate_to", "migrate_from") and ctx.migration is not None:
        unpack = migrate_to_failure if op.task == "migrate_to" else migrate_from_failure
        _migration(h, unpack(ctx.migration, ctx.node, op))
    elif op.task == "promote":
        h.role = PROMOTED
    elif op.task == "demote":
        if of == "block":
            h.role, h.next_role = PROMOTED, STOPPED
        else:
            h.role = STOPPED if op.rc == 7 else UNPROMOTED
    if h.role < STARTED:
        h.role = STARTED
    fail_role = STOPPED if of == "stop" else (UNPROMOTED if of == "demote" else STARTED)
    if fail_role != STARTED and (h.next_role is None or h.next_role < fail_role):
        h.next_role = fail_role
    if fail_role == STOPPED:
        h.ban_all = True


def _masked_probe_failure(op: OpRecord, expired: bool, ctx: HistoryContext,
                          h: NodeHistory) -> None:
    """A probe finding the agent not installed or its parameters invalid (rc 5 or 2, or
    op-status 7) means "not running" plus a ban of the node, with no on-fail handling
    (Pacemaker's pcmk_xe_mask_probe_failure); once expired it only forgets the role."""
    h.role, h.on_fail, h.next_role, h.clear_next_role = STOPPED, "ignore", None, True
    if expired:
        h.role = UNKNOWN
        return
    h.failed_ops.append(FailedOp(
        rsc=ctx.rsc_id, node=ctx.node, task=op.task, interval_ms=op.interval_ms, rc=op.rc,
        status=op.status, exit_reason=op.exit_reason, key=op.key, call_id=op.call_id,
        last_rc_change=op.last_rc_change,
    ))
    h.ban_parent_node = True


def summarize(ops: Sequence[OpRecord], ctx: HistoryContext) -> NodeHistory:
    """Replay ``ops`` (sorted by call id) the way Pacemaker's unpack_lrm_resource does."""
    h = NodeHistory()
    last_failure_key: str | None = None
    expired_recurring: list[tuple[int, OpRecord]] = []
    for index, op in enumerate(ops):
        if op.status == CANCELLED:
            continue
        target = op.target_rc if op.target_rc is not None else (7 if op.is_probe else 0)
        expired = op.status != NOT_INSTALLED and _expired(op, ctx, h)
        if op.status == PENDING or op.call_id == -1:
            if expired and op.rc != target:  # an expired pending op is ignored too
                if op.interval_ms > 0:
                    expired_recurring.append((index, op))
                continue
            if op.task == "start":
                h.start_pending = True
                h.role = max(h.role, STARTED)
            elif op.task == "promote":
                h.role = PROMOTED
            continue
        if op.is_probe and (op.rc in (2, 5) or op.status == 7):
            _masked_probe_failure(op, expired, ctx, h)
            continue
        if op.task == "monitor" and op.rc in DEGRADED:  # shown as failed, counts as ok
            h.failed_ops.append(_failed_op(op, ctx))
            op = dataclasses.replace(op, rc=DEGRADED[op.rc])
        if op.status in (DONE, 4):
            outcome = _outcome(op, target, h, ctx.managed)
        else:
            outcome = "hard" if op.status in (5, 7) else "fatal" if op.status == 6 else "error"
        if outcome == "done":
            _succeeded(op, op.rc, h, last_failure_key, ctx)
            continue
        if expired:
            if op.interval_ms > 0:
                expired_recurring.append((index, op))
            continue
        last_failure_key = op.key
        strategy = on_fail_for(ctx.spec, op, ctx.op_defaults, ctx.stonith_enabled,
                               ctx.in_container)
        if strategy == "ignore" or (strategy == "restart-container" and op.task == "stop"):
            h.failed_ops.append(_failed_op(op, ctx))
            h.failure_ignored = True
            _succeeded(op, target, h, None, ctx)
            if strategy != "ignore" and _SEVERITY.get(h.on_fail, 0) <= _SEVERITY["restart"]:
                h.on_fail = strategy  # a filler's failed stop: restart its container
            continue
        _failed(op, outcome, ctx, h)
    h.known = h.role != UNKNOWN
    start, stop = active_indexes(ops)
    for index, op in expired_recurring:
        if index >= start and not (start < stop):
            h.reschedule.add((op.task, op.interval_ms))
    if ctx.node_online and not (start < stop):
        for i, op in enumerate(ops):
            if i < start:
                continue
            h.check_ops.append(op)
    if ctx.node_online:
        # Pacemaker's process_recurring: recurring ops since the last start, or since the
        # last stop if the resource stopped (a role=Stopped monitor)
        first = stop + 1 if start < stop else start
        h.active_recurring.update((op.task, op.interval_ms) for op in ops[max(first, 0):]
                                  if op.interval_ms > 0 and op.status != PENDING)
    return h


def fail_table(attrs: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """rsc name -> (summed fail count, latest last-failure) from node attributes."""
    out: dict[str, tuple[int, int]] = {}
    for name, value in attrs.items():
        for prefix, is_count in (("fail-count-", True), ("last-failure-", False)):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix):].split("#", 1)[0]
            count, last = out.get(rest, (0, 0))
            if is_count:
                count = scores.add(count, scores.lenient_int(value))
            else:
                last = max(last, scores.plain_int(value))  # a time: not a score
            out[rest] = (count, last)
    return out

