"""Real hosts on one machine: one network namespace per node, joined by a bridge (root only).

Layout, for an instance with prefix ``P`` (``vg`` + 4 random hex digits, unique per instance,
so parallel runs never collide)::

    namespace P-sw   the switch: bridge br0 (IGMP snooping off, STP off), port pK per node
    namespace P-nK   node K: lo up, eth0 = 10.A.B.K/24, the veth peer of port pK

Nothing is created in the root namespace: its firewall (Docker's FORWARD DROP, br_netfilter)
never sees the switch's traffic, and teardown is "kill what runs in our namespaces, delete
them" (a namespace takes its links with it). Each instance records its owner pid under
``/run/vigil-testing/netns``; ``cleanup_stale()`` removes namespaces whose owner is gone.

Faults (all undone by ``heal()``)::

    cut(node) / restore(node)     switch port down / up: the node's eth0 loses its carrier
    partition(*groups)            nftables in every node drops input from other groups
    one_way(senders, receivers)   receivers drop input from senders; the reverse still flows
    impair(node, delay_ms, loss_pct, direction)
                                  ``tc netem`` when the kernel has it; otherwise a user-space
                                  relay (AF_PACKET, :mod:`vigil.testing.relay`) spliced
                                  between the node's switch port and the bridge

``direction`` is "out" (what the node sends, like netem on its eth0), "in" or "both".
Processes run with ``ip netns exec``; they share the filesystem, so control sockets work
from the root namespace. ``NetnsCluster`` runs vigild on the fabric with the API of
:class:`vigil.testing.loop.LoopCluster`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from ..cli.loopback import node_pids
from ..core import defaults as D
from .loop import LoopCluster
from .relay import OFFLOADS_OFF, Direction

NS_RE = re.compile(r"^(vg[0-9a-f]{4})-(sw|n\d+)$")
OWNERS = Path("/run/vigil-testing/netns")
NFT_TABLE = "vigil_fault"
_netem: bool | None = None


class NetnsError(RuntimeError):
    """A command that builds or changes the fabric failed."""


# ---------------------------------------------------------------------- helpers
def _run(argv: Sequence[str], input: str | None = None, check: bool = True,
         timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(list(argv), input=input, capture_output=True, text=True,
                         timeout=timeout_s)
    if check and res.returncode != 0:
        raise NetnsError(f"{' '.join(argv)} failed ({res.returncode}): "
                         f"{res.stderr.strip() or res.stdout.strip()}")
    return res


def _ip_batch(lines: Iterable[str], ns: str | None = None, force: bool = False) -> None:
    argv = ["ip", *(["-n", ns] if ns else []), *(["-force"] if force else []), "-batch", "-"]
    _run(argv, input="\n".join(lines) + "\n", check=not force)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    pkg_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"]
                                    if env.get("PYTHONPATH") else "")
    return env


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def skip_reason() -> str | None:
    """Why the netns harness cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "the netns harness needs root (network namespaces, bridges, nftables)"
    missing = [tool for tool in ("ip", "nft") if shutil.which(tool) is None]
    if missing:
        return f"the netns harness needs {' and '.join(missing)} (iproute2, nftables)"
    probe = f"vg{os.getpid() % 0x10000:04x}-probe"
    res = _run(["ip", "netns", "add", probe], check=False)
    if res.returncode != 0:
        return f"cannot create a network namespace: {res.stderr.strip()}"
    try:
        res = _run(["ip", "-n", probe, "link", "add", "name", "br0", "type", "bridge"],
                   check=False)
        if res.returncode != 0:
            return f"cannot create a bridge: {res.stderr.strip()}"
        res = _run(["ip", "netns", "exec", probe, "nft", "add", "table", "inet", NFT_TABLE],
                   check=False)
        if res.returncode != 0:
            return f"nftables does not work in a namespace: {res.stderr.strip()}"
    finally:
        _run(["ip", "netns", "del", probe], check=False)
    return None


