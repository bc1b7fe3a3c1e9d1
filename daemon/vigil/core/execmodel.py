"""Values and rules of resource agent execution (pure: no processes, no clock).

The executor shell (``vigil.io.executor``) carries out an :class:`AgentCall` and answers
with an :class:`AgentResult`; every decision about *what the outcome means* lives here so
that cores and tests can use it without running anything.

Rules
-----
* ``rc`` is always an OCF exit code (LSB and systemd results are translated):
  0 ok, 1 generic error, 2 bad args, 3 unimplemented, 4 insufficient privileges,
  5 not installed, 6 not configured, 7 not running, 8 running promoted, 9 failed promoted,
  and OCF 1.1's 190 degraded / 191 degraded promoted.
* ``op_status`` is Pacemaker's execution status (:class:`ExecStatus`): 0 means the agent
  ran and ``rc`` is its answer; anything else means the executor could not get an answer
  (cancelled, timed out, not supported, error, hard error, fatal, not installed).
* An agent exit code outside the known set (``exit 99``, a negative code, death by a
  signal) never raises: it becomes rc 1 with op_status 4 (error), and the exit reason
  names the real code so the operator sees it.
* A timeout is rc 1, op_status 2, exit reason ``timed out after N ms``.
* The exit reason is the last ``ocf-exit-reason:`` line the agent wrote on stderr, at most
  :data:`EXIT_REASON_MAX` characters.
* A recurring monitor reports a result only when ``(rc, op_status)`` differs from the
  previous one (:func:`is_change`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from vigil.core.graph import Agent

EXIT_REASON_PREFIX = "ocf-exit-reason:"
EXIT_REASON_MAX = 255
SANE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class OcfRc(IntEnum):
    """OCF exit codes. Results carry plain ints; compare them with these members."""

    OK = 0
    ERR_GENERIC = 1
    ERR_ARGS = 2
    ERR_UNIMPLEMENTED = 3
    ERR_PERM = 4
    ERR_INSTALLED = 5
    ERR_CONFIGURED = 6
    NOT_RUNNING = 7
    RUNNING_PROMOTED = 8
    FAILED_PROMOTED = 9
    DEGRADED = 190
    DEGRADED_PROMOTED = 191


KNOWN_RCS = frozenset(int(rc) for rc in OcfRc)


class ExecStatus(IntEnum):
    """Pacemaker's execution status codes (``op-status`` in the CIB)."""

    DONE = 0
    CANCELLED = 1
    TIMEOUT = 2
    NOT_SUPPORTED = 3
    ERROR = 4
    ERROR_HARD = 5
    ERROR_FATAL = 6
    NOT_INSTALLED = 7


@dataclass(frozen=True)
class AgentCall:
    """One request to run an agent action for a resource on this node."""

    rsc: str
    agent: Agent
    task: str  # start/stop/monitor/probe/promote/demote/notify/reload/migrate_*/meta-data/...
    interval_ms: int
    timeout_ms: int
    params: tuple[tuple[str, str], ...]
    meta: tuple[tuple[str, str], ...] = ()
    key: str = ""  # Pacemaker operation key; empty means op_key(rsc, task, interval_ms)

    @property
    def op_key(self) -> str:
        return self.key or op_key(self.rsc, self.task, self.interval_ms)

    @property
    def agent_task(self) -> str:
        """The action name the agent sees: a probe is a ``monitor`` with interval 0."""
        return "monitor" if self.task == "probe" else self.task


@dataclass(frozen=True)
class AgentResult:
    rc: int
    op_status: int
    exit_reason: str
    exec_ms: int
    output: str  # the agent's stdout (capped); meta-data XML for a meta-data call
    stderr: str = ""  # the agent's stderr (capped): its log lines when it has no syslog

    @property
    def ok(self) -> bool:
        return self.op_status == ExecStatus.DONE and self.rc == OcfRc.OK


def op_key(rsc: str, task: str, interval_ms: int) -> str:
    """Pacemaker's operation key: ``web_monitor_10000``; a probe is ``web_monitor_0``."""
    return f"{rsc}_{'monitor' if task == 'probe' else task}_{interval_ms}"


def failed(rc: int, op_status: int, reason: str, exec_ms: int = 0) -> AgentResult:
    """A result made by the executor itself (the agent did not answer)."""
    return AgentResult(int(rc), int(op_status), reason, exec_ms, "")


def timed_out(timeout_ms: int, exec_ms: int, output: str = "", stderr: str = "") -> AgentResult:
    return AgentResult(
        int(OcfRc.ERR_GENERIC),
        int(ExecStatus.TIMEOUT),
        f"timed out after {timeout_ms} ms",
        exec_ms,
        output,
        stderr,
    )


def not_installed(agent: Agent, searched: Iterable[str]) -> AgentResult:
    where = ", ".join(searched) or "nowhere"
    return failed(
        OcfRc.ERR_INSTALLED,
        ExecStatus.NOT_INSTALLED,
        f"agent {agent.spec} not found (searched {where})",
    )


