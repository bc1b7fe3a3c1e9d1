"""The working action graph: actions with flags and typed orderings between them.

Rules (Pacemaker 2.1.5 ordering semantics)
------------------------------------------
* Every action is *optional* (done only if something requires it) or required, and
  *runnable* or not. Orderings carry flags that move these properties along an edge:

  ``IMPLIES_THEN``   first required -> then required
  ``IMPLIES_FIRST``  then required -> first required
  ``RUNNABLE_LEFT``  first unrunnable -> then unrunnable
  ``RESTART``        (stop -> start of one resource) a required or unrunnable start makes
                     the stop required; a required but unrunnable stop blocks the start
  ``ASYMMETRICAL``   (symmetrical=false) first unrunnable -> then unrunnable and required,
                     unless then is already satisfied
  ``PROMOTED_IMPLIES_FIRST`` then required on a Promoted resource -> first required
  ``ONE_OR_MORE``    then runnable only if at least one first is runnable (clones)
  ``SAME_NODE``      the ordering only holds between actions on the same node
  ``IMPLIES_FIRST_MIGRATABLE`` (live migration) then not migrate-runnable or unrunnable
                     -> first unrunnable; then required -> first required
  ``PSEUDO_LEFT``    (migrate_from -> start) first unrunnable -> then is a real start,
                     no longer part of a migration
  ``APPLY_FIRST_NON_MIGRATABLE`` the ordering is only an input of then when first is not
                     part of a migration (graph inputs only)
  ``INTERLEAVED``    between two interleaved clones: their instances carry the flags (see
                     :mod:`.interleave`), this ordering only orders the graph

* A resource action may be *migrate-runnable*: it is part of a live migration that may
  still happen. Orderings clear it (``RUNNABLE_LEFT``, ``IMPLIES_FIRST``, ``RESTART``); a
  required first that is migrate-runnable does not make ``IMPLIES_THEN`` thens required.

* Propagation runs to a fixpoint with a work list (flags only ever move one way, except
  ONE_OR_MORE counting), so the result does not depend on processing order.
* An ordering with no flags (``NONE``) does not appear in the final graph.
"""

from __future__ import annotations

NONE = 0
OPTIONAL = 1 << 0
IMPLIES_THEN = 1 << 1
IMPLIES_FIRST = 1 << 2
RUNNABLE_LEFT = 1 << 3
RESTART = 1 << 4
ASYMMETRICAL = 1 << 5
PROMOTED_IMPLIES_FIRST = 1 << 6
ONE_OR_MORE = 1 << 7
SAME_NODE = 1 << 8
IMPLIES_THEN_PRINTED = 1 << 9
IMPLIES_FIRST_PRINTED = 1 << 10
SERIALIZE = 1 << 11
PRESERVE = 1 << 12
IMPLIES_FIRST_MIGRATABLE = 1 << 13
PSEUDO_LEFT = 1 << 14
APPLY_FIRST_NON_MIGRATABLE = 1 << 15
INTERLEAVED = 1 << 16


class Act:
    """One action under construction (mutable inside the actions stage only)."""

    __slots__ = (
        "seq", "key", "rid", "task", "node", "interval_ms", "optional", "runnable",
        "pseudo", "kind", "target_rc", "before", "after", "reason", "implied",
        "required_before", "runnable_count", "print_always", "role_promoted", "meta",
        "migrate_runnable",
    )

    def __init__(self, seq: int, key: str, rid: str | None, task: str, node: str | None,
                 optional: bool, kind: str = "rsc", interval_ms: int = 0) -> None:
        self.seq = seq
        self.key = key
        self.rid = rid
        self.task = task
        self.node = node
        self.interval_ms = interval_ms
        self.optional = optional
        self.runnable = True
        self.pseudo = False
        self.kind = kind
        self.target_rc = 0
        self.before: list[Edge] = []
        self.after: list[Edge] = []
        self.reason: str | None = None
        self.implied = False
        self.required_before = 0
        self.runnable_count = 0
        self.print_always = False
        self.role_promoted = False
        self.meta: tuple[tuple[str, str], ...] = ()  # extra agent meta (notifications)
        self.migrate_runnable = False

    def __repr__(self) -> str:
        flags = ("" if self.optional else "R") + ("" if self.runnable else "U") + \
            ("P" if self.pseudo else "")
        return f"<{self.key} {self.node} {flags}>"


class Edge:
    """An ordering ``first`` -> ``then``; ``flags`` may later be reset to NONE."""

    __slots__ = ("first", "then", "flags")

    def __init__(self, first: Act, then: Act, flags: int) -> None:
        self.first = first
        self.then = then
        self.flags = flags


class ActionGraph:
    """Actions indexed by (key, node) and by (resource, task)."""

    def __init__(self) -> None:
        self.acts: list[Act] = []
        self.index: dict[tuple[str, str | None, str], Act] = {}
        self.by_rsc_task: dict[tuple[str, str], list[Act]] = {}
        self.by_rsc: dict[str, list[Act]] = {}

    def find(self, key: str, node: str | None, task: str = "") -> Act | None:
        return self.index.get((key, node, "cancel" if task == "cancel" else ""))

    def rsc_actions(self, rid: str, task: str, node: str | None = None,
                    any_node: bool = True) -> list[Act]:
        acts = self.by_rsc_task.get((rid, task), [])
        if node is None and any_node:
            return list(acts)
        return [a for a in acts if a.node == node]

    def add(self, key: str, rid: str | None, task: str, node: str | None, optional: bool,
            kind: str = "rsc", interval_ms: int = 0) -> tuple[Act, bool]:
        """Find or create an action; returns (action, created)."""
        ikey = (key, node, "cancel" if task == "cancel" else "")
        act = self.index.get(ikey)
        if act is not None:
            if not optional:
                act.optional = False
            return act, False
        act = Act(len(self.acts), key, rid, task, node, optional, kind, interval_ms)
        self.acts.append(act)
        self.index[ikey] = act
        if rid is not None:
            self.by_rsc_task.setdefault((rid, task), []).append(act)
            self.by_rsc.setdefault(rid, []).append(act)
        return act, True

    def add_detached(self, key: str, rid: str | None, task: str) -> Act:
        """An unrunnable placeholder (an ordering's missing first action)."""
        act = Act(len(self.acts), key, rid, task, None, True, "pseudo")
        act.runnable = False
        act.pseudo = True
        self.acts.append(act)
        return act

    def order(self, first: Act | None, then: Act | None, flags: int) -> None:
        """Add ``first`` -> ``then`` unless an identical ordering exists."""
        if first is None or then is None or first is then:
            return
        for edge in first.after:
            if edge.then is then and edge.flags == flags:
                return
        edge = Edge(first, then, flags)
        then.before.append(edge)
        first.after.append(edge)
