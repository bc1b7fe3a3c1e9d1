"""Clone notifications (``notify=true``): pre- and post- notify actions around a clone's
start, stop, promote and demote (Pacemaker 2.1.5's pe_notif.c semantics).

Rules
-----
* For each of start, stop (and, for promotable clones, promote and demote) the clone gets
  four pseudo actions: ``pre`` -> ``confirmed-pre`` -> the clone's action, and the
  clone's completion (running, stopped, ...) -> ``post`` -> ``confirmed-post``. The pre
  ones are required when the clone's action is, the post ones follow the completion
  (required when it becomes required, runnable when it was at creation). Stop's
  confirmed-post comes before start's pre; for promotable clones demote's confirmed-post
  comes before the pre of start, stop and promote, and the confirmed-posts of start and
  stop before promote's pre.
* Once the graph is settled, every instance (each primitive of it) is notified:
  * of a stop or demote on each node where it is active now (not a node being fenced
    whose stop is implied): "pre" always, "post" only for a demote or when the instance
    does not stop;
  * of a start or promote on the node it is assigned to: "pre" unless it starts there
    itself (for a start), and "post".
  * Nothing is notified for a start, promote or demote when no instance does one.
  A notification is required when its pre/post pseudo action is, and exists only on an
  online node and while that pseudo action is runnable. Recurring monitors wait for
  the post notifications.
* A stop implied by fencing notifies, after the fencing, every instance that stays
  active elsewhere ("post" only).
* Each notification carries ``notify_type``, ``notify_operation`` and the
  ``notify_<task>_resource`` / ``notify_<task>_uname`` lists as meta attributes, the way
  the agent expects them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from . import scores
from .actgraph import IMPLIES_THEN, OPTIONAL, Act
from .history import PROMOTED, STOPPED, UNPROMOTED
from .ports import Assignment, Building

PHASES = (("start", "running"), ("stop", "stopped"), ("promote", "promoted"),
          ("demote", "demoted"))


@dataclass
class NotifyData:
    clone: str
    task: str
    pre: Act | None = None
    pre_done: Act | None = None
    post: Act | None = None
    post_done: Act | None = None
    entries: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    meta: tuple[tuple[str, str], ...] = ()


class NotifyBuilder(Building, Protocol):
    """What creating notifications reads and writes of the action builder."""

    asg: Assignment
    next_role: dict[str, int]
    notify_data: list[NotifyData]
    notify_fenced: list[NotifyData]

    def role(self, rid: str) -> int: ...


def notifies(b: NotifyBuilder, rid: str) -> bool:
    return scores.is_true(b.state.resources[rid].meta.get("notify"))


def _pseudo(b: NotifyBuilder, rid: str, kind: str, task: str, like: Act) -> Act:
    if like.kind == "fence":
        task = "stonith"  # the pseudo actions are named after the fencing
    # no resource: a clone's own actions take their flags from its instances' (propagate)
    act, _ = b.g.add(f"{rid}_{kind}_notify_{task}_0", None,
                     "notified" if kind.startswith("confirmed") else "notify", None,
                     like.optional, "pseudo")
    act.pseudo = True
    return act


def pseudo_ops(b: NotifyBuilder, rid: str, task: str, action: Act | None,
               complete: Act | None) -> NotifyData:
    n = NotifyData(rid, task)
    if action is not None:
        n.pre = _pseudo(b, rid, "pre", task, action)
        n.pre_done = _pseudo(b, rid, "confirmed-pre", task, action)
        n.pre.runnable = n.pre_done.runnable = True
        b.g.order(n.pre, n.pre_done, OPTIONAL)
        b.g.order(n.pre_done, action, OPTIONAL)
    if complete is not None:
        n.post = _pseudo(b, rid, "post", task, complete)
        n.post_done = _pseudo(b, rid, "confirmed-post", task, complete)
        n.post.runnable = n.post_done.runnable = complete.runnable
        b.g.order(complete, n.post, IMPLIES_THEN)
        b.g.order(n.post, n.post_done, IMPLIES_THEN)
    if n.pre_done is not None and n.post is not None:
        b.g.order(n.pre_done, n.post, OPTIONAL)
    return n


def create_pseudo_ops(b: NotifyBuilder, rid: str) -> None:
    """The clone's notification pseudo actions (before propagation)."""
    if not notifies(b, rid):
        return
    data: dict[str, NotifyData] = {}
    promotable = b.state.resources[rid].spec.promotable
    for task, done in PHASES:
        if task in ("promote", "demote") and not promotable:
            continue
        action = b.g.rsc_actions(rid, task)
        complete = b.g.rsc_actions(rid, done)
        data[task] = pseudo_ops(b, rid, task, action[0] if action else None,
                                complete[0] if complete else None)

    def after(first: str, then: str) -> None:
        f, t = data[first].post_done, data[then].pre
        if f is not None and t is not None:
            b.g.order(f, t, OPTIONAL)

    after("stop", "start")
    if promotable:
        for first, then in (("stop", "promote"), ("start", "promote"), ("demote", "promote"),
                            ("demote", "start"), ("demote", "stop")):
            after(first, then)
    b.notify_data.extend(data.values())


