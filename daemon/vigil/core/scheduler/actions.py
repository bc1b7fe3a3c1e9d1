"""Stage 4: turn the assignment into actions (start/stop/promote/demote/monitor/probe).

Rules (Pacemaker 2.1.5 ``native_create_actions``)
-------------------------------------------------
* A resource is taken down from its current role (stop, or demote then stop) and brought
  up to its next role on its assigned node. These steps are *optional* unless the resource
  moves, failed, is active on several nodes, or changes role; ordering propagation
  (:mod:`.propagate`) may make them required later ("restart").
* A start or promote is runnable only on an online, clean node, and (unless the resource
  ``requires=nothing``) only with quorum or ``no-quorum-policy=ignore``; with ``freeze``
  only resources already active may start. Stops, demotes and monitors need no quorum.
* Stops of unmanaged resources are never runnable; blocked resources get no start and no
  monitors.
* Every configured recurring op becomes a monitor on the assigned node after the start
  (and promote); one already running there stays as is, unless it must be rescheduled.
  Resources in maintenance (or on a node in maintenance) get no recurring monitors.
  A role-specific monitor that no longer matches the role is cancelled.
* A start still in flight (pending in the history) stays in the graph on the assigned
  node, even when nothing else changes (Pacemaker's create_pending_start).
* Probes (``monitor`` interval 0, expecting 7) run on every online, clean node where the
  resource's state is unknown; starts wait for them.
* Active on several nodes (only online clean ones count unless it requires fencing):
  stopped everywhere and started once (``multiple-active``
  stop_start), left alone (block), or, with ``stop_unexpected``, stopped everywhere but
  on its assigned node (its start there is a pseudo action).
* A resource whose definition changed (``restart_on``, see :mod:`.definition`) gets one
  required start: Pacemaker creates it without a node, and the first start asked for takes
  it, wherever that is. Ordering then requires the stop ("restart") and restarts what is
  ordered after it. An unmanaged resource's start stays optional; if the resource is to stop,
  or cannot start again (no quorum with ``freeze``), the stop is all that happens. Changed
  recurring ops are rescheduled (see ``recurring_op``).
"""

from __future__ import annotations

from . import recurring
from .actgraph import (
    IMPLIES_FIRST_PRINTED,
    IMPLIES_THEN,
    IMPLIES_THEN_PRINTED,
    NONE,
    OPTIONAL,
    PROMOTED_IMPLIES_FIRST,
    RESTART,
    RUNNABLE_LEFT,
    Act,
    ActionGraph,
)
from .clone_actions import probe_clone
from .discovery import no_probe
from .history import PROMOTED, STARTED, STOPPED, UNKNOWN, UNPROMOTED
from .migration import can_migrate, create_migration
from .multiactive import multiply_active
from .notify import NotifyData
from .ports import Assignment
from .scores import INFINITY
from .state import ClusterState, requirement

# rsc_state_matrix[current][target] -> next step
_S, _T, _U, _P = STOPPED, STARTED, UNPROMOTED, PROMOTED
STATE_MATRIX = {
    UNKNOWN: {UNKNOWN: UNKNOWN, _S: _S, _T: _S, _U: _S, _P: _S},
    _S: {UNKNOWN: _S, _S: _S, _T: _T, _U: _U, _P: _U},
    _T: {UNKNOWN: _S, _S: _S, _T: _T, _U: _U, _P: _P},
    _U: {UNKNOWN: _S, _S: _S, _T: _S, _U: _U, _P: _P},
    _P: {UNKNOWN: _S, _S: _U, _T: _U, _U: _U, _P: _P},
}
# action_matrix[current][next] -> step name ("" = nothing, None = error)
ACTION_MATRIX = {
    UNKNOWN: {_S: "stop"},
    _S: {_S: "", _T: "start", _U: "start"},
    _T: {_S: "stop", _T: "", _U: "", _P: "promote"},
    _U: {_S: "stop", _T: "stop", _U: "", _P: "promote"},
    _P: {_S: "demote", _T: "demote", _U: "demote", _P: ""},
}


def op_key(rid: str, task: str, interval_ms: int = 0) -> str:
    return f"{rid}_{task}_{interval_ms}"


