"""The vigild process: wires the controller to the shells and runs the event loop.

The loop ticks every ``heartbeat_interval_ms / 4`` (at most 50 ms), feeding
``Tick(now_ms, wall_s)`` to the controller; every packet, client request and agent result
is fed the moment it arrives. Commands come back and are carried out here, in order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config, check_authkeys, load_config
from ..core import cib as C
from ..core.controller import ClusterSpec, Controller
from ..core.events import (
    AgentDone,
    Archive,
    Broadcast,
    CancelRecurring,
    ClientRequest,
    Command,
    Disconnect,
    Event,
    Execute,
    Exit,
    Fence,
    FenceDone,
    Heartbeat,
    Log,
    MonitorChanged,
    PeerMessage,
    Persist,
    Reconfigure,
    Reply,
    Saved,
    Send,
    ShutdownRequested,
    Tick,
)
from ..core.execmodel import AgentCall, AgentResult
from ..core.fencing import FenceRequest, devices_from_xml
from ..core.fencing.devices import fence_command
from ..core.graph import Action, Agent
from ..core.statusview import status_view
from ..errors import AgentError, CibInvalid, CibNotFound, VigilError, error_reply
from .control import ControlServer
from .discovery import Advertiser
from .executor import Executor
from .fencer import AGENT_DIRS, Fencer
from .metrics import MetricsServer, render
from .storage import Storage
from .transport import Transport

log = logging.getLogger("vigil.node")
SHIPPED_FENCE_AGENTS = Path(__file__).resolve().parents[1] / "agents" / "fence"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


def read_authkey(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise VigilError(f"authkey {path}: {exc.strerror} (create it with vigilctl keygen)"
                         ) from exc
    if len(key) != 32:
        raise VigilError(f"authkey {path}: must hold exactly 32 bytes, it holds {len(key)}")
    return key


def read_keys(cfg: Config) -> list[bytes]:
    """The key packets are sealed with, then the other keys accepted on receive."""
    check_authkeys(cfg)  # a key that group or others may read is refused (also on reload)
    return [read_authkey(cfg.authkey), *(read_authkey(p) for p in cfg.authkey_accept)]


def spec_from_config(cfg: Config) -> ClusterSpec:
    return ClusterSpec(
        cluster_name=cfg.cluster_name, me=cfg.me.id,
        names={n.id: n.name for n in cfg.nodes}, votes={n.id: n.votes for n in cfg.nodes},
        heartbeat_interval_ms=cfg.heartbeat_interval_ms, deadtime_ms=cfg.deadtime_ms,
        join_timeout_ms=cfg.join_timeout_ms, expected_votes=cfg.expected_votes,
        two_node=cfg.two_node, wait_for_all=cfg.wait_for_all,
        last_man_standing=cfg.last_man_standing, lms_window_ms=cfg.last_man_standing_window_ms,
    )


def to_call(action: Action) -> AgentCall:
    assert action.agent is not None and action.rsc is not None
    return AgentCall(rsc=action.rsc, agent=action.agent, task=action.task,
                     interval_ms=action.interval_ms, timeout_ms=action.timeout_ms,
                     params=action.params, meta=action.meta, key=action.key)


class Node:
    def __init__(self, cfg: Config, on_ready: Callable[[], None] | None = None) -> None:
        self.cfg = cfg
        self.on_ready = on_ready
        self.storage = Storage(cfg.state_dir)
        self.keys = read_keys(cfg)
        self.incarnation = time.time_ns() // 1000
        self.ctrl = Controller(spec_from_config(cfg), self.incarnation, self.storage.load(),
                               self._now_ms(), counters=self._counters,
                               term=self.storage.term)
        self.transport = Transport(cfg, self.keys, self.incarnation, self._on_heartbeat,
                                   self._on_message)
        self.executor = Executor(cfg.me.name, cfg.state_dir, list(cfg.agent_roots),
                                 self._on_monitor_change)
        self.fencer = Fencer(cfg.me.name, agent_dirs=(*AGENT_DIRS, SHIPPED_FENCE_AGENTS))
        self.stonith_started: set[str] = set()
        self.control = ControlServer(cfg.control_socket, self._on_request)
        self.metrics = (MetricsServer(cfg.metrics_listen, self._metrics_text)
                        if cfg.metrics_listen else None)
        self.advertiser = Advertiser(cfg) if cfg.discovery else None
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.rid = 0
        self.recurring: dict[tuple[str, int], Action] = {}
        self.stopped = asyncio.Event()
        self.tasks: set[asyncio.Task[Any]] = set()

    @staticmethod
    def _now_ms() -> int:
        return time.monotonic_ns() // 1_000_000

    def _counters(self) -> dict[str, int]:
        return {**self.transport.counters, **self.control.counters}

    def _metrics_text(self) -> str:
        return render(status_view(self.ctrl))  # what the `status` op answers, as metrics

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        await self.transport.start()
        await self.control.start()
        if self.metrics:
            await self.metrics.start()
        if self.advertiser:
            await self.advertiser.start()
        log.info("node %s (id %d) of cluster %s up; control socket %s", self.cfg.node_name,
                 self.cfg.me.id, self.cfg.cluster_name, self.cfg.control_socket)
        _notify_systemd("READY=1")
        if self.on_ready:
            self.on_ready()
        tick_s = min(self.cfg.heartbeat_interval_ms / 4, 50) / 1000
        try:
            while not self.stopped.is_set():
                self.feed(Tick(self._now_ms(), time.time()))
                try:
                    await asyncio.wait_for(self.stopped.wait(), tick_s)
                except TimeoutError:
                    pass
        finally:
            await asyncio.sleep(0.2)  # let the last messages (leave, CIB) go out
            await self.control.close()
            if self.metrics:
                await self.metrics.close()
            if self.advertiser:
                await self.advertiser.close()
            await self.executor.close()
            await self.fencer.close()
            await self.transport.close()
            log.info("node %s stopped", self.cfg.node_name)

    # what a reload applies at once; every other setting needs a restart
    RELOADABLE = ("nodes", "authkey", "authkey_accept", "expected_votes", "log_level")

    def reload(self) -> dict[str, Any]:
        """Re-read the configuration file (SIGHUP, or the ``reload`` control op).

        Applied at once: the node list (nodes added or removed; this node's own entry must
        stay), the authkeys (rotation: send with ``authkey``, also accept ``authkey_accept``),
        ``expected_votes`` and ``log_level``. Other changes are reported as needing a
        restart. A file that does not validate changes nothing.
        """
        source = self.cfg.source
        if source is None:
            return error_reply(VigilError("this node was not started from a file"))
        try:
            new = load_config(source)
            if new.node_name != self.cfg.node_name or new.me != self.cfg.me:
                raise VigilError("this node's own name, id or address changed: restart instead")
            keys = read_keys(new)
        except VigilError as exc:
            log.error("reload of %s refused, nothing changed: %s", source, exc)
            return error_reply(exc)
        restart = sorted(f.name for f in dataclasses.fields(Config)
                         if f.name not in (*self.RELOADABLE, "source")
                         and getattr(new, f.name) != getattr(self.cfg, f.name))
        keys_changed = keys != self.keys
        self.keys[:] = keys  # the transport holds this list: the new keys apply at once
        applied = dataclasses.replace(
            self.cfg, nodes=new.nodes, authkey=new.authkey, authkey_accept=new.authkey_accept,
            expected_votes=new.expected_votes, log_level=new.log_level)
        nodes_changed = applied.nodes != self.cfg.nodes
        self.cfg = self.transport.cfg = applied
        logging.getLogger().setLevel(LEVELS.get(new.log_level, logging.INFO))
        if nodes_changed or new.expected_votes != self.ctrl.spec.expected_votes:
            self.feed(Reconfigure({n.id: n.name for n in new.nodes},
                                  {n.id: n.votes for n in new.nodes}, new.expected_votes))
        if restart:
            log.warning("reload: %s changed but only apply after a restart", ", ".join(restart))
        log.info("configuration reloaded from %s (keys %s, nodes %s)", source,
                 "changed" if keys_changed else "unchanged",
                 "changed" if nodes_changed else "unchanged")
        return {"ok": True, "result": {"keys_changed": keys_changed, "nodes_changed": nodes_changed,
                                       "needs_restart": restart}}

    def _on_signal(self, sig: int) -> None:
        if self.ctrl.member.shutdown_since is not None:
            log.warning("second %s: leaving now", signal.Signals(sig).name)
            self.stopped.set()
            return
        self.feed(ShutdownRequested(f"signal {signal.Signals(sig).name}"))

    # ------------------------------------------------------------------ events in
    def feed(self, event: Event) -> None:
        for cmd in self.ctrl.handle(event):
            self._do(cmd)

    def _on_heartbeat(self, sender: int, incarnation: int, msg: dict[str, Any]) -> None:
        self.feed(Heartbeat(sender, incarnation, msg, self._now_ms()))

    def _on_message(self, sender: int, incarnation: int, msg: dict[str, Any]) -> None:
        self.feed(PeerMessage(sender, msg, incarnation))

    def _on_monitor_change(self, call: AgentCall, result: AgentResult) -> None:
        action = self.recurring.get((call.rsc, call.interval_ms))
        if action is not None:
            self.feed(MonitorChanged(action, result))

    async def _on_request(self, req: dict[str, Any]) -> dict[str, Any]:
        try:
            self._check_agents(req)
        except VigilError as exc:
            return error_reply(exc)
        if req.get("op") == "reload":
            return self.reload()
        if req.get("op") == "agent_check":
            return {"ok": True, "result": self._agent_check(str(req.get("agent", "")))}
        if req.get("op") == "metrics":
            return {"ok": True, "result": {"text": self._metrics_text()}}
        if req.get("op") == "fence_check":
            return await self._fence_check(req.get("target"))
        self.rid += 1
        rid = self.rid
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        self.feed(ClientRequest(rid, req))
        try:
            return await asyncio.wait_for(fut, 300 if req.get("op") == "fence" else 30)
        except TimeoutError:
            return error_reply(VigilError(f"no answer to {req.get('op')} in time"))
        finally:
            self.pending.pop(rid, None)

    # ------------------------------------------------------------------ agent checks
    def _agent_path(self, agent: Agent) -> str | None:
        path = (self.fencer.find_agent(agent.type) if agent.cls == "stonith"
                else self.executor.find_agent(agent))
        return str(path) if path else None

    def _agent_check(self, spec: str) -> dict[str, Any]:
        parts = spec.split(":")
        agent = Agent(parts[0], parts[1] if len(parts) == 3 else None, parts[-1])
        path = self._agent_path(agent)
        return {"exists": path is not None, "path": path}

    async def _fence_check(self, target: Any) -> dict[str, Any]:
        """Which fence devices (levels) this node's fencer would use on ``target``."""
        names = sorted(self.ctrl.spec.names.values())
        if not isinstance(target, str) or not target:
            return error_reply(CibInvalid("argument 'target' must be a non-empty string"))
        if target not in names:
            return error_reply(CibNotFound(f"no node named {target!r} (nodes: "
                                           f"{', '.join(names)})"))
        cmd = fence_command(self.ctrl.cib, "", target, "reboot", 0.0)
        levels, reasons = await self.fencer.levels_for(target, cmd.devices, cmd.levels)
        return {"ok": True, "result": {
            "target": target, "can_fence": bool(levels), "levels": [list(lv) for lv in levels],
            "devices": sorted(cmd.devices), "reasons": list(reasons)}}

    def _check_agents(self, req: dict[str, Any]) -> None:
        """Refuse a write that names a resource agent this node does not have."""
        op = req.get("op")
        elements: list[C.Element] = []
        if op == "resource_create":
            elements = [C.primitive_element(str(req.get("id") or "x"), str(req.get("agent")))]
        elif op in ("cib_put", "cib_replace") and isinstance(req.get("xml"), str):
            try:
                root = C.parse(req["xml"], "the request's XML")
            except CibInvalid:
                return  # the DC reports the syntax error with the same words
            elements = list(root.iter("primitive"))
        for el in elements:
            agent = Agent(el.get("class", ""), el.get("provider"), el.get("type", ""))
            if self._agent_path(agent) is None:
                raise AgentError(f"{C.describe(el)}: resource agent {agent.spec} is not "
                                 f"installed on {self.cfg.node_name}")

    # ------------------------------------------------------------------ commands out
    def _do(self, cmd: Command) -> None:
        if isinstance(cmd, Broadcast):
            self.transport.broadcast(cmd.msg)
        elif isinstance(cmd, Send):
            self.transport.send(cmd.node_id, cmd.msg)
        elif isinstance(cmd, Disconnect):
            self.transport.forget(cmd.node_id)
        elif isinstance(cmd, Reply):
            fut = self.pending.get(cmd.rid)
            if fut is not None and not fut.done():
                fut.set_result(cmd.reply)
        elif isinstance(cmd, Execute):
            self._spawn(self._execute(cmd.token, cmd.action))
        elif isinstance(cmd, Fence):
            self._spawn(self._fence(cmd))
        elif isinstance(cmd, CancelRecurring):
            self._cancel(cmd)
        elif isinstance(cmd, Persist):
            self.feed(Saved(cmd.version, self._save(cmd)))
        elif isinstance(cmd, Archive):
            try:
                self.storage.archive(cmd.xml)
            except OSError as exc:
                log.error("cannot archive the scheduler input: %s", exc)
        elif isinstance(cmd, Log):
            log.log(LEVELS.get(cmd.level, logging.INFO), "%s", cmd.text)
        elif isinstance(cmd, Exit):
            log.info("exiting: %s", cmd.reason)
            self.stopped.set()

    def _save(self, cmd: Persist) -> str | None:
        """Save the CIB; what went wrong (a full or read-only disk...) or None."""
        try:
            self.storage.save(cmd.xml, cmd.version, cmd.term)
        except OSError as exc:
            return f"{exc.strerror or exc} ({exc.filename or self.cfg.state_dir})"
        return None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _fence(self, cmd: Fence) -> None:
        req = FenceRequest(cmd.target, cmd.action, self.cfg.node_name, cmd.requested)
        if not cmd.devices:
            ok, device, reason = False, "", "no fence device is configured"
        else:
            result = await self.fencer.fence(req, cmd.devices, cmd.levels)
            ok, device, reason = result.ok, result.device, result.reason
        self.feed(FenceDone(cmd.token, cmd.target, cmd.action, ok, device, reason,
                            cmd.requested, round(time.time(), 3)))

    async def _stonith_resource(self, action: Action) -> AgentResult:
        """A fence device as a resource: start/stop register it here, monitor asks the agent."""
        rsc = action.rsc or ""
        agent = action.agent.type if action.agent else ""
        if self.fencer.find_agent(agent) is None:
            return AgentResult(5, 7, f"fence agent {agent} is not installed", 0, "")
        if action.task == "start":
            self.stonith_started.add(rsc)
            return AgentResult(0, 0, "", 0, "")
        if action.task == "stop":
            self.stonith_started.discard(rsc)
            return AgentResult(0, 0, "", 0, "")
        if action.task != "monitor":
            return AgentResult(3, 3, f"{action.task} is not supported for fence devices", 0, "")
        if rsc not in self.stonith_started:
            return AgentResult(7, 0, "", 0, "")
        devices = devices_from_xml(self.ctrl.cib.find("configuration/resources"))
        device = devices.get(rsc)
        if device is None:
            return AgentResult(7, 0, "", 0, "")
        attempt = await self.fencer.run_action(device, "monitor", None, action.timeout_ms)
        return AgentResult(0 if attempt.ok else 1, 0, "" if attempt.ok else attempt.reason,
                           attempt.exec_ms, "")

    async def _execute(self, token: str, action: Action) -> None:
        call = to_call(action)
        if action.agent is not None and action.agent.cls == "stonith":
            result = await self._stonith_resource(action)
            if action.is_recurring and result.op_status == 0:
                self.recurring[(call.rsc, call.interval_ms)] = action
                self.executor.start_recurring(
                    call, result.rc, runner=lambda _call: self._stonith_resource(action))
            self.feed(AgentDone(token, action, result))
            return
        result = await self.executor.run(call)
        if action.is_recurring and result.op_status == 0:
            self.recurring[(call.rsc, call.interval_ms)] = action
            self.executor.start_recurring(call, result.rc)
        self.feed(AgentDone(token, action, result))

    def _cancel(self, cmd: CancelRecurring) -> None:
        if cmd.rsc is None:
            self.executor.cancel_all()
            self.recurring.clear()
        elif cmd.interval_ms is None:
            self.executor.cancel_all(cmd.rsc)
            for key in [k for k in self.recurring if k[0] == cmd.rsc]:
                del self.recurring[key]
        else:
            self.executor.cancel_recurring(cmd.rsc, cmd.interval_ms)
            self.recurring.pop((cmd.rsc, cmd.interval_ms), None)


def _notify_systemd(state: str) -> None:
    target = os.environ.get("NOTIFY_SOCKET")
    if not target:
        return
    if target.startswith("@"):
        target = "\0" + target[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(target)
            sock.sendall(state.encode())
        except OSError as exc:
            log.warning("could not notify systemd: %s", exc)