def exit_reason(stderr: str) -> str:
    """The last ``ocf-exit-reason:`` message on stderr, stripped and capped."""
    reason = ""
    for line in stderr.splitlines():
        if line.startswith(EXIT_REASON_PREFIX):
            reason = line[len(EXIT_REASON_PREFIX) :].strip()
    return reason[:EXIT_REASON_MAX]


def classify(code: int | None, signal: int | None, reason: str) -> tuple[int, int, str]:
    """Map how an OCF agent process ended to ``(rc, op_status, exit_reason)``.

    ``code`` is the exit code (None when a signal killed it; then ``signal`` is set).
    """
    if signal is not None or code is None:
        why = f"agent killed by signal {signal}"
        return int(OcfRc.ERR_GENERIC), int(ExecStatus.ERROR), _join(reason, why)
    if code in KNOWN_RCS:
        return code, int(ExecStatus.DONE), reason
    why = f"agent exited with unknown code {code}"
    return int(OcfRc.ERR_GENERIC), int(ExecStatus.ERROR), _join(reason, why)


def _join(reason: str, why: str) -> str:
    return f"{reason} ({why})"[:EXIT_REASON_MAX] if reason else why


def is_change(previous: tuple[int, int] | None, result: AgentResult) -> bool:
    """Whether a recurring monitor result differs from the previous ``(rc, op_status)``."""
    return previous != (result.rc, result.op_status)


# --- environment --------------------------------------------------------------------------


def env_name(name: str) -> str:
    """Meta attribute names reach agents with dashes turned into underscores."""
    return name.replace("-", "_")


def ocf_env(
    call: AgentCall,
    node_name: str,
    ocf_root: str,
    varrun: str,
    rsctmp: str,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of an OCF agent for ``call`` (see the module docstring of the shell)."""
    env = dict(base or {})
    env.update(
        PATH=SANE_PATH,
        LC_ALL="C",
        OCF_ROOT=ocf_root,
        OCF_RA_VERSION_MAJOR="1",
        OCF_RA_VERSION_MINOR="1",
        OCF_RESOURCE_TYPE=call.agent.type,
        HA_VARRUN=varrun,
        HA_RSCTMP=rsctmp,
    )
    if call.agent.provider:
        env["OCF_RESOURCE_PROVIDER"] = call.agent.provider
    if call.rsc:
        env["OCF_RESOURCE_INSTANCE"] = call.rsc
    for name, value in call.params:
        env[f"OCF_RESKEY_{name}"] = value
        if name == "OCF_CHECK_LEVEL":
            env["OCF_CHECK_LEVEL"] = value
    env["OCF_RESKEY_CRM_meta_on_node"] = node_name
    for name, value in call.meta:
        env[f"OCF_RESKEY_CRM_meta_{env_name(name)}"] = value
    env["OCF_RESKEY_CRM_meta_interval"] = str(call.interval_ms)
    env["OCF_RESKEY_CRM_meta_timeout"] = str(call.timeout_ms)
    return {k: v for k, v in env.items() if "\0" not in k + v and "=" not in k}


# --- LSB and systemd ----------------------------------------------------------------------

LSB_ACTIONS = {"start": "start", "stop": "stop", "monitor": "status"}


def lsb_to_ocf(task: str, code: int) -> int:
    """LSB init script exit codes to OCF: ``status`` uses its own table (3 -> 7)."""
    if task == "monitor":
        if code == 0:
            return int(OcfRc.OK)
        if code in (1, 2, 3):  # dead with pid file, dead with lock file, not running
            return int(OcfRc.NOT_RUNNING)
        return int(OcfRc.ERR_GENERIC)  # 4 unknown, and anything else
    if 0 <= code <= 7:
        return code  # the LSB action codes 0-7 mean the same as OCF's
    return int(OcfRc.ERR_GENERIC)


def systemd_unit(name: str) -> str:
    return name if "." in name else f"{name}.service"


def systemd_state_to_ocf(state: str) -> int:
    """``systemctl is-active`` output to an OCF monitor rc."""
    state = state.strip()
    if state in ("active", "reloading", "activating"):
        return int(OcfRc.OK)
    return int(OcfRc.NOT_RUNNING)


def generic_metadata(agent: Agent, longdesc: str) -> str:
    """Meta-data for agents that cannot describe themselves (LSB scripts, systemd units)."""
    name = _xml_escape(agent.type)
    return (
        '<?xml version="1.0"?>\n'
        f'<resource-agent name="{name}" version="1.1">\n'
        "  <version>1.1</version>\n"
        f'  <longdesc lang="en">{_xml_escape(longdesc)}</longdesc>\n'
        f'  <shortdesc lang="en">{name}</shortdesc>\n'
        "  <parameters/>\n"
        "  <actions>\n"
        '    <action name="start" timeout="100s"/>\n'
        '    <action name="stop" timeout="100s"/>\n'
        '    <action name="monitor" timeout="100s" interval="60s"/>\n'
        '    <action name="meta-data" timeout="5s"/>\n'
        "  </actions>\n"
        "</resource-agent>\n"
    )


def _xml_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def safe_name(name: str | None) -> bool:
    """Agent providers, types and unit names must not walk out of their directory."""
    return (
        bool(name)
        and name not in (".", "..")
        and "/" not in (name or "")
        and "\0" not in (name or "")
    )
