"""What this node has really saved, and what it may therefore claim (sans-IO).

Rules
-----
* The shell answers every ``Persist`` with ``Saved(version, error)``. Until then the
  version is only in memory.
* A node acknowledges a replicated write (``cib_ack``) only once that version is saved,
  and its heartbeat advertises the newest *saved* version, never one it only holds in
  memory: a replica that exists only in RAM must not count towards a majority, nor win a
  pull after the DC dies.
* A node whose disk refuses the CIB (full, read-only, I/O error) says so in its heartbeat
  (``disk``); it is not fit to be DC (:func:`.election.choose_dc` passes it over), a DC
  whose disk fails hands over, and status and metrics name the problem. The first save
  that works again clears it.
* The DC counts itself towards a write's majority only once its own copy is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import Saved, Send

Version = tuple[int, int, int]
ACKS_KEPT = 64  # acknowledgements waiting for a save; older ones are dropped


@dataclass
class Disk:
    saved: Version = (0, 0, 0)
    error: str | None = None
    # (version, DC, write id): acknowledgements sent once that version is saved
    acks: list[tuple[Version, int, int]] = field(default_factory=list)
    failures: int = 0

    def ack_when_saved(self, version: Version, dc: int, pid: int) -> list[Send]:
        self.acks.append((version, dc, pid))
        return self._due()

    def on_saved(self, ev: Saved) -> tuple[list[Send], str | None]:
        """Sends now due and a sentence for the log when the disk's state changed."""
        if ev.error is not None:
            self.failures += 1
            said = None if ev.error == self.error else (
                f"cannot save the CIB {list(ev.version)}: {ev.error}; this node neither "
                "acknowledges nor advertises versions it has not saved, and is not fit "
                "to be DC")
            self.error = ev.error
            return [], said
        said = (f"saving the CIB works again ({list(ev.version)})"
                if self.error is not None else None)
        self.error = None
        # saves complete in order: a later version saved covers the earlier ones
        self.saved = ev.version if ev.version > self.saved else self.saved
        return self._due(), said

    def _due(self) -> list[Send]:
        due = [a for a in self.acks if a[0] <= self.saved]
        self.acks = [a for a in self.acks if a[0] > self.saved][-ACKS_KEPT:]
        return [Send(dc, {"t": "cib_ack", "pid": pid}) for _, dc, pid in due]