def _collect(b: NotifyBuilder, n: NotifyData, with_actions: bool) -> None:
    lists: dict[str, list[tuple[str, str]]] = {
        k: [] for k in ("active", "inactive", "promoted", "unpromoted", "start", "stop",
                        "promote", "demote")}
    for leaf in b.state.leaves(n.clone):
        node = leaf.running[0] if leaf.running else ""
        role = b.role(leaf.id)
        if role == STOPPED:
            lists["inactive"].append((leaf.id, node))
        else:
            lists["active"].append((leaf.id, node))
            if role == PROMOTED:
                lists["promoted"].append((leaf.id, node))
            elif role == UNPROMOTED:
                lists["unpromoted"].append((leaf.id, node))
        if not with_actions:
            continue
        for a in b.g.by_rsc.get(leaf.id, []):
            if a.optional or a.node is None or a.task not in ("start", "stop", "promote",
                                                               "demote"):
                continue
            unclean_stop = a.task == "stop" and b.state.nodes[a.node].unclean
            if a.runnable or unclean_stop:
                lists[a.task].append((leaf.id, a.node))
    n.entries = lists
    meta: list[tuple[str, str]] = []
    for name, items in sorted(lists.items()):
        items = sorted(items)
        meta.append((f"notify_{name}_resource", " ".join(r for r, _ in items)))
        meta.append((f"notify_{name}_uname", " ".join(x for _, x in items if x)))
        if name in ("promoted", "unpromoted"):
            legacy = "master" if name == "promoted" else "slave"
            meta.append((f"notify_{legacy}_resource", " ".join(r for r, _ in items)))
            meta.append((f"notify_{legacy}_uname", " ".join(x for _, x in items if x)))
    n.meta = tuple(meta)


def _notify(b: NotifyBuilder, rid: str, node: str, op: Act | None, done: Act | None,
            n: NotifyData) -> Act | None:
    state = b.state.nodes.get(node)
    if op is None or done is None or state is None or not state.online or not op.runnable:
        return None
    kind = "pre" if op is n.pre else "post"
    act, created = b.g.add(f"{rid}_{kind}_notify_{n.task}_0", rid, "notify", node,
                           op.optional, "rsc")
    if created:
        act.runnable = not state.unclean
        act.meta = (("notify_type", kind), ("notify_operation", n.task)) + n.meta
    b.g.order(op, act, OPTIONAL)
    b.g.order(act, done, OPTIONAL)
    return act


def _post(b: NotifyBuilder, rid: str, node: str, n: NotifyData) -> None:
    _notify(b, rid, node, n.post, n.post_done, n)
    if n.post_done is None:
        return
    for mon in b.g.by_rsc.get(rid, []):
        if mon.task == "monitor" and mon.interval_ms > 0 and mon.kind == "rsc":
            b.g.order(n.post_done, mon, OPTIONAL)


def _first(b: NotifyBuilder, rid: str, task: str) -> Act | None:
    acts = b.g.rsc_actions(rid, task)
    return acts[0] if acts else None


def _instance_actions(b: NotifyBuilder, rid: str, n: NotifyData) -> None:
    task = n.task
    if task in ("start", "promote", "demote") and not n.entries.get(task):
        return
    if b.role(rid) != STOPPED and task in ("stop", "demote"):
        stop = _first(b, rid, "stop")
        for node in b.state.resources[rid].running:
            if stop is not None and stop.pseudo and b.state.nodes[node].unclean:
                continue
            _notify(b, rid, node, n.pre, n.pre_done, n)
            if task == "demote" or stop is None or stop.optional:
                _post(b, rid, node, n)
    if b.next_role.get(rid, STOPPED) != STOPPED and task in ("start", "promote"):
        target = b.asg.node.get(rid)
        if target is None:
            return
        start = _first(b, rid, "start")
        if task != "start" or start is None or start.optional:
            _notify(b, rid, target, n.pre, n.pre_done, n)
        _post(b, rid, target, n)


def create_notifications(b: NotifyBuilder) -> None:
    """Every instance's notify actions (after propagation)."""
    for n in b.notify_data:
        _collect(b, n, True)
        for leaf in b.state.leaves(n.clone):
            _instance_actions(b, leaf.id, n)


def notify_after_fencing(b: NotifyBuilder, fence: Act, stop: Act) -> None:
    """Instances staying active are told (post) of a stop implied by fencing."""
    assert stop.rid is not None
    clone = b.state.top_of(stop.rid)
    if clone.kind != "clone" or not notifies(b, clone.id):
        return
    b.notify_fenced.append(pseudo_ops(b, clone.id, "stop", None, fence))


def create_fencing_notifications(b: NotifyBuilder) -> None:
    for n in b.notify_fenced:
        _collect(b, n, False)
        for leaf in b.state.leaves(n.clone):
            if b.role(leaf.id) == STOPPED:
                continue
            stop = _first(b, leaf.id, "stop")
            for node in b.state.resources[leaf.id].running:
                if stop is not None and stop.pseudo and b.state.nodes[node].unclean:
                    continue
                if stop is None or stop.optional:
                    _post(b, leaf.id, node, n)
