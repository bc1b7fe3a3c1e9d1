"""The CIB on disk: crash safety of every step of a save (issue 13, item 9) and the modes of
everything in the state dir (item 8).

The crash-point test runs each save in a forked child that kills itself with SIGKILL just
before its k-th file-system call (or in the middle of a write), for every k until the save
completes, then loads the state dir as a restarted daemon would: the result must be the old
CIB or the new one, read from cib.xml itself (never an older backup, never nothing).
"""

from __future__ import annotations

import logging
import os
import signal
import stat
from pathlib import Path

import pytest

from vigil.core import cib as C
from vigil.io.storage import Storage

CALLS = ("open", "write", "fsync", "close", "replace", "rename", "link", "unlink", "chmod")


def cib_at(version: tuple[int, int, int], secret: str = "s3cret") -> bytes:
    cib = C.new_cib()
    C.set_version(cib, version)
    C.set_property(cib, "fence-password-canary", secret)
    return C.to_bytes(cib)


def history(state: Path) -> None:
    """(0,1,0), then (0,2,0) (so backups/ holds epoch 1), then (0,2,1): the 'old' CIB."""
    store = Storage(state)
    store.load()
    for v in ((0, 1, 0), (0, 2, 0), (0, 2, 1)):
        store.save(cib_at(v), v, term=1)


def save_killed_at(state: Path, step: int, torn: bool, new: tuple[int, int, int],
                   term: int) -> bool:
    """Run the save of ``new`` in a child killed at its ``step``-th call; True if it finished."""
    pid = os.fork()
    if pid == 0:  # the child: a daemon that dies with SIGKILL during its save
        try:
            store = Storage(state)
            store.load()
            count = [0]
            real = {name: getattr(os, name) for name in CALLS}

            def wrap(name):
                def call(*args, **kwargs):
                    count[0] += 1
                    if count[0] == step:
                        if name == "write" and torn and len(args[1]) > 1:
                            real["write"](args[0], bytes(args[1])[: len(args[1]) // 2])
                        os.kill(os.getpid(), signal.SIGKILL)
                    return real[name](*args, **kwargs)
                return call

            for name in CALLS:
                setattr(os, name, wrap(name))
            store.save(cib_at(new), new, term=term)
            for name in CALLS:
                setattr(os, name, real[name])
            os._exit(0)
        except BaseException:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return False
    assert os.WEXITSTATUS(status) == 0, "the save itself failed"
    return True


@pytest.mark.parametrize("new,term", [((0, 2, 2), 1), ((0, 3, 0), 1), ((0, 3, 0), 2)],
                         ids=["status-update", "new-epoch", "new-epoch-and-term"])
@pytest.mark.parametrize("torn", [False, True], ids=["before-call", "torn-write"])
def test_a_crash_at_any_step_of_a_save_loads_the_old_or_the_new_cib(
        tmp_path, caplog, new, term, torn):
    old = (0, 2, 1)
    step, finished = 0, False
    while not finished:
        step += 1
        assert step < 200, "the save never finished"
        state = tmp_path / f"step{step}"
        history(state)
        finished = save_killed_at(state, step, torn, new, term)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="vigil.storage"):
            store = Storage(state)
            loaded = store.load()
        assert loaded is not None, f"step {step}: nothing loaded"
        got = C.version(loaded)
        assert got == new if finished else got in (old, new), f"step {step}: loaded {got}"
        sources = [r.getMessage() for r in caplog.records if "loaded CIB" in r.getMessage()]
        assert sources and sources[-1].endswith(str(state / "cib.xml")), \
            f"step {step}: {sources} (a crash of the save must never need a backup)"
        assert not (state / "cib.xml.corrupt").exists(), f"step {step}: judged corrupt"
        # the node goes on: the next save and load work
        nxt = (0, 4, 0)
        store.save(cib_at(nxt), nxt, term=term)
        again = Storage(state).load()
        assert again is not None and C.version(again) == nxt, f"step {step}"
    assert step > 5  # the save was really cut at each of its calls


def test_every_file_and_directory_in_the_state_dir_is_for_the_owner_only(tmp_path):
    state = tmp_path / "state"
    old_umask = os.umask(0o022)
    try:
        history(state)
        store = Storage(state)
        store.load()
        store.archive(cib_at((0, 2, 1)))
        store.save(cib_at((0, 3, 0)), (0, 3, 0), term=5)
    finally:
        os.umask(old_umask)
    seen = set()
    for path in [state, *state.rglob("*")]:
        if path.parent == state / "run" or path == state / "run":
            continue  # the agents' own HA_VARRUN (inside the 0700 state dir)
        mode = stat.S_IMODE(path.stat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        assert mode == want, f"{path} is {mode:04o}"
        seen.add(path.name)
    assert {"cib.xml", "cib.xml.sha256", "term", "backups", "pe", "cib-0.2.xml",
            "pe-input-1.xml"} <= seen


def test_a_state_dir_left_too_open_is_tightened_at_start_up_and_logged(tmp_path, caplog):
    state = tmp_path / "state"
    history(state)
    for path in [state, *state.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    with caplog.at_level(logging.WARNING, logger="vigil.storage"):
        Storage(state).load()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "cib.xml").stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "backups" / "cib-0.1.xml").stat().st_mode) == 0o600
    assert any("tightened" in r.getMessage() and str(state) in r.getMessage()
               for r in caplog.records)
