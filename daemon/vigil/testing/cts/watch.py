"""What runs beside the faults: the sampler (audits that need the moment) and the client.

Sampler (every ``truth_every_s``; statuses every ``status_every_s``)
    * no primitive's state file on two running hosts at once, at most one Promoted;
    * each node's CIB version never goes back within one boot (its own incarnation);
    * at most one quorate DC: two nodes that each say "I am the DC" with quorum in the same
      round, for longer than ``dc_grace_s`` (detection times differ by up to a deadtime).

Writer
    ``vigilctl property set cts-wN N`` through a random running node every 1-2 s (and in
    bursts, for kill -9 during writes); a write is *acknowledged* when vigilctl exits 0.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...core import cib as C
from ..loop import _env
from .bed import PROMOTABLE, SINGLES

if TYPE_CHECKING:
    from .bed import Bed
    from .report import Recorder


class Sampler(threading.Thread):
    def __init__(self, bed: Bed, rec: Recorder, truth_every_s: float = 0.25,
                 status_every_s: float = 1.0, dc_grace_s: float = 3.0) -> None:
        super().__init__(name="cts-sampler", daemon=True)
        self.bed, self.rec = bed, rec
        self.truth_every_s, self.status_every_s = truth_every_s, status_every_s
        self.dc_grace_s = dc_grace_s
        self.halt = threading.Event()
        self.versions: dict[tuple[str, int], tuple[tuple[int, ...], float]] = {}
        self.two_dcs_since: float | None = None
        self.two_dcs_reported = False
        self.samples = 0
        self.errors: list[str] = []

    def run(self) -> None:
        next_status = 0.0
        while not self.halt.is_set():
            try:
                self.check_truth(self.bed.truth())
                if time.monotonic() >= next_status:
                    self.check_statuses()
                    next_status = time.monotonic() + self.status_every_s
            except Exception as exc:  # noqa: BLE001 - a sampler bug must not end sampling
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.samples += 1
            self.halt.wait(self.truth_every_s)

    def check_truth(self, truth: dict[str, dict[str, str]]) -> None:
        for rsc in SINGLES:
            holders = sorted(n for n, roles in truth.items() if rsc in roles)
            if len(holders) > 1:
                self.rec.add("double_active", f"{rsc} active on {', '.join(holders)} at once "
                             "(the agents' state files)", node=holders[0],
                             key=f"{rsc}:{holders}", hint=rsc)
        promoted = sorted(n for n, roles in truth.items() if roles.get(PROMOTABLE) == "Promoted")
        if len(promoted) > 1:
            self.rec.add("double_active", f"{PROMOTABLE} Promoted on {', '.join(promoted)} at "
                         "once (Stateful's state files)", node=promoted[0],
                         key=f"promoted:{promoted}", hint=PROMOTABLE)

    def check_statuses(self) -> None:
        claims = []
        now = time.time()
        for node in self.bed.names:
            st = self.bed.status(node, timeout_s=1.0)
            if st is None:
                continue
            me = next((x for x in st["nodes"] if x["name"] == node), None)
            version = tuple(st["version"])
            if me is not None:
                key = (node, int(me["incarnation"]))
                prev = self.versions.get(key)
                if prev is not None and version < prev[0]:
                    self.rec.add("cib_version_back",
                                 f"{node}'s CIB went from {list(prev[0])} to {list(version)} "
                                 "within one boot", node=node, t=now,
                                 key=f"{node}:{prev[0]}", hint="CIB")
                self.versions[key] = (version, now)
            if st.get("dc") == node and st.get("dc_state") is not None and st.get("quorate"):
                claims.append(node)
        if len(claims) < 2:
            self.two_dcs_since, self.two_dcs_reported = None, False
            return
        if self.two_dcs_since is None:
            self.two_dcs_since = now
        elif now - self.two_dcs_since >= self.dc_grace_s and not self.two_dcs_reported:
            self.two_dcs_reported = True
            self.rec.add("two_quorate_dcs", f"{', '.join(claims)} each a quorate DC for "
                         f"{now - self.two_dcs_since:.1f} s", node=claims[0], t=now,
                         key=",".join(claims), hint="DC")


@dataclass
class Write:
    name: str
    value: str
    node: str
    sent: float
    acked: float
    version: list[int]


class Writer(threading.Thread):
    def __init__(self, bed: Bed, rng: random.Random, timeout_s: float = 20) -> None:
        super().__init__(name="cts-writer", daemon=True)
        self.bed, self.rng, self.timeout_s = bed, rng, timeout_s
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.count = 0
        self.acked: list[Write] = []
        self.refused = 0
        self.unanswered = 0
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.halt.wait(self.rng.uniform(1.0, 2.0)):
            up = [n for n in self.bed.names if self.bed.daemon_up(n)]
            if up:
                try:
                    self.write(self.rng.choice(up))
                except Exception as exc:  # noqa: BLE001 - keep writing
                    self.errors.append(f"{type(exc).__name__}: {exc}")

    def burst(self, node: str, count: int) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.write, args=(node,), daemon=True)
                   for _ in range(count)]
        for t in threads:
            t.start()
        return threads

    def write(self, node: str) -> None:
        with self.lock:
            self.count += 1
            n = self.count
        name, value = f"cts-w{n}", str(n)
        sent = time.time()
        argv = [sys.executable, "-m", "vigil.cli.vigilctl", "--socket",
                str(self.bed.cluster.socket(node)), "property", "set", name, value]
        try:
            res = subprocess.run(argv, capture_output=True, text=True, env=_env(),
                                 timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            with self.lock:
                self.unanswered += 1
            return
        if res.returncode != 0:
            with self.lock:
                self.refused += 1
            return
        m = re.search(r"\[(\d+), (\d+), (\d+)\]", res.stdout)
        version = [int(x) for x in m.groups()] if m else []
        with self.lock:
            self.acked.append(Write(name, value, node, sent, time.time(), version))

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {"sent": self.count, "acknowledged": len(self.acked),
                    "refused": self.refused, "unanswered": self.unanswered}


def properties(cib_xml: str) -> dict[str, str]:
    """The cluster properties of a CIB (or configuration) text."""
    root = C.parse(cib_xml)
    return {str(nv.get("name")): str(nv.get("value"))
            for nv in root.iter("nvpair")
            if nv.getparent() is not None
            and nv.getparent().tag == "cluster_property_set"}  # type: ignore[union-attr]
