"""The campaign loop: draw a fault, inject it, hold it, heal it, settle, audit; repeat.

Settling ends as soon as the cluster has been stable for ``stable_s`` (one DC, every node
online and quorate in every view, the DC idle, no fencing pending, resources placed as
expected and every status agreeing with the agents), or after ``settle_s``. Hosts that
are down after the heal (fenced, or crashed by the fault) boot again once they have been
down for a second. A cluster that did not settle is recorded, then repaired
(``resource cleanup`` and another window) so the next fault starts from a sane state.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..netns import netem_available
from . import faults as F
from .audits import Auditor, not_stable, statuses, the_dc
from .bed import SINGLES, STATEFUL, Bed
from .report import Recorder
from .watch import Sampler, Writer


@dataclass
class Options:
    seed: int
    nodes: int = 5
    faults: int = 100
    minutes: float = 30.0
    max_fault_s: float = 30.0
    settle_s: float = 30.0
    stable_s: float = 1.0
    dc_grace_s: float = 3.0
    kinds: list[str] | None = None
    use_netns: bool = True
    log_level: str = "info"
    workdir: Path = Path("/tmp/vigil-cts")
    deadtime_s: float = 1.0
    without: frozenset[str] = frozenset()  # parts of the CIB left out: clone, promotable


@dataclass
class Outcome:
    faults: list[F.Fault] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    runtime_s: float = 0.0


class Campaign:
    def __init__(self, opts: Options, out: Any = print) -> None:
        self.opts = opts
        self.say = out
        self.rng = random.Random(opts.seed)
        self.bed = Bed(opts.workdir, opts.nodes, opts.use_netns, opts.log_level,
                       opts.without)
        self.rec = Recorder(self.bed.log_path)
        self.writer = Writer(self.bed, random.Random(opts.seed + 1))
        self.sampler = Sampler(self.bed, self.rec, dc_grace_s=opts.dc_grace_s)
        self.auditor = Auditor(self.bed, self.rec, self.writer)
        self.kinds = F.weights(opts.kinds, opts.use_netns)
        self.outcome = Outcome()
        self.settled_at = 0.0
        self.boots_this_fault: dict[str, int] = {}

    # ------------------------------------------------------------------ the run
    def run(self) -> Outcome:
        t0 = time.monotonic()
        o = self.outcome
        if not self.opts.use_netns:
            o.notes.append("loopback test bed (not root or no namespaces): network faults "
                           "disabled")
        elif not netem_available():
            o.notes.append("no sch_netem in this kernel: loss and delay by the user-space "
                           "relay (vigil.testing.relay)")
        if self.opts.without:
            o.notes.append(f"left out of the CIB: {', '.join(sorted(self.opts.without))}")
        if "promotable" not in self.opts.without and not self.bed.stateful:
            o.notes.append(f"ocf:pacemaker:Stateful not installed ({STATEFUL}): no "
                           "promotable clone in the CIB")
        try:
            self._run(t0)
        except KeyboardInterrupt:
            o.interrupted = True
            self.say("interrupted: auditing what ran, then cleaning up")
        finally:
            self.sampler.halt.set()
            self.writer.halt.set()
            try:
                if self.bed.boots:
                    self.auditor.final(o.faults)
            except KeyboardInterrupt:
                o.notes.append("final audits skipped (interrupted)")
            finally:
                self.bed.close()
        o.runtime_s = time.monotonic() - t0
        for who, errors in (("sampler", self.sampler.errors), ("writer", self.writer.errors)):
            if errors:
                o.notes.append(f"{who} errors ({len(errors)}), first: {errors[0]}")
        return o

    def _run(self, t0: float) -> None:
        o = self.outcome
        dc = self.bed.start()
        bed = "namespaces" if self.opts.use_netns else "loopback"
        mix = ", ".join(f"{k}={w}" for k, w in sorted(self.kinds.items()))
        self.say(f"{len(self.bed.names)} nodes up ({bed}), DC {dc}, logs under "
                 f"{self.opts.workdir}; faults (weight): {mix}")
        self.sampler.start()
        self.writer.start()
        settled, why = self.settle(time.time(), 90)
        if not settled:
            self.rec.add("not_settled", f"the cluster never settled after start: {why}",
                         fault=0, key="start")
        deadline = t0 + self.opts.minutes * 60
        for index in range(1, self.opts.faults + 1):
            if time.monotonic() >= deadline:
                o.notes.append(f"stopped by the time bound ({self.opts.minutes} min)")
                break
            fault = F.draw(self.rng, index, self.kinds, self.opts.max_fault_s)
            o.faults.append(fault)
            self.one(fault)

    def one(self, fault: F.Fault) -> None:
        before = len(self.rec.violations)
        truth = self.bed.truth()
        sts = statuses(self.bed)
        dc = the_dc(sts)
        fault.dc_before = dc
        fault.placement_before = {r: n for n, roles in truth.items() for r in roles
                                  if r in SINGLES}
        ctx = F.Context(dc, truth, self.opts.deadtime_s, self.writer.burst)
        self.rec.fault = fault.index
        self.boots_this_fault = {}
        F.inject(self.bed, fault, ctx)
        self.hold(fault.start + fault.duration_s)
        F.heal(self.bed, fault, ctx)
        settled, why = self.settle(fault.healed, self.opts.settle_s)
        if settled:
            fault.settle_s = round(self.settled_at - fault.healed, 2)
        sts = statuses(self.bed)
        self.auditor.after_settle(fault, self.outcome.faults, settled, why, sts,
                                  self.bed.truth())
        repaired = ""
        if not settled:
            repaired = self.repair()
        new = self.rec.since(before)
        line = (f"[{fault.index:>3}/{self.opts.faults} {self._elapsed()}] {fault.describe():<58}"
                + (f" settled {fault.settle_s:5.1f}s" if settled else " NOT SETTLED")
                + repaired)
        if new:
            line += f"  {len(new)} violations: " + ", ".join(sorted({v.kind for v in new}))
        self.say(line)

    def _elapsed(self) -> str:
        faults = self.outcome.faults
        s = int(time.time() - faults[0].start) if faults and faults[0].start else 0
        return f"+{s // 60:02d}:{s % 60:02d}"

    # ------------------------------------------------------------------ phases
    def hold(self, until: float) -> None:
        while time.time() < until:
            self.auditor.check_exits()
            time.sleep(min(0.3, max(until - time.time(), 0)))

    def settle(self, since: float, limit_s: float) -> tuple[bool, list[str]]:
        stable_since: float | None = None
        why: list[str] = []
        while time.time() - since < limit_s:
            self.auditor.check_exits()
            self.boot_down_hosts()
            truth = self.bed.truth()
            why = not_stable(self.bed, statuses(self.bed), truth)
            now = time.time()
            if why:
                stable_since = None
            elif stable_since is None:
                stable_since = now
            elif now - stable_since >= self.opts.stable_s:
                self.settled_at = stable_since
                return True, []
            time.sleep(0.3)
        return False, why

    def boot_down_hosts(self) -> None:
        now = time.time()
        for node in self.bed.names:
            with self.bed.lock:
                down_since = self.bed.down.get(node)
            if down_since is not None and now - down_since >= 1.0:
                if self.boots_this_fault.get(node, 0) >= 3:
                    continue  # it keeps dying: leave it to the audits
                self.boots_this_fault[node] = self.boots_this_fault.get(node, 0) + 1
                self.bed.boot(node)
            elif down_since is None and node in self.bed.daemon_dead:
                self.bed.start_daemon(node)
            elif node in self.bed.paused:
                self.bed.resume(node)

    def repair(self) -> str:
        """Re-probe everything through the DC and wait once more."""
        dc = the_dc(statuses(self.bed))
        if dc is not None:
            try:
                self.bed.ctl(dc, "resource_cleanup", timeout_s=30)
            except Exception:  # noqa: BLE001 - the next window tells
                pass
        settled, _why = self.settle(time.time(), self.opts.settle_s)
        return " (repaired by cleanup)" if settled else " (still not settled after cleanup)"
