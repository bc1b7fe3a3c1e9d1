"""The executor shell with real subprocesses: fake agents in a temporary OCF root."""

from __future__ import annotations

import asyncio
import os
import textwrap
import time
from pathlib import Path

import pytest

from vigil.core.execmodel import AgentCall, AgentResult, ExecStatus
from vigil.core.graph import Agent
from vigil.io import ocf
from vigil.io.executor import Executor

Changes = list[tuple[AgentCall, AgentResult]]


def make_root(tmp_path: Path, agents: dict[str, str]) -> Path:
    """An OCF root with provider ``test`` holding the given shell agents."""
    root = tmp_path / "ocf"
    provider = root / "resource.d" / "test"
    provider.mkdir(parents=True, exist_ok=True)
    for name, body in agents.items():
        path = provider / name
        path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
        path.chmod(0o755)
    return root


def make_executor(tmp_path: Path, agents: dict[str, str], **kw: int) -> tuple[Executor, Changes]:
    changes: Changes = []
    ex = Executor(
        "node1",
        tmp_path / "state",
        [make_root(tmp_path, agents)],
        lambda c, r: changes.append((c, r)),
        **kw,
    )
    return ex, changes


def call(
    name: str,
    task: str = "start",
    rsc: str = "r1",
    timeout_ms: int = 10000,
    interval_ms: int = 0,
    params: tuple[tuple[str, str], ...] = (),
    meta: tuple[tuple[str, str], ...] = (),
) -> AgentCall:
    return AgentCall(rsc, Agent("ocf", "test", name), task, interval_ms, timeout_ms, params, meta)


