"""Persistence of the CIB replica and of scheduler inputs under ``state_dir``.

* ``cib.xml`` is replaced atomically: write ``cib.xml.tmp``, fsync, rename, fsync the
  directory. ``cib.xml.sha256`` holds its digest; a file whose digest does not match is
  moved aside (``cib.xml.corrupt``) and the newest good backup is used instead.
* Before each replacement that changes the epoch, the previous file is kept as
  ``cib-<admin_epoch>.<epoch>.xml`` in ``backups/`` (the newest ``BACKUPS`` are kept).
* Scheduler inputs go to ``pe/pe-input-N.xml`` (the newest ``PE_INPUTS`` are kept) so
  ``vigilctl simulate --xml-file`` can replay any decision.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from ..core import cib as C
from ..errors import CibInvalid

log = logging.getLogger("vigil.storage")
BACKUPS = 10
PE_INPUTS = 100


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Storage:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.cib_path = state_dir / "cib.xml"
        self.digest_path = state_dir / "cib.xml.sha256"
        self.backups = state_dir / "backups"
        self.pe_dir = state_dir / "pe"
        for d in (state_dir, self.backups, self.pe_dir, state_dir / "run"):
            d.mkdir(parents=True, exist_ok=True)
        self.last_epoch: tuple[int, int] | None = None
        self.pe_seq = self._last_pe_seq()
        self.term = self.load_term()

    def load(self) -> C.Element | None:
        """The persisted CIB, or None when there is none (a new node)."""
        candidates = [self.cib_path] + sorted(self.backups.glob("cib-*.xml"),
                                              key=lambda p: p.stat().st_mtime, reverse=True)
        for path in candidates:
            if not path.exists():
                continue
            data = path.read_bytes()
            if path == self.cib_path and self.digest_path.exists():
                if self.digest_path.read_text().strip() != hashlib.sha256(data).hexdigest():
                    log.error("%s does not match its digest: moved aside", path)
                    os.replace(path, path.with_name("cib.xml.corrupt"))
                    continue
            try:
                cib = C.parse(data, str(path))
            except CibInvalid as exc:
                log.error("%s", exc)
                continue
            self.last_epoch = C.version(cib)[:2]
            log.info("loaded CIB %s from %s", list(C.version(cib)), path)
            return cib
        return None

    def load_term(self) -> int:
        try:
            return int((self.dir / "term").read_text().strip())
        except (OSError, ValueError):
            return 0

    def save(self, xml: bytes, version: tuple[int, int, int], term: int = 0) -> None:
        epoch = version[:2]
        if self.last_epoch is not None and epoch != self.last_epoch and self.cib_path.exists():
            backup = self.backups / f"cib-{self.last_epoch[0]}.{self.last_epoch[1]}.xml"
            os.replace(self.cib_path, backup)
            self._prune(self.backups.glob("cib-*.xml"), BACKUPS)
        _atomic_write(self.cib_path, xml)
        _atomic_write(self.digest_path, hashlib.sha256(xml).hexdigest().encode() + b"\n")
        if term != self.term:
            _atomic_write(self.dir / "term", f"{term}\n".encode())
            self.term = term
        self.last_epoch = epoch

    def archive(self, xml: bytes) -> Path:
        self.pe_seq += 1
        path = self.pe_dir / f"pe-input-{self.pe_seq}.xml"
        path.write_bytes(xml)
        self._prune(self.pe_dir.glob("pe-input-*.xml"), PE_INPUTS)
        return path

    def _last_pe_seq(self) -> int:
        numbers = [int(p.stem.rsplit("-", 1)[1]) for p in self.pe_dir.glob("pe-input-*.xml")
                   if p.stem.rsplit("-", 1)[1].isdigit()]
        return max(numbers, default=0)

    @staticmethod
    def _prune(paths: object, keep: int) -> None:
        files = sorted(paths, key=lambda p: p.stat().st_mtime)  # type: ignore[call-overload]
        for old in files[:-keep]:
            old.unlink(missing_ok=True)
