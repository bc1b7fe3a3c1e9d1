"""Live migration of primitives (``allow-migrate=true``).

Rules (Pacemaker 2.1.5)
-----------------------
* A primitive moving from its current node to another, with a next role of at least
  Started, migrates instead of stopping and starting when it allows migration (meta
  ``allow-migrate``, on by default for Pacemaker Remote connections), is managed, has not
  failed, has no start pending, and neither node is unclean.
* A migration is ``migrate_to`` on the source, then ``migrate_from`` on the target, then
  the stop on the source; the start on the target becomes a pseudo action after
  ``migrate_from``. The stop, the start and both migration actions are *migrate-runnable*.
  Both migration actions begin optional; the required stop makes them required through
  their orderings.
* What blocks a migration is what makes the start or the stop lose migrate-runnable (see
  :mod:`.actgraph`): an unrunnable start, or a required stop or restart ordered before it
  that is not itself part of a migration. Then ``migrate_from`` and ``migrate_to`` become
  unrunnable, and the start a real start again (an ordinary move).
* A partial migration (``migrate_to`` done, ``migrate_from`` not yet, see
  :mod:`.history`) continues with ``migrate_from`` alone when the target stays the same;
  otherwise the resource is recovered (stopped on both nodes).
* A completed migration whose source was never stopped ("dangling") gets a stop on the
  source.
* Each action carries ``migrate_source`` and ``migrate_target`` meta; ``migrate_to`` also
  ``record_pending``.
* Orderings of starts, stops, promotes and demotes between two resources, one of them
  migratable, are repeated for the migration actions (graph inputs only).
"""

from __future__ import annotations

from typing import Protocol

from . import scores
from .actgraph import (
    APPLY_FIRST_NON_MIGRATABLE,
    IMPLIES_FIRST_MIGRATABLE,
    OPTIONAL,
    PSEUDO_LEFT,
    Act,
)
from .ports import Building


class MigrationBuilder(Building, Protocol):
    """What planning a live migration uses of the action builder."""

    def kind(self, rid: str) -> str: ...

    def managed(self, rid: str) -> bool: ...

    def rsc_action(self, rid: str, task: str, node: str | None, optional: bool,
                   interval_ms: int = 0, key: str | None = None) -> Act: ...


def allows_migration(b: MigrationBuilder, rid: str) -> bool:
    rsc = b.state.resources[rid]
    value = rsc.meta.get("allow-migrate")
    if value is None:
        agent = rsc.agent
        return agent is not None and agent.cls == "ocf" and agent.provider == "pacemaker" \
            and agent.type == "remote"
    return scores.is_true(value)


def can_migrate(b: MigrationBuilder, rid: str, current: str, chosen: str) -> bool:
    rsc = b.state.resources[rid]
    if not allows_migration(b, rid) or not b.managed(rid) or rsc.failed \
            or rsc.start_pending or rsc.no_migrate:
        return False
    return not b.state.nodes[current].unclean and not b.state.nodes[chosen].unclean


def _meta(source: str, target: str, pending: bool) -> tuple[tuple[str, str], ...]:
    meta = (("migrate_source", source), ("migrate_target", target))
    return meta + ((("record_pending", "true"),) if pending else ())


def create_migration(b: MigrationBuilder, rid: str, current: str, chosen: str,
                     partial: bool) -> None:
    """Pacemaker's pcmk__create_migration_actions, with the orderings between them."""
    start = b.rsc_action(rid, "start", chosen, True)
    stop = b.rsc_action(rid, "stop", current, True)
    migrate_to: Act | None = None
    if not partial:
        migrate_to = b.rsc_action(rid, "migrate_to", current, True)
        migrate_to.meta = _meta(current, chosen, True)
    migrate_from = b.rsc_action(rid, "migrate_from", chosen, True)
    migrate_from.meta = _meta(current, chosen, False)
    for act in (start, stop, migrate_from):
        act.migrate_runnable = True
    start.pseudo = True
    probes = b.g.rsc_actions(rid, "monitor")
    probes = [p for p in probes if p.interval_ms == 0]
    if migrate_to is not None:
        migrate_to.migrate_runnable = True
        for probe in probes:
            b.g.order(probe, migrate_to, OPTIONAL)
        b.g.order(migrate_to, migrate_from, OPTIONAL | IMPLIES_FIRST_MIGRATABLE)
    else:
        for probe in probes:
            b.g.order(probe, migrate_from, OPTIONAL)
    b.g.order(migrate_from, stop, OPTIONAL | IMPLIES_FIRST_MIGRATABLE)
    b.g.order(migrate_from, start, OPTIONAL | IMPLIES_FIRST_MIGRATABLE | PSEUDO_LEFT)


def order_equivalents(b: MigrationBuilder, first: str, first_task: str, then: str,
                      then_task: str) -> None:
    """Pacemaker's pcmk__order_migration_equivalents for a user ordering between two
    unrelated resources (optional orderings: they only order the graph)."""
    if first == then or b.kind(first) != "primitive" or b.kind(then) != "primitive":
        return
    first_mig, then_mig = allows_migration(b, first), allows_migration(b, then)
    if not (first_mig or then_mig):
        return
    if first_task == "start" and then_task == "start":
        if first_mig and then_mig:
            _order(b, first, "migrate_from", then, "migrate_to", OPTIONAL)
        if then_mig:
            flags = OPTIONAL | (APPLY_FIRST_NON_MIGRATABLE if first_mig else 0)
            _order(b, first, "start", then, "migrate_to", flags)
    elif then_mig and first_task == "stop" and then_task == "stop":
        flags = OPTIONAL | (APPLY_FIRST_NON_MIGRATABLE if first_mig else 0)
        _order(b, first, "stop", then, "migrate_to", flags)
        _order(b, first, "stop", then, "migrate_from", flags)
    elif then_mig and first_task == "promote" and then_task == "start":
        _order(b, first, "promote", then, "migrate_to", OPTIONAL)
    elif then_mig and first_task == "demote" and then_task == "stop":
        _order(b, first, "demote", then, "migrate_to", OPTIONAL)
        _order(b, first, "demote", then, "migrate_from", OPTIONAL)


def _order(b: MigrationBuilder, first: str, first_task: str, then: str, then_task: str,
           flags: int) -> None:
    for f in b.g.rsc_actions(first, first_task):
        for t in b.g.rsc_actions(then, then_task):
            b.g.order(f, t, flags)
