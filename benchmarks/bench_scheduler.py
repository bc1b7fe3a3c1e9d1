#!/usr/bin/env python3
"""Benchmark vigil's scheduler against crm_simulate on generated CIBs.

Generates CIBs with N ``ocf:pacemaker:Dummy`` primitives on 32 nodes (a fifth of them in
groups of four, location preferences and bans, some colocations and orders) in two
states: *cold* (nothing known yet: every resource is probed everywhere and started) and
*steady* (everything runs where vigil places it, probes done: nothing to do). Prints
vigil's schedule time and, when ``crm_simulate`` is installed, its time on the same file
and the ratio. crm_simulate is skipped for cold starts from 5,000 primitives (it needs
more than 20 minutes; BASELINE.md has ~40 s for steady 5,000).

    PYTHONPATH=daemon python benchmarks/bench_scheduler.py [--sizes 100,1000] [--no-crm]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "daemon"))

from vigil.core.scheduler import schedule  # noqa: E402

NODES = 32
NOW_S = 1_700_000_000
UUID = "6a1e9b5c-0d7a-4c63-8a2e-1f0f6b1d2e3a"


def rsc_names(n: int) -> tuple[list[str], list[list[str]]]:
    """Plain primitive ids and groups (lists of member ids); a fifth are group members."""
    grouped = n // 5
    groups = [[f"g{g}m{m}" for m in range(4)] for g in range(grouped // 4)]
    plain = [f"r{i}" for i in range(n - 4 * len(groups))]
    return plain, groups


def primitive(rid: str) -> str:
    return (f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy">'
            f'<operations><op id="{rid}-mon" name="monitor" interval="10s" timeout="20s"/>'
            f'</operations></primitive>')


def configuration(n: int, rng: random.Random) -> str:
    plain, groups = rsc_names(n)
    nodes = "".join(f'<node id="{i + 1}" uname="node{i + 1}"/>' for i in range(NODES))
    res = [primitive(r) for r in plain]
    for gi, members in enumerate(groups):
        res.append(f'<group id="grp{gi}">' + "".join(primitive(m) for m in members) + "</group>")
    tops = plain + [f"grp{g}" for g in range(len(groups))]
    cons = []
    for i, rid in enumerate(tops):
        if i % 3 == 0:
            node = rng.randrange(NODES) + 1
            cons.append(f'<rsc_location id="loc-{rid}" rsc="{rid}" node="node{node}" score="100"/>')
        if i % 7 == 0:
            node = rng.randrange(NODES) + 1
            cons.append(f'<rsc_location id="ban-{rid}" rsc="{rid}" node="node{node}" '
                        f'score="-INFINITY"/>')
    for i in range(0, len(plain) - 1, 20):
        a, b = plain[i], plain[i + 1]
        score = "INFINITY" if i % 40 == 0 else "200"
        cons.append(f'<rsc_colocation id="col-{a}" rsc="{b}" with-rsc="{a}" score="{score}"/>')
    for i in range(2, len(plain) - 1, 25):
        a, b = plain[i], plain[i + 1]
        cons.append(f'<rsc_order id="ord-{a}" first="{a}" then="{b}" kind="Mandatory"/>')
    return (
        '<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">'
        '<nvpair id="o1" name="stonith-enabled" value="false"/>'
        '<nvpair id="o2" name="no-quorum-policy" value="stop"/>'
        '</cluster_property_set></crm_config>'
        f'<nodes>{nodes}</nodes><resources>{"".join(res)}</resources>'
        f'<constraints>{"".join(cons)}</constraints>'
        '<rsc_defaults><meta_attributes id="rd"><nvpair id="rd1" name="resource-stickiness"'
        ' value="100"/></meta_attributes></rsc_defaults></configuration>'
    )


def op(rid: str, task: str, call: int, rc: int = 0, interval: int = 0, target: int = 0) -> str:
    opid = f"{rid}_last_0" if interval == 0 else f"{rid}_monitor_{interval}"
    return (f'<lrm_rsc_op id="{opid}" operation_key="{rid}_{task}_{interval}" operation="{task}"'
            f' transition-key="1:1:{target}:{UUID}" transition-magic="0:{rc};1:1:{target}:{UUID}"'
            f' call-id="{call}" rc-code="{rc}" op-status="0" interval="{interval}"'
            f' last-rc-change="{NOW_S}" exec-time="10" queue-time="0" op-digest="x"/>')


def status(placed: dict[str, str] | None, all_rscs: list[str]) -> str:
    out = []
    for i in range(NODES):
        name = f"node{i + 1}"
        lrm = []
        if placed is not None:
            for rid in all_rscs:
                if placed.get(rid) == name:
                    ops = op(rid, "start", 2) + op(rid, "monitor", 3, interval=10000)
                else:
                    ops = op(rid, "monitor", 1, rc=7, target=7)
                lrm.append(f'<lrm_resource id="{rid}" class="ocf" provider="pacemaker" '
                           f'type="Dummy">{ops}</lrm_resource>')
        out.append(f'<node_state id="{i + 1}" uname="{name}" in_ccm="true" crmd="online" '
                   f'join="member" expected="member"><lrm id="{i + 1}"><lrm_resources>'
                   f'{"".join(lrm)}</lrm_resources></lrm></node_state>')
    return f"<status>{''.join(out)}</status>"


def cib_text(conf: str, stat: str) -> str:
    return (f'<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.7" epoch="1" '
            f'num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">{conf}{stat}</cib>')


def time_vigil(text: str, repeat: int) -> tuple[float, int]:
    best = float("inf")
    n_actions = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        root = etree.fromstring(text.encode())
        tr = schedule(root, NOW_S)
        best = min(best, time.perf_counter() - t0)
        n_actions = sum(1 for a in tr.actions if a.kind != "pseudo")
    return best, n_actions


def time_crm(path: str) -> float | None:
    binary = shutil.which("crm_simulate")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="bench-") as td:
        env = dict(os.environ, CIB_shadow_dir=td)
        t0 = time.perf_counter()
        subprocess.run([binary, "-x", path, "-R", "-Q"], env=env, capture_output=True,
                       check=False)
        return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,5000",
                    help="comma-separated primitive counts (default: %(default)s)")
    ap.add_argument("--states", default="cold,steady", help="cold and/or steady")
    ap.add_argument("--no-crm", action="store_true", help="do not run crm_simulate")
    ap.add_argument("--repeat", type=int, default=1, help="vigil runs per CIB (best kept)")
    ap.add_argument("--keep", metavar="DIR", help="write the generated CIBs here")
    opts = ap.parse_args(argv)
    sizes = [int(s) for s in opts.sizes.split(",") if s.strip()]
    states = [s.strip() for s in opts.states.split(",") if s.strip()]
    outdir = opts.keep or tempfile.mkdtemp(prefix="vigil-bench-")
    os.makedirs(outdir, exist_ok=True)
    print(f"{'size':>6} {'state':>6} {'vigil s':>9} {'actions':>8} {'crm_simulate s':>15} "
          f"{'ratio':>7}", flush=True)
    for n in sizes:
        rng = random.Random(n)
        conf = configuration(n, rng)
        plain, groups = rsc_names(n)
        all_rscs = plain + [m for g in groups for m in g]
        placed: dict[str, str] | None = None
        for state in states:
            if state == "steady" and placed is None:
                print(f"  [{n}] computing placements for the steady state ...", flush=True)
                tr = schedule(etree.fromstring(cib_text(conf, status(None, []))), NOW_S)
                placed = {r: nodes[0] for r, nodes in tr.placements.items() if nodes}
            text = cib_text(conf, status(placed if state == "steady" else None, all_rscs))
            path = os.path.join(outdir, f"bench-{n}-{state}.xml")
            Path(path).write_text(text)
            print(f"  [{n} {state}] running vigil ...", flush=True)
            secs, n_actions = time_vigil(text, opts.repeat)
            crm: float | None = None
            note = ""
            if opts.no_crm:
                note = "skipped"
            elif n >= 5000 and state == "cold":
                note = "skipped (>20 min)"
            else:
                print(f"  [{n} {state}] running crm_simulate ...", flush=True)
                crm = time_crm(path)
                note = "not installed" if crm is None else f"{crm:.2f}"
            ratio = f"{secs / crm:.3f}" if crm else "-"
            print(f"{n:>6} {state:>6} {secs:>9.2f} {n_actions:>8} {note:>15} {ratio:>7}",
                  flush=True)
    print(f"CIBs written to {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
