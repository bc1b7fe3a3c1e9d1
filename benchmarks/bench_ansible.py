#!/usr/bin/env python3
"""Ansible converge time: 50 resources and 49 constraints declared on a live cluster.

Starts a 3-node loopback cluster, runs ``benchmarks/playbooks/declare-50.yml`` (50
``ocf:vigil:Dummy`` primitives with vigil.cluster.cib_resource; 25 location, 12 colocation
and 12 order constraints with vigil.cluster.cib_constraint: one module run per object, as
a user writes it) through one node's socket, then runs it again: the second run must
change nothing. Prints the wall time of each ``ansible-playbook`` run (Ansible's own
start-up included, as a user sees it), how many objects changed, what the CIB holds
afterwards and how long until every resource ran, then stops the cluster. Then the same
on a fresh cluster with ``declare-50-bulk.yml``: the same objects in one vigil.cluster.cib
task.

    .venv/bin/python benchmarks/bench_ansible.py [--runs 3] [--only per-object|bulk]

Targets (issue 7): converge within 30 s, idempotent re-run within 10 s with changed=0.
Each Ansible module run costs about 0.3 s of CPU on this machine kind (ansible-core
compiles its module_utils from the AnsiballZ zip every time) plus the controller's own
work per loop item, so 99 module runs take 30 s or more whatever the module does.
When ``cib_constraint`` is not in the collection yet, only the primitives are declared
(and the output says so).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "daemon"))

from vigil.testing.loop import LoopCluster  # noqa: E402

PLAYBOOKS = {"per-object": ROOT / "benchmarks" / "playbooks" / "declare-50.yml",
             "bulk": ROOT / "benchmarks" / "playbooks" / "declare-50-bulk.yml"}
BULK_MODULE = ROOT / "ansible_collection" / "plugins" / "modules" / "cib.py"
CONSTRAINT_MODULE = ROOT / "ansible_collection" / "plugins" / "modules" / "cib_constraint.py"
CONVERGE_TARGET_S = 30.0
RERUN_TARGET_S = 10.0
RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")
CHANGED_ITEM = re.compile(r"^changed: \[[^\]]+\] => \(item=", re.MULTILINE)


def playbook(book: Path, sock: Path, nodes: list[str], constraints: bool
             ) -> tuple[float, dict[str, int]]:
    """Run a playbook once: (wall seconds, recap counts; ``items`` is how many loop items
    changed)."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    extra = {"vigil_socket": str(sock), "bench_nodes": nodes, "bench_constraints": constraints,
             "ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    argv = [sys.executable, "-m", "ansible", "playbook", str(book), "-i", "localhost,",
            "-e", json.dumps(extra)]
    t0 = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - t0
    recaps = RECAP.findall(proc.stdout)
    if proc.returncode != 0 or not recaps:
        raise SystemExit(f"ansible-playbook failed ({proc.returncode}):\n{proc.stdout[-4000:]}"
                         f"\n{proc.stderr[-2000:]}")
    counts = {key: sum(int(r[i]) for r in recaps)
              for i, key in enumerate(("ok", "changed", "unreachable", "failed"))}
    counts["items"] = len(CHANGED_ITEM.findall(proc.stdout))
    return elapsed, counts


def cib_counts(cluster: LoopCluster, node: str) -> tuple[int, dict[str, int]]:
    conf = ET.fromstring(cluster.ctl(node, "cib_get", scope="configuration")["xml"])
    prims = sum(1 for p in conf.iter("primitive") if (p.get("id") or "").startswith("bench-"))
    kinds = {"location": "rsc_location", "colocation": "rsc_colocation", "order": "rsc_order"}
    cons = {k: sum(1 for c in conf.iter(tag) if (c.get("id") or "").startswith("bench-"))
            for k, tag in kinds.items()}
    return prims, cons


def all_started(cluster: LoopCluster, node: str, count: int) -> bool:
    resources = [r for r in cluster.status(node)["resources"] if r["id"].startswith("bench-")]
    return len(resources) == count and all(r["role"] == "Started" for r in resources)


