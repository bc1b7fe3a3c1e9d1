"""Stage 6: the action graph -> :class:`vigil.core.graph.Transition`.

Rules
-----
* An action is in the transition when it is required (not optional, or the start of a
  resource whose start is still pending: Pacemaker's print_always) and runnable; actions
  of unmanaged resources only when they are probes or cancellations; resource actions
  only on online, clean nodes (stops implied by fencing are pseudo actions).
* ``requires`` holds the ids of the transition's actions ordered before it; orderings
  that pass through pseudo actions left out of the transition are followed through.
* ``placements`` is the expected state after the transition has run: resources lose the
  nodes they stop on or that are fenced and gain the nodes they start on.
"""

from __future__ import annotations

from collections.abc import Mapping

from vigil.core.graph import Action, Agent, Transition

from . import scores
from .actgraph import APPLY_FIRST_NON_MIGRATABLE, NONE, OPTIONAL, Act
from .actions import ActionBuilder
from .clone_actions import clone_constraints, create_clone
from .fencing import clear_failcounts, schedule_fencing
from .history import PROMOTED, STOPPED, UNPROMOTED
from .notify import create_fencing_notifications, create_notifications
from .order import apply_user_orders
from .propagate import Propagator
from .state import ClusterState
from .summary import summary_lines
from .tree import strip_instance
from .unfencing import create_unfencing


def create_all(b: ActionBuilder) -> list[str]:
    """Run action creation, constraints, fencing and propagation; return fenced nodes."""
    b.probes()
    for rid in b.state.top:
        _create(b, rid)
    b.cancel_ops()
    for rsc in b.state.resources.values():
        if rsc.kind == "primitive":
            b.primitive_constraints(rsc.id)
        elif rsc.kind == "group":
            b.group_constraints(rsc.id)
        elif rsc.kind == "clone":
            clone_constraints(b, rsc.id)
    for probe, top, flags in b.probe_orders:
        b.order_to_key(probe, top, "start", flags)
    apply_user_orders(b)
    fenced = schedule_fencing(b)
    create_unfencing(b)
    clear_failcounts(b)
    Propagator(b.g, b, b.colocated_with()).run()
    create_notifications(b)
    create_fencing_notifications(b)
    return fenced


def _create(b: ActionBuilder, rid: str) -> None:
    rsc = b.state.resources[rid]
    if rsc.kind == "primitive":
        b.create_primitive(rid)
        return
    for c in rsc.children:
        _create(b, c)
    if rsc.kind == "group":
        b.create_group(rid)
    else:
        create_clone(b, rid)


def included(b: ActionBuilder, a: Act) -> bool:
    if not a.runnable or (a.optional and not a.print_always):
        return False
    if a.pseudo or a.kind in ("fence", "pseudo"):
        return True
    if a.rid is not None and a.kind == "rsc" and not b.managed(a.rid):
        # unmanaged resources: only monitors and cancellations
        if a.task != "monitor" and a.interval_ms == 0:
            return False
    if a.node is None:
        return False
    node = b.state.nodes[a.node]
    return node.online and not node.unclean


def _timeout(state: ClusterState, rid: str, task: str, interval_ms: int) -> int:
    """The op's timeout: the configured op's, else (probes) the shortest recurring
    monitor's, else op_defaults / 20 s."""
    spec = state.resources[rid].spec
    for op in spec.ops:
        if op.name == task and op.interval_ms == interval_ms:
            return op.timeout_ms
    if task == "monitor" and interval_ms == 0:
        mons = [o for o in spec.ops if o.name == "monitor" and o.interval_ms > 0]
        if mons:
            return min(mons, key=lambda o: o.interval_ms).timeout_ms
    return state.op_timeout_ms


def _meta(state: ClusterState, rid: str) -> tuple[tuple[str, str], ...]:
    rsc = state.resources[rid]
    out: dict[str, str] = {}
    parent = rsc.parent
    inst = rsc
    while parent is not None:
        p = state.resources[parent]
        if p.kind == "clone":
            out["clone"] = str(inst.instance if inst.instance is not None else 0)
            out["clone_max"] = str(len(p.children))
            out["clone_node_max"] = p.meta.get("clone-node-max", "1")
            out["globally_unique"] = "true" if scores.is_true(p.meta.get("globally-unique")) \
                else "false"
            if p.spec.promotable:
                out["promoted_max"] = p.meta.get("promoted-max", p.meta.get("master-max", "1"))
                out["promoted_node_max"] = p.meta.get(
                    "promoted-node-max", p.meta.get("master-node-max", "1"))
            break
        inst = p
        parent = p.parent
    return tuple(sorted(out.items()))


def _to_action(b: ActionBuilder, a: Act, ident: int, requires: frozenset[int]) -> Action:
    state = b.state
    if a.kind == "fence":
        return Action(id=ident, kind="fence", key=a.key, task=a.task, node=a.node,
                      timeout_ms=state.fence_timeout_ms, requires=requires)
    if a.pseudo or a.kind == "pseudo":
        return Action(id=ident, kind="pseudo", key=a.key, task=a.task, node=a.node,
                      rsc=a.rid, requires=requires)
    if a.kind == "cluster":
        return Action(id=ident, kind="cluster", key=a.key, task=a.task, node=a.node,
                      rsc=a.rid, requires=requires)
    assert a.rid is not None
    rsc = state.resources[a.rid]
    agent = rsc.agent or Agent("ocf", None, "unknown")
    task_for_timeout = "monitor" if a.task == "cancel" else a.task
    return Action(
        id=ident, kind="rsc", key=a.key, task=a.task, node=a.node, rsc=a.rid, agent=agent,
        interval_ms=a.interval_ms, timeout_ms=_timeout(state, a.rid, task_for_timeout,
                                                       a.interval_ms),
        params=rsc.spec.params, meta=_meta(state, a.rid) + a.meta, target_rc=a.target_rc,
        requires=requires,
    )


