"""The executor: runs resource agents on this node (Pacemaker's execd, compacted).

Agents
------
* ``ocf:PROVIDER:TYPE``: found and run as :mod:`vigil.io.ocf` says (lookup order, the
  ``OCF_ROOT``, the environment and the per-node state directories).
* ``lsb:NAME`` runs ``/etc/init.d/NAME start|stop|status`` (status 1-3 -> rc 7).
* ``systemd:UNIT`` runs ``systemctl``; when PID 1 is not systemd (no ``/run/systemd/system``)
  the result is rc 3 with op_status 3 (not supported). ``service:NAME`` is systemd when
  booted with it and the unit exists, LSB otherwise. Both live in :mod:`vigil.io.initsys`.
* Other classes (``stonith``: see :mod:`vigil.io.fencer`) are rc 3, op_status 3.

Rules
-----
* One action at a time per resource on this node (a lock per resource); a recurring monitor
  skips its tick while another action on the resource runs.
* A ``stop`` first cancels the resource's recurring monitors (as Pacemaker's execd does), so a
  monitor never reports the "not running" that the stop itself causes.
* A recurring monitor reports to ``on_change`` only when ``(rc, op_status)`` changes from the
  previous result (the first comparison is with ``(last_rc, 0)``); cancelling is not reported
  (the loops live in :mod:`vigil.io.monitors`).
* Timeouts kill the agent's whole process group; an action is over when the agent exits,
  not when its pipes close (see :mod:`vigil.io.proc`). Nothing an agent does raises here:
  every outcome is an :class:`AgentResult` (mapping rules in :mod:`vigil.core.execmodel`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from vigil.core.execmodel import AgentCall, AgentResult, ExecStatus, OcfRc, failed
from vigil.core.graph import Agent
from vigil.errors import AgentError
from vigil.io.initsys import find_lsb, find_unit, run_lsb, run_systemd, systemd_booted
from vigil.io.monitors import Monitors, OnChange, Runner
from vigil.io.ocf import SHIPPED_OCF_ROOT, SYSTEM_OCF_ROOT, OcfAgents
from vigil.io.proc import ProcOutcome, run_process

log = logging.getLogger(__name__)

METADATA_TIMEOUT_MS = 10_000


class Executor:
    def __init__(
        self,
        node_name: str,
        state_dir: Path,
        agent_roots: list[Path],
        on_change: OnChange,
        *,
        lsb_dir: Path = Path("/etc/init.d"),
        output_cap: int = 64 * 1024,
        kill_grace_ms: int = 1000,
    ) -> None:
        self.node_name = node_name
        self.varrun = Path(state_dir) / "run"
        self.rsctmp = self.varrun / "resource-agents"
        self.rsctmp.mkdir(parents=True, exist_ok=True)
        self.ocf = OcfAgents(
            node_name,
            (*(Path(r) for r in agent_roots), SYSTEM_OCF_ROOT, SHIPPED_OCF_ROOT),
            self.varrun,
            self.rsctmp,
        )
        self.lsb_dir = lsb_dir
        self.output_cap = output_cap
        self.kill_grace_ms = kill_grace_ms
        self._locks: dict[str, asyncio.Lock] = {}
        self._monitors = Monitors(self._lock, on_change)
        self._metadata: dict[str, tuple[Path | None, int, str]] = {}
        self._closed = False

    # --- lookup --------------------------------------------------------------------------

    def find_agent(self, agent: Agent) -> Path | None:
        """The executable that implements ``agent`` on this node, or None."""
        if agent.cls == "ocf":
            return self.ocf.find(agent)
        if agent.cls == "lsb":
            return find_lsb(self.lsb_dir, agent.type)
        if agent.cls == "systemd":
            return find_unit(agent.type)
        if agent.cls == "service":
            return self.find_agent(Agent(self._service_class(agent), None, agent.type))
        return None

    def _service_class(self, agent: Agent) -> str:
        if systemd_booted() and find_unit(agent.type):
            return "systemd"
        return "lsb"

    # --- one-shot actions ----------------------------------------------------------------

    async def run(self, call: AgentCall) -> AgentResult:
        """Run one action and return its result; never raises for agent misbehaviour."""
        if self._closed:
            return failed(OcfRc.ERR_GENERIC, ExecStatus.CANCELLED, "executor is closed")
        if call.agent_task == "stop":
            self.cancel_all(call.rsc)
        async with self._lock(call.rsc):
            return await self._execute(call)

    def _lock(self, rsc: str) -> asyncio.Lock:
        return self._locks.setdefault(rsc, asyncio.Lock())

    async def _execute(self, call: AgentCall) -> AgentResult:
        try:
            result = await self._dispatch(call)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or an OS surprise: report it, keep the daemon up
            log.exception("%s on %s: executor error", call.op_key, self.node_name)
            result = failed(OcfRc.ERR_GENERIC, ExecStatus.ERROR, f"executor error: {exc}")
        log.log(
            logging.DEBUG if result.ok else logging.INFO,
            "%s (%s) on %s: rc=%d status=%d %s(%d ms)",
            call.op_key,
            call.agent.spec,
            self.node_name,
            result.rc,
            result.op_status,
            f"reason={result.exit_reason!r} " if result.exit_reason else "",
            result.exec_ms,
        )
        return result

    async def _dispatch(self, call: AgentCall) -> AgentResult:
        cls = call.agent.cls
        if cls == "service":
            cls = self._service_class(call.agent)
        if cls == "ocf":
            return await self.ocf.run(call, self._spawn)
        if cls == "lsb":
            return await run_lsb(call, self.lsb_dir, self._spawn)
        if cls == "systemd":
            return await run_systemd(call, self._spawn)
        return failed(
            OcfRc.ERR_UNIMPLEMENTED,
            ExecStatus.NOT_SUPPORTED,
            f"agent class {cls!r} of {call.agent.spec} is not run by the executor",
        )

    async def _spawn(
        self, argv: list[str], env: dict[str, str], timeout_ms: int, cap: int | None = None
    ) -> ProcOutcome:
        return await run_process(
            argv,
            env=env,
            timeout_ms=timeout_ms,
            output_cap=cap or self.output_cap,
            kill_grace_ms=self.kill_grace_ms,
        )

    # --- recurring monitors (:mod:`vigil.io.monitors`) -----------------------------------

    def start_recurring(
        self, call: AgentCall, last_rc: int, *, first_delay_ms: int | None = None,
        runner: Runner | None = None,
    ) -> None:
        """Run ``call`` every ``interval_ms`` (first after ``first_delay_ms``, default one
        interval) and report changes from ``(last_rc, done)`` on. Replaces a recurring op of
        the same resource and interval. ``runner`` runs one instance instead of the agent
        (fence devices are monitored through the fencer)."""
        if call.interval_ms <= 0:
            raise AgentError(f"{call.op_key}: a recurring operation needs interval_ms > 0")
        if self._closed:
            return
        self._monitors.start(call, last_rc, first_delay_ms, runner or self._execute)

    def cancel_recurring(self, rsc: str, interval_ms: int) -> bool:
        """Stop a recurring operation; True when there was one."""
        return self._monitors.cancel(rsc, interval_ms)

    def cancel_all(self, rsc: str | None = None) -> int:
        """Stop the recurring operations of ``rsc`` (all resources when None); how many."""
        return self._monitors.cancel_all(rsc)

    def recurring(self) -> list[tuple[str, int]]:
        """The (resource, interval_ms) pairs with a recurring operation, sorted."""
        return self._monitors.keys()

    async def close(self) -> None:
        """Cancel every recurring operation and wait until they are gone."""
        self._closed = True
        await self._monitors.close()

    # --- meta-data -----------------------------------------------------------------------

    async def metadata(self, agent: Agent) -> str:
        """The agent's meta-data XML (cached until the agent file changes).

        Raises AgentError when the agent is missing or does not answer with rc 0."""
        path = self.find_agent(agent)
        mtime = _mtime_ns(path)
        cached = self._metadata.get(agent.spec)
        if cached and cached[0] == path and cached[1] == mtime:
            return cached[2]
        call = AgentCall("", agent, "meta-data", 0, METADATA_TIMEOUT_MS, ())
        if agent.cls == "ocf":
            result = await self.ocf.run(call, self._spawn, cap=1024 * 1024)
        else:
            result = await self._execute(call)
        if not result.ok or not result.output.strip():
            why = result.exit_reason or f"rc {result.rc}, op_status {result.op_status}"
            raise AgentError(f"no meta-data from {agent.spec}: {why}")
        self._metadata[agent.spec] = (path, mtime, result.output)
        return result.output


def _mtime_ns(path: Path | None) -> int:
    if path is None:
        return 0
    with contextlib.suppress(OSError):
        return path.stat().st_mtime_ns
    return 0
