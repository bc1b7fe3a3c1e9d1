"""The executor: runs resource agents on this node (Pacemaker's execd, compacted).

Agents
------
* ``ocf:PROVIDER:TYPE`` is looked up at ``ROOT/resource.d/PROVIDER/TYPE`` in the configured
  ``agent_roots``, then ``/usr/lib/ocf``, then the agents shipped in the package
  (``vigil/agents/ocf``, provider ``vigil``). ``OCF_ROOT`` is the root it was found in, except
  for shipped agents when ``/usr/lib/ocf`` exists (shell libraries resolve there).
* ``lsb:NAME`` runs ``/etc/init.d/NAME start|stop|status`` (status 1-3 -> rc 7).
* ``systemd:UNIT`` runs ``systemctl``; when PID 1 is not systemd (no ``/run/systemd/system``)
  the result is rc 3 with op_status 3 (not supported). ``service:NAME`` is systemd when
  booted with it and the unit exists, LSB otherwise. Both live in :mod:`vigil.io.initsys`.
* Other classes (``stonith``: see :mod:`vigil.io.fencer`) are rc 3, op_status 3.

Environment of OCF agents
-------------------------
A clean environment: ``PATH`` (standard directories), ``LC_ALL=C``, ``HOME``, ``OCF_ROOT``,
``OCF_RA_VERSION_MAJOR=1``, ``OCF_RA_VERSION_MINOR=1``, ``OCF_RESOURCE_INSTANCE``,
``OCF_RESOURCE_TYPE``, ``OCF_RESOURCE_PROVIDER``, ``OCF_RESKEY_<param>``,
``OCF_RESKEY_CRM_meta_<meta>`` (dashes -> underscores), ``OCF_RESKEY_CRM_meta_on_node`` (this
node's name), ``OCF_RESKEY_CRM_meta_interval`` / ``_timeout`` (ms), and the two state
directories, created at start-up, so that several nodes on one machine keep their agents'
state apart:

* ``HA_VARRUN=<state_dir>/run/``. Checked against Debian 12's agents: ``ocf:pacemaker:Dummy``
  and ``ocf:pacemaker:Stateful`` keep ``${HA_VARRUN%%/}/<Type>-<instance>.state`` there (for a
  clone that is not globally unique the ``:N`` suffix is stripped from the file name), and
  ``ocf:vigil:*`` keep their state and pid files there.
* ``HA_RSCTMP=<state_dir>/run/resource-agents``. ``ocf:heartbeat:Dummy`` does NOT use
  HA_VARRUN: its state file is ``${HA_RSCTMP}/Dummy-<instance>.state`` (``ocf-directories``
  only defaults HA_RSCTMP to ``/run/resource-agents``, so the variable wins). IPaddr2 keeps its
  ``send_arp`` pid files there too. The ``state`` instance parameter overrides both.

Debian's ``ocf:pacemaker:Stateful`` (and agents using ``ocf_promotion_score``) call
``${HA_SBIN_DIR:-/usr/sbin}/crm_attribute --promotion`` to set promotion scores; without a
Pacemaker CIB that prints "Could not connect to the CIB" on stderr and the action still
succeeds (the exit code is ignored). vigil does not set ``HA_SBIN_DIR``.

Rules
-----
* One action at a time per resource on this node (a lock per resource); a recurring monitor
  skips its tick while another action on the resource runs.
* A ``stop`` first cancels the resource's recurring monitors (as Pacemaker's execd does), so a
  monitor never reports the "not running" that the stop itself causes.
* A recurring monitor reports to ``on_change`` only when ``(rc, op_status)`` changes from the
  previous result (the first comparison is with ``(last_rc, 0)``); cancelling is not reported.
* Timeouts kill the agent's whole process group; an action is over when the agent exits,
  not when its pipes close (see :mod:`vigil.io.proc`). Nothing an agent does raises here:
  every outcome is an :class:`AgentResult` (mapping rules in :mod:`vigil.core.execmodel`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import vigil
from vigil.core.execmodel import (
    AgentCall,
    AgentResult,
    ExecStatus,
    OcfRc,
    classify,
    exit_reason,
    failed,
    is_change,
    not_installed,
    ocf_env,
    safe_name,
)
from vigil.core.graph import Agent
from vigil.errors import AgentError
from vigil.io.initsys import (
    executable,
    find_lsb,
    find_unit,
    outcome_failure,
    run_lsb,
    run_systemd,
    systemd_booted,
)
from vigil.io.proc import ProcOutcome, run_process

log = logging.getLogger(__name__)

SYSTEM_OCF_ROOT = Path("/usr/lib/ocf")
SHIPPED_OCF_ROOT = Path(vigil.__file__).parent / "agents" / "ocf"
METADATA_TIMEOUT_MS = 10_000
OnChange = Callable[[AgentCall, AgentResult], None]


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
        self.ocf_roots = [Path(r) for r in agent_roots] + [SYSTEM_OCF_ROOT, SHIPPED_OCF_ROOT]
        self.lsb_dir = lsb_dir
        self.output_cap = output_cap
        self.kill_grace_ms = kill_grace_ms
        self._on_change = on_change
        self._locks: dict[str, asyncio.Lock] = {}
        self._recurring: dict[tuple[str, int], asyncio.Task[None]] = {}
        self._metadata: dict[str, tuple[Path | None, int, str]] = {}
        self._closed = False

    # --- lookup --------------------------------------------------------------------------

    def _ocf_candidates(self, agent: Agent) -> list[Path]:
        if not (safe_name(agent.provider) and safe_name(agent.type)):
            return []
        return [root / "resource.d" / str(agent.provider) / agent.type for root in self.ocf_roots]

    def find_agent(self, agent: Agent) -> Path | None:
        """The executable that implements ``agent`` on this node, or None."""
        if agent.cls == "ocf":
            return next((p for p in self._ocf_candidates(agent) if executable(p)), None)
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

    def _ocf_root_for(self, path: Path) -> str:
        root = path.parents[2]
        if root == SHIPPED_OCF_ROOT and SYSTEM_OCF_ROOT.is_dir():
            return str(SYSTEM_OCF_ROOT)
        return str(root)

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
            return await self._run_ocf(call)
        if cls == "lsb":
            return await run_lsb(call, self.lsb_dir, self._spawn)
        if cls == "systemd":
            return await run_systemd(call, self._spawn)
        return failed(
            OcfRc.ERR_UNIMPLEMENTED,
            ExecStatus.NOT_SUPPORTED,
            f"agent class {cls!r} of {call.agent.spec} is not run by the executor",
        )

    async def _run_ocf(self, call: AgentCall, cap: int | None = None) -> AgentResult:
        path = self.find_agent(call.agent)
        if path is None:
            if not call.agent.provider:
                return not_installed(call.agent, ["(an ocf agent needs a provider)"])
            searched = [
                f"{p} (not executable)" if p.exists() else str(p)
                for p in self._ocf_candidates(call.agent)
            ]
            return not_installed(call.agent, searched)
        env = ocf_env(
            call,
            self.node_name,
            self._ocf_root_for(path),
            f"{self.varrun}/",
            str(self.rsctmp),
            {"HOME": os.environ.get("HOME", "/")},
        )
        out = await self._spawn([str(path), call.agent_task], env, call.timeout_ms, cap)
        return self._ocf_result(call, out)

    def _ocf_result(self, call: AgentCall, out: ProcOutcome) -> AgentResult:
        if out.spawn_error is not None or out.timed_out:
            return outcome_failure(call, out)
        rc, status, reason = classify(out.code, out.signal, exit_reason(out.stderr))
        return AgentResult(rc, status, reason, out.exec_ms, out.stdout, out.stderr)

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

    # --- recurring monitors --------------------------------------------------------------

    def start_recurring(
        self, call: AgentCall, last_rc: int, *, first_delay_ms: int | None = None,
        runner: Callable[[AgentCall], Awaitable[AgentResult]] | None = None,
    ) -> None:
        """Run ``call`` every ``interval_ms`` (first after ``first_delay_ms``, default one
        interval) and report changes from ``(last_rc, done)`` on. Replaces a recurring op of
        the same resource and interval. ``runner`` runs one instance instead of the agent
        (fence devices are monitored through the fencer)."""
        if call.interval_ms <= 0:
            raise AgentError(f"{call.op_key}: a recurring operation needs interval_ms > 0")
        if self._closed:
            return
        self.cancel_recurring(call.rsc, call.interval_ms)
        delay_ms = call.interval_ms if first_delay_ms is None else first_delay_ms
        key = (call.rsc, call.interval_ms)
        task = asyncio.get_running_loop().create_task(
            self._recurring_loop(call, (last_rc, int(ExecStatus.DONE)), delay_ms,
                                 runner or self._execute),
            name=f"monitor {call.op_key}",
        )
        self._recurring[key] = task
        task.add_done_callback(lambda t: self._forget(key, t))

    def _forget(self, key: tuple[str, int], task: asyncio.Task[None]) -> None:
        if self._recurring.get(key) is task:
            del self._recurring[key]

    async def _recurring_loop(
        self, call: AgentCall, previous: tuple[int, int], delay_ms: int,
        runner: Callable[[AgentCall], Awaitable[AgentResult]],
    ) -> None:
        while True:
            await asyncio.sleep(delay_ms / 1000)
            delay_ms = call.interval_ms
            lock = self._lock(call.rsc)
            if lock.locked():
                log.debug("%s: skipped, another action on %s is running", call.op_key, call.rsc)
                continue
            async with lock:
                result = await runner(call)
            if is_change(previous, result):
                previous = (result.rc, result.op_status)
                self._report(call, result)

    def _report(self, call: AgentCall, result: AgentResult) -> None:
        try:
            self._on_change(call, result)
        except Exception:
            log.exception("%s: on_change callback failed", call.op_key)

    def cancel_recurring(self, rsc: str, interval_ms: int) -> bool:
        """Stop a recurring operation; True when there was one."""
        task = self._recurring.pop((rsc, interval_ms), None)
        if task is None:
            return False
        task.cancel()
        return True

    def cancel_all(self, rsc: str | None = None) -> int:
        """Stop the recurring operations of ``rsc`` (all resources when None); how many."""
        keys = [k for k in self._recurring if rsc is None or k[0] == rsc]
        for name, interval_ms in keys:
            self.cancel_recurring(name, interval_ms)
        return len(keys)

    def recurring(self) -> list[tuple[str, int]]:
        """The (resource, interval_ms) pairs with a recurring operation, sorted."""
        return sorted(self._recurring)

    async def close(self) -> None:
        """Cancel every recurring operation and wait until they are gone."""
        self._closed = True
        tasks = list(self._recurring.values())
        self.cancel_all()
        await asyncio.gather(*tasks, return_exceptions=True)

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
            result = await self._run_ocf(call, cap=1024 * 1024)
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