def graph_actions(b: ActionBuilder) -> tuple[Action, ...]:
    chosen = [a for a in b.g.acts if included(b, a)]
    ids = {a.seq: i + 1 for i, a in enumerate(chosen)}
    memo: dict[int, frozenset[int]] = {}

    def inputs(a: Act, depth: int = 0) -> frozenset[int]:
        out: set[int] = set()
        for e in a.before:
            f = e.first
            if e.flags == NONE or (f.migrate_runnable and (
                    e.flags & APPLY_FIRST_NON_MIGRATABLE
                    or (e.flags == OPTIONAL and f.task == "stop"))):
                continue  # an ordering that does not hold during a migration
            if f.seq in ids:
                out.add(ids[f.seq])
            elif f.pseudo and f.runnable and depth < 50:
                if f.seq not in memo:
                    memo[f.seq] = inputs(f, depth + 1)
                out |= memo[f.seq]
        return frozenset(out)

    return tuple(_to_action(b, a, ids[a.seq], inputs(a)) for a in chosen)


def final_placement(b: ActionBuilder, actions: tuple[Action, ...],
                    fenced: list[str]) -> dict[str, tuple[list[str], int]]:
    """Per primitive: nodes and role after the transition."""
    stops: dict[str, set[str]] = {}
    starts: dict[str, set[str]] = {}
    role_change: dict[str, int] = {}
    for a in b.g.acts:
        if a.rid is None or not included(b, a):
            continue
        if a.task == "stop" and a.node:
            stops.setdefault(a.rid, set()).add(a.node)
        elif a.task == "start" and a.node:
            starts.setdefault(a.rid, set()).add(a.node)
        elif a.task == "promote":
            role_change[a.rid] = PROMOTED
        elif a.task == "demote":
            role_change.setdefault(a.rid, UNPROMOTED)
    out: dict[str, tuple[list[str], int]] = {}
    for rsc in b.state.resources.values():
        if rsc.kind != "primitive":
            continue
        nodes = [n for n in rsc.running if n not in stops.get(rsc.id, set())
                 and n not in fenced]
        for n in sorted(starts.get(rsc.id, set())):
            if n not in nodes:
                nodes.append(n)
        role = rsc.role if rsc.running else STOPPED
        if rsc.id in starts and rsc.id not in stops:
            role = max(role, UNPROMOTED if b.state.in_promotable(rsc.id) else 2)
        elif rsc.id in starts:
            role = UNPROMOTED if b.state.in_promotable(rsc.id) else 2
        role = role_change.get(rsc.id, role)
        out[rsc.id] = (nodes, role if nodes else STOPPED)
    return out


def placements_and_roles(
    state: ClusterState, final: Mapping[str, tuple[list[str], int]]
) -> tuple[dict[str, tuple[str, ...]], dict[str, dict[str, tuple[str, ...]]]]:
    places: dict[str, list[str]] = {}
    roles: dict[str, dict[str, list[str]]] = {}

    def visit(rid: str, keys: list[str]) -> list[str]:
        rsc = state.resources[rid]
        key = strip_instance(rid) if rsc.instance is not None else rid
        if rsc.kind == "primitive":
            nodes, role = final[rid]
            if rsc.orphan and not nodes and rsc.parent is None:
                return []
            places.setdefault(key, []).extend(nodes)
            if state.in_promotable(rid) and nodes and role in (PROMOTED, UNPROMOTED):
                name = "Promoted" if role == PROMOTED else "Unpromoted"
                for k in keys + [key]:
                    roles.setdefault(k, {}).setdefault(name, []).extend(nodes)
            return list(nodes)
        found: list[str] = []
        for c in rsc.children:
            found.extend(visit(c, keys + [key]))
        if rsc.kind == "group":
            found = sorted(set(found))
        places.setdefault(key, []).extend(found)
        return found

    for rid in state.top:
        visit(rid, [])
    return (
        {k: tuple(sorted(v)) for k, v in places.items()},
        {k: {r: tuple(sorted(n)) for r, n in v.items()} for k, v in roles.items()},
    )


def _why_not_fenced(b: ActionBuilder) -> str:
    opts = b.opts
    if not opts.stonith_enabled:
        return "stonith-enabled is false"
    if not b.state.has_fence_device:
        return "no fence device is configured"
    if not any(b.managed(r.id) for r in b.state.primitives()):
        return "no resource is managed"
    return f"no quorum (no-quorum-policy={opts.no_quorum_policy})"


def build_transition(b: ActionBuilder, fenced: list[str],
                     shown: Mapping[str, Mapping[str, Mapping[str, int]]]) -> Transition:
    actions = graph_actions(b)
    final = final_placement(b, actions, fenced)
    places, roles = placements_and_roles(b.state, final)
    unfenced = sorted(a.node for a in b.g.acts if a.kind == "fence" and a.task == "on"
                      and a.node is not None and included(b, a))
    summary = summary_lines(b, fenced) + [f"fence(on) {n}" for n in unfenced]
    notes = list(b.state.notes) + [f"blocked: {line[:-10]}" for line in summary
                                   if line.endswith(" [blocked]")]
    for name, node in b.state.nodes.items():
        if node.unclean and name not in fenced:
            notes.append(f"node {name} is unclean ({node.unclean_reason}) but will not be "
                         f"fenced: {_why_not_fenced(b)}")
    return Transition(
        actions=actions, placements=places, summary=tuple(summary),
        notes=tuple(notes), roles=roles, fencing=tuple(sorted({*fenced, *unfenced})),
        scores={k: {r: dict(t) for r, t in v.items()} for k, v in shown.items()},
    )
