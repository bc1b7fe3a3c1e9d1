"""Fencing, in one place (sans-IO). Where each rule lives:

=======================  ==============================================================
module                   rules
=======================  ==============================================================
:mod:`.model`            devices, topology, which device can fence whom, the agent
                         protocol (the fencer shell runs what it plans)
:mod:`.devices`          which devices and levels a fencing uses, from the CIB replica
:mod:`.history`          the one history type: entries merged by (target, action,
                         requested), bounded, and when each node was last fenced
:mod:`.gate`             when a fencing may start: quorate, a settled view, its pending
                         entry held by a majority
:mod:`.peer`             rules every node shares: requests, publishing entries, the DC
                         fenced by a peer, never the same node twice at once
:mod:`.dc`               the DC's duties: transition and manual fencings, confirmation
                         in the CIB, stonith-max-attempts
=======================  ==============================================================
"""

from .model import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_MS,
    FENCE_ACTIONS,
    HOST_CHECKS,
    Attempt,
    FenceDevice,
    FenceLevel,
    FenceRequest,
    FenceResult,
    action_ok,
    agent_stdin,
    can_fence,
    devices_from_xml,
    level_steps,
    levels_from_xml,
    parse_list_output,
    parse_metadata,
    plan,
)

__all__ = [
    "DEFAULT_RETRIES", "DEFAULT_TIMEOUT_MS", "FENCE_ACTIONS", "HOST_CHECKS", "Attempt",
    "FenceDevice", "FenceLevel", "FenceRequest", "FenceResult", "action_ok", "agent_stdin",
    "can_fence", "devices_from_xml", "level_steps", "levels_from_xml", "parse_list_output",
    "parse_metadata", "plan",
]