def alive(pid: int) -> bool:
    """Running and not a zombie (PID 1 here may not reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(predicate: object, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


ENV_DUMP = """
env
exit 0
"""


def test_environment_of_an_ocf_agent(tmp_path: Path) -> None:
    ex, _ = make_executor(tmp_path, {"envdump": ENV_DUMP})
    c = call(
        "envdump",
        "monitor",
        interval_ms=5000,
        timeout_ms=3000,
        params=(("ip", "10.1.2.3"),),
        meta=(("clone-node-max", "1"),),
    )
    r = asyncio.run(ex.run(c))
    assert (r.rc, r.op_status) == (0, 0)
    env = dict(line.split("=", 1) for line in r.output.splitlines() if "=" in line)
    state = tmp_path / "state"
    assert env["OCF_ROOT"] == str(tmp_path / "ocf")
    assert env["OCF_RA_VERSION_MAJOR"] == "1" and env["OCF_RA_VERSION_MINOR"] == "1"
    assert env["OCF_RESOURCE_INSTANCE"] == "r1"
    assert env["OCF_RESOURCE_TYPE"] == "envdump" and env["OCF_RESOURCE_PROVIDER"] == "test"
    assert env["OCF_RESKEY_ip"] == "10.1.2.3"
    assert env["OCF_RESKEY_CRM_meta_clone_node_max"] == "1"
    assert env["OCF_RESKEY_CRM_meta_interval"] == "5000"
    assert env["OCF_RESKEY_CRM_meta_timeout"] == "3000"
    assert env["OCF_RESKEY_CRM_meta_on_node"] == "node1"
    assert env["HA_VARRUN"] == f"{state}/run/"
    assert env["HA_RSCTMP"] == f"{state}/run/resource-agents"
    assert (state / "run" / "resource-agents").is_dir()
    assert env["LC_ALL"] == "C"
    assert env["PATH"].split(":")[:2] == ["/usr/local/sbin", "/usr/local/bin"]


def test_shipped_agents_get_the_system_ocf_root(tmp_path: Path) -> None:
    ex, _ = make_executor(tmp_path, {})
    path = ex.find_agent(Agent("ocf", "vigil", "Dummy"))
    assert path is not None and path.parts[-3:] == ("resource.d", "vigil", "Dummy")
    assert path.is_relative_to(ocf.SHIPPED_OCF_ROOT)
    expected = (
        "/usr/lib/ocf" if Path("/usr/lib/ocf").is_dir() else str(ocf.SHIPPED_OCF_ROOT)
    )
    assert ocf.ocf_root_for(path) == expected


def test_agent_roots_come_first(tmp_path: Path) -> None:
    ex, _ = make_executor(tmp_path, {})
    shadow = tmp_path / "ocf" / "resource.d" / "vigil" / "Dummy"
    shadow.parent.mkdir(parents=True)
    shadow.write_text("#!/bin/sh\necho shadow\nexit 0\n")
    shadow.chmod(0o755)
    assert ex.find_agent(Agent("ocf", "vigil", "Dummy")) == shadow


def test_missing_agent_names_agent_and_paths(tmp_path: Path) -> None:
    ex, _ = make_executor(tmp_path, {})
    (tmp_path / "ocf" / "resource.d" / "test" / "noexec").write_text("#!/bin/sh\n")
    for name in ("Nope", "noexec"):
        r = asyncio.run(ex.run(call(name)))
        assert (r.rc, r.op_status) == (5, 7)
        assert f"ocf:test:{name}" in r.exit_reason
        assert str(tmp_path / "ocf" / "resource.d" / "test" / name) in r.exit_reason
        assert "/usr/lib/ocf/resource.d/test/" + name in r.exit_reason
    assert "not executable" in r.exit_reason
    r = asyncio.run(ex.run(AgentCall("r1", Agent("ocf", "..", "x"), "start", 0, 1000, ())))
    assert (r.rc, r.op_status) == (5, 7)
    r = asyncio.run(ex.run(AgentCall("r1", Agent("ocf", None, "Dummy"), "start", 0, 1000, ())))
    assert (r.rc, r.op_status) == (5, 7) and "provider" in r.exit_reason


HANG = """
sleep 300 &
echo $! > "$HA_VARRUN/child.pid"
echo $$ > "$HA_VARRUN/agent.pid"
echo "partial output"
sleep 300
"""

HANG_IGNORING_TERM = """
trap '' TERM
sleep 300 &
echo $! > "$HA_VARRUN/child.pid"
echo $$ > "$HA_VARRUN/agent.pid"
echo "partial output"
while :; do sleep 1; done
"""


@pytest.mark.parametrize("body", [HANG, HANG_IGNORING_TERM], ids=["term", "kill"])
def test_timeout_kills_the_process_group(tmp_path: Path, body: str) -> None:
    ex, _ = make_executor(tmp_path, {"hang": body}, kill_grace_ms=300)
    started = time.monotonic()
    r = asyncio.run(ex.run(call("hang", timeout_ms=500)))
    elapsed = time.monotonic() - started
    assert (r.rc, r.op_status, r.exit_reason) == (1, 2, "timed out after 500 ms")
    assert elapsed < 3.0
    assert "partial output" in r.output
    run = tmp_path / "state" / "run"
    agent_pid = int((run / "agent.pid").read_text())
    child_pid = int((run / "child.pid").read_text())
    assert wait_for(lambda: not alive(agent_pid) and not alive(child_pid), 3.0)


def test_garbage_output_and_unknown_exit_code(tmp_path: Path) -> None:
    body = """
    head -c 5000 /dev/urandom
    printf '\\377\\376 not utf-8\\n'
    echo "ocf-exit-reason:something odd" >&2
    exit 99
    """
    ex, _ = make_executor(tmp_path, {"garbage": body})
    r = asyncio.run(ex.run(call("garbage")))
    assert (r.rc, r.op_status) == (1, ExecStatus.ERROR)
    assert "99" in r.exit_reason and "something odd" in r.exit_reason
    assert isinstance(r.output, str) and "not utf-8" in r.output


def test_known_codes_signals_and_output_cap(tmp_path: Path) -> None:
    agents = {
        "rc8": "exit 8\n",
        "rc190": "exit 190\n",
        "selfkill": "kill -KILL $$\n",
        "chatty": "yes x | head -c 1000000\nexit 0\n",
    }
    ex, _ = make_executor(tmp_path, agents, output_cap=4096)
    results = {name: asyncio.run(ex.run(call(name))) for name in agents}
    assert (results["rc8"].rc, results["rc8"].op_status) == (8, 0)
    assert (results["rc190"].rc, results["rc190"].op_status) == (190, 0)
    assert (results["selfkill"].rc, results["selfkill"].op_status) == (1, 4)
    assert "signal 9" in results["selfkill"].exit_reason
    assert results["chatty"].rc == 0 and len(results["chatty"].output) == 4096


def test_background_child_holding_stdout_does_not_delay_the_result(tmp_path: Path) -> None:
    body = """
    ( sleep 3; echo late ) &
    echo started
    echo "to stderr" >&2
    exit 0
    """
    ex, _ = make_executor(tmp_path, {"bg": body})
    started = time.monotonic()
    r = asyncio.run(ex.run(call("bg")))
    elapsed = time.monotonic() - started
    assert (r.rc, r.op_status) == (0, 0)
    assert elapsed < 1.5, f"waited {elapsed:.2f}s for the pipes"
    assert r.output == "started\n" and "to stderr" in r.stderr


def test_output_written_just_before_exit_is_kept(tmp_path: Path) -> None:
    # many runs: exit notification and pipe data race inside the event loop
    body = """
    ( sleep 2 ) &
    i=0; while [ $i -lt 200 ]; do echo "line $i"; i=$((i+1)); done
    exit 0
    """
    ex, _ = make_executor(tmp_path, {"burst": body})

    async def many() -> list[AgentResult]:
        return [await ex.run(call("burst")) for _ in range(10)]

    for r in asyncio.run(many()):
        assert r.output.count("\n") == 200 and r.output.endswith("line 199\n")


SERIAL = """
echo "begin $1 $(date +%s.%N)" >> "$HA_VARRUN/log-$OCF_RESOURCE_INSTANCE"
[ "$1" = start ] && sleep 0.6
[ "$1" != start ] && sleep 0.05
echo "end $1 $(date +%s.%N)" >> "$HA_VARRUN/log-$OCF_RESOURCE_INSTANCE"
exit 0
"""


def spans(log: Path) -> list[tuple[str, float, float]]:
    begins: dict[str, list[float]] = {}
    out = []
    for line in log.read_text().splitlines():
        kind, task, stamp = line.split()
        if kind == "begin":
            begins.setdefault(task, []).append(float(stamp))
        else:
            out.append((task, begins[task].pop(0), float(stamp)))
    return out


def test_one_action_at_a_time_per_resource(tmp_path: Path) -> None:
    ex, _ = make_executor(tmp_path, {"serial": SERIAL})

    async def both() -> float:
        t0 = time.monotonic()
        await asyncio.gather(
            ex.run(call("serial", rsc="a")),
            ex.run(call("serial", rsc="a")),
            ex.run(call("serial", rsc="b")),
        )
        return time.monotonic() - t0

    elapsed = asyncio.run(both())
    a = spans(tmp_path / "state" / "run" / "log-a")
    assert len(a) == 2 and a[0][2] <= a[1][1]  # the second began after the first ended
    assert 1.1 < elapsed < 2.5  # but b ran alongside


def test_recurring_monitor_skips_while_another_action_runs(tmp_path: Path) -> None:
    ex, changes = make_executor(tmp_path, {"serial": SERIAL})

    async def scenario() -> None:
        ex.start_recurring(call("serial", "monitor", interval_ms=100), last_rc=0)
        await asyncio.sleep(0.35)
        await ex.run(call("serial", "start"))
        await asyncio.sleep(0.35)
        await ex.close()

    asyncio.run(scenario())
    log = spans(tmp_path / "state" / "run" / "log-r1")
    (start,) = [s for s in log if s[0] == "start"]
    monitors = [s for s in log if s[0] == "monitor"]
    assert len(monitors) >= 3
    for _, begin, end in monitors:
        assert end <= start[1] or begin >= start[2], "a monitor overlapped the start"
    assert changes == []  # always rc 0: nothing to report


FLIP = """
[ -f "$HA_VARRUN/up" ] && exit 0
exit 7
"""


def test_recurring_reports_only_changes(tmp_path: Path) -> None:
    ex, changes = make_executor(tmp_path, {"flip": FLIP})
    up = tmp_path / "state" / "run" / "up"
    up.touch()

    async def scenario() -> None:
        ex.start_recurring(call("flip", "monitor", interval_ms=50), last_rc=0)
        await asyncio.sleep(0.4)
        assert changes == []
        up.unlink()
        await asyncio.sleep(0.4)
        up.touch()
        await asyncio.sleep(0.4)
        assert ex.recurring() == [("r1", 50)]
        await ex.close()
        assert ex.recurring() == []

    asyncio.run(scenario())
    assert [(r.rc, r.op_status) for _, r in changes] == [(7, 0), (0, 0)]
    assert all(c.op_key == "r1_monitor_50" for c, _ in changes)


def test_first_result_compared_with_last_rc_and_first_delay(tmp_path: Path) -> None:
    ex, changes = make_executor(tmp_path, {"flip": FLIP})

    async def scenario() -> None:
        ex.start_recurring(call("flip", "monitor", interval_ms=10_000), last_rc=0, first_delay_ms=0)
        await asyncio.sleep(0.3)
        await ex.close()

    asyncio.run(scenario())
    assert [(r.rc, r.op_status) for _, r in changes] == [(7, 0)]


def test_cancel_and_stop_end_recurring_monitors(tmp_path: Path) -> None:
    ex, changes = make_executor(tmp_path, {"flip": FLIP})

    async def scenario() -> None:
        ex.start_recurring(call("flip", "monitor", interval_ms=50), last_rc=7)
        ex.start_recurring(call("flip", "monitor", interval_ms=60), last_rc=7)
        ex.start_recurring(call("flip", "monitor", rsc="other", interval_ms=70), last_rc=7)
        assert ex.recurring() == [("other", 70), ("r1", 50), ("r1", 60)]
        assert ex.cancel_recurring("r1", 60) and not ex.cancel_recurring("r1", 60)
        r = await ex.run(call("flip", "stop"))
        assert r.rc == 7  # the fake answers 7 to everything without the "up" file
        assert ex.recurring() == [("other", 70)]
        assert ex.cancel_all() == 1 and ex.recurring() == []
        await ex.close()
        after = await ex.run(call("flip", "monitor"))
        assert after.op_status == ExecStatus.CANCELLED

    asyncio.run(scenario())
    assert changes == []


def test_cancelling_a_running_monitor_kills_its_agent(tmp_path: Path) -> None:
    ex, changes = make_executor(tmp_path, {"hang": HANG})
    pidfile = tmp_path / "state" / "run" / "agent.pid"

    async def scenario() -> None:
        ex.start_recurring(call("hang", "monitor", interval_ms=10_000), 0, first_delay_ms=0)
        for _ in range(100):
            if pidfile.exists():
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        await ex.close()

    asyncio.run(scenario())
    pid = int(pidfile.read_text())
    assert wait_for(lambda: not alive(pid), 3.0)
    assert changes == []


def test_on_change_errors_do_not_stop_the_monitor(tmp_path: Path) -> None:
    calls: list[int] = []

    def boom(c: AgentCall, r: AgentResult) -> None:
        calls.append(r.rc)
        raise RuntimeError("callback bug")

    ex = Executor("n", tmp_path / "state", [make_root(tmp_path, {"flip": FLIP})], boom)
    up = tmp_path / "state" / "run" / "up"

    async def scenario() -> None:
        ex.start_recurring(call("flip", "monitor", interval_ms=50), last_rc=0)
        await asyncio.sleep(0.3)
        up.touch()
        await asyncio.sleep(0.3)
        await ex.close()

    asyncio.run(scenario())
    assert calls == [7, 0]


def test_recurring_needs_an_interval(tmp_path: Path) -> None:
    from vigil.errors import AgentError

    ex, _ = make_executor(tmp_path, {"flip": FLIP})

    async def scenario() -> None:
        with pytest.raises(AgentError):
            ex.start_recurring(call("flip", "monitor"), 0)

    asyncio.run(scenario())


def test_metadata_and_its_cache(tmp_path: Path) -> None:
    from vigil.errors import AgentError

    body = """
    echo x >> "$HA_VARRUN/md-calls"
    [ "$1" = meta-data ] && echo '<resource-agent name="md"/>' && exit 0
    exit 3
    """
    ex, _ = make_executor(tmp_path, {"md": body, "broken": "exit 1\n"})
    md = Agent("ocf", "test", "md")
    assert asyncio.run(ex.metadata(md)).strip() == '<resource-agent name="md"/>'
    asyncio.run(ex.metadata(md))
    assert (tmp_path / "state" / "run" / "md-calls").read_text() == "x\n"
    with pytest.raises(AgentError, match="ocf:test:broken"):
        asyncio.run(ex.metadata(Agent("ocf", "test", "broken")))
    with pytest.raises(AgentError, match="not found"):
        asyncio.run(ex.metadata(Agent("ocf", "test", "absent")))


LSB = """
case "$1" in
  start) touch "$STATE"; exit 0 ;;
  stop) rm -f "$STATE"; exit 0 ;;
  status) [ -f "$STATE" ] && exit 0; exit 3 ;;
  *) exit 3 ;;
