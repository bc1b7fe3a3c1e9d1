"""OCF resource agents: where the executor finds them and what environment they get.

Lookup
------
``ocf:PROVIDER:TYPE`` is looked up at ``ROOT/resource.d/PROVIDER/TYPE`` in the configured
``agent_roots``, then ``/usr/lib/ocf``, then the agents shipped in the package
(``vigil/agents/ocf``, provider ``vigil``). ``OCF_ROOT`` is the root it was found in, except
for shipped agents when ``/usr/lib/ocf`` exists (shell libraries resolve there).

Environment
-----------
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
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import vigil
from vigil.core.execmodel import (
    AgentCall,
    AgentResult,
    classify,
    exit_reason,
    not_installed,
    ocf_env,
    safe_name,
)
from vigil.core.graph import Agent
from vigil.io.initsys import executable, outcome_failure
from vigil.io.proc import ProcOutcome

SYSTEM_OCF_ROOT = Path("/usr/lib/ocf")
SHIPPED_OCF_ROOT = Path(vigil.__file__).parent / "agents" / "ocf"
# argv, environment, timeout_ms, output cap (None: the executor's)
Spawn = Callable[[list[str], dict[str, str], int, int | None], Awaitable[ProcOutcome]]


def ocf_root_for(path: Path) -> str:
    """The ``OCF_ROOT`` of the agent at ``path`` (``ROOT/resource.d/PROVIDER/TYPE``)."""
    root = path.parents[2]
    if root == SHIPPED_OCF_ROOT and SYSTEM_OCF_ROOT.is_dir():
        return str(SYSTEM_OCF_ROOT)
    return str(root)


@dataclass(frozen=True)
class OcfAgents:
    """The OCF agents of one node: its roots, in lookup order, and its state directories."""

    node_name: str
    roots: tuple[Path, ...]
    varrun: Path
    rsctmp: Path

    def candidates(self, agent: Agent) -> list[Path]:
        if not (safe_name(agent.provider) and safe_name(agent.type)):
            return []
        return [root / "resource.d" / str(agent.provider) / agent.type for root in self.roots]

    def find(self, agent: Agent) -> Path | None:
        return next((p for p in self.candidates(agent) if executable(p)), None)

    async def run(self, call: AgentCall, spawn: Spawn, cap: int | None = None) -> AgentResult:
        path = self.find(call.agent)
        if path is None:
            if not call.agent.provider:
                return not_installed(call.agent, ["(an ocf agent needs a provider)"])
            searched = [
                f"{p} (not executable)" if p.exists() else str(p)
                for p in self.candidates(call.agent)
            ]
            return not_installed(call.agent, searched)
        env = ocf_env(
            call,
            self.node_name,
            ocf_root_for(path),
            f"{self.varrun}/",
            str(self.rsctmp),
            {"HOME": os.environ.get("HOME", "/")},
        )
        out = await spawn([str(path), call.agent_task], env, call.timeout_ms, cap)
        return _result(call, out)


def _result(call: AgentCall, out: ProcOutcome) -> AgentResult:
    if out.spawn_error is not None or out.timed_out:
        return outcome_failure(call, out)
    rc, status, reason = classify(out.code, out.signal, exit_reason(out.stderr))
    return AgentResult(rc, status, reason, out.exec_ms, out.stdout, out.stderr)
