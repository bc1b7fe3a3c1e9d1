"""The faults of a campaign: a table of kinds, each drawn, injected and healed.

Rules
-----
* One fault at a time. ``draw`` takes the same number of values from the seeded random
  generator for every fault whatever the cluster does, so ``--seed`` replays the same
  sequence of kinds, durations and target *roles* (the DC, the k-th other node, the node
  holding a resource); which node has a role is decided when the fault is injected.
* Every fault says whom it leaves *entitled to be fenced* (``fence_ok``): a node that
  died, froze past the deadtime, lost its cable, sits in the minority of a partition,
  went deaf (the receiving side of a one-way cut), or has an agent that cannot stop.
  Nobody else may be fenced while it lasts or settles. Loss and delay entitle nobody (a
  lossy link is not a dead node), nor does a graceful restart.
* ``separated(a, b)`` says whether the fault keeps what ``a`` sends from reaching ``b``: a
  stop done on ``a`` cannot be known on ``b`` before the heal.
* ``affected`` are the nodes the fault acts on (resources may leave them).
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bed import Bed


@dataclass
class Fault:
    index: int
    kind: str
    duration_s: float
    picks: tuple[float, ...]  # the random values that choose targets
    nodes: tuple[str, ...] = ()  # the nodes it acts on (resolved at injection)
    groups: tuple[tuple[str, ...], ...] = ()  # partition groups; one_way: (senders, receivers)
    params: dict[str, Any] = field(default_factory=dict)
    fence_ok: frozenset[str] = frozenset()
    affected: frozenset[str] = frozenset()
    start: float = 0.0
    healed: float = 0.0
    settle_s: float | None = None  # None: did not settle
    dc_before: str | None = None
    placement_before: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind == "partition":
            where = "|".join(",".join(g) for g in self.groups)
        elif self.kind == "one_way":
            where = f"{','.join(self.groups[1])} stop hearing {','.join(self.groups[0])}"
        else:
            where = ",".join(self.nodes)
        extra = " ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.kind} {where} {self.duration_s:.1f}s" + (f" {extra}" if extra else "")

    def separated(self, a: str, b: str) -> bool:
        """While the fault lasts, can nothing ``a`` sends reach ``b``?"""
        if self.kind == "partition":
            return not any(a in g and b in g for g in self.groups)
        if self.kind == "one_way":
            senders, receivers = self.groups
            return a in senders and b in receivers
        if self.kind in ("cable", "crash", "kill9", "sigstop", "write_kill", "fence_fail"):
            return a in self.nodes or b in self.nodes
        return False

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "kind": self.kind, "nodes": list(self.nodes),
                "groups": [list(g) for g in self.groups], "duration_s": self.duration_s,
                "params": self.params, "start": self.start, "healed": self.healed,
                "settle_s": self.settle_s, "fence_ok": sorted(self.fence_ok)}


@dataclass(frozen=True)
class Kind:
    weight: int
    netns_only: bool
    duration_s: tuple[float, float]
    inject: Callable[[Bed, Fault, Context], None]
    heal: Callable[[Bed, Fault, Context], None]


@dataclass
class Context:
    """What injection needs to know of the cluster right now."""

    dc: str | None
    truth: dict[str, dict[str, str]]
    deadtime_s: float
    write_burst: Callable[[str, int], list[threading.Thread]]


def _pick(values: list[str], p: float) -> str:
    return sorted(values)[min(int(p * len(values)), len(values) - 1)]


def _target(bed: Bed, f: Fault, ctx: Context) -> str:
    """The DC half of the time, else another node (picks[0], picks[1])."""
    up = [n for n in bed.names if bed.host_up(n) and bed.daemon_up(n)]
    if ctx.dc in up and f.picks[0] < 0.5:
        return ctx.dc
    others = [n for n in up if n != ctx.dc] or up or bed.names
    return _pick(others, f.picks[1])


def _minority(bed: Bed, f: Fault, ctx: Context) -> tuple[list[str], list[str]]:
    """A strict minority (1..(N-1)//2 nodes, with the DC half of the time), the rest."""
    names = sorted(bed.names)
    size = 1 + int(f.picks[2] * max((len(names) - 1) // 2, 1))
    pool = list(names)
    rng = random.Random(int(f.picks[3] * 2**32))
    rng.shuffle(pool)
    if ctx.dc in pool and f.picks[0] < 0.5:
        pool.remove(ctx.dc)
        pool.insert(0, ctx.dc)
    minority = sorted(pool[:size])
    return minority, [n for n in names if n not in minority]


# ---------------------------------------------------------------------- node faults
def _kill9(bed: Bed, f: Fault, ctx: Context) -> None:
    node = _target(bed, f, ctx)
    f.nodes, f.fence_ok = (node,), frozenset({node})
    bed.kill_daemon(node)


def _kill9_heal(bed: Bed, f: Fault, ctx: Context) -> None:
    if bed.host_up(f.nodes[0]) and not bed.daemon_up(f.nodes[0]):
        bed.start_daemon(f.nodes[0])


def _sigstop(bed: Bed, f: Fault, ctx: Context) -> None:
    node = _target(bed, f, ctx)
    f.nodes = (node,)
    # a pause that (with one heartbeat interval) outlasts the deadtime is a death
    f.fence_ok = frozenset({node}) if f.duration_s >= 0.8 * ctx.deadtime_s else frozenset()
    bed.pause(node)


def _sigstop_heal(bed: Bed, f: Fault, ctx: Context) -> None:
    bed.resume(f.nodes[0])


def _restart(bed: Bed, f: Fault, ctx: Context) -> None:
    node = _target(bed, f, ctx)
    f.nodes = (node,)
    f.params["stop_s"] = round(bed.graceful_restart(node), 1)


def _crash(bed: Bed, f: Fault, ctx: Context) -> None:
    node = _target(bed, f, ctx)
    f.nodes, f.fence_ok = (node,), frozenset({node})
    bed.crash(node)


def _boot_heal(bed: Bed, f: Fault, ctx: Context) -> None:
    if not bed.host_up(f.nodes[0]):
        bed.boot(f.nodes[0])


def _write_kill(bed: Bed, f: Fault, ctx: Context) -> None:
    """kill -9 of the DC (or a node) while a burst of writes is under way."""
    node = _target(bed, f, ctx)
    f.nodes, f.fence_ok = (node,), frozenset({node})
    delay_s = 0.02 + 0.4 * f.picks[2]
    f.params["after_ms"] = int(delay_s * 1000)
    threads = ctx.write_burst(node, 8)
    time.sleep(delay_s)
    bed.kill_daemon(node)
    for t in threads:
        t.join(20)


def _hung_agent(bed: Bed, f: Fault, ctx: Context) -> None:
    """A Dummy whose monitor (and, half of the time, stop) hangs on the node holding it."""
    held = sorted((rsc, node) for node, roles in ctx.truth.items() for rsc in roles
                  if rsc in ("grp-a", "grp-b", "sticky", "free1", "free2"))
    if not held:
        f.params["skipped"] = "no Dummy running"
        return
    rsc, node = held[min(int(f.picks[2] * len(held)), len(held) - 1)]
    actions = ["monitor", "stop"] if f.picks[3] < 0.5 else ["monitor"]
    f.nodes, f.fence_ok = (node,), frozenset({node})
    f.params.update(rsc=rsc, hangs="+".join(actions))
    bed.hang_file(node, rsc).write_text("\n".join(actions) + "\n")


def _hung_heal(bed: Bed, f: Fault, ctx: Context) -> None:
    if f.nodes:
        bed.hang_file(f.nodes[0], str(f.params["rsc"])).unlink(missing_ok=True)


def _fence_fail(bed: Bed, f: Fault, ctx: Context) -> None:
    """The fence device is broken while a node crashes: its fencing fails until healed."""
    bed.fence_fail.touch()
    others = [n for n in bed.names if n != ctx.dc and bed.host_up(n)]
    node = _pick(others or bed.names, f.picks[1])
    f.nodes, f.fence_ok = (node,), frozenset({node})
    bed.crash(node)


def _fence_fail_heal(bed: Bed, f: Fault, ctx: Context) -> None:
    bed.fence_fail.unlink(missing_ok=True)
    _boot_heal(bed, f, ctx)


def _readonly(bed: Bed, f: Fault, ctx: Context) -> None:
    """The node's state dir becomes read-only (a bind mount over itself, remounted ro)."""
    node = _target(bed, f, ctx)
    f.nodes, f.fence_ok = (node,), frozenset({node})
    d = str(bed.state_dir(node))
    enter = bed.mount_namespace(node)
    subprocess.run([*enter, "mount", "--bind", d, d], check=True, capture_output=True)
    subprocess.run([*enter, "mount", "-o", "remount,bind,ro", d], check=True,
                   capture_output=True)
    f.params["mount_ns"] = " ".join(enter[:3])
    bed.mounts.add(d)


def _readonly_heal(bed: Bed, f: Fault, ctx: Context) -> None:
    d = str(bed.state_dir(f.nodes[0]))
    enter = str(f.params.get("mount_ns", "")).split()
    subprocess.run([*enter, "umount", d], capture_output=True)
    bed.mounts.discard(d)


# ---------------------------------------------------------------------- network faults
def _partition(bed: Bed, f: Fault, ctx: Context) -> None:
    minority, majority = _minority(bed, f, ctx)
    f.groups = (tuple(minority), tuple(majority))
    f.nodes, f.fence_ok = tuple(minority), frozenset(minority)
    bed.fabric().partition(minority, majority)


def _one_way(bed: Bed, f: Fault, ctx: Context) -> None:
    deaf, others = _minority(bed, f, ctx)
    f.groups = (tuple(others), tuple(deaf))
    f.nodes, f.fence_ok = tuple(deaf), frozenset(deaf)
    bed.fabric().one_way(others, deaf)


def _cable(bed: Bed, f: Fault, ctx: Context) -> None:
    node = _target(bed, f, ctx)
    f.nodes, f.fence_ok = (node,), frozenset({node})
    bed.fabric().cut(node)


def _loss(bed: Bed, f: Fault, ctx: Context) -> None:
    node = _target(bed, f, ctx)
    f.nodes = (node,)
    f.params["loss_pct"] = round(5 + 15 * f.picks[2])
    f.params["via"] = bed.fabric().impair(node, loss_pct=f.params["loss_pct"],
                                          direction="both")


def _delay(bed: Bed, f: Fault, ctx: Context) -> None:
    node = _target(bed, f, ctx)
    f.nodes = (node,)
    delay_ms = round(20 + 130 * f.picks[2])
    f.params.update(delay_ms=delay_ms, jitter_ms=round(delay_ms * 0.5))
    f.params["via"] = bed.fabric().impair(node, delay_ms=delay_ms,
                                          jitter_ms=f.params["jitter_ms"], direction="both")


def _net_heal(bed: Bed, f: Fault, ctx: Context) -> None:
    bed.fabric().heal()


def _nothing(bed: Bed, f: Fault, ctx: Context) -> None:
    pass


KINDS: dict[str, Kind] = {
    "kill9": Kind(10, False, (1, 8), _kill9, _kill9_heal),
    "sigstop": Kind(10, False, (0.3, 3), _sigstop, _sigstop_heal),
    "restart": Kind(6, False, (0, 0), _restart, _nothing),
    "crash": Kind(8, False, (2, 10), _crash, _boot_heal),
    "write_kill": Kind(5, False, (0.5, 3), _write_kill, _kill9_heal),
    "hung_agent": Kind(5, False, (5, 30), _hung_agent, _hung_heal),
    "fence_fail": Kind(3, False, (5, 20), _fence_fail, _fence_fail_heal),
    "readonly": Kind(0, False, (5, 15), _readonly, _readonly_heal),
    "partition": Kind(12, True, (3, 15), _partition, _net_heal),
    "one_way": Kind(8, True, (3, 15), _one_way, _net_heal),
    "cable": Kind(10, True, (2, 10), _cable, _net_heal),
    "loss": Kind(6, True, (5, 20), _loss, _net_heal),
    "delay": Kind(5, True, (5, 15), _delay, _net_heal),
}
NODE_FAULTS = ("kill9", "crash", "sigstop", "write_kill", "hung_agent", "fence_fail",
               "readonly", "cable", "loss", "delay")


def weights(names: list[str] | None, use_netns: bool) -> dict[str, int]:
    """The kinds a campaign draws from: ``names`` (all default ones when None); network
    faults only in namespaces."""
    chosen = names if names is not None else [k for k, v in KINDS.items() if v.weight]
    return {k: max(KINDS[k].weight, 1) for k in chosen
            if k in KINDS and (use_netns or not KINDS[k].netns_only)}


def draw(rng: random.Random, index: int, kinds: dict[str, int], max_s: float) -> Fault:
    """The next fault: always six values from ``rng`` (see the module rules)."""
    names = sorted(kinds)
    kind = rng.choices(names, [kinds[k] for k in names])[0]
    lo, hi = KINDS[kind].duration_s
    hi = min(hi, max(max_s, lo))
    duration_s = round(lo + (hi - lo) * rng.random(), 2)
    picks = tuple(rng.random() for _ in range(4))
    return Fault(index, kind, duration_s, picks)


def inject(bed: Bed, f: Fault, ctx: Context) -> None:
    f.start = time.time()
    KINDS[f.kind].inject(bed, f, ctx)
    f.affected = frozenset(f.nodes) | f.fence_ok


def heal(bed: Bed, f: Fault, ctx: Context) -> None:
    KINDS[f.kind].heal(bed, f, ctx)
    f.healed = time.time()
