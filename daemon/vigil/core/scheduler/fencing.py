"""Stage 5: fencing, shutdown and fail-count clearing (cluster actions).

Rules
-----
* An unclean node is fenced (``stonith-action``, default reboot) when fencing is enabled,
  a fence device is configured, at least one resource is managed, and the partition has
  quorum or ``no-quorum-policy=ignore`` (or the node is still online in our membership).
* Stops and demotes of resources on a fenced node become pseudo actions implied by the
  fencing; for resources that require fencing they are ordered after it, and so are
  their starts elsewhere.
* Without ``concurrent-fencing`` the fencing actions are chained. Fencing of the DC comes
  last.
* An online node with a ``shutdown`` request gets ``do_shutdown`` after all its stops.
* An expired fail count gets a ``clear_failcount`` action on its node, and so does one on
  a node where the resource's definition changed (:mod:`.definition`).
"""

from __future__ import annotations

from . import scores
from .actgraph import OPTIONAL, PRESERVE, RUNNABLE_LEFT, Act
from .actions import ActionBuilder
from .notify import notify_after_fencing
from .state import requirement


def can_fence(b: ActionBuilder, node: str) -> bool:
    opts = b.opts
    if not opts.stonith_enabled or not b.state.has_fence_device:
        return False
    if opts.have_quorum or opts.no_quorum_policy == "ignore":
        return True
    return b.state.nodes[node].online


def requires_fencing(b: ActionBuilder, rid: str) -> bool:
    return requirement(b.state.resources[rid], b.opts) in ("fencing", "unfencing")


def _order_vs_fence(b: ActionBuilder, fence: Act, target: str) -> None:
    for rsc in b.state.resources.values():
        if rsc.kind != "primitive" or not b.managed(rsc.id):
            continue
        rid = rsc.id
        needs_fencing = requires_fencing(b, rid)
        for act in b.g.by_rsc.get(rid, []):
            if act.task not in ("start", "promote") or b.needs_nothing(rid, act.task):
                continue
            if needs_fencing:
                b.g.order(fence, act, OPTIONAL)
            elif act.task == "start" and target not in rsc.known_on:
                b.g.order(fence, act, OPTIONAL | RUNNABLE_LEFT)
        top = b.state.top_of(rid)
        parent_stop = None
        if needs_fencing:
            stops = b.g.rsc_actions(top.id, "stop")
            parent_stop = stops[0] if stops else None
        for stop in b.g.rsc_actions(rid, "stop", target, any_node=False):
            stop.pseudo = True
            stop.runnable = True
            notify_after_fencing(b, fence, stop)
            if needs_fencing:
                stop.implied = True
                b.g.order(fence, stop, PRESERVE)
                if parent_stop is not None:
                    b.g.order(fence, parent_stop, PRESERVE)
        for demote in b.g.rsc_actions(rid, "demote", target, any_node=False):
            node = b.state.nodes[target]
            if not node.online or node.unclean or rsc.failed:
                demote.pseudo = True
                demote.runnable = True
                if needs_fencing:
                    b.g.order(fence, demote, PRESERVE | OPTIONAL)


def schedule_fencing(b: ActionBuilder) -> list[str]:
    """Create fence/shutdown actions; returns the names of the nodes being fenced."""
    fenced: list[str] = []
    chain: list[Act] = []
    dc_down: Act | None = None
    have_managed = any(b.managed(r.id) for r in b.state.resources.values()
                       if r.kind == "primitive" and not r.orphan)
    for name, node in b.state.nodes.items():
        fence: Act | None = None
        if node.unclean and have_managed and can_fence(b, name):
            action = b.opts.stonith_action
            fence, _ = b.g.add(f"stonith-{name}-{action}", None, action, name, False, "fence")
            fence.reason = node.unclean_reason
            fenced.append(name)
            _order_vs_fence(b, fence, name)
            if node.is_dc:
                dc_down = fence
            else:
                if not b.opts.concurrent_fencing and chain:
                    b.g.order(chain[-1], fence, OPTIONAL)
                chain.append(fence)
        elif node.online and node.shutdown:
            down, _ = b.g.add(f"do_shutdown-{name}", None, "do_shutdown", name, False,
                              "cluster")
            for act in list(b.g.acts):
                if act.task != "stop" or act.node != name or act.rid is None:
                    continue
                rsc = b.state.resources[act.rid]
                if scores.is_true(rsc.meta.get("maintenance")) or node.maintenance:
                    continue
                if not b.managed(act.rid) and not rsc.blocked:
                    continue
                b.g.order(act, down, OPTIONAL | RUNNABLE_LEFT)
            if node.is_dc:
                dc_down = down
    if dc_down is not None:
        if b.opts.concurrent_fencing:
            for f in chain:
                b.g.order(f, dc_down, OPTIONAL)
        elif chain:
            b.g.order(chain[-1], dc_down, OPTIONAL)
    return fenced


def clear_failcounts(b: ActionBuilder) -> None:
    for rsc in b.state.resources.values():
        for node in sorted(rsc.clear_failcount | rsc.clear_failcount_late):
            act, _ = b.g.add(f"{rsc.id}_clear_failcount_0", rsc.id, "clear_failcount", node,
                             False, "cluster")
            state = b.state.nodes[node]
            act.runnable = state.online and not state.unclean
