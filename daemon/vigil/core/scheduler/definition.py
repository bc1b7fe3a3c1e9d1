"""Stage 1d: did a resource's definition change since its operations ran? -> restarts,
rescheduled monitors, cancellations and fail-count clearing.

Pacemaker 2.1.5 (``process_rsc_history``, ``pcmk__check_action_config``,
``rsc_action_digest_cmp``, ``should_clear_for_param_change``), checked with crm_simulate:

* Only a node that can run resources (online, clean, not standby, shutting down or in
  maintenance) or a node in maintenance is looked at, and only for a resource active there
  that is not an orphan. The ops from the last start (or start-like op: see
  :func:`history.active_indexes`) on are checked, in call-id order; a history whose last
  stop comes after that start is skipped.
* A recurring op on a node or resource in maintenance is cancelled. A recurring op that is
  no longer configured (name and interval, enabled ops only) is cancelled (unless
  ``stop-orphan-actions=false``) and counts as a change.
* Every other recurring op, and each ``start``, ``promote``, ``migrate_from`` and probe
  (``monitor`` interval 0), is compared: the history's ``op-digest`` with
  :func:`digest.op_digest` of the current parameters (the recurring op's configured
  timeout is part of its digest). A missing ``op-digest`` counts as a change, as in
  Pacemaker. A changed recurring op is rescheduled on that node (no restart, the executor
  replaces the old instance, so no cancel either); a changed non-recurring op forces a
  restart: the resource's start becomes required wherever it is placed, so its stop, and
  through ordering its dependents, follow.
* ``sanitized`` (crm_simulate on a CIB file, ``vigilctl simulate``; never the daemon): a
  change is ignored when the history's ``op-secure-digest`` still matches, i.e. only
  parameters listed in ``op-secure-params`` differ (a CIB with masked passwords).
* Any change (or orphan op) on a node where the resource's effective fail count is not 0
  schedules clearing that fail count. It does not lift a migration-threshold ban in this
  transition (Pacemaker checks thresholds before it looks at definitions).
* Separately, while unpacking: a ``*_last_failure_0`` start or monitor entry that has not
  expired, whose ``op-digest`` is present and differs, schedules clearing the fail count on
  its node, whether the resource is active or not; that one does lift the ban.
* Not done: reloads (``op-restart-digest``, ``reload-agent``; vigil never writes restart
  digests and does not reload agents, and without a restart digest Pacemaker restarts
  too), unfencing on fence-device changes, and clean-up of histories whose agent changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from vigil.core import digest

from .model import OpSpec, RscSpec
from .records import OpRecord

# Pacemaker's CRM_FEATURE_SET in 2.1.5, for a history entry and CIB without one
FEATURE_SET = "3.16.2"
# crm feature set from which secure digests keep the op's meta-attributes
SECURE_V2 = (3, 16, 0)
# non-recurring ops compared with the current definition (Pacemaker's task_for_digest)
START_LIKE = frozenset({"start", "promote", "migrate_from", "monitor"})
_FENCE_PARAMS = frozenset({
    "provides", "stonith-timeout", "pcmk_action_limit", "pcmk_delay_base", "pcmk_delay_max",
    "pcmk_host_argument", "pcmk_host_check", "pcmk_host_list", "pcmk_host_map"})


@dataclass(frozen=True)
class CheckContext:
    """What comparing one resource's history on one node needs besides the ops."""

    spec: RscSpec
    maintenance: bool
    stop_orphan_actions: bool
    default_timeout_ms: int
    cib_feature_set: str | None = None
    sanitized: bool = False


@dataclass
class Verdict:
    """The outcome for one resource on one node."""

    cancels: list[tuple[str, int]] = field(default_factory=list)
    reschedule: set[tuple[str, int]] = field(default_factory=set)
    restart: bool = False
    changed: bool = False
    reasons: list[str] = field(default_factory=list)


