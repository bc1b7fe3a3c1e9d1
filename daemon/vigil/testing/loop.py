"""A cluster of real vigild processes on this machine's loopback (tests and benchmarks).

Each node gets its own address (127.0.0.N: Linux routes all of 127/8 to ``lo``), state
dir, control socket and config; all share a multicast group on ``lo``. No root needed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ..cli.loopback import poweroff
from ..client import call
from ..core import defaults as D
from ..errors import VigilError


class LoopCluster:
    def __init__(self, base: Path, size: int = 3, name: str = "test",
                 heartbeat_interval_ms: int = D.HEARTBEAT_INTERVAL_MS,
                 deadtime_ms: int = D.DEADTIME_MS,
                 port: int | None = None, log_level: str = "debug",
                 config_hook: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.base = base
        self.size = size
        self.name = name
        self.port = port or random.randint(10000, 32000)  # below the ephemeral range
        self.group = f"239.255.{random.randint(1, 254)}.{random.randint(1, 254)}"
        self.hb = heartbeat_interval_ms
        self.dead = deadtime_ms
        self.log_level = log_level
        self.config_hook = config_hook  # edits a node's config dict before it is written
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        # node -> the directory holding the ``vigil`` package it runs (another version,
        # for mixed-version tests); default: this checkout's
        self.package_roots: dict[str, Path] = {}
        self.base.mkdir(parents=True, exist_ok=True)
        self.authkey = base / "authkey"
        if not self.authkey.exists():  # owner-only from the start, as vigilctl keygen does
            fd = os.open(self.authkey, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
            with os.fdopen(fd, "wb") as fh:
                fh.write(os.urandom(32))
        self.names = [f"node{i}" for i in range(1, size + 1)]
        for name_ in self.names:
            self.write_config(name_)

    # ------------------------------------------------------------------ files
    def node_dir(self, node: str) -> Path:
        return self.base / node

    def config_path(self, node: str) -> Path:
        return self.node_dir(node) / "vigil.yaml"

    def socket(self, node: str) -> Path:
        return self.node_dir(node) / "vigil.sock"

    def log_path(self, node: str) -> Path:
        return self.node_dir(node) / "vigild.log"

    def write_config(self, node: str) -> None:
        d = self.node_dir(node)
        d.mkdir(parents=True, exist_ok=True)
        cfg = {
            "cluster_name": self.name,
            "node_name": node,
            "nodes": [{"name": n, "id": i + 1, "address": f"127.0.0.{i + 1}"}
                      for i, n in enumerate(self.names)],
            "transport": {"mode": "multicast", "group": self.group, "port": self.port,
                          "interface": "127.0.0.1"},
            "timing": {"heartbeat_interval_ms": self.hb, "deadtime_ms": self.dead},
            "authkey": str(self.authkey),
            "state_dir": str(d / "state"),
            "control_socket": str(self.socket(node)),
            "log_level": self.log_level,
        }
        if self.config_hook is not None:
            self.config_hook(node, cfg)
        self.config_path(node).write_text(yaml.safe_dump(cfg, sort_keys=False))

    # ------------------------------------------------------------------ processes
    def start(self, nodes: list[str] | None = None) -> None:
        for node in nodes or self.names:
            self.socket(node).unlink(missing_ok=True)  # left behind by a power-off
            log = open(self.log_path(node), "ab")
            self.procs[node] = subprocess.Popen(
                [sys.executable, "-m", "vigil.cli.vigild", "--config",
                 str(self.config_path(node))],
                stdout=log, stderr=subprocess.STDOUT, env=_env(self.package_roots.get(node)))
        for node in nodes or self.names:
            sock = self.socket(node)
            self.wait(sock.exists, 15, f"{node} control socket")

    def stop(self, node: str, timeout_s: float = 30) -> None:
        proc = self.procs.pop(node, None)
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def poweroff(self, node: str) -> None:
        poweroff(self.config_path(node))
        proc = self.procs.pop(node, None)
        if proc:
            proc.wait(10)

    def close(self) -> None:
        for node in list(self.procs):
            self.poweroff(node)

    # ------------------------------------------------------------------ queries
    def ctl(self, node: str, op: str, **args: Any) -> Any:
        return call(self.socket(node), op, **args)

    def vigilctl(self, node: str, *argv: str, stdin: str | None = None
                 ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vigil.cli.vigilctl", "--socket", str(self.socket(node)),
             *argv], capture_output=True, text=True, input=stdin, env=_env(), timeout=60)

    def status(self, node: str) -> dict[str, Any]:
        return dict(self.ctl(node, "status"))

    def running(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is None]

    def wait(self, cond: Callable[[], Any], timeout_s: float, what: str,
             interval_s: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout_s
        last_exc: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = cond()
                if value:
                    return value
            except (VigilError, OSError, KeyError) as exc:
                last_exc = exc
            time.sleep(interval_s)
        raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}"
                           + (f" (last error: {last_exc})" if last_exc else "")
                           + "\n" + self.tail_logs())

    def wait_quorate(self, nodes: list[str] | None = None, timeout_s: float = 20) -> str:
        nodes = nodes or self.running()

        def agreed() -> str | None:
            views = [self.status(n) for n in nodes]
            dcs = {v["dc"] for v in views}
            if len(dcs) == 1 and None not in dcs and all(v["quorate"] for v in views):
                online = [sum(x["online"] for x in v["nodes"]) for v in views]
                if all(o == len(nodes) for o in online):
                    return str(dcs.pop())
            return None

        return str(self.wait(agreed, timeout_s, f"{nodes} to agree on a DC"))

    def dummy_running(self, rsc: str) -> list[str]:
        """The nodes where ``ocf:vigil:Dummy``'s own state file says ``rsc`` runs (the
        agent's truth, not vigil's view), in node order."""
        return [n for n in self.names
                if (self.node_dir(n) / "state" / "run" / f"vigil-Dummy-{rsc}.state").exists()]

    def where(self, node: str, rsc: str) -> list[str]:
        for r in self.status(node)["resources"]:
            if r["id"] == rsc:
                return list(r["nodes"]) if r["role"] in ("Started", "Promoted") else []
        return []

    def tail_logs(self, lines: int = 15) -> str:
        out = []
        for node in self.names:
            path = self.log_path(node)
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {node} ---\n" + "\n".join(text))
        return "\n".join(out)


@contextmanager
def running(cluster: LoopCluster) -> Iterator[LoopCluster]:
    """``cluster`` started and quorate with a DC; powered off afterwards (a node that fails
    to start does not leak the others)."""
    try:
        cluster.start()
        cluster.wait_quorate()
        yield cluster
    finally:
        cluster.close()


def _env(root: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    pkg_root = str(root or Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"]
                                    if env.get("PYTHONPATH") else "")
    return env


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)
