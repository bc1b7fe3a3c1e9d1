"""``python -m vigil.testing.cts``: the command line of the fault campaign."""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import netns
from .campaign import Campaign, Options
from .faults import KINDS
from .report import render, summary, write_json

DESCRIPTION = """\
A randomized fault campaign against real vigild nodes (Pacemaker's CTS, compacted).

N nodes run in network namespaces (root; loopback otherwise, without network faults)
with fencing by fence_vigil_loopback and a CIB of: a group of two ocf:vigil:Dummy, a
sticky Dummy (stickiness INFINITY), two free Dummies, a Dummy clone, a promotable
ocf:pacemaker:Stateful (if installed), default stickiness 100, stonith-enabled. A client
sets a new cluster property through a random node every 1-2 s.

Faults are drawn at random (--seed replays the sequence), one at a time: each lasts a
random time, is healed, then the cluster gets a settle window (--settle-s, ended early
once stable). Then it audits, with the agents' own state files and logs as the truth:
no primitive active twice (also sampled during faults), at most one quorate DC, CIB
versions never going back within a boot, every acknowledged write kept, nobody fenced
without cause, every fencing in `fence history` (asked before the agent ran), no recovery
before the fencing it needs, expected placement with status agreeing with the agents, no
traceback or unexplained daemon exit. Exit status: 0 no violation, 1 violations, 2 usage
or test bed error, 130 interrupted.
"""

KIND_HELP = """fault kinds (weight; default mix in brackets):
  kill9       SIGKILL of vigild alone, restarted after the fault (host and agents live)
  sigstop     SIGSTOP of the node's daemon and agents for 0.3-3 s
  restart     graceful restart (SIGTERM: resources move away first; nobody may be fenced)
  crash       power loss, then a new boot (state in <state_dir>/run is gone)
  write_kill  a burst of 8 writes to a node, kill -9 of it 20-420 ms later
  hung_agent  a Dummy's monitor (and half of the time its stop) hangs on its node
  fence_fail  the fence device fails while a node is crashed, until healed
  readonly    the node's state dir is remounted read-only (not in the default mix)
  partition   two groups, a strict minority and the rest (namespaces only)
  one_way     a minority stops hearing the others, who still hear it (namespaces only)
  cable       the node's switch port goes down, then up (namespaces only)
  loss        5-20 % packet loss both ways on one node's link (namespaces only)
  delay       20-150 ms delay with 50 % jitter (reordering) on one node's link

examples:
  python -m vigil.testing.cts --faults 100 --seed 7 --json report.json
  python -m vigil.testing.cts --minutes 10 --kinds partition,cable,one_way
  python -m vigil.testing.cts --seed 7 --faults 30     # replays the first 30 of seed 7
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vigil.testing.cts", description=DESCRIPTION,
                                epilog=KIND_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=5, help="cluster size (default 5)")
    p.add_argument("--faults", type=int, default=100, help="stop after N faults (default 100)")
    p.add_argument("--minutes", type=float, default=30,
                   help="stop starting faults after M minutes (default 30)")
    p.add_argument("--seed", type=int, help="random seed (default: random, printed)")
    p.add_argument("--kinds", help="comma-separated fault kinds (default: the default mix)")
    p.add_argument("--skip", default="", help="comma-separated kinds to leave out")
    p.add_argument("--max-fault-s", type=float, default=30,
                   help="cap on each fault's duration (default 30)")
    p.add_argument("--settle-s", type=float, default=30,
                   help="settle window after each heal (default 30)")
    p.add_argument("--dc-grace-s", type=float, default=3,
                   help="two quorate DCs for this long is a violation (default 3)")
    p.add_argument("--without", default="",
                   help="comma-separated parts of the CIB to leave out: clone (the Dummy "
                   "clone), promotable (the Stateful clone)")
    p.add_argument("--loopback", action="store_true",
                   help="use the loopback test bed even as root (no network faults)")
    p.add_argument("--workdir", type=Path,
                   help="where nodes keep state and logs (default: a new /tmp/vigil-cts-*; "
                   "kept afterwards, it holds the evidence)")
    p.add_argument("--log-level", default="info", help="vigild log level (default info)")
    p.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    kinds = args.kinds.split(",") if args.kinds else None
    unknown = [k for k in (kinds or []) + [k for k in args.skip.split(",") if k]
               if k not in KINDS]
    if unknown:
        print(f"unknown fault kinds: {', '.join(unknown)} (known: {', '.join(KINDS)})",
              file=sys.stderr)
        return 2
    bad = [w for w in args.without.split(",") if w and w not in ("clone", "promotable")]
    if bad:
        print(f"--without takes clone and promotable, not {', '.join(bad)}", file=sys.stderr)
        return 2
    if args.skip:
        skip = set(args.skip.split(","))
        kinds = [k for k in (kinds or [k for k, v in KINDS.items() if v.weight])
                 if k not in skip]
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    reason = None if not args.loopback else "--loopback"
    if reason is None:
        reason = netns.skip_reason()
    use_netns = reason is None
    if use_netns:
        netns.cleanup_stale()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vigil-cts-"))
    if workdir.exists() and any(workdir.iterdir()):
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"seed {seed}" + ("" if use_netns else f"; loopback test bed ({reason})"),
          flush=True)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # a background job of a non-interactive shell starts with SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    opts = Options(seed=seed, nodes=args.nodes, faults=args.faults, minutes=args.minutes,
                   max_fault_s=args.max_fault_s, settle_s=args.settle_s,
                   dc_grace_s=args.dc_grace_s, kinds=kinds, use_netns=use_netns,
                   log_level=args.log_level, workdir=workdir,
                   without=frozenset(w for w in args.without.split(",") if w))
    campaign = Campaign(opts, out=lambda line: print(line, flush=True))
    try:
        outcome = campaign.run()
    except Exception as exc:  # noqa: BLE001 - the bed failed: say so, exit 2
        print(f"test bed error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    report = summary(seed, outcome.faults, campaign.rec, campaign.writer.counts(),
                     outcome.runtime_s, outcome.notes)
    report["interrupted"] = outcome.interrupted
    report["workdir"] = str(workdir)
    report["test_bed"] = "namespaces" if use_netns else "loopback"
    print(render(report, {f.index: f.describe() for f in outcome.faults}), flush=True)
    if args.json:
        write_json(args.json, report)
    print(f"logs: {workdir}/cluster/node*/vigild.log; fence agent log: "
          f"{workdir}/fence-agent.log; {time.strftime('%H:%M:%S')}")
    if outcome.interrupted:
        return 130
    return 1 if report["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
