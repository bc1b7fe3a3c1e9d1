"""Persistence of the CIB replica and of scheduler inputs under ``state_dir``.

Modes: the CIB holds secrets (fence device passwords). ``state_dir``, ``backups/`` and
``pe/`` are 0700 and every file written there is 0600, created with that mode (temporary
files too: never chmod after). A state dir found more open at start-up is tightened, with
the files it holds, and the change is logged.

Crash safety: :meth:`Storage.save` is ordered so that a crash (kill -9, power loss) at any
point leaves what :meth:`Storage.load` accepts as the old CIB or the new one, never an older
backup and never nothing:

1. write ``cib.xml.tmp``, fsync;
2. when the epoch changes, hard-link the current ``cib.xml`` as
   ``backups/cib-<admin_epoch>.<epoch>.xml`` (``cib.xml`` itself stays in place);
3. replace ``cib.xml.sha256`` (temp file, fsync, rename, fsync the dir): it lists the new
   digest first, then the digest of the ``cib.xml`` still in place;
4. rename ``cib.xml.tmp`` over ``cib.xml``, fsync the dir.

The loader accepts ``cib.xml`` when its digest is listed (or when there is no digest file,
as older versions left none). A ``cib.xml.tmp`` whose digest is listed first is a save that
stopped between steps 3 and 4: it is the newest version, and the load finishes that save. A
``cib.xml`` matching no digest is moved aside (``cib.xml.corrupt``) and the newest backup
that parses is used. The newest ``BACKUPS`` backups are kept.

Scheduler inputs go to ``pe/pe-input-N.xml`` (the newest ``PE_INPUTS`` are kept) so
``vigilctl simulate --xml-file`` can replay any decision.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..core import cib as C
from ..errors import CibInvalid

log = logging.getLogger("vigil.storage")
BACKUPS = 10
PE_INPUTS = 100
DIR_MODE = 0o700
FILE_MODE = 0o600


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_new(path: Path, data: bytes, sync: bool = True) -> None:
    """Create ``path`` afresh with FILE_MODE (a leftover is removed first) and write it."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(path: Path) -> None:
    dir_fd = os.open(path, os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    _write_new(tmp, data)
    os.replace(tmp, path)
    _sync_dir(path.parent)


def _tighten(directory: Path) -> None:
    """Make ``directory`` DIR_MODE and the files directly in it at most FILE_MODE."""
    loose: list[str] = []
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        os.chmod(directory, DIR_MODE)
        loose.append(f"{directory} ({mode:04o})")
    for entry in directory.iterdir():
        st = entry.lstat()
        if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(entry, FILE_MODE)
            loose.append(f"{entry.name} ({stat.S_IMODE(st.st_mode):04o})")
    if loose:
        log.warning("%s was readable by group or others: tightened to %04o (files %04o): %s",
                    directory, DIR_MODE, FILE_MODE, ", ".join(loose))


class Storage:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.cib_path = state_dir / "cib.xml"
        self.tmp_path = state_dir / "cib.xml.tmp"
        self.digest_path = state_dir / "cib.xml.sha256"
        self.backups = state_dir / "backups"
        self.pe_dir = state_dir / "pe"
        for d in (state_dir, self.backups, self.pe_dir):
            d.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            _tighten(d)
        (state_dir / "run").mkdir(mode=DIR_MODE, exist_ok=True)  # agents' HA_VARRUN
        self.last_epoch: tuple[int, int] | None = None
        self.on_disk: str | None = None  # digest of the cib.xml in place
        self.pe_seq = self._last_pe_seq()
        self.term = self.load_term()

    # ------------------------------------------------------------------ load
    def _digests(self) -> list[str] | None:
        try:
            return self.digest_path.read_text().split()
        except FileNotFoundError:
            return None

    def load(self) -> C.Element | None:
        """The newest persisted CIB, or None when there is none (a new node)."""
        digests = self._digests()
        tmp = self.tmp_path.read_bytes() if self.tmp_path.exists() else None
        if tmp is not None and digests and _sha(tmp) == digests[0]:
            cib = self._parse(tmp, self.tmp_path)
            if cib is not None:  # finish the save that stopped before its rename
                os.replace(self.tmp_path, self.cib_path)
                _sync_dir(self.dir)
                log.warning("%s: finished a save interrupted before its rename",
                            self.cib_path)
                return self._loaded(cib, tmp, self.cib_path)
        self.tmp_path.unlink(missing_ok=True)
        if self.cib_path.exists():
            data = self.cib_path.read_bytes()
            if digests is not None and _sha(data) not in digests:
                log.error("%s does not match its digest: moved aside", self.cib_path)
                os.replace(self.cib_path, self.cib_path.with_name("cib.xml.corrupt"))
            else:
                cib = self._parse(data, self.cib_path)
                if cib is not None:
                    return self._loaded(cib, data, self.cib_path)
        for path in sorted(self.backups.glob("cib-*.xml"), key=lambda p: p.stat().st_mtime,
                           reverse=True):
            data = path.read_bytes()
            cib = self._parse(data, path)
            if cib is not None:
                return self._loaded(cib, None, path)
        return None

    @staticmethod
    def _parse(data: bytes, path: Path) -> C.Element | None:
        try:
            return C.parse(data, str(path))
        except CibInvalid as exc:
            log.error("%s", exc)
            return None

    def _loaded(self, cib: C.Element, data: bytes | None, path: Path) -> C.Element:
        self.last_epoch = C.version(cib)[:2]
        self.on_disk = _sha(data) if data is not None else None
        log.info("loaded CIB %s from %s", list(C.version(cib)), path)
        return cib

    def load_term(self) -> int:
        try:
            return int((self.dir / "term").read_text().strip())
        except (OSError, ValueError):
            return 0

    # ------------------------------------------------------------------ save
    def save(self, xml: bytes, version: tuple[int, int, int], term: int = 0) -> None:
        """Persist a CIB; crash-safe at every step (see the module docstring)."""
        epoch = version[:2]
        _write_new(self.tmp_path, xml)
        # only a cib.xml this process loaded or saved is kept (not one refused at load)
        if self.last_epoch is not None and epoch != self.last_epoch and self.on_disk:
            self._backup(f"cib-{self.last_epoch[0]}.{self.last_epoch[1]}.xml")
        digest = _sha(xml)
        listed = [digest] + ([self.on_disk] if self.on_disk and self.on_disk != digest else [])
        _atomic_write(self.digest_path, "".join(f"{d}\n" for d in listed).encode())
        os.replace(self.tmp_path, self.cib_path)
        _sync_dir(self.dir)
        self.on_disk = digest
        if term != self.term:
            _atomic_write(self.dir / "term", f"{term}\n".encode())
            self.term = term
        self.last_epoch = epoch

    def _backup(self, name: str) -> None:
        """Keep the cib.xml in place as ``backups/<name>`` without ever removing it."""
        tmp = self.backups / (name + ".tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(self.cib_path, tmp)
        except OSError:  # no hard links here: copy
            _write_new(tmp, self.cib_path.read_bytes())
        os.replace(tmp, self.backups / name)
        _sync_dir(self.backups)
        self._prune(self.backups.glob("cib-*.xml"), BACKUPS)

    def archive(self, xml: bytes) -> Path:
        self.pe_seq += 1
        path = self.pe_dir / f"pe-input-{self.pe_seq}.xml"
        tmp = path.with_name(path.name + ".tmp")
        _write_new(tmp, xml, sync=False)  # a replay aid: complete or absent, not durable
        os.replace(tmp, path)
        self._prune(self.pe_dir.glob("pe-input-*.xml"), PE_INPUTS)
        return path

    def _last_pe_seq(self) -> int:
        numbers = [int(p.stem.rsplit("-", 1)[1]) for p in self.pe_dir.glob("pe-input-*.xml")
                   if p.stem.rsplit("-", 1)[1].isdigit()]
        return max(numbers, default=0)

    @staticmethod
    def _prune(paths: Iterable[Path], keep: int) -> None:
        files = sorted(paths, key=lambda p: p.stat().st_mtime)
        for old in files[:-keep]:
            old.unlink(missing_ok=True)
