"""The vigild process: wires the controller to the shells and runs the event loop.

The loop ticks every ``heartbeat_interval_ms / 4`` (at most 50 ms), feeding
``Tick(now_ms, wall_s)`` to the controller; every packet, client request and agent result
is fed the moment it arrives. Commands come back and are carried out here, in order.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config
from ..core.controller import Controller
from ..core.events import (
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
    Heartbeat,
    Log,
    PeerMessage,
    Persist,
    Reconfigure,
    Reply,
    Saved,
    Send,
    ShutdownRequested,
    Tick,
)
from ..core.fencing.devices import fence_command
from ..core.statusview import status_view
from ..errors import VigilError, error_reply
from .actions import Actions
from .control import ControlServer
from .discovery import Advertiser
from .executor import Executor
from .fenceagent import AGENT_DIRS
from .fencer import Fencer
from .localops import LocalOps
from .metrics_http import MetricsServer
from .metrics_text import render
from .nodeconfig import read_keys, reread, spec_from_config
from .sdnotify import notify_systemd
from .storage import Storage
from .transport import Transport

log = logging.getLogger("vigil.node")
SHIPPED_FENCE_AGENTS = Path(__file__).resolve().parents[1] / "agents" / "fence"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


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
                                 lambda call, result: self.actions.monitor_changed(call, result))
        self.fencer = Fencer(cfg.me.name, agent_dirs=(*AGENT_DIRS, SHIPPED_FENCE_AGENTS))
        self.actions = Actions(cfg.node_name, self.executor, self.fencer, self.feed)
        self.local = LocalOps(
            cfg.node_name, self.executor, self.fencer, lambda: self.ctrl.spec.names.values(),
            lambda target: fence_command(self.ctrl.cib, "", target, "reboot", 0.0))
        self.control = ControlServer(cfg.control_socket, self._on_request)
        self.metrics = (MetricsServer(cfg.metrics_listen, self._metrics_text)
                        if cfg.metrics_listen else None)
        self.advertiser = Advertiser(cfg) if cfg.discovery else None
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.rid = 0
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
        notify_systemd("READY=1")
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

    def reload(self) -> dict[str, Any]:
        """Re-read the configuration file and apply what :mod:`.nodeconfig` allows."""
        source = self.cfg.source
        if source is None:
            return error_reply(VigilError("this node was not started from a file"))
        try:
            new = reread(self.cfg, self.keys)
        except VigilError as exc:
            log.error("reload of %s refused, nothing changed: %s", source, exc)
            return error_reply(exc)
        self.keys[:] = new.keys  # the transport holds this list: the new keys apply at once
        self.cfg = self.transport.cfg = new.cfg
        logging.getLogger().setLevel(LEVELS.get(new.cfg.log_level, logging.INFO))
        if new.nodes_changed or new.cfg.expected_votes != self.ctrl.spec.expected_votes:
            self.feed(Reconfigure({n.id: n.name for n in new.cfg.nodes},
                                  {n.id: n.votes for n in new.cfg.nodes},
                                  new.cfg.expected_votes))
        return new.report(source)

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

    async def _on_request(self, req: dict[str, Any]) -> dict[str, Any]:
        local = await self.local.answer(req)
        if local is not None:
            return local
        if req.get("op") == "reload":
            return self.reload()
        if req.get("op") == "metrics":
            return {"ok": True, "result": {"text": self._metrics_text()}}
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
            self._spawn(self.actions.execute(cmd.token, cmd.action))
        elif isinstance(cmd, Fence):
            self._spawn(self.actions.fence(cmd))
        elif isinstance(cmd, CancelRecurring):
            self.actions.cancel(cmd)
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
