"""The cluster's fencing history: one type, and every node holds one (pure).

Rules
-----
* One entry per fencing: ``target``, ``action``, ``state`` (``pending`` when it starts,
  ``success`` or ``failed`` when it ends), ``device``, ``origin`` (the node carrying it
  out), ``requested`` and ``completed`` (epoch seconds), ``reason``. A fencing is known by
  (target, action, requested): a later state replaces the earlier one wherever it was
  heard first, so every node ends with the same entries.
* Bounded: the newest :data:`LIMIT` entries are kept, oldest first.
* Every node also remembers when each node was last fenced successfully (``on`` does not
  count) and forgets it when that node is heard again: a DC elected after a fencing marks
  the fenced node cleanly down instead of fencing it a second time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

LIMIT = 500
Entry = dict[str, Any]


def entry(target: str, action: str, state: str, device: str, origin: str,
          requested: float, completed: float | None, reason: str = "") -> Entry:
    return {"target": target, "action": action, "state": state, "device": device,
            "origin": origin, "requested": requested, "completed": completed,
            "reason": reason}


def key(e: Entry) -> tuple[str, str, float]:
    return (str(e["target"]), str(e["action"]), float(e["requested"]))


class FenceHistory:
    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.entries: list[Entry] = []
        self.last_fenced_ms: dict[int, int] = {}  # node -> when (this node's clock)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def merge(self, new: Entry) -> None:
        """Add an entry, or replace the earlier state of the same fencing."""
        wanted = key(new)
        for i, old in enumerate(self.entries):
            if key(old) == wanted:
                self.entries[i] = new
                return
        self.entries.append(new)
        del self.entries[:-self.limit]

    def newest_first(self) -> Iterator[Entry]:
        return reversed(self.entries)

    def fenced(self, node_id: int, now_ms: int) -> None:
        self.last_fenced_ms[node_id] = now_ms

    def heard_again(self, node_id: int) -> None:
        self.last_fenced_ms.pop(node_id, None)

    def fenced_within(self, node_id: int, now_ms: int, window_ms: int) -> bool:
        at = self.last_fenced_ms.get(node_id)
        return at is not None and now_ms - at <= window_ms
