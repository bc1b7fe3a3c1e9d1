"""Issue 13, item 9, with real SIGKILLs: a process saves CIBs as fast as it can and is killed
with SIGKILL at random moments, over and over (about 20 s). After each kill the state dir is
loaded as a restarting daemon would: it must hold the last acknowledged save or the one in
flight, read from cib.xml itself (never an older backup, never nothing)."""

import logging
import random
import signal
import subprocess
import sys
import time

import pytest

from vigil.core import cib as C
from vigil.io.storage import Storage

pytestmark = pytest.mark.slow

WRITER = r"""
import sys
from pathlib import Path
from vigil.core import cib as C
from vigil.io.storage import Storage

def successor(v):
    a, e, n = v
    return (a, e + 1, 0) if n >= 2 else (a, e, n + 1)

store = Storage(Path(sys.argv[1]))
loaded = store.load()
v = C.version(loaded) if loaded is not None else (0, 1, 0)
term = store.term
print("ready", flush=True)
while True:
    v = successor(v)
    term += v[2] == 0  # a new term with every new epoch: the term file is written too
    cib = C.new_cib()
    C.set_version(cib, v)
    C.set_property(cib, "padding", "x" * 20000)
    store.save(C.to_bytes(cib), v, term)
    print(*v, flush=True)
"""


def successor(v):
    a, e, n = v
    return (a, e + 1, 0) if n >= 2 else (a, e, n + 1)


def test_kill_9_during_cib_writes_never_falls_back_to_an_older_backup(tmp_path, caplog):
    state = tmp_path / "state"
    rng = random.Random(13)
    acked = None
    kills = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(state)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        out = proc.stdout.read()
        proc.wait()
        kills += 1
        for line in out.splitlines(keepends=True):
            if line.endswith("\n"):  # an acknowledgement cut short does not count
                acked = tuple(int(x) for x in line.split())
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="vigil.storage"):
            loaded = Storage(state).load()
        if acked is None:
            continue
        assert loaded is not None, f"kill {kills}: nothing loaded after {acked} was saved"
        got = C.version(loaded)
        assert got in (acked, successor(acked)), f"kill {kills}: {got}, acked {acked}"
        where = [r.getMessage() for r in caplog.records if "loaded CIB" in r.getMessage()]
        assert where and where[-1].endswith(str(state / "cib.xml")), (kills, where)
        acked = got
    assert kills >= 50 and acked is not None and acked[1] > 20, (kills, acked)