def netem_available() -> bool:
    """Does this kernel have sch_netem? (Probed once, in a throw-away namespace.)"""
    global _netem
    if _netem is None:
        probe = f"vg{os.getpid() % 0x10000:04x}-probe"
        _run(["ip", "netns", "add", probe], check=False)
        try:
            _netem = shutil.which("tc") is not None and _run(
                ["ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "lo", "root",
                 "netem", "delay", "1ms"], check=False).returncode == 0
        finally:
            _run(["ip", "netns", "del", probe], check=False)
    return _netem


def _owner_alive(prefix: str) -> bool:
    try:
        pid_s, start = (OWNERS / prefix).read_text().split()
    except (OSError, ValueError):
        return False
    return _start_time(int(pid_s)) == start


def _kill_namespace_processes(namespaces: Iterable[str]) -> None:
    for ns in namespaces:
        res = _run(["ip", "netns", "pids", ns], check=False)
        for pid in res.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def cleanup_stale() -> list[str]:
    """Delete the namespaces (and processes) of harness instances whose owner is gone."""
    res = _run(["ip", "netns", "list"], check=False)
    stale = []
    for line in res.stdout.splitlines():
        name = line.split(" ", 1)[0]
        match = NS_RE.match(name)
        if match and not _owner_alive(match.group(1)):
            stale.append(name)
    _kill_namespace_processes(stale)
    if stale:
        _ip_batch((f"netns del {ns}" for ns in stale), force=True)
    for prefix in {m.group(1) for m in map(NS_RE.match, stale) if m}:
        (OWNERS / prefix).unlink(missing_ok=True)
    return stale