def configured_op(spec: RscSpec, task: str, interval_ms: int) -> OpSpec | None:
    """The first enabled op configured as ``task`` with ``interval_ms`` (Pacemaker's
    find_rsc_op_entry)."""
    for op in spec.ops:
        if op.enabled and op.name == task and op.interval_ms == interval_ms:
            return op
    return None


def expected_digest(spec: RscSpec, task: str, interval_ms: int, default_timeout_ms: int) -> str:
    """``op-digest`` that ``task``/``interval_ms`` would have if run now. Only a recurring
    op's digest includes its timeout: the configured op's, else ``default_timeout_ms``."""
    conf = configured_op(spec, task, interval_ms)
    timeout_ms = conf.timeout_ms if conf is not None else default_timeout_ms
    return digest.op_digest(spec.params, interval_ms, timeout_ms)


def digest_changed(op: OpRecord, spec: RscSpec, default_timeout_ms: int) -> bool | None:
    """True if ``op``'s recorded digest differs from the current one, None if it has none."""
    if op.digest is None:
        return None
    return op.digest != expected_digest(spec, op.task, op.interval_ms, default_timeout_ms)


def _version(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _fence_param(name: str) -> bool:
    if name in _FENCE_PARAMS:
        return True
    if not name.startswith("pcmk_"):
        return False
    cut = name.find("_", 5)
    return cut >= 0 and name[cut:] in ("_action", "_timeout", "_retries")


def only_secrets_changed(op: OpRecord, ctx: CheckContext) -> bool:
    """True if ``op``'s ``op-secure-digest`` matches the current parameters without the
    ones listed in ``op-secure-params`` (Pacemaker's only_sanitized_changed).

    Feature set 3.16.0 and later hash the full filtered parameter set minus the secrets; older
    histories hash the instance attributes only, without fence-device parameters and
    without a timeout."""
    if op.secure_digest is None:
        return False
    spec = ctx.spec
    secrets = op.secure_params or ""
    version = op.feature_set or ctx.cib_feature_set or FEATURE_SET
    if _version(version) >= SECURE_V2:
        conf = configured_op(spec, op.task, op.interval_ms)
        timeout_ms = conf.timeout_ms if conf is not None else ctx.default_timeout_ms
        full = digest.filter_for_digest(digest.call_params(spec.params, op.interval_ms,
                                                           timeout_ms))
        return digest.secure_digest(full, secrets) == op.secure_digest
    fence = spec.agent is not None and spec.agent.cls == "stonith"
    params = {k: v for k, v in digest.call_params(spec.params, 0, 0).items()
              if f" {k} " not in secrets and not (fence and _fence_param(k))}
    params = digest.filter_for_digest(params)
    params.pop(digest.TIMEOUT_KEY, None)
    return digest.digest_of(params) == op.secure_digest


def check_history(ops: Sequence[OpRecord], ctx: CheckContext) -> Verdict:
    """Compare one active resource's checked ops on one node (see the module rules)."""
    v = Verdict()
    for op in ops:
        if op.interval_ms > 0 and ctx.maintenance:
            v.cancels.append((op.task, op.interval_ms))
            continue
        if op.interval_ms == 0 and op.task not in START_LIKE:
            continue
        if op.interval_ms > 0 and configured_op(ctx.spec, op.task, op.interval_ms) is None:
            v.changed = True
            if ctx.stop_orphan_actions:
                v.cancels.append((op.task, op.interval_ms))
                v.reasons.append(f"{op.key} no longer configured: cancel")
            continue
        changed = digest_changed(op, ctx.spec, ctx.default_timeout_ms)
        if changed is False or (ctx.sanitized and only_secrets_changed(op, ctx)):
            continue
        v.changed = True
        what = "has no op-digest" if changed is None else "definition changed"
        if op.interval_ms > 0:
            v.reschedule.add((op.task, op.interval_ms))
            v.reasons.append(f"{op.key} {what}: reschedule")
        else:
            v.restart = True
            v.reasons.append(f"{op.key} {what}: restart")
    return v
