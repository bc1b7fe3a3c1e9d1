"""vigil's policy engine: a pure function from a CIB snapshot to a transition graph.

Public API
----------
``schedule(cib, now_s, sanitized=False) -> Transition``
    Pure and deterministic (no clock, IO or randomness; ``now_s`` is only used for
    failure-timeout expiry and date rules). Pacemaker 2.1.5 semantics for primitives,
    groups, clones (anonymous, unique, promotable), location/colocation/order constraints,
    stickiness, failures and on-fail policies, fencing, quorum policies, maintenance,
    utilization and changed resource definitions (``op-digest``: restart, or reschedule a
    recurring op). Raises :class:`vigil.errors.CibInvalid` on bad input.
    ``sanitized=True`` reads the CIB as crm_simulate reads a file, whose secrets may be
    masked: a change confined to the parameters an operation's ``op-secure-params`` lists
    restarts nothing. ``vigilctl simulate`` sets it; the daemon never does.

``current_state(cib, now_s) -> ClusterState``
    What the scheduler understood from the CIB, for ``vigilctl status``:

    * ``state.nodes[name]`` (:class:`NodeState`): ``online``, ``standby``, ``unclean``,
      ``maintenance``, ``shutdown``, ``pending`` (and ``flags()`` as a list of strings).
    * ``state.resources[id]`` (:class:`Resource`) for every element of the resource tree
      (clone instances as ``rsc:N``): ``kind`` (primitive/group/clone), ``parent``,
      ``children``, ``agent`` (class/provider/type), ``running`` (nodes where active),
      ``role_name`` (Started, Promoted, Unpromoted, Stopped), ``failed``, ``managed``.
    * ``state.failed_ops`` (:class:`FailedOp`): ``rsc``, ``task``, ``interval_ms``,
      ``node``, ``rc``, ``exit_reason``, ``key``.

Pipeline (one module per stage, frozen values between stages)::

    unpack.unpack          CIB           -> ClusterState   (tree.py, history.py, definition.py)
    placement.initial_scores ClusterState -> Scores
    assign.assign_resources  + Scores     -> Assignment   (clones.py, promote.py, instances.py)
    actions/order/fencing    + Assignment -> action graph (propagate.py)
    transition.build_transition           -> Transition   (summary.py)
    render.transition_json / human / dot_text: the Transition as JSON, text, dot

The helpers the assigner and the action builder call out to are typed against small
protocols (:mod:`.ports`), not against those classes, so no import, type-only ones
included, goes back up the pipeline.
"""

from __future__ import annotations

from lxml import etree

from vigil.core.graph import Transition

from .actions import ActionBuilder
from .assign import assign_resources
from .history import FailedOp
from .nodes import NodeState
from .placement import initial_scores
from .state import ClusterState, Resource
from .transition import build_transition, create_all
from .unpack import unpack

__all__ = [
    "ClusterState", "FailedOp", "NodeState", "Resource", "current_state", "schedule",
]


def current_state(cib: etree._Element, now_s: float) -> ClusterState:
    """Unpack ``cib`` (a ``<cib>`` element) into what the cluster looks like now."""
    return unpack(cib, now_s)


def schedule(cib: etree._Element, now_s: float, sanitized: bool = False) -> Transition:
    """Compute the transition that takes the cluster from its status to its configuration."""
    state = unpack(cib, now_s, sanitized)
    asg = assign_resources(state, initial_scores(state))
    builder = ActionBuilder(state, asg)
    fenced = create_all(builder)
    return build_transition(builder, fenced, asg.shown_scores)