# ---------------------------------------------------------------------- fabric
class Fabric:
    """The namespaces, the switch and the faults; knows nothing about vigil."""

    def __init__(self, names: Sequence[str], prefix: str | None = None) -> None:
        if not 1 <= len(names) <= 250:
            raise ValueError("a fabric has 1..250 nodes")
        self.names = list(names)
        self.prefix = prefix or f"vg{random.getrandbits(16):04x}"
        self.subnet = f"10.{random.randint(100, 254)}.{random.randint(0, 255)}"
        self.switch = f"{self.prefix}-sw"
        self._index = {n: i + 1 for i, n in enumerate(self.names)}
        self.blocked: dict[str, set[str]] = {n: set() for n in self.names}
        self.relays: dict[str, subprocess.Popen[bytes]] = {}
        self.netem: dict[str, Direction] = {}
        self.is_up = False
        self._offloads_off = False

    # ------------------------------------------------------------------ naming
    def ns(self, node: str) -> str:
        return f"{self.prefix}-n{self._index[node]}"

    def address(self, node: str) -> str:
        return f"{self.subnet}.{self._index[node]}"

    def port(self, node: str) -> str:
        return f"p{self._index[node]}"

    def namespaces(self) -> list[str]:
        return [self.switch, *(self.ns(n) for n in self.names)]

    # ------------------------------------------------------------------ lifecycle
    def up(self) -> None:
        if self.is_up:
            return
        OWNERS.mkdir(parents=True, exist_ok=True)
        (OWNERS / self.prefix).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
        self.is_up = True
        try:
            _ip_batch(f"netns add {ns}" for ns in self.namespaces())
            _ip_batch(self._switch_lines(), ns=self.switch)
            for node in self.names:
                _ip_batch(["link set lo up", f"addr add {self.address(node)}/24 dev eth0",
                           "link set eth0 up"], ns=self.ns(node))
            self._each_node(lambda n: ["nft", "-f", "-"], self._nft_ruleset)
        except BaseException:
            self.down()
            raise

    def _switch_lines(self) -> list[str]:
        lines = ["link set lo up",
                 "link add name br0 type bridge mcast_snooping 0 stp_state 0",
                 "link set br0 up"]
        for node in self.names:
            port = self.port(node)
            lines += [f"link add {port} type veth peer name eth0 netns {self.ns(node)}",
                      f"link set {port} master br0", f"link set {port} up"]
        return lines

    def _nft_ruleset(self, node: str) -> str:
        return (f"table inet {NFT_TABLE} {{\n"
                f"  set drop_from {{ type ipv4_addr; }}\n"
                f"  chain input {{ type filter hook input priority -200; policy accept;\n"
                f"    ip saddr @drop_from drop\n  }}\n}}\n")

    def down(self) -> None:
        """Kill everything running in our namespaces and delete them (idempotent)."""
        for proc in self.relays.values():
            proc.kill()
            proc.wait()
        self.relays.clear()
        if self.is_up:
            _kill_namespace_processes(self.namespaces())
            _ip_batch((f"netns del {ns}" for ns in self.namespaces()), force=True)
            (OWNERS / self.prefix).unlink(missing_ok=True)
            self.is_up = False

    def __enter__(self) -> Fabric:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    # ------------------------------------------------------------------ processes
    def argv(self, node: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns(node), *argv]

    def popen(self, node: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        kwargs.setdefault("env", _env())
        return subprocess.Popen(self.argv(node, argv), **kwargs)

    def run(self, node: str, argv: Sequence[str], input: str | None = None,
            check: bool = True, timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
        return _run(self.argv(node, argv), input=input, check=check, timeout_s=timeout_s)

    def _each_node(self, argv_of: Callable[[str], list[str]], input_of: Callable[[str], str],
                   nodes: Iterable[str] | None = None) -> None:
        """Run one command per node namespace, all at once; raise if any failed."""
        procs = []
        for node in nodes if nodes is not None else self.names:
            proc = subprocess.Popen(self.argv(node, argv_of(node)), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append((node, proc, input_of(node)))
        errors = []
        for node, proc, text in procs:
            _out, err = proc.communicate(text, timeout=30)
            if proc.returncode != 0:
                errors.append(f"{node}: {err.strip()}")
        if errors:
            raise NetnsError("; ".join(errors))

    # ------------------------------------------------------------------ links
    def cut(self, node: str) -> None:
        """Pull the node's cable: its switch port goes down, eth0 loses its carrier."""
        _run(["ip", "-n", self.switch, "link", "set", self.port(node), "down"])

    def restore(self, node: str) -> None:
        _run(["ip", "-n", self.switch, "link", "set", self.port(node), "up"])

    # ------------------------------------------------------------------ partitions
    def partition(self, *groups: Sequence[str]) -> None:
        """Only nodes of the same group hear each other; unlisted nodes form one group."""
        listed = [n for g in groups for n in g]
        if len(set(listed)) != len(listed) or not set(listed) <= set(self.names):
            raise ValueError(f"groups must name distinct nodes of {self.names}: {groups}")
        rest = [n for n in self.names if n not in listed]
        all_groups = [list(g) for g in groups] + ([rest] if rest else [])
        group_of = {n: i for i, g in enumerate(all_groups) for n in g}
        for node in self.names:
            self.blocked[node] = {self.address(m) for m in self.names
                                  if group_of[m] != group_of[node]}
        self._apply_blocks(self.names)

    def one_way(self, senders: Sequence[str], receivers: Sequence[str]) -> None:
        """Receivers stop hearing senders (added to any partition in force)."""
        for node in receivers:
            self.blocked[node] |= {self.address(s) for s in senders if s != node}
        self._apply_blocks(receivers)

    def heal_partitions(self) -> None:
        for node in self.names:
            self.blocked[node] = set()
        self._apply_blocks(self.names)

    def _apply_blocks(self, nodes: Iterable[str]) -> None:
        def script(node: str) -> str:
            text = f"flush set inet {NFT_TABLE} drop_from\n"
            if self.blocked[node]:
                text += (f"add element inet {NFT_TABLE} drop_from "
                         f"{{ {', '.join(sorted(self.blocked[node]))} }}\n")
            return text

        self._each_node(lambda n: ["nft", "-f", "-"], script, nodes)

    # ------------------------------------------------------------------ impairments
    def impair(self, node: str, delay_ms: float = 0, loss_pct: float = 0,
               jitter_ms: float = 0, direction: Direction = "out") -> str:
        """Delay and/or drop the node's traffic; returns the mechanism used."""
        self.clear_impairment(node)
        if netem_available():
            self._netem(node, delay_ms, loss_pct, jitter_ms, direction)
            return "netem"
        self._relay(node, delay_ms, loss_pct, jitter_ms, direction)
        return "relay"

    def _netem(self, node: str, delay_ms: float, loss_pct: float, jitter_ms: float,
               direction: Direction) -> None:
        spec = ["netem", "delay", f"{delay_ms}ms", *([f"{jitter_ms}ms"] if jitter_ms else []),
                "loss", f"{loss_pct}%"]
        if direction in ("out", "both"):
            _run(["ip", "netns", "exec", self.ns(node), "tc", "qdisc", "replace", "dev",
                  "eth0", "root", *spec])
        if direction in ("in", "both"):
            _run(["ip", "netns", "exec", self.switch, "tc", "qdisc", "replace", "dev",
                  self.port(node), "root", *spec])
        self.netem[node] = direction

    def _relay(self, node: str, delay_ms: float, loss_pct: float, jitter_ms: float,
               direction: Direction) -> None:
        self._frames_without_offloads()
        i, port = self._index[node], self.port(node)
        _ip_batch([f"link add d{i} type veth peer name b{i}", f"link set d{i} up",
                   f"link set {port} promisc on", f"link set d{i} promisc on"], ns=self.switch)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.switch, sys.executable, "-m", "vigil.testing.relay",
             port, f"d{i}", "--delay-ms", str(delay_ms), "--jitter-ms",
             str(jitter_ms), "--loss-pct", str(loss_pct), "--direction", direction],
            stdout=subprocess.PIPE, env=_env())
        self.relays[node] = proc
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 15)
        if not ready or proc.stdout.readline().strip() != b"ready":
            raise NetnsError(f"the relay for {node} did not start")
        # Splice: the node's port leaves the bridge, the relay's far end joins it.
        _ip_batch([f"link set {port} nomaster", f"link set b{i} master br0",
                   f"link set b{i} up"], ns=self.switch)

    def _frames_without_offloads(self) -> None:
        """A relay copies frames as they are: they must carry real checksums, MTU-sized."""
        if not self._offloads_off:
            self._each_node(lambda n: [sys.executable, "-c", OFFLOADS_OFF, "eth0"],
                            lambda n: "")
            self._offloads_off = True

    def clear_impairment(self, node: str) -> None:
        direction = self.netem.pop(node, None)
        if direction in ("out", "both"):
            _run(["ip", "netns", "exec", self.ns(node), "tc", "qdisc", "del", "dev", "eth0",
                  "root"], check=False)
        if direction in ("in", "both"):
            _run(["ip", "netns", "exec", self.switch, "tc", "qdisc", "del", "dev",
                  self.port(node), "root"], check=False)
        proc = self.relays.pop(node, None)
        if proc is not None:
            proc.kill()
            proc.wait()
            i, port = self._index[node], self.port(node)
            _ip_batch([f"link del d{i}", f"link set {port} promisc off",
                       f"link set {port} master br0"], ns=self.switch)

    # ------------------------------------------------------------------ everything
    def heal(self) -> None:
        """Undo every fault: links up, no partition, no impairment."""
        for node in list(self.netem) + list(self.relays):
            self.clear_impairment(node)
        _ip_batch((f"link set {self.port(n)} up" for n in self.names), ns=self.switch)
        self.heal_partitions()




