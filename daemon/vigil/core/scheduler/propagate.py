"""Propagation of optional/runnable flags along orderings, to a fixpoint.

See :mod:`.actgraph` for the meaning of each ordering flag. Collective resources (groups,
clones) have pseudo actions whose flags summarize their children's: a group's start is
required if any member's start is, its ``running`` is unrunnable if any member cannot
start; a clone's start/running is runnable if any instance's is. An ordering whose
``then`` is a collective action also updates the matching child actions.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from .actgraph import (
    ASYMMETRICAL,
    IMPLIES_FIRST,
    IMPLIES_FIRST_MIGRATABLE,
    IMPLIES_THEN,
    INTERLEAVED,
    NONE,
    ONE_OR_MORE,
    PROMOTED_IMPLIES_FIRST,
    PSEUDO_LEFT,
    RESTART,
    RUNNABLE_LEFT,
    SAME_NODE,
    Act,
    ActionGraph,
    Edge,
)
from .history import PROMOTED, STARTED, STOPPED

OPT, RUN, MIG = 1, 2, 4
ATOMIC = {"running": "start", "stopped": "stop", "promoted": "promote", "demoted": "demote"}


class RscInfo(Protocol):
    def kind(self, rid: str) -> str: ...
    def children(self, rid: str) -> list[str]: ...
    def managed(self, rid: str) -> bool: ...
    def blocked(self, rid: str) -> bool: ...
    def role(self, rid: str) -> int: ...
    def running(self, rid: str) -> tuple[str, ...]: ...
    def location(self, rid: str) -> str | None: ...
    def top(self, rid: str) -> str: ...


def _flags(a: Act) -> int:
    """A primitive action's flags; collective summaries never carry MIG."""
    return (OPT if a.optional else 0) | (RUN if a.runnable else 0) | \
        (MIG if a.migrate_runnable else 0)


