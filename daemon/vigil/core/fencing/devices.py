"""Which devices and levels a fencing uses: read from this node's CIB replica (pure).

A fencing runs with the ``stonith:`` primitives and the ``fencing-topology`` of the CIB
replica of the node that carries it out, as they are when its agent is started. The
``Fence`` command carries them, so the fencer shell decides nothing.
"""

from __future__ import annotations

from ..cib import Element
from ..events import Fence
from .model import devices_from_xml, levels_from_xml


def fence_command(cib: Element, token: str, target: str, action: str,
                  requested: float) -> Fence:
    return Fence(token, target, action, requested,
                 devices_from_xml(cib.find("configuration/resources")),
                 levels_from_xml(cib.find("configuration/fencing-topology")))