class ActionBuilder:
    """Creates the actions of every resource; also answers propagate.RscInfo."""

    def __init__(self, state: ClusterState, asg: Assignment) -> None:
        self.state = state
        self.asg = asg
        self.g = ActionGraph()
        self.opts = state.options
        self.next_role: dict[str, int] = dict(asg.next_role)
        self.role_now: dict[str, int] = {rid: r.role for rid, r in state.resources.items()}
        self.probe_orders: list[tuple[Act, str, int]] = []
        self.no_probe = no_probe(state)  # resource-discovery (see .discovery)
        self.forced_starts = {rid for rid, r in state.resources.items() if r.restart_on}
        self.notify_data: list[NotifyData] = []  # clone notifications (see .notify)
        self.notify_fenced: list[NotifyData] = []
        self.continuing: dict[str, str] = {}  # partial migrations that continue: target
        self.dangling: set[int] = set()  # stops of completed migrations' sources
        self.inhibited: set[str] = set()  # interleaved instances left without a partner
        # multiple-active=stop_unexpected, while restarting: the node where it stays
        self.expected: dict[str, str] = {}

    # -- RscInfo -------------------------------------------------------------------------
    def kind(self, rid: str) -> str:
        rsc = self.state.resources.get(rid)
        return rsc.kind if rsc is not None else "primitive"

    def children(self, rid: str) -> list[str]:
        return list(self.state.resources[rid].children)

    def managed(self, rid: str) -> bool:
        return rid not in self.asg.unmanaged

    def blocked(self, rid: str) -> bool:
        return self.state.resources[rid].blocked

    def role(self, rid: str) -> int:
        return self.role_now.get(rid, STOPPED)

    def running(self, rid: str) -> tuple[str, ...]:
        return self.state.resources[rid].running

    def location(self, rid: str) -> str | None:
        return self.asg.node.get(rid)

    def top(self, rid: str) -> str:
        return self.state.top_of(rid).id

    def colocated_with(self) -> dict[str, list[str]]:
        """Top-level resource -> resources colocated with it at +INFINITY."""
        out: dict[str, list[str]] = {}
        cols = self.asg.colocations
        if cols is None:
            return out
        for rid in self.state.top:
            deps = [c.dependent for c in cols.with_this.get(rid, []) if c.score >= INFINITY]
            if deps:
                out[rid] = deps
        return out

    # -- action creation -----------------------------------------------------------------
    def needs_nothing(self, rid: str, task: str) -> bool:
        if task not in ("start", "promote"):
            return True
        return requirement(self.state.resources[rid], self.opts) == "nothing"

    def rsc_action(self, rid: str, task: str, node: str | None, optional: bool,
                   interval_ms: int = 0, key: str | None = None) -> Act:
        key = key or op_key(rid, task, interval_ms)
        act, created = self.g.add(key, rid, task, node, optional, "rsc", interval_ms)
        if created:
            self.init_runnable(act)
            if task == "start" and rid in self.forced_starts:
                self.force_start(act)
        return act

    def force_start(self, act: Act) -> None:
        """Make ``act`` the required start of a changed definition. Pacemaker's node-less
        start begins unrunnable, and with no quorum and ``freeze`` nothing makes it runnable
        again: the resource then only stops."""
        rid = act.rid
        assert rid is not None
        self.forced_starts.discard(rid)
        if act.node is None or self.managed(rid):
            act.optional = False
        opts = self.opts
        if (not opts.have_quorum and opts.no_quorum_policy == "freeze"
                and not self.needs_nothing(rid, "start")):
            act.runnable = False

    def init_runnable(self, act: Act) -> None:
        rid = act.rid
        assert rid is not None
        node = self.state.nodes.get(act.node) if act.node else None
        opts = self.opts
        if not self.managed(rid) and act.interval_ms == 0 and node is not None:
            act.optional = True  # and still runnable only as below (update_action_optional)
        if node is None:
            act.runnable = False
        elif not act.pseudo and (not node.online or node.unclean):
            act.runnable = False
        elif not act.pseudo and node.pending:
            act.runnable = False
        elif self.needs_nothing(rid, act.task):
            act.runnable = True
        elif not opts.have_quorum and opts.no_quorum_policy == "stop":
            act.runnable = False
        elif not opts.have_quorum and opts.no_quorum_policy == "demote":
            # promotable instances that are active stay (Unpromoted); all else stops
            rsc = self.state.resources[rid]
            keep = act.task == "start" and bool(rsc.running) and self.state.in_promotable(rid)
            act.runnable = keep
        elif not opts.have_quorum and opts.no_quorum_policy == "freeze":
            rsc = self.state.resources[rid]
            if not rsc.running or self.next_role.get(rid, 0) > rsc.role:
                act.runnable = False

    def pseudo(self, rid: str, task: str) -> Act:
        act, created = self.g.add(op_key(rid, task), rid, task, None, True, "pseudo")
        if created:
            act.pseudo = True
            act.runnable = True
        return act

    def order_keys(self, first_rid: str, first_task: str, then_rid: str, then_task: str,
                   flags: int) -> None:
        """Order every ``first_task`` action of first_rid before every ``then_task`` one."""
        firsts = self.g.rsc_actions(first_rid, first_task)
        if not firsts:
            role = self.role_now.get(first_rid, STOPPED)
            if first_rid == then_rid:
                return
            if first_task == "stop" and role == STOPPED:
                return
            if first_task == "demote" and role == UNPROMOTED:
                return
            firsts = [self.g.add_detached(op_key(first_rid, first_task), first_rid, first_task)]
        thens = self.g.rsc_actions(then_rid, then_task)
        for f in firsts:
            if not thens and flags & IMPLIES_THEN:
                continue
            for t in thens:
                self.g.order(f, t, flags)

    def order_to_key(self, first: Act, then_rid: str, then_task: str, flags: int) -> None:
        for t in self.g.rsc_actions(then_rid, then_task):
            self.g.order(first, t, flags)

    def order_from_key(self, first_rid: str, first_task: str, then: Act, flags: int) -> None:
        for f in self.g.rsc_actions(first_rid, first_task):
            self.g.order(f, then, flags)

    # -- primitives ----------------------------------------------------------------------
    def find_active_on(self, rid: str) -> tuple[str | None, int]:
        rsc = self.state.resources[rid]
        running = rsc.running
        clean = [n for n in running if self.state.nodes[n].online
                 and not self.state.nodes[n].unclean]
        current = clean[0] if clean else (running[0] if running else None)
        if rsc.partial_migration is not None:  # a partial migration's source comes first
            source = rsc.partial_migration[0]
            current = source if source in running else (running[0] if running else None)
        return current, len(running)

    def multiply_active(self, rid: str) -> bool:
        """Active on several nodes (see :mod:`.multiactive`)."""
        return multiply_active(self.state.resources[rid], self.state.nodes, self.opts)

    def step(self, rid: str, role: int, nxt: int, node: str | None, optional: bool) -> bool:
        name = ACTION_MATRIX.get(role, {}).get(nxt)
        rsc = self.state.resources[rid]
        if name == "stop":
            for n in rsc.running:
                target = self.continuing.get(rid)
                if (target is not None and n == target) or self.expected.get(rid) == n:
                    continue  # the partial migration there continues, or it stays there
                act = self.rsc_action(rid, "stop", n, optional and target is None)
                if not self.managed(rid):
                    act.runnable = False
        elif name == "start":
            act = self.rsc_action(rid, "start", node, True)
            if node is not None and self.expected.get(rid) == node:
                act.pseudo = True
            if act.runnable and not optional and self.managed(rid):
                act.optional = False
        elif name == "promote":
            if node is None:
                return False
            starts = self.g.rsc_actions(rid, "start", node, any_node=False)
            if all(s.runnable for s in starts):
                self.rsc_action(rid, "promote", node, optional)
            else:
                for p in self.g.rsc_actions(rid, "promote", node, any_node=False):
                    p.runnable = False
        elif name == "demote":
            for n in rsc.running:
                self.rsc_action(rid, "demote", n, optional)
        return name is not None

    def create_primitive(self, rid: str) -> None:
        rsc = self.state.resources[rid]
        chosen = self.asg.node.get(rid)
        next_role = self.next_role[rid]
        current, n_active = self.find_active_on(rid)
        need_stop = need_promote = migrate = False
        for node in sorted(rsc.dangling_on):  # a completed migration's source
            self.dangling.add(self.rsc_action(rid, "stop", node, False).seq)
        for node in sorted(rsc.stop_required_on & set(rsc.running)):  # a filler failed
            self.rsc_action(rid, "stop", node, False)
        moving = current is not None and chosen is not None and current != chosen
        if moving and current is not None and chosen is not None:
            migrate = next_role >= STARTED and can_migrate(self, rid, current, chosen)
        partial = rsc.partial_migration
        if partial is not None and migrate and n_active == 2 and partial == (current, chosen):
            self.continuing[rid] = partial[1]
        elif partial is not None:  # it cannot continue: recover
            need_stop, migrate = True, False
        elif self.multiply_active(rid):
            mode = (rsc.meta.get("multiple-active") or "stop_start").lower()
            need_stop = mode != "block"
        if rsc.start_pending and chosen is not None:  # the start in flight is in the graph
            self.rsc_action(rid, "start", chosen, True).print_always = True
        if moving:
            need_stop = True
        elif rsc.failed and self.managed(rid):
            if rsc.stop_needed:
                need_stop = True
            elif next_role == PROMOTED:
                need_promote = True
        elif rsc.blocked:
            need_stop = True
        elif rsc.role > STARTED and current is not None and chosen is not None:
            restart = self.rsc_action(rid, "start", chosen, True)
            if not restart.optional:
                need_stop = True
        role = rsc.role
        if (self.multiply_active(rid) and partial is None and next_role > STOPPED
                and chosen is not None
                and (rsc.meta.get("multiple-active") or "").lower() == "stop_unexpected"):
            self.expected[rid] = chosen  # stays there: only the other copies stop
        while role != STOPPED:
            nxt = STATE_MATRIX[role][STOPPED]
            if not self.step(rid, role, nxt, current, not need_stop):
                break
            role = nxt
        while rsc.role <= next_role and role != rsc.role and not rsc.blocked:
            nxt = STATE_MATRIX[role][rsc.role]
            required = need_stop or (nxt == PROMOTED and need_promote)
            if not self.step(rid, role, nxt, chosen, not required):
                break
            role = nxt
        self.expected.pop(rid, None)
        role = rsc.role
        while role != next_role:
            nxt = STATE_MATRIX[role][next_role]
            if not self.step(rid, role, nxt, chosen, False):
                break
            role = nxt
        if rsc.blocked:
            return
        start = None
        if next_role != STOPPED or not self.managed(rid):
            start = self.rsc_action(rid, "start", chosen, True)
        recurring.create(self, rid, start, chosen)
        if migrate and current is not None and chosen is not None:
            create_migration(self, rid, current, chosen, rid in self.continuing)

    def in_maintenance(self, rid: str) -> bool:
        meta = self.state.resources[rid].meta
        return self.opts.maintenance_mode or (meta.get("maintenance") or "").lower() in (
            "true", "on", "yes", "1")

    def cancel_ops(self) -> None:
        """Recurring ops no longer configured, or on a node/resource in maintenance. None
        for a resource assigned nowhere: Pacemaker's pcmk__finalize_assignment(NULL) makes
        its recurring actions, these cancellations included, unrunnable."""
        for rsc in self.state.resources.values():
            for node, task, interval in rsc.cancels if self.asg.node.get(rsc.id) else ():
                self.rsc_action(rsc.id, "cancel", node, False, interval,
                                key=op_key(rsc.id, task, interval))
            for node in sorted(rsc.cleanup_on):  # stop -> delete -> start
                delete = self.rsc_action(rsc.id, "delete", node, False)
                for stop in self.g.rsc_actions(rsc.id, "stop", node, any_node=False):
                    self.g.order(stop, delete, OPTIONAL)

    # -- probes ---------------------------------------------------------------------
    def probes(self) -> None:
        for name, node in self.state.nodes.items():
            if not node.online or node.unclean or node.pending:
                continue
            for rid in self.state.top:
                self.probe(rid, name)

    def probe(self, rid: str, node: str) -> None:
        rsc = self.state.resources[rid]
        if rsc.kind == "group":
            for c in rsc.children:
                self.probe(c, node)
            return
        if rsc.kind == "clone":
            probe_clone(self, rid, node)
            return
        self.probe_primitive(rid, node, rid)

    def probe_primitive(self, rid: str, node: str, top: str) -> bool:
        rsc = self.state.resources[rid]
        if rsc.orphan or node in rsc.known_on or rsc.container is not None:
            return False
        if (rid, node) in self.no_probe:
            return False
        probe = self.rsc_action(rid, "monitor", node, False)
        probe.optional = False
        probe.target_rc = 7
        if node in rsc.running:
            probe.target_rc = 8 if rsc.role == PROMOTED else 0
        flags = OPTIONAL
        if not probe.runnable and not rsc.running:
            flags |= RUNNABLE_LEFT
        self.probe_orders.append((probe, top, flags))
        return True

    # -- groups ---------------------------------------------------------------------
    def create_group(self, rid: str) -> None:
        for task in ("start", "running", "stop", "stopped"):
            self.pseudo(rid, task)

    def group_constraints(self, rid: str) -> None:
        rsc = self.state.resources[rid]
        top = self.state.top_of(rid)
        promotable = top.kind == "clone" and top.spec.promotable
        self.order_keys(rid, "stopped", rid, "start", OPTIONAL)
        self.order_keys(rid, "start", rid, "running", RUNNABLE_LEFT)
        self.order_keys(rid, "stop", rid, "stopped", RUNNABLE_LEFT)
        last: str | None = None
        last_active: str | None = None
        for child in rsc.children:
            stop_f = NONE
            stopped_f = IMPLIES_THEN_PRINTED
            start_f = IMPLIES_THEN | RUNNABLE_LEFT
            started_f = RUNNABLE_LEFT | IMPLIES_THEN | IMPLIES_THEN_PRINTED
            if last is None:
                stop_f |= OPTIONAL
                stopped_f = IMPLIES_THEN
            if promotable:
                self.order_keys(rid, "demote", child, "demote", stop_f | IMPLIES_FIRST_PRINTED)
                self.order_keys(child, "demote", rid, "demoted", stopped_f)
                self.order_keys(child, "promote", rid, "promoted", started_f)
                self.order_keys(rid, "promote", child, "promote", IMPLIES_FIRST_PRINTED)
            self.order_keys(rid, "start", child, "start", IMPLIES_FIRST_PRINTED)
            self.order_keys(rid, "stop", child, "stop", stop_f | IMPLIES_FIRST_PRINTED)
            self.order_keys(child, "stop", rid, "stopped", stopped_f)
            self.order_keys(child, "start", rid, "running", started_f)
            if last is not None:
                self.order_keys(last, "start", child, "start", start_f)
                self.order_keys(child, "stop", last, "stop", OPTIONAL | RESTART)
                if promotable:
                    self.order_keys(last, "promote", child, "promote", start_f)
                    self.order_keys(child, "demote", last, "demote", OPTIONAL)
            else:
                self.order_keys(rid, "start", child, "start", NONE)
                if promotable:
                    self.order_keys(rid, "promote", child, "promote", NONE)
            if self.state.resources[child].running:
                if last is not None and not self.state.resources[last].running \
                        and last_active is not None:
                    self.order_keys(child, "stop", last_active, "stop", OPTIONAL)
                last_active = child
            last = child
        if last is not None:
            self.order_keys(rid, "stop", last, "stop", IMPLIES_THEN)
            self.order_keys(last, "stop", rid, "stopped", OPTIONAL)
            if promotable:
                self.order_keys(rid, "demote", last, "demote", IMPLIES_THEN)
                self.order_keys(last, "demote", rid, "demoted", OPTIONAL)

    def primitive_constraints(self, rid: str) -> None:
        rsc = self.state.resources[rid]
        stops = self.g.rsc_actions(rid, "stop")
        if not stops:
            self.order_keys(rid, "stop", rid, "start", OPTIONAL | IMPLIES_THEN | RESTART)
        for stop in stops:
            # a dangling migration's stop does not require the start
            flags = OPTIONAL | RESTART | (0 if stop.seq in self.dangling else IMPLIES_THEN)
            self.order_to_key(stop, rid, "start", flags)
        top = self.state.top_of(rid)
        if (top.kind == "clone" and top.spec.promotable) or rsc.role > UNPROMOTED:
            self.order_keys(rid, "demote", rid, "stop", PROMOTED_IMPLIES_FIRST)
            self.order_keys(rid, "start", rid, "promote", RUNNABLE_LEFT)