esac
"""


def test_lsb_init_script(tmp_path: Path) -> None:
    initd = tmp_path / "init.d"
    initd.mkdir()
    state = tmp_path / "lsbstate"
    script = initd / "demo"
    script.write_text("#!/bin/sh\nSTATE=" + str(state) + "\n" + textwrap.dedent(LSB))
    script.chmod(0o755)
    ex = Executor("n", tmp_path / "state", [], lambda c, r: None, lsb_dir=initd)
    agent = Agent("lsb", None, "demo")

    def run(task: str) -> AgentResult:
        return asyncio.run(ex.run(AgentCall("d", agent, task, 0, 5000, ())))

    assert run("monitor").rc == 7  # LSB status 3 -> not running
    assert run("start").rc == 0 and state.exists()
    assert run("monitor").rc == 0
    assert run("probe").rc == 0
    assert run("stop").rc == 0 and run("monitor").rc == 7
    r = run("promote")
    assert (r.rc, r.op_status) == (3, ExecStatus.NOT_SUPPORTED)
    assert "resource-agent" in run("meta-data").output
    r = asyncio.run(ex.run(AgentCall("d", Agent("lsb", None, "absent"), "start", 0, 5000, ())))
    assert (r.rc, r.op_status) == (5, 7) and str(initd / "absent") in r.exit_reason


@pytest.mark.skipif(Path("/run/systemd/system").is_dir(), reason="systemd is PID 1 here")
def test_systemd_without_systemd_is_not_supported(tmp_path: Path) -> None:
    ex = Executor("n", tmp_path / "state", [], lambda c, r: None)
    r = asyncio.run(ex.run(AgentCall("s", Agent("systemd", None, "nginx"), "start", 0, 5000, ())))
    assert (r.rc, r.op_status) == (3, ExecStatus.NOT_SUPPORTED)
    assert "systemd" in r.exit_reason and "PID 1" in r.exit_reason


def test_unknown_class_is_not_supported(tmp_path: Path) -> None:
    ex = Executor("n", tmp_path / "state", [], lambda c, r: None)
    r = asyncio.run(ex.run(AgentCall("s", Agent("stonith", None, "fence_x"), "start", 0, 50, ())))
    assert (r.rc, r.op_status) == (3, ExecStatus.NOT_SUPPORTED)


def test_state_dirs_are_per_node(tmp_path: Path) -> None:
    a = Executor("a", tmp_path / "a", [], lambda c, r: None)
    b = Executor("b", tmp_path / "b", [], lambda c, r: None)
    assert a.varrun != b.varrun and a.rsctmp.is_dir() and b.rsctmp.is_dir()
    assert os.path.commonpath([a.rsctmp, a.varrun]) == str(a.varrun)
