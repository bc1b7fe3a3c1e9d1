"""The transition graph: what the scheduler decides and the transition runner carries out.

This module is the contract between ``core.scheduler`` (which builds a :class:`Transition`)
and ``core.transition`` (which executes one). It holds only frozen values.

Rules
-----
* An :class:`Action` runs once every action in ``requires`` has completed successfully.
* ``pseudo`` actions do no work: the runner completes them as soon as they are runnable
  (Pacemaker's pseudo-events: group ``running``/``stopped`` markers, stops implied by
  fencing, ``all_stopped``).
* Resource actions carry everything the executor needs (agent, parameters, timeout) so the
  runner never goes back to the CIB.
* ``kind`` is one of ``rsc`` (resource agent call), ``fence`` (fence ``node`` with
  ``task`` = reboot/off/on), ``cluster`` (``clear_failcount``, ``do_shutdown``, recorded
  by the DC itself) or ``pseudo``.
* ``target_rc`` is the agent exit code that means success: 0 normally, 7 for a probe that
  expects "not running", 8 for a monitor of a Promoted instance. A probe also accepts 0
  and 8 (it discovers state; it does not fail).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Agent:
    """A resource agent spec: ``ocf:heartbeat:IPaddr2`` is Agent("ocf", "heartbeat", "IPaddr2")."""

    cls: str
    provider: str | None
    type: str

    @property
    def spec(self) -> str:
        if self.provider:
            return f"{self.cls}:{self.provider}:{self.type}"
        return f"{self.cls}:{self.type}"


@dataclass(frozen=True)
class Action:
    id: int
    kind: str  # "rsc" | "fence" | "cluster" | "pseudo"
    key: str  # Pacemaker operation key: "web_start_0", "web_monitor_10000", "stonith-node1-reboot"
    task: str  # start/stop/monitor/promote/demote/cancel | reboot/off/on | clear_failcount ...
    node: str | None  # where it runs (for fence: the target node)
    rsc: str | None = None  # resource id (clone instances as "rsc:N")
    agent: Agent | None = None
    interval_ms: int = 0
    timeout_ms: int = 20000
    params: tuple[tuple[str, str], ...] = ()  # instance attributes, sorted
    meta: tuple[tuple[str, str], ...] = ()  # resource meta attributes relevant to the agent call
    target_rc: int = 0
    requires: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_probe(self) -> bool:
        return self.task == "monitor" and self.interval_ms == 0

    @property
    def is_recurring(self) -> bool:
        return self.task == "monitor" and self.interval_ms > 0

    @property
    def history_rsc(self) -> str | None:
        """The name the agent and the history know the resource by: an anonymous clone's
        instances (``globally_unique=false``) share the clone's primitive id (``cl``, not
        ``cl:3``), as in Pacemaker; everything else is :attr:`rsc`."""
        rsc = self.rsc
        if rsc is None or ":" not in rsc or dict(self.meta).get("globally_unique") != "false":
            return rsc
        base, _, number = rsc.rpartition(":")
        return base if number.isdecimal() else rsc


@dataclass(frozen=True)
class Transition:
    """The scheduler's output for one CIB snapshot."""

    actions: tuple[Action, ...]
    # resource id -> node names it will run on after the transition (empty: stopped)
    placements: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # human "Transition Summary" lines, crm_simulate style: "start web node1", "fence(reboot) node2"
    summary: tuple[str, ...] = ()
    # messages about things that could not be done (blocked actions, config problems)
    notes: tuple[str, ...] = ()
    # promotable resources only: resource id -> {"Promoted": nodes, "Unpromoted": nodes}
    roles: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # nodes fenced by this transition (sorted)
    fencing: tuple[str, ...] = ()
    # allocation scores as crm_simulate -s shows them:
    # {"primitive"|"group"|"clone"|"promotion": {rsc: {node: score}}}
    scores: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not any(a.kind != "pseudo" for a in self.actions)
