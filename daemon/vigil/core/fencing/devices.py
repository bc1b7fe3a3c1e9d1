"""Which devices and levels a fencing uses: read from this node's CIB replica (pure).

A fencing runs with the ``stonith:`` primitives and the ``fencing-topology`` of the CIB
replica of the node that carries it out, as they are when its agent is started. The
``Fence`` command carries them, so the fencer shell decides nothing.

A fence device run as a resource (start, stop, monitor of a ``stonith:`` primitive) is the
device its ``Execute`` action describes: the resource id, the agent type and the instance
attributes the scheduler put in the action (as Pacemaker's executor registers a device
with the parameters of its start), never a second reading of the CIB.
"""

from __future__ import annotations

from ..cib import Element
from ..events import Fence
from ..graph import Action
from .model import FenceDevice, devices_from_xml, levels_from_xml


def fence_command(cib: Element, token: str, target: str, action: str,
                  requested: float) -> Fence:
    return Fence(token, target, action, requested,
                 devices_from_xml(cib.find("configuration/resources")),
                 levels_from_xml(cib.find("configuration/fencing-topology")))


def action_device(action: Action) -> FenceDevice:
    """The fence device a resource action on a ``stonith:`` primitive runs with."""
    return FenceDevice(action.rsc or "", action.agent.type if action.agent else "",
                       action.params)
