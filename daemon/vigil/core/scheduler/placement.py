"""Stage 2: initial node scores per resource (before colocation and assignment).

Rules
-----
* Symmetric cluster: every resource (and every child) starts at 0 on every node.
  Opt-in (``symmetric-cluster=false``): only nodes named by a location constraint are
  allowed, even with score 0.
* A location constraint adds its score to the resource and its descendants (for a group:
  the first member; later members only become allowed); the scores of several matching
  rules add up; a rule's ``score-attribute`` missing on a node scores -INFINITY there
  (Pacemaker's get_node_score). Role-restricted constraints (``role=Promoted``)
  only feed promotion scores (:mod:`.promote`).
* Hard errors and failed stops ban the node (-INFINITY); fatal errors and ``on-fail=stop``
  ban every node.
* Stickiness is added where a managed primitive runs on exactly one node that can run
  resources (in an opt-in cluster only if that node is allowed). An unmanaged resource
  gets +INFINITY where it runs.
* A fail count >= ``migration-threshold`` bans the node (anonymous clones: the whole clone;
  a container counts its fillers' fail counts too),
  unless the fail count is being cleared in this transition or failures are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import scores
from .discovery import exclusive_bans
from .rules import eval_rule
from .state import ClusterState, Resource

NodeScores = dict[str, int]


@dataclass(frozen=True)
class Scores:
    """Initial allowed-node scores: resource id -> node name -> score."""

    allowed: Mapping[str, Mapping[str, int]]
    promotion_locations: Mapping[str, Mapping[str, int]]


def _descendants(state: ClusterState, rid: str) -> list[str]:
    out = [rid]
    for c in state.resources[rid].children:
        out.extend(_descendants(state, c))
    return out


def _add(allowed: dict[str, NodeScores], state: ClusterState, rid: str, node: str,
         score: int) -> None:
    for r in _descendants(state, rid):
        table = allowed[r]
        table[node] = scores.add(table.get(node, 0), score)


def _add_location(allowed: dict[str, NodeScores], state: ClusterState, rid: str, node: str,
                  score: int) -> None:
    """A location constraint's score: a group passes it to its first member only (later
    members get the node with score 0); a clone passes it to every instance."""
    table = allowed[rid]
    table[node] = scores.add(table.get(node, 0), score)
    rsc = state.resources[rid]
    for i, child in enumerate(rsc.children):
        _add_location(allowed, state, child, node, score if rsc.kind != "group" or i == 0 else 0)


def effective_failcount(state: ClusterState, rsc: Resource, node: str) -> int:
    if node in rsc.failcounts:
        return rsc.failcounts[node]
    attrs = state.nodes[node].attrs
    names = {rsc.base, rsc.id}
    count, last = 0, 0
    for name, value in attrs.items():
        if name.startswith("fail-count-") and name[11:].split("#", 1)[0] in names:
            count = scores.add(count, scores.lenient_int(value))
        elif name.startswith("last-failure-") and name[13:].split("#", 1)[0] in names:
            last = max(last, scores.plain_int(value))  # a time: not a score
    timeout_s = scores.parse_duration_ms(rsc.meta.get("failure-timeout"), 0) // 1000
    if count > 0 and timeout_s > 0 and last > 0 and state.now_s > last + timeout_s:
        return 0
    return count


def _apply_locations(state: ClusterState, allowed: dict[str, NodeScores],
                     promo: dict[str, NodeScores]) -> None:
    node_names = list(state.nodes)
    for loc in state.locations:
        target = allowed if loc.role in (None, "Started", "Unpromoted") else promo
        if loc.role not in (None, "Started", "Unpromoted") and loc.rsc not in promo:
            promo[loc.rsc] = {}
        if loc.node is not None:
            if loc.node in state.nodes:
                if target is promo:
                    promo[loc.rsc][loc.node] = scores.add(promo[loc.rsc].get(loc.node, 0),
                                                          loc.score)
                else:
                    _add_location(allowed, state, loc.rsc, loc.node, loc.score)
            continue
        for rule in loc.rules:
            role = rule.role or loc.role
            for name in node_names:
                node = state.nodes[name]
                if not eval_rule(rule, node.attrs, state.now_s):
                    continue
                score = rule.score
                if rule.score_attribute:  # a node without the attribute: -INFINITY
                    value = node.attrs.get(rule.score_attribute)
                    score = -scores.INFINITY if value is None else scores.lenient_int(value)
                if role in (None, "Started", "Unpromoted"):
                    _add_location(allowed, state, loc.rsc, name, score)
                else:
                    table = promo.setdefault(loc.rsc, {})
                    table[name] = scores.add(table.get(name, 0), score)


def _uber_anonymous(state: ClusterState, rsc: Resource) -> str:
    top = state.top_of(rsc.id)
    if top.kind == "clone" and not scores.is_true(top.meta.get("globally-unique")):
        return top.id
    return rsc.id


def _apply_stickiness(state: ClusterState, allowed: dict[str, NodeScores]) -> None:
    symmetric = state.options.symmetric
    for rsc in state.resources.values():
        if rsc.kind != "primitive":
            continue
        stick = rsc.stickiness
        if rsc.managed and stick != 0 and len(rsc.running) == 1:
            node = rsc.running[0]
            if state.nodes[node].can_run and (node in allowed[rsc.id] or symmetric):
                _add(allowed, state, rsc.id, node, stick)
        if rsc.migration_threshold == 0 or rsc.failure_ignored:
            continue
        for node in state.nodes:
            if node in rsc.clear_failcount:
                continue
            fc = effective_failcount(state, rsc, node)
            for filler in rsc.fillers:  # a container counts its fillers' failures
                fc = scores.add(fc, effective_failcount(state, state.resources[filler], node))
            if fc > 0 and rsc.migration_threshold - fc <= 0:
                _add(allowed, state, _uber_anonymous(state, rsc), node, -scores.INFINITY)


def node_health(state: ClusterState, attrs: Mapping[str, str]) -> int:
    """The sum of a node's ``#health*`` attributes (red/yellow/green as the strategy
    scores them) plus the progressive base."""
    red, yellow, green, base = state.options.health_scores
    total = base
    for name, value in attrs.items():
        if name.startswith("#health"):
            word = value.strip().lower()
            score = {"red": red, "yellow": yellow, "green": green}.get(word)
            total = scores.add(total, scores.lenient_int(value) if score is None else score)
    return total


def _apply_health(state: ClusterState, allowed: dict[str, NodeScores]) -> None:
    """A node's non-zero health is a location score for every top-level resource there;
    a negative one spares resources with ``allow-unhealthy-nodes=true``."""
    if state.options.health_strategy not in ("migrate-on-red", "only-green", "progressive",
                                             "custom"):
        return
    for name, node in state.nodes.items():
        health = node_health(state, node.attrs)
        if health == 0:
            continue
        for rid in state.top:
            rsc = state.resources[rid]
            if health < 0 and scores.is_true(rsc.meta.get("allow-unhealthy-nodes")):
                continue
            _add_location(allowed, state, rid, name, health)


def initial_scores(state: ClusterState) -> Scores:
    """Location constraints, bans, stickiness and failure thresholds."""
    names = list(state.nodes)
    allowed: dict[str, NodeScores] = {
        rid: ({n: 0 for n in names} if state.options.symmetric else {})
        for rid in state.resources
    }
    promo: dict[str, NodeScores] = {}
    for rsc in state.resources.values():
        if not rsc.managed and rsc.kind == "primitive":
            # an unmanaged resource stays where it is
            for n in rsc.running:
                allowed[rsc.id][n] = scores.add(allowed[rsc.id].get(n, 0), scores.INFINITY)
        if rsc.lock_node is not None:  # shutdown-lock
            for n in names:
                if n != rsc.lock_node:
                    _add(allowed, state, rsc.id, n, -scores.INFINITY)
        if rsc.ban_all:
            for n in names:
                _add(allowed, state, rsc.id, n, -scores.INFINITY)
        for n in rsc.banned_nodes:
            _add(allowed, state, rsc.id, n, -scores.INFINITY)
    _apply_health(state, allowed)
    _apply_locations(state, allowed, promo)
    _apply_stickiness(state, allowed)
    for rid, n in exclusive_bans(state):  # resource-discovery=exclusive (see .discovery)
        if n in allowed[rid]:
            allowed[rid][n] = -scores.INFINITY
    return Scores(allowed=allowed, promotion_locations=promo)