def one_run(base: Path, i: int, socket_node: str, constraints: bool, kind: str
            ) -> dict[str, float]:
    cluster = LoopCluster(base / f"{kind}-{i}", size=3, log_level="info")
    book = PLAYBOOKS[kind]
    try:
        cluster.start()
        cluster.wait_quorate()
        # no fence device on loopback: without this nothing may start
        cluster.ctl("node1", "property_set", name="stonith-enabled", value="false")
        sock = cluster.socket(socket_node)
        t0 = time.monotonic()
        converge_s, first = playbook(book, sock, cluster.names, constraints)
        started_s = None
        try:
            cluster.wait(lambda: all_started(cluster, "node1", 50), 120, "all 50 started",
                         interval_s=0.2)
            started_s = time.monotonic() - t0
        except TimeoutError as exc:
            print(f"  not every resource started within 120 s: {str(exc)[:300]}")
        rerun_s, second = playbook(book, sock, cluster.names, constraints)
        prims, cons = cib_counts(cluster, "node3")
        changed = (f"{first['items']} objects" if kind == "per-object"
                   else f"{first['changed']} task") + " changed"
        runs = 1 if kind == "bulk" else prims + sum(cons.values())
        print(f"  run {i}: converge {converge_s:.2f} s ({changed}), "
              f"re-run {rerun_s:.2f} s (changed={second['changed']}; "
              f"{1000 * rerun_s / runs:.0f} ms per module run), "
              f"CIB: {prims} primitives, {cons['location']} location, "
              f"{cons['colocation']} colocation, {cons['order']} order; all Started "
              + (f"{started_s:.2f} s after the converge began" if started_s else "never"))
        if second["changed"] != 0 or second["items"] != 0:
            raise SystemExit(f"the idempotent re-run changed something: {second['changed']} "
                             f"tasks, {second['items']} loop items")
        return {"converge": converge_s, "rerun": rerun_s, "changed": first["changed"],
                "started": started_s or float("nan")}
    finally:
        cluster.close()


def report(results: list[dict[str, float]]) -> None:
    conv = [r["converge"] for r in results]
    rerun = [r["rerun"] for r in results]
    print(f"  converge: median {statistics.median(conv):.2f} s, max {max(conv):.2f} s "
          f"(target {CONVERGE_TARGET_S:g} s: "
          f"{'met' if max(conv) <= CONVERGE_TARGET_S else 'MISSED'})")
    print(f"  idempotent re-run: median {statistics.median(rerun):.2f} s, max {max(rerun):.2f} "
          f"s, changed=0 (target {RERUN_TARGET_S:g} s: "
          f"{'met' if max(rerun) <= RERUN_TARGET_S else 'MISSED'})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1, help="fresh clusters to measure on")
    ap.add_argument("--only", choices=sorted(PLAYBOOKS),
                    help="run one playbook (default: per-object, then bulk)")
    ap.add_argument("--socket-node", default="node2",
                    help="the node whose socket the playbook talks to (writes are forwarded "
                    "to the DC from any node)")
    args = ap.parse_args()
    constraints = CONSTRAINT_MODULE.exists()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    print("declare-50.yml: 50 primitives"
          + (" + 25 location, 12 colocation, 12 order constraints" if constraints else
             " only: vigil.cluster.cib_constraint is not in the collection yet"))
    with tempfile.TemporaryDirectory(prefix="vigil-bench-ansible-") as tmp:
        for kind in [args.only] if args.only else list(PLAYBOOKS):
            if kind == "bulk" and not BULK_MODULE.exists():
                print("bulk: vigil.cluster.cib is not in the collection yet")
                continue
            print(f"{kind}: {PLAYBOOKS[kind].relative_to(ROOT)}")
            results = [one_run(Path(tmp), i, args.socket_node, constraints or kind == "bulk",
                               kind) for i in range(args.runs)]
            report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
