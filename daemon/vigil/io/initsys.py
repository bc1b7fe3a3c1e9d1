"""LSB init scripts and systemd units as resource agents (the executor's second tier).

* ``lsb:NAME``: ``LSB_DIR/NAME start|stop|status``; ``status`` 0 is running, 1-3 not running
  (rc 7), anything else a generic error; start/stop codes 0-7 mean what OCF's do.
* ``systemd:UNIT`` (``.service`` added when the name has no suffix): ``systemctl start|stop``
  and ``systemctl is-active`` for monitors. When PID 1 is not systemd (no
  ``/run/systemd/system``, the ``sd_booted()`` test) every action is rc 3, op_status 3.
* Neither can describe itself: ``meta-data`` is a generic document; other actions
  (promote, validate-all, ...) are rc 3, op_status 3 (not supported).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from vigil.core.execmodel import (
    LSB_ACTIONS,
    SANE_PATH,
    AgentCall,
    AgentResult,
    ExecStatus,
    OcfRc,
    failed,
    generic_metadata,
    lsb_to_ocf,
    not_installed,
    safe_name,
    systemd_state_to_ocf,
    systemd_unit,
    timed_out,
)
from vigil.io.proc import ProcOutcome

Spawn = Callable[[list[str], dict[str, str], int], Awaitable[ProcOutcome]]
SYSTEMD_UNIT_DIRS = (
    Path("/etc/systemd/system"),
    Path("/run/systemd/system"),
    Path("/usr/lib/systemd/system"),
    Path("/lib/systemd/system"),
)
SYSTEMD_VERBS = {"start": "start", "stop": "stop", "monitor": "is-active"}


def systemd_booted() -> bool:
    return Path("/run/systemd/system").is_dir()


def find_lsb(lsb_dir: Path, name: str) -> Path | None:
    path = lsb_dir / name
    return path if safe_name(name) and executable(path) else None


def find_unit(name: str) -> Path | None:
    if not safe_name(name):
        return None
    unit = systemd_unit(name)
    return next((d / unit for d in SYSTEMD_UNIT_DIRS if (d / unit).exists()), None)


def executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def plain_env() -> dict[str, str]:
    return {"PATH": SANE_PATH, "LC_ALL": "C", "HOME": os.environ.get("HOME", "/")}


async def run_lsb(call: AgentCall, lsb_dir: Path, spawn: Spawn) -> AgentResult:
    path = find_lsb(lsb_dir, call.agent.type)
    if path is None:
        return not_installed(call.agent, [str(lsb_dir / call.agent.type)])
    if call.agent_task == "meta-data":
        return AgentResult(0, 0, "", 0, generic_metadata(call.agent, f"LSB init script {path}"))
    action = LSB_ACTIONS.get(call.agent_task)
    if action is None:
        return unsupported(call, "LSB init scripts")
    out = await spawn([str(path), action], plain_env(), call.timeout_ms)
    if out.code is None:
        return outcome_failure(call, out)
    rc = lsb_to_ocf(call.agent_task, out.code)
    reason = "" if rc in (OcfRc.OK, OcfRc.NOT_RUNNING) else f"{action} exited {out.code}"
    return AgentResult(rc, 0, reason, out.exec_ms, out.stdout, out.stderr)


async def run_systemd(call: AgentCall, spawn: Spawn) -> AgentResult:
    if not systemd_booted():
        return failed(
            OcfRc.ERR_UNIMPLEMENTED,
            ExecStatus.NOT_SUPPORTED,
            f"{call.agent.spec}: systemd is not running as PID 1 on this node",
        )
    unit = systemd_unit(call.agent.type)
    if call.agent_task == "meta-data":
        return AgentResult(0, 0, "", 0, generic_metadata(call.agent, f"systemd unit {unit}"))
    if find_unit(call.agent.type) is None:
        return not_installed(call.agent, [str(d / unit) for d in SYSTEMD_UNIT_DIRS])
    verb = SYSTEMD_VERBS.get(call.agent_task)
    if verb is None:
        return unsupported(call, "systemd units")
    out = await spawn(["systemctl", verb, unit], plain_env(), call.timeout_ms)
    if out.code is None:
        return outcome_failure(call, out)
    if verb == "is-active":
        return AgentResult(systemd_state_to_ocf(out.stdout), 0, "", out.exec_ms, out.stdout)
    if out.code == 0:
        return AgentResult(0, 0, "", out.exec_ms, out.stdout, out.stderr)
    reason = f"systemctl {verb} {unit}: {out.stderr.strip()[:200]}"
    return AgentResult(int(OcfRc.ERR_GENERIC), 0, reason, out.exec_ms, out.stdout, out.stderr)


def unsupported(call: AgentCall, what: str) -> AgentResult:
    return failed(
        OcfRc.ERR_UNIMPLEMENTED,
        ExecStatus.NOT_SUPPORTED,
        f"{what} do not support {call.agent_task!r} ({call.agent.spec})",
    )


def outcome_failure(call: AgentCall, out: ProcOutcome) -> AgentResult:
    """The result when the process gave no exit code: not spawned, timed out, or killed."""
    if out.spawn_error is not None:
        err = out.spawn_error
        why = f"cannot run {call.agent.spec}: {err}"
        if err.errno == errno.ENOENT:
            return failed(OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED, why)
        if err.errno == errno.EACCES:
            return failed(OcfRc.ERR_PERM, ExecStatus.ERROR_HARD, why)
        return failed(OcfRc.ERR_GENERIC, ExecStatus.ERROR, why)
    if out.timed_out:
        return timed_out(call.timeout_ms, out.exec_ms, out.stdout, out.stderr)
    why = f"agent killed by signal {out.signal}"
    return AgentResult(int(OcfRc.ERR_GENERIC), 4, why, out.exec_ms, out.stdout, out.stderr)
