"""This node's CIB replica, its DC term and what of it is saved: written in one place.

Rules
-----
* :meth:`Replica.store` is the only writer of the CIB and the term; every store is
  followed by a ``Persist`` (the shell answers with ``Saved``, see :mod:`.disk`).
* Replicas are ranked by (admin_epoch, term, epoch, num_updates).
* A member adopts what the DC it follows sends, unless it is older than its own (by
  version or by rank): a DC that was frozen and is followed again must not take the
  members back. The DC pulls such a replica or moves its epoch past it, and sends again.
* It acknowledges a write only once that version is saved (:mod:`.disk`); while what it
  holds is not saved it tries again every :data:`SAVE_RETRY_MS`, and its heartbeat also
  says what it holds (``vh``) so that a new DC moves its epoch past that too.
* :meth:`Replica.store` (and ``hold``/``set_term`` of the DC taking over) are the only
  writers.
"""

from __future__ import annotations

from collections.abc import Callable

from . import cib as C
from .disk import Disk
from .events import Command, Persist
from .messages import CibCopy

Rank = tuple[int, int, int, int]
SAVE_RETRY_MS = 2000


class Replica:
    def __init__(self, cib: C.Element | None, term: int, emit: Callable[[Command], None],
                 log: Callable[[str, str], None]) -> None:
        self._cib = cib if cib is not None else C.new_cib()
        self._term = term
        self.disk = Disk(saved=C.version(self._cib) if cib is not None else (0, 0, 0))
        self._emit = emit
        self._log = log
        self._refused: tuple[tuple[int, int, int], int] | None = None
        self._retry_at_ms = 0

    @property
    def cib(self) -> C.Element:
        return self._cib

    @property
    def term(self) -> int:
        return self._term

    @property
    def version(self) -> tuple[int, int, int]:
        return C.version(self._cib)

    def rank(self) -> Rank:
        a, e, n = C.version(self._cib)
        return (a, self._term, e, n)

    def store(self, new: C.Element, term: int | None = None) -> None:
        """Hold ``new`` (and ``term``) and save it."""
        self._cib = new
        if term is not None:
            self._term = term
        self._emit(Persist(C.to_bytes(new), C.version(new), self._term))

    def hold(self, new: C.Element, term: int) -> None:
        """Hold a pulled replica without saving it: the DC saves what it makes of it."""
        self._cib = new
        self._term = term

    def retry_save(self, now_ms: int) -> None:
        """While what is held is not saved (the disk failed), save it again every
        :data:`SAVE_RETRY_MS`: a repaired disk is noticed without waiting for a change."""
        if self.disk.saved >= C.version(self._cib) and self.disk.error is None:
            return
        if now_ms < self._retry_at_ms:
            return
        self._retry_at_ms = now_ms + SAVE_RETRY_MS
        self._emit(Persist(C.to_bytes(self._cib), C.version(self._cib), self._term))

    def set_term(self, term: int) -> None:
        """A new DC term for the CIB held (saved with the next store)."""
        self._term = term

    def from_dc(self, dc: int, msg: CibCopy) -> bool:
        """The DC's CIB: adopt it unless older than ours; acknowledge a write once saved.
        Returns whether the replica changed."""
        new = C.parse(msg.xml, "CIB from the DC")
        term = self._term if msg.term is None else msg.term
        a, e, n = theirs = C.version(new)
        mine = C.version(self._cib)
        changed = False
        if theirs < mine or (a, term, e, n) < self.rank():
            if self._refused != (theirs, term):
                self._refused = (theirs, term)
                self._log(f"not adopting the DC's CIB {list(theirs)} (term {term}): this "
                          f"replica is newer ({list(mine)}, term {self._term})", "warning")
            return False
        if term != self._term or theirs != mine or C.canonical(new) != C.canonical(self._cib):
            self.store(new, term)
            changed = True
        if msg.pid is not None:  # the DC waits for a majority to hold this write
            for send in self.disk.ack_when_saved(C.version(self._cib), dc, msg.pid):
                self._emit(send)
        return changed
