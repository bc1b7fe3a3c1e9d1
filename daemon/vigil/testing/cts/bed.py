"""The test bed of a campaign: the cluster, its CIB, the nodes' power, the agents' truth.

Nodes run in network namespaces (:class:`vigil.testing.netns.NetnsCluster`) when the
machine allows it, else on loopback (:class:`vigil.testing.loop.LoopCluster`, no network
faults). Power, as the campaign models it:

* ``crash(node)``: the host loses power. Its daemon and agents die (SIGKILL), its link
  goes dark; what its agents ran is gone (their state files are ignored until it boots).
* ``boot(node)``: a new boot. ``<state_dir>/run`` is emptied (it is tmpfs on a real
  host), the link comes up, vigild starts with a new incarnation.
* A fencing by ``fence_vigil_loopback`` is a crash too: the campaign learns of it from the
  agent's own log and boots the node again later (the "reboot" of a reboot action).
* ``kill_daemon`` / ``start_daemon``: vigild alone dies (SIGKILL) and starts again; the
  host and what its agents started keep running.

The truth about resources is the agents' own state, never the cluster's: ``vigil-Dummy-
<instance>.state`` files (ocf:vigil:Dummy) and ``Stateful-<rsc>.state`` (ocf:pacemaker:
Stateful, holding "Promoted" or "Unpromoted") under each running host's ``<state_dir>/run``.
State files are read before the fence log, so a resource seen started elsewhere is never
blamed on a node whose fencing finished just before.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from ...cli.loopback import node_pids
from ...client import call
from ...core import cib as C
from ...errors import VigilError
from ..loop import LoopCluster
from ..netns import NetnsCluster

STATEFUL = Path("/usr/lib/ocf/resource.d/pacemaker/Stateful")
# resources of the CIB the campaign runs: (id, kind); kinds: "primitive" (one node),
# "clone" (every node), "promotable" (every node, one Promoted)
SINGLES = ("grp-a", "grp-b", "sticky", "free1", "free2")
CLONE = "cl"
PROMOTABLE = "db"
MONITOR_S = 5
OP_TIMEOUT_S = 10


@dataclass
class FenceRun:
    """One off/reboot as fence_vigil_loopback logged it."""

    target: str
    action: str
    begin: float
    end: float | None = None
    result: str | None = None  # "ok", "failed", None while running (or agent killed)
    pids: list[int] = field(default_factory=list)


@dataclass
class Event:
    t: float
    node: str
    what: str  # crash, boot, kill_daemon, start_daemon, stop, pause, resume, fenced


class Bed:
    def __init__(self, base: Path, size: int, use_netns: bool, log_level: str = "info",
                 without: frozenset[str] = frozenset()) -> None:
        self.base = base
        self.use_netns = use_netns
        cluster_dir = base / "cluster"
        self.cluster: LoopCluster = (
            NetnsCluster(cluster_dir, size=size, log_level=log_level) if use_netns
            else LoopCluster(cluster_dir, size=size, log_level=log_level))
        self.names = list(self.cluster.names)
        self.fence_log = base / "fence-agent.log"
        self.agent_log = base / "agents.log"
        self.fence_fail = base / "fence-device-broken"
        self.stateful = "promotable" not in without and STATEFUL.exists()
        self.clone = "clone" not in without
        self.lock = threading.RLock()
        self.down: dict[str, float] = {}  # host powered off (crash, fencing) since
        self.daemon_dead: set[str] = set()  # killed on purpose, host up
        self.paused: set[str] = set()
        self.boots: dict[str, float] = {}  # node -> time of its last (re)start
        self.events: list[Event] = []
        self.fence_runs: list[FenceRun] = []
        self._fence_pos = 0
        self._running_runs: dict[int, FenceRun] = {}
        self._paused_pids: dict[str, list[int]] = {}
        self.mounts: set[str] = set()  # read-only bind mounts over state dirs
        self.start_failures: list[tuple[str, float, str]] = []

    # ------------------------------------------------------------------ paths
    def state_dir(self, node: str) -> Path:
        return self.cluster.node_dir(node) / "state"

    def log_path(self, node: str) -> Path:
        return self.cluster.log_path(node)

    def hang_file(self, node: str, rsc: str) -> Path:
        return self.state_dir(node) / "run" / f"vigil-Dummy-{rsc}.hang"

    def note(self, node: str, what: str, t: float | None = None) -> None:
        with self.lock:
            self.events.append(Event(t or time.time(), node, what))

    # ------------------------------------------------------------------ cluster
    def start(self) -> str:
        """Start every node, wait for a DC, load the campaign's CIB; returns the DC."""
        if isinstance(self.cluster, NetnsCluster):
            self.cluster.start(timeout_s=60)
        else:
            self.cluster.start()
        now = time.time()
        for node in self.names:
            self.boots[node] = now
        dc = self.cluster.wait_quorate(timeout_s=60)
        xml = self.configuration(self.ctl(dc, "cib_get", scope="configuration")["xml"])
        self.ctl(dc, "cib_replace", xml=xml)
        return dc

    def configuration(self, current: str) -> str:
        """The campaign's configuration, with the live ``nodes`` section kept."""
        conf = C.parse(current)
        for tag in ("crm_config", "resources", "constraints", "rsc_defaults"):
            for el in conf.findall(tag):
                conf.remove(el)
        conf.insert(0, etree.fromstring(
            '<crm_config><cluster_property_set id="cib-bootstrap-options">'
            '<nvpair id="cts-stonith" name="stonith-enabled" value="true"/>'
            '<nvpair id="cts-nqp" name="no-quorum-policy" value="stop"/>'
            '</cluster_property_set></crm_config>'))
        resources = etree.SubElement(conf, "resources")
        host_map = ";".join(f"{n}:{self.cluster.config_path(n)}" for n in self.names)
        resources.append(C.primitive_element(
            "fence-cts", "stonith:fence_vigil_loopback",
            {"pcmk_host_map": host_map, "log_file": str(self.fence_log),
             "fail_file": str(self.fence_fail)}, None,
            [{"name": "monitor", "interval": "60s"}]))
        group = etree.SubElement(resources, "group", id="grp")
        for rid in ("grp-a", "grp-b"):
            group.append(self._dummy(rid))
        resources.append(self._dummy("sticky", {"resource-stickiness": "INFINITY"}))
        resources.append(self._dummy("free1"))
        resources.append(self._dummy("free2"))
        if self.clone:
            clone = etree.SubElement(resources, "clone", id=f"{CLONE}-clone")
            clone.append(self._dummy(CLONE))
        if self.stateful:
            prom = etree.SubElement(resources, "clone", id=f"{PROMOTABLE}-clone")
            meta = etree.SubElement(prom, "meta_attributes", id=f"{PROMOTABLE}-clone-meta")
            for name, value in (("promotable", "true"), ("promoted-max", "1")):
                etree.SubElement(meta, "nvpair", id=f"{PROMOTABLE}-clone-{name}", name=name,
                                 value=value)
            prom.append(C.primitive_element(
                PROMOTABLE, "ocf:pacemaker:Stateful", None, None,
                [{"name": "monitor", "interval": f"{MONITOR_S}s", "role": "Promoted",
                  "timeout": f"{OP_TIMEOUT_S}s"},
                 {"name": "monitor", "interval": f"{MONITOR_S + 1}s", "role": "Unpromoted",
                  "timeout": f"{OP_TIMEOUT_S}s"},
                 {"name": "start", "timeout": f"{OP_TIMEOUT_S}s"},
                 {"name": "stop", "timeout": f"{OP_TIMEOUT_S}s"}]))
        constraints = etree.SubElement(conf, "constraints")
        if self.stateful:  # Stateful's crm_attribute cannot reach vigil: scores by location
            for node in self.names:
                etree.SubElement(constraints, "rsc_location", id=f"db-promote-{node}",
                                 rsc=f"{PROMOTABLE}-clone", role="Promoted", node=node,
                                 score="10")
        defaults = etree.SubElement(conf, "rsc_defaults")
        meta = etree.SubElement(defaults, "meta_attributes", id="cts-rsc-defaults")
        etree.SubElement(meta, "nvpair", id="cts-stickiness", name="resource-stickiness",
                         value="100")
        return C.to_bytes(conf).decode()

    def _dummy(self, rid: str, meta: dict[str, str] | None = None) -> C.Element:
        ops = [{"name": "monitor", "interval": f"{MONITOR_S}s", "timeout": f"{OP_TIMEOUT_S}s"},
               {"name": "start", "timeout": f"{OP_TIMEOUT_S}s"},
               {"name": "stop", "timeout": f"{OP_TIMEOUT_S}s"}]
        return C.primitive_element(rid, "ocf:vigil:Dummy", {"log": str(self.agent_log)},
                                   meta, ops)

    def fabric(self) -> Any:
        if not isinstance(self.cluster, NetnsCluster):
            raise RuntimeError("network faults need the namespace test bed")
        return self.cluster.fabric

    def close(self) -> None:
        for node in list(self.paused):
            self.resume(node)
        if not isinstance(self.cluster, NetnsCluster):  # in namespaces they die with them
            for d in list(self.mounts):
                subprocess.run(["umount", d], capture_output=True)
        self.mounts.clear()
        try:
            self.cluster.close()
        finally:
            if isinstance(self.cluster, NetnsCluster):
                self.cluster.fabric.down()

    # ------------------------------------------------------------------ queries
    def ctl(self, node: str, op: str, timeout_s: float = 10, **args: Any) -> Any:
        return call(self.cluster.socket(node), op, timeout_s=timeout_s, **args)

    def status(self, node: str, timeout_s: float = 2) -> dict[str, Any] | None:
        """The node's status, or None when it cannot answer (down, paused, busy)."""
        if not self.daemon_up(node) or node in self.paused:
            return None
        try:
            return dict(self.ctl(node, "status", timeout_s=timeout_s))
        except (VigilError, OSError, ValueError):
            return None

    def daemon_up(self, node: str) -> bool:
        proc = self.cluster.procs.get(node)
        return proc is not None and proc.poll() is None

    def host_up(self, node: str) -> bool:
        with self.lock:
            return node not in self.down

    # ------------------------------------------------------------------ power
    def crash(self, node: str) -> None:
        """Power loss: marked down first, so no sample sees its files after it died."""
        with self.lock:
            self.down.setdefault(node, time.time())
            self.paused.discard(node)
        self.note(node, "crash")
        self._link(node, "down")
        self.cluster.poweroff(node)

    def boot(self, node: str) -> None:
        """A new boot of a host that is down (crashed or fenced)."""
        proc = self.cluster.procs.pop(node, None)
        if proc is not None:
            for pid in node_pids(self.cluster.config_path(node)):  # a half-fenced node
                _kill(pid)
            proc.wait(10)
        run = self.state_dir(node) / "run"
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir(parents=True, exist_ok=True)
        self._link(node, "up")
        with self.lock:
            self.down.pop(node, None)
            self.daemon_dead.discard(node)
        self._start(node)
        self.note(node, "boot")

    def kill_daemon(self, node: str) -> None:
        proc = self.cluster.procs.get(node)
        with self.lock:
            self.daemon_dead.add(node)
        self.note(node, "kill_daemon")
        if proc is not None:
            _kill(proc.pid)
            proc.wait(10)

    def start_daemon(self, node: str) -> None:
        self.cluster.procs.pop(node, None)
        with self.lock:
            self.daemon_dead.discard(node)
        self._start(node)
        self.note(node, "start_daemon")

    def graceful_restart(self, node: str) -> float:
        """SIGTERM (resources move away first), then start again; returns the stop time."""
        t0 = time.monotonic()
        with self.lock:
            self.daemon_dead.add(node)  # its exit is expected
        self.note(node, "stop")
        self.cluster.stop(node, timeout_s=60)
        stopped_s = time.monotonic() - t0
        self.start_daemon(node)
        return stopped_s

    def _start(self, node: str) -> None:
        """Start vigild; one that never opens its control socket is recorded (its exit,
        if it exits, is the auditor's to report)."""
        self.cluster.socket(node).unlink(missing_ok=True)
        with self.lock:
            self.boots[node] = time.time()
        try:
            if isinstance(self.cluster, NetnsCluster):
                self.cluster.start([node], timeout_s=30)
            else:
                self.cluster.start([node])
        except TimeoutError as exc:
            self.start_failures.append((node, time.time(), str(exc).splitlines()[0]))

    def pause(self, node: str) -> None:
        pids = node_pids(self.cluster.config_path(node))
        for pid in pids:
            _kill(pid, signal.SIGSTOP)
        with self.lock:
            self.paused.add(node)
            self._paused_pids[node] = pids
        self.note(node, "pause")

    def resume(self, node: str) -> None:
        with self.lock:
            pids = self._paused_pids.pop(node, [])
            self.paused.discard(node)
        for pid in pids:
            _kill(pid, signal.SIGCONT)
        self.note(node, "resume")

    def mount_namespace(self, node: str) -> list[str]:
        """The argv prefix that runs a command in the node's mount namespace (``ip netns
        exec`` gives each daemon its own; mounts there do not reach the root's)."""
        proc = self.cluster.procs.get(node)
        if isinstance(self.cluster, NetnsCluster) and proc is not None:
            return ["nsenter", "-t", str(proc.pid), "-m"]
        return []

    def _link(self, node: str, state: str) -> None:
        if isinstance(self.cluster, NetnsCluster):
            subprocess.run(["ip", "-n", self.cluster.fabric.ns(node), "link", "set", "eth0",
                            state], capture_output=True, timeout=10)

    # ------------------------------------------------------------------ the agents' truth
    def truth(self) -> dict[str, dict[str, str]]:
        """node -> {resource: role} from the agents' state files of hosts that are up."""
        seen: dict[str, dict[str, str]] = {}
        for node in self.names:
            roles: dict[str, str] = {}
            run = self.state_dir(node) / "run"
            try:
                entries = list(os.scandir(run))
            except OSError:
                entries = []
            for entry in entries:
                name = entry.name
                if name.startswith("vigil-Dummy-") and name.endswith(".state"):
                    inst = name[len("vigil-Dummy-"):-len(".state")]
                    roles[inst.split(":")[0]] = "Started"
                elif name.startswith("Stateful-") and name.endswith(".state"):
                    try:
                        text = Path(entry.path).read_text().strip()
                    except OSError:
                        continue
                    roles[name[len("Stateful-"):-len(".state")].split(":")[0]] = (
                        text if text in ("Promoted", "Unpromoted") else f"?{text}")
            seen[node] = roles
        self.read_fence_log()  # after the state files (see the module docstring)
        with self.lock:
            down = set(self.down)
        return {n: ({} if n in down else roles) for n, roles in seen.items()}

    def read_fence_log(self) -> list[FenceRun]:
        """New lines of the fence agent's log; a successful off/reboot marks its target down
        (from the moment it began)."""
        with self.lock:
            try:
                with open(self.fence_log, "rb") as f:
                    f.seek(self._fence_pos)
                    data = f.read()
            except FileNotFoundError:
                return []
            cut = data.rfind(b"\n") + 1
            self._fence_pos += cut
            new = []
            for line in data[:cut].decode(errors="replace").splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec.get("phase") == "begin":
                    run = FenceRun(str(rec.get("target")), str(rec.get("action")),
                                   float(rec["t"]))
                    self._running_runs[int(rec["agent_pid"])] = run
                    self.fence_runs.append(run)
                    new.append(run)
                    continue
                if int(rec.get("agent_pid", -1)) not in self._running_runs:
                    continue
                run = self._running_runs.pop(int(rec["agent_pid"]))
                run.end, run.result = float(rec["t"]), str(rec.get("result"))
                run.pids = list(rec.get("pids") or [])
                if run.result == "ok" and run.target in self.names:
                    self.down.setdefault(run.target, run.begin)
                    self.paused.discard(run.target)
                    self.events.append(Event(run.end, run.target, "fenced"))
            return new


def _kill(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