class Propagator:
    def __init__(self, graph: ActionGraph, info: RscInfo,
                 colocated_with: dict[str, list[str]] | None = None) -> None:
        self.g = graph
        self.info = info
        # top-level resource -> resources colocated with it at +INFINITY
        self.colocated_with = colocated_with or {}
        self.touched: list[Act] = []  # child actions changed through a collective's

    # -- flags of (possibly collective) actions ------------------------------------------
    def action_flags(self, a: Act, node: str | None) -> int:
        if a.rid is None:
            return _flags(a)
        kind = self.info.kind(a.rid)
        if kind == "group":  # the node matters for clone actions only
            return self.group_flags(a, None)
        if kind == "clone":
            flags = self.clone_flags(a, None)
            if node is None:
                return flags
            on_node = self.clone_flags(a, node)
            return on_node | (flags & RUN)
        return _flags(a)

    def child_action(self, child: str, task: str, node: str | None) -> Act | None:
        acts = self.g.rsc_actions(child, task)
        if node is not None:
            acts = [x for x in acts if x.node == node] or []
        return acts[0] if acts else None

    def group_flags(self, a: Act, node: str | None) -> int:
        flags = OPT | RUN
        task = ATOMIC.get(a.task, a.task)
        assert a.rid is not None
        for child in self.info.children(a.rid):
            ca = self.child_action(child, task, node)
            if ca is not None:
                cf = self.action_flags(ca, node)
                if flags & OPT and not cf & OPT:
                    flags &= ~OPT
                    a.optional = False
                if task != a.task and flags & RUN and not cf & RUN:
                    flags &= ~RUN
                    a.runnable = False
            elif task not in ("stop", "demote"):
                flags &= ~RUN
        return flags

    def clone_flags(self, a: Act, node: str | None) -> int:
        flags = OPT | RUN | (0)
        task = ATOMIC.get(a.task, a.task)
        any_runnable = False
        check_runnable = True
        assert a.rid is not None
        for inst in self.info.children(a.rid):
            ca = self.child_action_deep(inst, task, node)
            if ca is None:
                continue
            cf = (self.group_flags(ca, node) if self.info.kind(inst) == "group"
                  else self.action_flags(ca, node))
            if flags & OPT and not cf & OPT:
                flags &= ~OPT
                a.optional = False
            if cf & RUN:
                any_runnable = True
        if check_runnable and not any_runnable:
            flags &= ~RUN
            if node is None:
                a.runnable = False
        return flags

    def child_action_deep(self, rid: str, task: str, node: str | None) -> Act | None:
        """A clone instance's action for ``task`` (its own pseudo action for a group)."""
        acts = self.g.rsc_actions(rid, task)
        if node is not None and self.info.kind(rid) == "primitive":
            acts = [x for x in acts if x.node == node]
        return acts[0] if acts else None

    # -- per-type updates ------------------------------------------------------------
    def update_rsc(self, first: Act, then: Act, node: str | None, flags: int, filt: int,
                   typ: int) -> None:
        """Pacemaker's update_actions for ``then``'s resource kind."""
        self.native_update(first, then, flags, filt, typ)
        if then.rid is None:
            return
        kind = self.info.kind(then.rid)
        if kind == "group":
            for child in self.info.children(then.rid):
                ca = self.child_action(child, then.task, node)
                if ca is not None:
                    before = _flags(ca)
                    self.native_update(first, ca, flags, filt, typ)
                    if _flags(ca) != before:
                        self.touched.append(ca)
        elif kind == "clone":
            # a clone's instances follow the ordering too (while they are runnable)
            for inst in self.info.children(then.rid):
                ca = self.child_action_deep(inst, then.task, node)
                if ca is None or not self.action_flags(ca, node) & RUN:
                    continue
                before = _flags(ca)
                self.update_rsc(first, ca, node, flags, filt, typ)
                if _flags(ca) != before:
                    self.touched.append(ca)

    def native_update(self, first: Act, then: Act, flags: int, filt: int, typ: int) -> None:
        if typ & ASYMMETRICAL and then.rid is not None:
            self.asymmetric(first, then)
        if typ & IMPLIES_FIRST and not then.optional:
            if filt & OPT and not flags & OPT:
                first.optional = False
            if flags & MIG and not then.migrate_runnable:
                first.migrate_runnable = False
        if typ & PROMOTED_IMPLIES_FIRST and filt & OPT and not then.optional and \
                then.rid is not None and self.info.role(then.rid) == PROMOTED:
            first.optional = False
            if not then.migrate_runnable:
                first.migrate_runnable = False
        if typ & IMPLIES_FIRST_MIGRATABLE and filt & OPT:
            if not (then.migrate_runnable and then.runnable):
                first.runnable = False
            if not then.optional:
                first.optional = False
        if typ & PSEUDO_LEFT and filt & OPT and not first.runnable:
            then.migrate_runnable = False
            then.pseudo = False
        if typ & RUNNABLE_LEFT and filt & RUN and then.runnable and not flags & RUN:
            then.runnable = False
            then.migrate_runnable = False
        if typ & IMPLIES_THEN and filt & OPT and then.optional and not flags & OPT \
                and not first.migrate_runnable:
            then.optional = False
        if typ & RESTART:
            self.restart(first, then, filt)

    def asymmetric(self, first: Act, then: Act) -> None:
        rid = then.rid
        assert rid is not None
        role = self.info.role(rid)
        running = self.info.running(rid)
        if role == STOPPED and then.task == "stop":
            return
        if role >= STARTED and then.task == "start" and then.optional and then.node \
                and len(running) == 1 and running[0] == then.node:
            return
        if not first.runnable:
            then.optional = False
            then.runnable = False

    def restart(self, first: Act, then: Act, filt: int) -> None:
        reason = False
        if filt & OPT and not then.optional:
            reason = True
        if filt & RUN and not then.runnable and then.rid is not None and \
                self.info.managed(then.rid) and first.rid == then.rid:
            reason = True
        if not reason:
            return
        if first.runnable:
            first.optional = False
        if not then.optional:
            first.optional = False
        if not then.migrate_runnable:
            first.migrate_runnable = False
        if not first.optional and not first.runnable:
            then.runnable = False

    # -- one ordering ----------------------------------------------------------------
    def graph_update(self, edge: Edge, first_flags: int, then_flags: int) -> None:
        first, then, typ = edge.first, edge.then, edge.flags
        if typ & INTERLEAVED:
            return
        node = then.node
        if typ & IMPLIES_THEN:
            if then.rid is not None:
                self.update_rsc(first, then, node, first_flags & OPT, OPT, IMPLIES_THEN)
            elif not first_flags & OPT and then.optional:
                then.optional = False
        if typ & RESTART and then.rid is not None:
            self.update_rsc(first, then, node, first_flags, OPT | RUN, RESTART)
        if typ & IMPLIES_FIRST:
            # Pacemaker 2.1.5 tests the *first* action's own flags here (upstream marks it
            # "Should be then_flags?"), so this never makes first required; kept literal
            # for parity. It does end first's part in a live migration (MIG).
            if first.rid is not None:
                self.native_update(first, then, first_flags, OPT, IMPLIES_FIRST)
            elif not first_flags & OPT and first.optional:
                first.optional = False
        if typ & PROMOTED_IMPLIES_FIRST and then.rid is not None:
            self.native_update(first, then, first_flags & OPT, OPT, PROMOTED_IMPLIES_FIRST)
        if typ & ONE_OR_MORE:
            if first_flags & RUN:
                then.runnable_count += 1
        if typ & RUNNABLE_LEFT:
            if then.rid is not None:
                self.update_rsc(first, then, node, first_flags, RUN, RUNNABLE_LEFT)
            elif not first_flags & RUN and then.runnable:
                then.runnable = False
        if typ & IMPLIES_FIRST_MIGRATABLE and then.rid is not None:
            self.update_rsc(first, then, node, first_flags, OPT, IMPLIES_FIRST_MIGRATABLE)
        if typ & PSEUDO_LEFT and then.rid is not None:
            self.update_rsc(first, then, node, first_flags, OPT, PSEUDO_LEFT)
        if typ & ASYMMETRICAL and then.rid is not None:
            self.update_rsc(first, then, node, first_flags, RUN, ASYMMETRICAL)
        if typ & (IMPLIES_THEN | IMPLIES_FIRST | RESTART) and first.rid is not None \
                and first.task == "stop" and not self.info.managed(first.rid) \
                and self.info.blocked(first.rid) and not first.runnable and then.runnable:
            then.runnable = False

    def node_of(self, a: Act) -> str | None:
        if a.rid is not None and a.task == "start" and self.info.kind(a.rid) == "group":
            return self.info.location(a.rid)
        return a.node

    def update_action(self, then: Act, queue: deque[Act], queued: set[int]) -> None:
        one_or_more = any(e.flags & ONE_OR_MORE for e in then.before)
        if one_or_more:
            then.runnable_count = 0
            was_runnable = then.runnable
            then.runnable = True
        before_then = _flags(then)
        for edge in then.before:
            if edge.flags == NONE:
                continue
            first = edge.first
            then_node, first_node = self.node_of(then), self.node_of(first)
            if edge.flags & SAME_NODE and first_node and then_node and first_node != then_node:
                edge.flags = NONE
                continue
            before_first = _flags(first)
            ff = self.action_flags(first, then_node)
            tf = self.action_flags(then, first_node)
            self.graph_update(edge, ff, tf)
            while self.touched:
                child = self.touched.pop()
                self.enqueue(child, queue, queued)
                for e in child.after:
                    self.enqueue(e.then, queue, queued)
            if _flags(first) != before_first:
                self.enqueue(first, queue, queued)
                for e in first.after:
                    self.enqueue(e.then, queue, queued)
        if one_or_more:
            needed = max(1, then.required_before)
            then.runnable = then.runnable and then.runnable_count >= needed
            if was_runnable is False:
                then.runnable = False
        if before_then & RUN and not then.runnable:
            self.block_colocated_starts(then, queue, queued)
        if _flags(then) != before_then:
            self.enqueue(then, queue, queued)
            for e in then.after:
                self.enqueue(e.then, queue, queued)

    def block_colocated_starts(self, a: Act, queue: deque[Act], queued: set[int]) -> None:
        """A blocked start blocks the starts of resources colocated with it at +INFINITY
        (Pacemaker's colocation start chain); for a collective, once all its children's
        starts are blocked."""
        if a.task != "start" or a.runnable or a.rid is None:
            return
        top = self.info.top(a.rid)
        deps = self.colocated_with.get(top)
        if not deps:
            return
        for child in self.info.children(top):
            starts = self.g.rsc_actions(child, "start")
            if not starts or starts[0].runnable:
                return
        for dep in deps:
            for start in self.g.rsc_actions(dep, "start"):
                if start.runnable:
                    start.runnable = False
                    self.block_colocated_starts(start, queue, queued)
                    self.enqueue(start, queue, queued)
                    for e in start.after:
                        self.enqueue(e.then, queue, queued)

    @staticmethod
    def enqueue(a: Act, queue: deque[Act], queued: set[int]) -> None:
        if a.seq not in queued:
            queued.add(a.seq)
            queue.append(a)

    def run(self) -> None:
        queue: deque[Act] = deque()
        queued: set[int] = set()
        for a in self.g.acts:
            self.enqueue(a, queue, queued)
        for a in list(self.g.acts):
            if a.task == "start" and not a.runnable:
                self.block_colocated_starts(a, queue, queued)
        steps = 0
        limit = 50 * (len(self.g.acts) + 10) + 10 * sum(len(a.before) for a in self.g.acts)
        while queue and steps < limit:
            a = queue.popleft()
            queued.discard(a.seq)
            self.update_action(a, queue, queued)
            steps += 1
