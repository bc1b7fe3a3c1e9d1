"""Frozen values describing the configuration section of a CIB.

These are produced by :mod:`.config` and never mutated. Status (what runs where) lives in
:mod:`.state`; decisions live in later stages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from vigil.core.graph import Agent

EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Options:
    """Cluster options (crm_config) that the scheduler honours, plus CIB-level flags."""

    stonith_enabled: bool = True
    stonith_action: str = "reboot"
    symmetric: bool = True
    no_quorum_policy: str = "stop"
    have_quorum: bool = True
    stop_all: bool = False
    maintenance_mode: bool = False
    start_failure_fatal: bool = True
    placement_strategy: str = "default"
    concurrent_fencing: bool = False
    startup_fencing: bool = True
    # have-watchdog (SBD): watchdog self-fencing counts as a fence device
    have_watchdog: bool = False
    stop_orphan_resources: bool = True
    stop_orphan_actions: bool = True
    dc_uuid: str | None = None
    # node-health-strategy and the scores of red/yellow/green (and the progressive base)
    health_strategy: str = "none"
    health_scores: tuple[int, int, int, int] = (0, 0, 0, 0)  # red, yellow, green, base
    # a resource's or rsc_defaults' meta attribute provides=unfencing or requires=unfencing
    enable_unfencing: bool = False
    # shutdown-lock: resources stay locked to a cleanly shut down node (for the limit, if
    # any; 0 means until it returns)
    shutdown_lock: bool = False
    shutdown_lock_limit_s: int = 0


@dataclass(frozen=True)
class NodeSpec:
    id: str
    name: str
    attrs: Mapping[str, str] = field(default_factory=dict)
    utilization: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class OpSpec:
    id: str
    name: str
    interval_ms: int
    timeout_ms: int
    role: str | None = None
    on_fail: str | None = None
    enabled: bool = True

    @property
    def key_suffix(self) -> str:
        return f"{self.name}_{self.interval_ms}"


@dataclass(frozen=True)
class RscSpec:
    """A configured resource: primitive, group or clone (``promotable`` for promotable)."""

    id: str
    kind: str  # "primitive" | "group" | "clone"
    meta: Mapping[str, str] = field(default_factory=dict)
    children: tuple[RscSpec, ...] = ()
    agent: Agent | None = None
    params: tuple[tuple[str, str], ...] = ()
    ops: tuple[OpSpec, ...] = ()
    utilization: Mapping[str, int] = field(default_factory=dict)
    promotable: bool = False


@dataclass(frozen=True)
class Expr:
    """A rule expression; ``kind`` is "attr", "date", "rsc", "op" or "rule" (nested)."""

    id: str
    kind: str
    attribute: str = ""
    operation: str = "defined"
    value: str | None = None
    type: str = "string"
    value_source: str = "literal"
    rule: Rule | None = None
    start: str | None = None
    end: str | None = None
    spec: Mapping[str, str] = field(default_factory=dict)  # date_spec or duration fields


@dataclass(frozen=True)
class Rule:
    id: str
    score: int = 0
    score_attribute: str | None = None
    boolean_op: str = "and"
    role: str | None = None
    exprs: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class LocationSpec:
    id: str
    rsc: str
    node: str | None = None
    score: int = 0
    rules: tuple[Rule, ...] = ()
    role: str | None = None
    discovery: str = "always"


@dataclass(frozen=True)
class ColocSpec:
    id: str
    rsc: str
    with_rsc: str
    score: int
    rsc_role: str | None = None
    with_rsc_role: str | None = None
    node_attribute: str = "#uname"
    influence: bool | None = None


@dataclass(frozen=True)
class OrderSpec:
    id: str
    first: str
    then: str
    first_action: str = "start"
    then_action: str = "start"
    kind: str = "Mandatory"  # Mandatory | Optional | Serialize
    symmetrical: bool = True
    # ``require-all=false`` on a simple order: a clone ``first`` needs one instance
    require_all: bool = True
    # an order set with require-all=false: the orders sharing this id go through one
    # "any of" pseudo action (runnable once one of its firsts is)
    relaxed: str | None = None


@dataclass(frozen=True)
class TicketSpec:
    """``rsc_ticket``: ``rsc`` depends on ``ticket``; ``role`` None means any role."""

    id: str
    rsc: str
    ticket: str
    role: str | None = None
    loss_policy: str | None = None  # stop | demote | fence | freeze (None: by role)


@dataclass(frozen=True)
class Config:
    options: Options
    nodes: tuple[NodeSpec, ...]
    resources: tuple[RscSpec, ...]
    locations: tuple[LocationSpec, ...] = ()
    colocations: tuple[ColocSpec, ...] = ()
    orders: tuple[OrderSpec, ...] = ()
    tickets: tuple[TicketSpec, ...] = ()
    rsc_defaults: Mapping[str, str] = field(default_factory=dict)
    # rsc_defaults' meta sets with their rules ((rules, pairs), ...), for rsc_expression
    rsc_default_sets: tuple[tuple[tuple[Rule, ...], tuple[tuple[str, str], ...]], ...] = ()
    op_defaults: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    fence_timeout_ms: int = 60000