# ---------------------------------------------------------------------- vigild on a fabric
class NetnsCluster(LoopCluster):
    """vigild nodes in namespaces; the API of LoopCluster plus the fabric's faults.

    Each node's config uses its own address in ``nodes[]`` and as the multicast
    ``interface``; state dir, control socket and log live under ``base/<node>`` on the
    shared filesystem, so ``status(node)`` works from the root namespace.
    ``transport_mode="unicast"`` sends every heartbeat to each node's address instead
    (the config then names no multicast group or interface).
    """

    def __init__(self, base: Path, size: int = 3, name: str = "test",
                 heartbeat_interval_ms: int = D.HEARTBEAT_INTERVAL_MS,
                 deadtime_ms: int = D.DEADTIME_MS,
                 port: int | None = 5486, log_level: str = "info",
                 config_extra: dict[str, Any] | None = None,
                 transport_mode: Literal["multicast", "unicast"] = "multicast") -> None:
        self.fabric = Fabric([f"node{i}" for i in range(1, size + 1)])
        self.config_extra = dict(config_extra or {})
        self.transport_mode = transport_mode
        self.paused: dict[str, list[int]] = {}
        super().__init__(base, size, name, heartbeat_interval_ms, deadtime_ms, port,
                         log_level)

    def write_config(self, node: str) -> None:
        super().write_config(node)
        path = self.config_path(node)
        cfg = yaml.safe_load(path.read_text())
        cfg["nodes"] = [{"name": n, "id": i + 1, "address": self.fabric.address(n)}
                        for i, n in enumerate(self.names)]
        if self.transport_mode == "unicast":
            cfg["transport"] = {"mode": "unicast", "port": cfg["transport"]["port"]}
        else:
            cfg["transport"]["interface"] = self.fabric.address(node)
        cfg.update(self.config_extra)
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))

    def address(self, node: str) -> str:
        return self.fabric.address(node)

    # ------------------------------------------------------------------ processes
    def start(self, nodes: list[str] | None = None, timeout_s: float | None = None) -> None:
        self.fabric.up()
        nodes = nodes or self.names
        for node in nodes:
            self.socket(node).unlink(missing_ok=True)  # left behind by a power-off
            with open(self.log_path(node), "ab") as log:
                self.procs[node] = self.fabric.popen(
                    node, [sys.executable, "-m", "vigil.cli.vigild", "--config",
                           str(self.config_path(node))],
                    stdout=log, stderr=subprocess.STDOUT)
        limit_s = timeout_s or 15 + 1.5 * len(nodes)
        deadline = time.monotonic() + limit_s
        for node in nodes:
            self.wait(self.socket(node).exists, max(deadline - time.monotonic(), 0.1),
                      f"{node} control socket")

    def pids(self, node: str) -> list[int]:
        """The node's daemon and every process it started."""
        return node_pids(self.config_path(node))

    def pause(self, node: str) -> None:
        """Freeze the node (SIGSTOP to its daemon and everything it started)."""
        pids = self.pids(node)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        self.paused[node] = pids

    def resume(self, node: str) -> None:
        """Thaw what ``pause`` froze, at once (no second search of /proc)."""
        for pid in self.paused.pop(node, []):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def stop(self, node: str, timeout_s: float = 30) -> None:
        if node in self.paused:
            self.resume(node)
        super().stop(node, timeout_s)

    def poweroff(self, node: str) -> None:
        super().poweroff(node)
        self.paused.pop(node, None)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.fabric.down()

    def __enter__(self) -> NetnsCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ faults
    def cut(self, node: str) -> None:
        self.fabric.cut(node)

    def restore(self, node: str) -> None:
        self.fabric.restore(node)

    def partition(self, *groups: Sequence[str]) -> None:
        self.fabric.partition(*groups)

    def one_way(self, senders: Sequence[str], receivers: Sequence[str]) -> None:
        self.fabric.one_way(senders, receivers)

    def impair(self, node: str, delay_ms: float = 0, loss_pct: float = 0,
               jitter_ms: float = 0, direction: Direction = "out") -> str:
        return self.fabric.impair(node, delay_ms, loss_pct, jitter_ms, direction)

    def heal(self) -> None:
        self.fabric.heal()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vigil.testing.netns")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("cleanup", help="remove namespaces left by crashed runs")
    p.parse_args(argv)
    for ns in cleanup_stale():
        print(f"removed {ns}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
