"""Stage 3: assign every resource to a node (Pacemaker 2.1.5 assignment).

Rules
-----
* Top-level resources are assigned by descending ``priority`` (configuration order on
  ties). Before a resource is assigned, every resource it is colocated *with* is assigned
  first (loops are broken), and the colocation applied: +INFINITY keeps only the nodes of
  the primary, -INFINITY bans the primary's node, finite scores add; a finite colocation
  that would leave no node is rolled back. A positive colocation with a primary that runs
  nowhere subtracts its score everywhere.
* Then the preferences of resources colocated with it flow into it ("influence"), scaled
  by colocation score / INFINITY (at least +/-1), along chains, rolled back when they
  would leave no node.
* ``target-role=Stopped`` bans every node. Unmanaged resources stay where they are.
* The chosen node has the best score >= 0 among nodes that can run resources; ties go to
  fewer resources assigned in this run, then the current node, then the node name
  (``balanced`` first compares free capacity, ``minimal`` only names). With a utilization
  strategy, nodes without capacity for the resource are banned first.
* A group assigns its members in order; its colocations act on the first member (as
  dependent) and the last member (as primary).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cmp_to_key

from . import scores
from .clones import allocate_clone, apply_clone_primary
from .colocation import Coloc, build_colocations
from .history import PROMOTED, STOPPED, UNKNOWN
from .placement import Scores
from .ports import Assignment
from .state import ClusterState
from .utilization import assignment_order, ban_insufficient_capacity

INF = scores.INFINITY
INFINITY_HACK = INF * -100


class Assigner:
    """Mutable working state for one assignment run."""

    def __init__(self, state: ClusterState, initial: Scores) -> None:
        self.state = state
        self.allowed: dict[str, dict[str, int]] = {
            rid: dict(tbl) for rid, tbl in initial.allowed.items()
        }
        self.cols = build_colocations(state)
        self.assigned: dict[str, str | None] = {}
        self.provisional: set[str] = set(state.resources)
        self.allocating: set[str] = set()
        self.merging: set[str] = set()
        self.next_role: dict[str, int] = {}
        for rid, rsc in state.resources.items():
            self.next_role[rid] = rsc.next_role if rsc.next_role is not None else UNKNOWN
        self.managed: dict[str, bool] = {rid: r.managed for rid, r in state.resources.items()}
        self.num_assigned: dict[str, int] = {n: 0 for n in state.nodes}
        self.capacity: dict[str, dict[str, int]] = {
            n: dict(ns.utilization) for n, ns in state.nodes.items()
        }
        self.shown: dict[str, dict[str, dict[str, int]]] = {}
        self.expanded: set[str] = set()
        self.promoted: set[str] = set()
        self.clone_count: dict[str, dict[str, int]] = {}
        self.instance_priority: dict[str, int] = {}
        self.runnable_nodes = frozenset(n for n, s in state.nodes.items() if s.can_run)
        self.promotion_locations = initial.promotion_locations

    # -- helpers ------------------------------------------------------------------------
    def can_run(self, node: str) -> bool:
        return node in self.runnable_nodes

    def can_run_any(self, table: Mapping[str, int]) -> bool:
        return any(w >= 0 and self.can_run(n) for n, w in table.items())

    def current_node(self, rid: str) -> str | None:
        rsc = self.state.resources[rid]
        if rsc.kind == "primitive":
            return rsc.running[0] if rsc.running else None
        for c in rsc.children:
            node = self.current_node(c)
            if node is not None:
                return node
        return None

    def show(self, kind: str, rid: str, table: Mapping[str, int]) -> None:
        self.shown.setdefault(kind, {})[rid] = dict(table)

    def ban_all(self, rid: str) -> None:
        rsc = self.state.resources[rid]
        for n in self.state.nodes:
            self.allowed[rid][n] = scores.add(self.allowed[rid].get(n, 0), -INF)
        for c in rsc.children:
            self.ban_all(c)
        self.assigned.pop(rid, None)

    # -- entry points ---------------------------------------------------------------
    def run(self) -> Assignment:
        for rid in assignment_order(self, self.state.top):
            self.allocate(rid)
        for rid in self.state.resources:
            if self.next_role[rid] == UNKNOWN:
                self.next_role[rid] = STOPPED if self.assigned.get(rid) is None else 2
        unmanaged = frozenset(r for r, m in self.managed.items() if not m)
        return Assignment(
            node=dict(self.assigned), next_role=dict(self.next_role), unmanaged=unmanaged,
            shown_scores=self.shown, promoted=frozenset(self.promoted), colocations=self.cols,
            allowed=self.allowed, num_assigned=self.num_assigned,
        )

    def allocate(self, rid: str, prefer: str | None = None) -> str | None:
        kind = self.state.resources[rid].kind
        if kind == "group":
            return self.allocate_group(rid, prefer)
        if kind == "clone":
            return allocate_clone(self, rid, prefer)
        return self.allocate_primitive(rid, prefer)

    # -- groups ---------------------------------------------------------------------
    def allocate_group(self, rid: str, prefer: str | None) -> str | None:
        rsc = self.state.resources[rid]
        if rid not in self.provisional:
            return self.assigned.get(rid)
        if rid in self.allocating:
            return None
        if not rsc.children:
            self.provisional.discard(rid)
            return None
        self.allocating.add(rid)
        self.expand_group_colocations(rid)
        self.show("group", rid, self.allowed[rid])
        for c in rsc.children:
            self.show("group", c, self.allowed[c])
        group_node: str | None = None
        first = True
        for c in rsc.children:
            node = self.allocate(c, prefer)
            if first:
                group_node, first = node, False
        self.next_role[rid] = self.next_role[rsc.children[0]]
        self.allocating.discard(rid)
        self.provisional.discard(rid)
        self.assigned[rid] = group_node
        return group_node

    def expand_group_colocations(self, rid: str) -> None:
        if rid in self.expanded:
            return
        self.expanded.add(rid)
        rsc = self.state.resources[rid]
        first, last = rsc.children[0], rsc.children[-1]
        for c in self.cols.this_with.pop(rid, []):
            self.cols.this_with.setdefault(first, []).append(c)
        for c in self.cols.with_this.pop(rid, []):
            self.cols.with_this.setdefault(last, []).append(c)

    # -- colocation ---------------------------------------------------------------------
    def is_running(self, rid: str) -> bool:
        return self.current_node(rid) is not None

    def has_influence(self, c: Coloc, rid: str | None = None) -> bool:
        return c.influence or not self.is_running(rid or c.primary)

    def primary_node(self, c: Coloc) -> str | None:
        """The node a colocation's primary was assigned to (groups: first/last member)."""
        pri = self.state.resources[c.primary]
        if pri.kind == "group" and pri.children:
            member = pri.children[-1] if c.score >= INF else pri.children[0]
            return self.assigned.get(member)
        return self.assigned.get(c.primary)

    def apply_colocation(self, rid: str, c: Coloc) -> None:
        """Apply ``c`` (``rid`` or its group is the dependent) to rid's allowed nodes."""
        if c.primary in self.provisional:
            return
        pri = self.state.resources[c.primary]
        if pri.kind == "clone":
            apply_clone_primary(self, rid, c)
            return
        if not self.role_filter(rid, c):
            return
        self.colocation_match(rid, c, self.primary_node(c))

    def role_filter(self, rid: str, c: Coloc) -> bool:
        dep_role = self.next_role.get(rid, UNKNOWN)
        pri_role = self.next_role.get(c.primary, UNKNOWN)
        if c.score > 0 and c.dependent_role is not None and c.dependent_role != dep_role:
            return False
        if c.score > 0 and c.primary_role is not None and c.primary_role != pri_role:
            return False
        if c.score < 0 and c.dependent_role is not None and c.dependent_role == dep_role:
            return False
        if c.score < 0 and c.primary_role is not None and c.primary_role == pri_role:
            return False
        return True

    def colocation_match(self, rid: str, c: Coloc, pnode: str | None) -> None:
        if pnode is None and c.score < 0:
            return
        attr = c.node_attribute
        value = self.state.nodes[pnode].attrs.get(attr) if pnode is not None else None
        work = dict(self.allowed[rid])
        for n, w in work.items():
            if pnode is None:
                work[n] = scores.add(-c.score, w)
            elif self.state.nodes[n].attrs.get(attr) == value:
                if c.score < INF:
                    work[n] = scores.add(c.score, w)
            elif c.score >= INF:
                work[n] = -INF
        if self.can_run_any(work) or c.score <= -INF or c.score >= INF:
            self.allowed[rid] = work

    def merge_weights(self, rid: str, nodes: dict[str, int], attr: str, factor: float,
                      rollback: bool, positive: bool = False) -> dict[str, int]:
        """Fold ``rid``'s preferences (and those of its dependents) into ``nodes``."""
        if rid in self.merging:
            return nodes
        rsc = self.state.resources[rid]
        self.merging.add(rid)
        try:
            if rsc.kind == "group" and rsc.children:
                nodes = self.merge_weights(rsc.children[0], nodes, attr, factor, rollback,
                                           positive)
                for c in self.cols.with_this.get(rid, []):
                    if c.score != 0:
                        nodes = self.merge_weights(c.dependent, nodes, c.node_attribute,
                                                   c.score / INF, rollback, positive)
                return nodes
            work = dict(nodes)
            self.add_matching_scores(work, rid, attr, factor, positive)
            if self.can_run_any(work):
                multiplier = -1 if factor < 0 else 1
                for c in self.cols.with_this.get(rid, []):
                    if not self.has_influence(c):
                        continue
                    work = self.merge_weights(c.dependent, work, c.node_attribute,
                                              multiplier * c.score / INF, True, positive)
            elif rollback:
                return nodes
            if positive:
                for n, w in work.items():
                    if w == INFINITY_HACK:
                        work[n] = 1
            return work
        finally:
            self.merging.discard(rid)

    def add_matching_scores(self, work: dict[str, int], rid: str, attr: str,
                            factor: float, positive: bool = False) -> None:
        table = self.allowed[rid]
        by_name = attr == "#uname"
        for n, w in work.items():
            best = -INF
            if by_name:
                mw = table.get(n)
                if mw is not None and n in self.runnable_nodes:
                    best = mw
            else:
                value = self.state.nodes[n].attrs.get(attr)
                for m, mw in table.items():
                    if mw > best and self.can_run(m) and \
                            self.state.nodes[m].attrs.get(attr) == value:
                        best = mw
            if factor < 0 and best < 0:
                continue
            if w == INFINITY_HACK:
                continue
            wf = factor * best
            weight = int(wf - 0.5) if wf < 0 else int(wf + 0.5)
            if weight == 0 and best != 0:
                weight = 1 if factor > 0 else -1 if factor < 0 else 0
            new = scores.add(weight, w)
            if positive and new < 0 and w > 0:
                work[n] = INFINITY_HACK
                continue
            if positive and new < 0 and w == 0:
                continue
            work[n] = new

    # -- primitives -----------------------------------------------------------------
    def allocate_primitive(self, rid: str, prefer: str | None) -> str | None:
        rsc = self.state.resources[rid]
        if rsc.parent is not None and rsc.parent not in self.allocating \
                and rsc.parent in self.provisional:
            self.allocate(rsc.parent, prefer)
        if rid not in self.provisional:
            return self.assigned.get(rid)
        if rid in self.allocating:
            return None
        self.allocating.add(rid)
        for c in list(self.cols.this_with.get(rid, [])):
            archive = None
            if (c.dependent_role is not None and c.dependent_role >= PROMOTED) or \
                    (-INF < c.score < 0):
                archive = dict(self.allowed[rid])
            self.allocate(c.primary)
            self.apply_colocation(rid, c)
            if archive is not None and not self.can_run_any(self.allowed[rid]):
                self.allowed[rid] = archive
        for c in list(self.cols.with_this.get(rid, [])):
            if self.has_influence(c):
                self.allowed[rid] = self.merge_weights(
                    c.dependent, self.allowed[rid], c.node_attribute, c.score / INF, True)
        self.finish_primitive(rid, prefer)
        self.allocating.discard(rid)
        return self.assigned.get(rid)

    def finish_primitive(self, rid: str, prefer: str | None) -> None:
        rsc = self.state.resources[rid]
        opts = self.state.options
        if self.next_role[rid] == STOPPED:
            self.ban_all(rid)
        elif (self.next_role[rid] > rsc.role and not opts.have_quorum
              and opts.no_quorum_policy == "freeze"):
            self.next_role[rid] = rsc.role
        self.show("primitive", rid, self.allowed[rid])
        if opts.stonith_enabled and not self.state.has_fence_device:
            self.managed[rid] = False
        if not self.managed[rid]:
            self.next_role[rid] = rsc.role
            self.assign(rid, self.current_node(rid), force=True)
        elif opts.stop_all:
            self.assign(rid, None, force=True)
        else:
            self.choose_node(rid, prefer)

    # -- choosing a node -----------------------------------------------------------
    def compare_capacity(self, a: str, b: str) -> int:
        """< 0 when node ``a`` has more free capacity than node ``b``."""
        ca, cb = self.capacity[a], self.capacity[b]
        result = 0
        for key in ca:
            va, vb = ca[key], cb.get(key, 0)
            result += -1 if va > vb else 1 if va < vb else 0
        for key in cb:
            if key not in ca:
                result += 1 if cb[key] > 0 else 0
        return result

    def sorted_nodes(self, rid: str, active: bool = True) -> list[str]:
        table = self.allowed[rid]
        current = self.current_node(rid) if active else None
        strategy = self.state.options.placement_strategy

        def weight(n: str) -> int:
            return table[n] if self.can_run(n) else -INF

        def cmp(a: str, b: str) -> int:
            wa, wb = weight(a), weight(b)
            if wa != wb:
                return -1 if wa > wb else 1
            if strategy != "minimal":
                if strategy == "balanced":
                    c = self.compare_capacity(a, b)
                    if c:
                        return c
                na, nb = self.num_assigned[a], self.num_assigned[b]
                if na != nb:
                    return -1 if na < nb else 1
                if current == a:
                    return -1
                if current == b:
                    return 1
            return -1 if a < b else 1 if a > b else 0

        if strategy != "balanced":
            def key(n: str) -> tuple[int, int, int, str]:
                if strategy == "minimal":
                    return (-weight(n), 0, 0, n)
                return (-weight(n), self.num_assigned[n], 0 if n == current else 1, n)

            return sorted(table, key=key)
        return sorted(table, key=cmp_to_key(cmp))

    def has_capacity(self, node: str, rid: str) -> bool:
        need = self.state.resources[rid].spec.utilization
        have = self.capacity[node]
        return all(have.get(k, 0) >= v for k, v in need.items())

    def choose_node(self, rid: str, prefer: str | None) -> None:
        most_free = ban_insufficient_capacity(self, rid)
        if prefer is None:
            prefer = most_free
        if rid not in self.provisional:
            return
        nodes = self.sorted_nodes(rid)
        table = self.allowed[rid]
        chosen: str | None = None
        best = nodes[0] if nodes else None
        if prefer is not None and best is not None and prefer in table:
            if table[prefer] >= table[best] and self.can_run(prefer):
                chosen = prefer
        if chosen is None and best is not None:
            chosen = best
            parent = self.state.resources[rid].parent
            unique_clone = parent is not None and self.state.resources[parent].kind == "clone" \
                and scores.is_true(self.state.resources[parent].meta.get("globally-unique"))
            if not unique_clone and table[chosen] > 0 and self.can_run(chosen):
                running = self.current_node(rid)
                if running is not None and self.can_run(running):
                    for n in nodes[1:]:
                        if table[n] != table[chosen]:
                            break
                        if n == running:
                            chosen = n
        self.assign(rid, chosen)

    def assign(self, rid: str, chosen: str | None, force: bool = False) -> bool:
        if chosen is not None and not force:
            if not self.can_run(chosen) or self.allowed[rid].get(chosen, -INF) < 0:
                chosen = None
        self.provisional.discard(rid)
        if chosen is None:
            self.assigned[rid] = None
            if self.managed[rid] or self.next_role[rid] == UNKNOWN:
                self.next_role[rid] = STOPPED
            return False
        self.assigned[rid] = chosen
        self.num_assigned[chosen] += 1
        for k, v in self.state.resources[rid].spec.utilization.items():
            cap = self.capacity[chosen]
            cap[k] = cap.get(k, 0) - v
        return True


def assign_resources(state: ClusterState, initial: Scores) -> Assignment:
    """Run the assignment stage."""
    return Assigner(state, initial).run()
