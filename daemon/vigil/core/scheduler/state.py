"""The unpacked cluster: frozen values produced by :mod:`.unpack`.

:class:`ClusterState` is also what ``vigilctl status`` shows (see :func:`current_state`
in the package): per node online/standby/unclean/maintenance, per resource its agent, the
nodes where it is active with its role, and whether it failed; plus failed operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vigil.core.graph import Agent

from . import scores
from .history import PROMOTED, ROLE_NAMES, STARTED, STOPPED, UNPROMOTED, FailedOp
from .model import ColocSpec, LocationSpec, Options, OrderSpec, RscSpec
from .nodes import NodeState


@dataclass(frozen=True)
class Resource:
    """One element of the resource tree (clone instances are expanded: ``rsc:N``)."""

    id: str
    base: str
    kind: str  # "primitive" | "group" | "clone"
    spec: RscSpec
    meta: Mapping[str, str]
    parent: str | None = None
    children: tuple[str, ...] = ()
    instance: int | None = None
    orphan: bool = False
    # status (primitives; collectives aggregate their children)
    running: tuple[str, ...] = ()
    role: int = STOPPED
    failed: bool = False
    stop_needed: bool = False
    blocked: bool = False
    managed: bool = True
    failure_ignored: bool = False
    start_pending: bool = False
    known_on: frozenset[str] = frozenset()
    next_role: int | None = None
    banned_nodes: frozenset[str] = frozenset()
    ban_all: bool = False
    active_recurring: frozenset[tuple[str, str, int]] = frozenset()
    reschedule: frozenset[tuple[str, str, int]] = frozenset()
    cancels: tuple[tuple[str, str, int], ...] = ()  # (node, task, interval_ms)
    clear_failcount: frozenset[str] = frozenset()
    failcounts: Mapping[str, int] = field(default_factory=dict)
    # nodes where a start-like op's definition changed: the start becomes required
    restart_on: frozenset[str] = frozenset()
    # fail counts to clear because a definition changed; unlike ``clear_failcount`` (expired
    # or last failure's definition changed) these still count for migration-threshold now
    clear_failcount_late: frozenset[str] = frozenset()
    # nodes whose history of this resource is deleted (orphan, or agent changed)
    cleanup_on: frozenset[str] = frozenset()
    # live migration in the history (see migrate_history.py): (source, target) of a
    # migrate_to without its migrate_from, sources still to stop, and "never migrate"
    partial_migration: tuple[str, str] | None = None
    dangling_on: frozenset[str] = frozenset()
    no_migrate: bool = False
    # ``container`` meta: the resource this filler lives in; a container's fillers, and
    # the nodes where a filler's failure requires the container's stop
    container: str | None = None
    fillers: tuple[str, ...] = ()
    stop_required_on: frozenset[str] = frozenset()
    lock_node: str | None = None  # shutdown-lock: the only node it may run on

    @property
    def agent(self) -> Agent | None:
        return self.spec.agent

    @property
    def is_primitive(self) -> bool:
        return self.kind == "primitive"

    @property
    def stickiness(self) -> int:
        return scores.lenient_int(self.meta.get("resource-stickiness"), 0)

    @property
    def priority(self) -> int:
        return scores.lenient_int(self.meta.get("priority"), 0)

    @property
    def migration_threshold(self) -> int:
        return scores.lenient_int(self.meta.get("migration-threshold"), scores.INFINITY)

    @property
    def critical(self) -> bool:
        return scores.is_true(self.meta.get("critical"), True)

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]


def requirement(rsc: Resource, options: Options) -> str:
    """What a start of ``rsc`` needs: nothing, quorum, fencing or unfencing (Pacemaker's
    unpack_requires). An explicit ``requires`` wins, except that a fence device, or a
    cluster without fencing, cannot require unfencing (quorum instead); the default is
    quorum for fence devices, else unfencing/fencing/nothing/quorum by the cluster."""
    value = (rsc.meta.get("requires") or "").lower()
    device = rsc.agent is not None and rsc.agent.cls == "stonith"
    if value in ("nothing", "quorum", "fencing"):
        return value
    if value == "unfencing":
        return "quorum" if device or not options.stonith_enabled else "unfencing"
    if device:
        return "quorum"
    if options.enable_unfencing:
        return "unfencing"
    if options.stonith_enabled:
        return "fencing"
    return "nothing" if options.no_quorum_policy == "ignore" else "quorum"


def target_role(meta: Mapping[str, str], promotable: bool) -> int | None:
    """The target-role limit, or None when unrestricted (Pacemaker's get_target_role)."""
    value = (meta.get("target-role") or "started").lower()
    if value in ("started", "default", "#default"):
        return None
    role = {"stopped": STOPPED, "unpromoted": UNPROMOTED, "slave": UNPROMOTED,
            "promoted": PROMOTED, "master": PROMOTED}.get(value)
    if role is None or (role > STARTED and not promotable) or role == PROMOTED:
        return None
    return role


@dataclass(frozen=True)
class ClusterState:
    """Everything the scheduler read from a CIB, before any decision."""

    options: Options
    nodes: Mapping[str, NodeState]
    resources: Mapping[str, Resource]
    top: tuple[str, ...]
    locations: tuple[LocationSpec, ...] = ()
    colocations: tuple[ColocSpec, ...] = ()
    orders: tuple[OrderSpec, ...] = ()
    failed_ops: tuple[FailedOp, ...] = ()
    has_fence_device: bool = False
    notes: tuple[str, ...] = ()
    now_s: float = 0.0
    op_timeout_ms: int = 20000
    fence_timeout_ms: int = 60000

    def node_names(self) -> tuple[str, ...]:
        return tuple(self.nodes)

    def primitives(self) -> list[Resource]:
        return [r for r in self.resources.values() if r.kind == "primitive"]

    def top_of(self, rid: str) -> Resource:
        rsc = self.resources[rid]
        while rsc.parent is not None:
            rsc = self.resources[rsc.parent]
        return rsc

    def in_promotable(self, rid: str) -> bool:
        top = self.top_of(rid)
        return top.kind == "clone" and top.spec.promotable

    def leaves(self, rid: str) -> list[Resource]:
        rsc = self.resources[rid]
        if rsc.kind == "primitive":
            return [rsc]
        out: list[Resource] = []
        for c in rsc.children:
            out.extend(self.leaves(c))
        return out
