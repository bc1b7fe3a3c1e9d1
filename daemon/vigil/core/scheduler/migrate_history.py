"""Live-migration records in the history (Pacemaker 2.1.5 ``unpack_migrate_*``).

Rules
-----
A migration is ``migrate_to`` on the source, ``migrate_from`` on the target, then a stop on
the source. Looking at the other node's history of the same resource:

* ``migrate_to`` succeeded: the resource is Started, unless both nodes have newer state
  (a later start, stop or migration, or on the target a later probe finding it stopped).
  * ``migrate_from`` also succeeded: the migration is *dangling*, the source is Stopped
    but still needs its stop.
  * ``migrate_from`` failed: the resource is active on the target too (if online and not
    newer there), else it failed on the source (recovery, no migration).
  * no ``migrate_from`` (pending or erased): active on the target (if online and not
    newer there); with the source online too this is a *partial* migration that may
    continue. Else, when nothing newer happened on the source, it failed there.
* ``migrate_to`` failed: Started; active on the target too if it is known there and has
  nothing newer, else (nothing newer on the source) a dangling stop on the source.
* ``migrate_from`` failed: Started; active on the source too if it is known there and has
  nothing newer.

An op "X is newer than Y" compares call ids on the same node, else last-rc-change. A
history lookup that matches several records matches none (as Pacemaker's XPath lookup).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .records import OpRecord, newer

Element = etree._Element

STARTED, STOPPED = 2, 1
_STATE_TASKS = frozenset({"start", "stop", "migrate_to", "migrate_from"})


class MigrationView:
    """The same resource's history on every node (sorted ops, read on first use), and
    which nodes are up."""

    def __init__(self, load: Callable[[], Mapping[str, Sequence[OpRecord]]],
                 online: Mapping[str, bool]) -> None:
        self._load = load
        self._histories: Mapping[str, Sequence[OpRecord]] | None = None
        self.online = online

    @property
    def histories(self) -> Mapping[str, Sequence[OpRecord]]:
        if self._histories is None:
            self._histories = self._load()
        return self._histories


@dataclass
class MigrationEffects:
    role: int | None = None  # role to set for this node's history
    also_running: list[str] = field(default_factory=list)
    partial: tuple[str, str] | None = None  # (source, target)
    dangling: bool = False  # stop still needed on this node (the source)
    failed: bool = False  # recover, and never migrate


def _find(view: MigrationView, task: str, node: str, peer: str | None,
          rc: int | None = None) -> OpRecord | None:
    matches = []
    for op in view.histories.get(node, ()):
        if op.task != task:
            continue
        if peer is not None and task == "migrate_to" and op.migrate_target != peer:
            continue
        if peer is not None and task == "migrate_from" and op.migrate_source != peer:
            continue
        matches.append(op)
    if len(matches) != 1:
        return None
    op = matches[0]
    if rc is not None and (op.rc != rc or op.status != 0):
        return None
    return op


def _non_monitor_after(view: MigrationView, node: str, ref: OpRecord, same: bool) -> bool:
    return any(op is not ref and op.task in _STATE_TASKS and newer(op, ref, same) > 0
               for op in view.histories.get(node, ()))


def _not_running_after(view: MigrationView, node: str, ref: OpRecord, same: bool) -> bool:
    mon = _find(view, "monitor", node, None, 7)
    return mon is not None and newer(mon, ref, same) > 0


def _newer_state(view: MigrationView, node: str, to_op: OpRecord | None,
                 from_op: OpRecord | None) -> bool:
    ref = from_op or to_op
    assert ref is not None
    same = False
    if node == ref.migrate_target:
        ref, same = (from_op, True) if from_op is not None else (to_op or ref, False)
    elif node == ref.migrate_source:
        ref, same = (to_op, True) if to_op is not None else (from_op or ref, False)
    assert ref is not None
    return _non_monitor_after(view, node, ref, same) or \
        _not_running_after(view, node, ref, same)


def _unknown(view: MigrationView, node: str) -> bool:
    return not view.histories.get(node)


def migrate_to_success(view: MigrationView, node: str, op: OpRecord) -> MigrationEffects:
    fx = MigrationEffects()
    source, target = op.migrate_source, op.migrate_target
    if not source or not target or source != node:
        return fx
    source_newer = _non_monitor_after(view, source, op, True)
    from_op = _find(view, "migrate_from", target, source)
    if source_newer and from_op is not None:
        return fx
    target_newer = _newer_state(view, target, op, from_op)
    if source_newer and target_newer:
        return fx
    fx.role = STARTED
    target_up = view.online.get(target, False)
    if from_op is not None and from_op.rc == 0 and from_op.status == 0:
        fx.role = STOPPED
        fx.dangling = True
    elif from_op is not None and from_op.status != -1:
        if not target_newer and target_up:
            fx.also_running.append(target)
        else:
            fx.failed = True
    elif not target_newer and target_up:
        fx.also_running.append(target)
        if view.online.get(source, False):
            fx.partial = (source, target)
    elif not source_newer:
        fx.failed = True
    return fx


def migrate_to_failure(view: MigrationView, node: str, op: OpRecord) -> MigrationEffects:
    fx = MigrationEffects()
    source, target = op.migrate_source, op.migrate_target
    if not source or not target or source != node:
        return fx
    fx.role = STARTED
    from_op = _find(view, "migrate_from", target, source, 0)
    if not _unknown(view, target) and not _newer_state(view, target, op, from_op):
        if view.online.get(target, False):
            fx.also_running.append(target)
    elif not _non_monitor_after(view, source, op, True):
        fx.dangling = True
    return fx


def migrate_from_failure(view: MigrationView, node: str, op: OpRecord) -> MigrationEffects:
    fx = MigrationEffects()
    source, target = op.migrate_source, op.migrate_target
    if not source or not target or target != node:
        return fx
    fx.role = STARTED
    to_op = _find(view, "migrate_to", source, target, 0)
    if not _unknown(view, source) and not _newer_state(view, source, to_op, op):
        if view.online.get(source, False):
            fx.also_running.append(source)
    return fx


def view_for(elements: Mapping[str, Element], online: Mapping[str, bool],
             parse: Callable[[Element, str], list[OpRecord]], rid: str) -> MigrationView:
    """A view of resource ``rid``'s history on every node (read only when a migration
    record needs it)."""
    def load() -> dict[str, Sequence[OpRecord]]:
        histories: dict[str, Sequence[OpRecord]] = {}
        for name, el in elements.items():
            for lrm_rsc in el.iterfind("lrm/lrm_resources/lrm_resource"):
                if lrm_rsc.get("id") == rid and len(lrm_rsc):
                    histories[name] = parse(lrm_rsc, rid)
        return histories

    return MigrationView(load, online)


def apply_effects(rec: dict[str, Any], node: str, effects: Sequence[MigrationEffects]) -> None:
    """Record one node's migration effects on the unpacked resource ``rec``."""
    for fx in effects:
        for other in fx.also_running:
            if other not in rec["running"]:  # the role is this node's history's
                rec["running"].append(other)
        if fx.partial is not None:
            rec["partial_migration"] = fx.partial
        if fx.dangling:
            rec["dangling_on"].add(node)
        if fx.failed:
            rec["failed"] = rec["stop_needed"] = True
            rec["no_migrate"] = True


def source_role(rec: dict[str, Any], node: str, role: int) -> int:
    """A stop on a partial migration's source leaves the resource Started (on the target)."""
    partial = rec["partial_migration"]
    if role == STOPPED and partial is not None and partial[0] == node and rec["running"]:
        return STARTED
    return role
