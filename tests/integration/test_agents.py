"""Real agents through the executor: vigil's shipped agents and Debian's.

Debian's agents (resource-agents, pacemaker) are skipped with a reason when absent, except
under CI=true, where their absence fails the test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.core.execmodel import AgentCall, AgentResult
from vigil.core.graph import Agent
from vigil.io.executor import Executor

HEARTBEAT = Path("/usr/lib/ocf/resource.d/heartbeat")
PACEMAKER = Path("/usr/lib/ocf/resource.d/pacemaker")
HTTP = Agent("ocf", "vigil", "http")


def need(directory: Path, package: str) -> None:
    if directory.is_dir():
        return
    message = f"{directory} absent: install Debian's {package} package to run this test"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: not skipping)")
    pytest.skip(message)


def executor(tmp_path: Path, name: str = "node1") -> tuple[Executor, list[AgentResult]]:
    changes: list[AgentResult] = []
    ex = Executor(name, tmp_path / name, [], lambda c, r: changes.append(r))
    return ex, changes


def run(
    ex: Executor,
    agent: Agent,
    task: str,
    rsc: str = "r1",
    params: tuple[tuple[str, str], ...] = (),
    timeout_ms: int = 20000,
    meta: tuple[tuple[str, str], ...] = (),
) -> AgentResult:
    return asyncio.run(ex.run(AgentCall(rsc, agent, task, 0, timeout_ms, params, meta)))


def rcs(
    ex: Executor,
    agent: Agent,
    tasks: list[str],
    rsc: str = "r1",
    params: tuple[tuple[str, str], ...] = (),
) -> list[int]:
    results = [run(ex, agent, t, rsc, params) for t in tasks]
    for t, r in zip(tasks, results, strict=True):
        assert r.op_status == 0, f"{t}: {r}"
    return [r.rc for r in results]


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


# --- vigil's Dummy -------------------------------------------------------------------------


def test_vigil_dummy_lifecycle_and_state_dir(tmp_path: Path) -> None:
    ex, _ = executor(tmp_path)
    dummy = Agent("ocf", "vigil", "Dummy")
    assert rcs(ex, dummy, ["monitor", "start", "monitor", "start"]) == [7, 0, 0, 0]
    assert files_under(tmp_path / "node1" / "run") == ["vigil-Dummy-r1.state"]
    assert rcs(ex, dummy, ["reload", "monitor", "stop", "monitor", "stop"]) == [0, 0, 0, 7, 0]
    assert files_under(tmp_path / "node1" / "run") == []
    assert run(ex, dummy, "validate-all").rc == 0
    assert run(ex, dummy, "frobnicate").rc == 3


def test_vigil_dummy_fault_knobs_and_anonymous_clone_state(tmp_path: Path) -> None:
    """The knobs of the fault campaign: an action log whose intervals are never longer
    than the real ones, a hang file that blocks monitor and stop until removed (or the
    timeout), and one state file per anonymous clone on a node (instance numbers change)."""
    ex, _ = executor(tmp_path)
    dummy = Agent("ocf", "vigil", "Dummy")
    log = tmp_path / "actions.log"
    params = (("log", str(log)),)
    assert rcs(ex, dummy, ["start", "stop"], params=params) == [0, 0]
    assert [line.split()[1:] for line in log.read_text().splitlines()] == [
        ["node1", "r1", "start", "done", "0"], ["node1", "r1", "stop", "begin"]]
    anon = (("globally_unique", "false"),)
    assert run(ex, dummy, "start", rsc="cl:3", meta=anon).rc == 0
    assert files_under(tmp_path / "node1" / "run") == ["vigil-Dummy-cl.state"]
    assert run(ex, dummy, "monitor", rsc="cl:1", meta=anon).rc == 0
    hang = tmp_path / "node1" / "run" / "vigil-Dummy-r1.hang"
    hang.write_text("")
    assert run(ex, dummy, "start").rc == 0  # an empty hang file: only monitor and stop
    t0 = time.monotonic()
    r = run(ex, dummy, "monitor", timeout_ms=1000)
    assert r.op_status != 0 and time.monotonic() - t0 >= 0.9, r  # hung until the timeout
    hang.unlink()
    assert rcs(ex, dummy, ["monitor", "stop"]) == [0, 0]


def test_vigil_dummy_migration_and_state_param(tmp_path: Path) -> None:
    ex, _ = executor(tmp_path)
    dummy = Agent("ocf", "vigil", "Dummy")
    state = tmp_path / "custom.state"
    params = (("state", str(state)),)
    assert rcs(ex, dummy, ["start"], params=params) == [0] and state.exists()
    assert run(ex, dummy, "migrate_to", params=params).rc == 2  # no migrate_target
    r = run(ex, dummy, "migrate_to", params=params, meta=(("migrate_target", "node2"),))
    assert r.rc == 0 and not state.exists()
    assert rcs(ex, dummy, ["migrate_from", "monitor"], params=params) == [0, 0]
    bad = (("state", str(tmp_path / "absent" / "x.state")),)
    r = run(ex, dummy, "start", params=bad)
    assert r.rc == 5 and "does not exist" in r.exit_reason


def test_two_nodes_on_one_machine_keep_dummy_state_apart(tmp_path: Path) -> None:
    a, _ = executor(tmp_path, "a")
    b, _ = executor(tmp_path, "b")
    dummy = Agent("ocf", "vigil", "Dummy")
    assert rcs(a, dummy, ["start", "monitor"]) == [0, 0]
    assert rcs(b, dummy, ["monitor"]) == [7]


def test_vigil_metadata_is_ocf_1_1_xml(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    ex, _ = executor(tmp_path)
    for agent, params in (
        (Agent("ocf", "vigil", "Dummy"), {"state", "fake", "hang", "log"}),
        (HTTP, {"docroot", "port", "ip"}),
    ):
        root = ET.fromstring(asyncio.run(ex.metadata(agent)))
        assert root.tag == "resource-agent" and root.get("name") == agent.type
        assert root.findtext("version") == "1.1"
        assert {p.get("name") for p in root.iter("parameter")} == params
        actions = {a.get("name"): a for a in root.iter("action")}
        assert {"start", "stop", "monitor", "meta-data", "validate-all"} <= set(actions)
        assert all(a.get("timeout") for a in actions.values())


def test_vigil_metadata_passes_the_resource_agents_schema(tmp_path: Path) -> None:
    schema = Path("/usr/share/resource-agents/metadata.rng")
    need(schema.parent, "resource-agents")
    from lxml import etree

    rng = etree.RelaxNG(etree.parse(str(schema)))
    ex, _ = executor(tmp_path)
    for agent in (Agent("ocf", "vigil", "Dummy"), HTTP):
        doc = etree.fromstring(asyncio.run(ex.metadata(agent)).encode())
        # that schema predates OCF 1.1's parameter hints (Pacemaker's own agents use them too)
        for param in doc.iter("parameter"):
            for hint in ("unique-group", "reloadable"):
                param.attrib.pop(hint, "")
        assert rng.validate(doc), f"{agent.spec}: {rng.error_log}"


# --- vigil's http --------------------------------------------------------------------------


def alive(pid: int) -> bool:
    """Running and not a zombie (PID 1 here may not reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(port: int, path: str = "/") -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as reply:
        return reply.status, reply.read()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    docroot = tmp_path / "www"
    docroot.mkdir()
    (docroot / "index.html").write_text("<h1>vigil</h1>\n")
    yield docroot
    # leave no server behind, whatever the test did
    for pidfile in tmp_path.rglob("vigil-http-*.pid"):
        try:
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def test_http_serves_docroot_and_stops(tmp_path: Path, site: Path) -> None:
    ex, _ = executor(tmp_path)
    port = free_port()
    params = (("docroot", str(site)), ("port", str(port)))
    assert rcs(ex, HTTP, ["monitor", "start", "monitor"], params=params) == [7, 0, 0]
    assert fetch(port) == (200, b"<h1>vigil</h1>\n")
    pidfile = tmp_path / "node1" / "run" / "vigil-http-r1.pid"
    pid = int(pidfile.read_text())
    assert rcs(ex, HTTP, ["start", "stop", "monitor", "stop"], params=params) == [0, 0, 7, 0]
    assert not pidfile.exists() and not alive(pid)
    with pytest.raises(OSError):
        fetch(port)


def test_http_validation(tmp_path: Path, site: Path) -> None:
    ex, _ = executor(tmp_path)
    r = run(ex, HTTP, "start")
    assert r.rc == 6 and "docroot" in r.exit_reason
    r = run(ex, HTTP, "validate-all", params=(("docroot", str(site)), ("port", "http")))
    assert r.rc == 6 and "port" in r.exit_reason
    r = run(ex, HTTP, "validate-all", params=(("docroot", str(tmp_path / "nowhere")),))
    assert r.rc == 5
    assert run(ex, HTTP, "validate-all", params=(("docroot", str(site)),)).rc == 0


def test_http_port_taken_fails_start(tmp_path: Path, site: Path) -> None:
    ex, _ = executor(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        params = (("docroot", str(site)), ("port", str(port)), ("ip", "127.0.0.1"))
        r = run(ex, HTTP, "start", params=params, timeout_ms=5000)
        assert r.rc == 1 and "Address already in use" in r.exit_reason
    assert run(ex, HTTP, "monitor", params=params).rc == 7


def test_http_instances_do_not_interfere(tmp_path: Path, site: Path) -> None:
    a, _ = executor(tmp_path, "a")
    b, _ = executor(tmp_path, "b")
    pa, pb = free_port(), free_port()
    params_a = (("docroot", str(site)), ("port", str(pa)))
    params_b = (("docroot", str(site)), ("port", str(pb)), ("ip", "127.0.0.1"))
    assert rcs(a, HTTP, ["start"], "web", params_a) == [0]
    assert rcs(b, HTTP, ["monitor", "start"], "web", params_b) == [7, 0]
    assert rcs(a, HTTP, ["start"], "web2", params_b) != [0]  # same port, other instance
    assert rcs(a, HTTP, ["stop", "monitor"], "web", params_a) == [0, 7]
    assert rcs(b, HTTP, ["monitor"], "web", params_b) == [0]
    assert fetch(pb)[0] == 200
    assert rcs(b, HTTP, ["stop"], "web", params_b) == [0]


def test_http_deaf_server_is_a_failure(tmp_path: Path, site: Path) -> None:
    ex, _ = executor(tmp_path)
    port = free_port()
    params = (("docroot", str(site)), ("port", str(port)))
    assert rcs(ex, HTTP, ["start"], params=params) == [0]
    pid = int((tmp_path / "node1" / "run" / "vigil-http-r1.pid").read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        r = run(ex, HTTP, "monitor", params=params)
        assert r.rc == 1 and "GET" in r.exit_reason
    finally:
        os.kill(pid, signal.SIGCONT)
    assert rcs(ex, HTTP, ["monitor", "stop"], params=params) == [0, 0]


def test_http_recurring_monitor_reports_the_kill_once(tmp_path: Path, site: Path) -> None:
    ex, changes = executor(tmp_path)
    port = free_port()
    params = (("docroot", str(site)), ("port", str(port)))

    async def scenario() -> None:
        start = await ex.run(AgentCall("web", HTTP, "start", 0, 20000, params))
        assert start.rc == 0
        ex.start_recurring(AgentCall("web", HTTP, "monitor", 200, 5000, params), start.rc)
        await asyncio.sleep(0.8)
        assert changes == []
        pid = int((tmp_path / "node1" / "run" / "vigil-http-web.pid").read_text())
        os.kill(pid, signal.SIGKILL)  # behind the cluster's back
        await asyncio.sleep(1.5)
        stop = await ex.run(AgentCall("web", HTTP, "stop", 0, 20000, params))
        assert stop.rc == 0 and ex.recurring() == []
        await ex.close()

    asyncio.run(scenario())
    assert [(r.rc, r.op_status) for r in changes] == [(7, 0)]


# --- Debian's agents ---------------------------------------------------------------------


def test_heartbeat_dummy_keeps_state_in_ha_rsctmp(tmp_path: Path) -> None:
    need(HEARTBEAT, "resource-agents")
    ex, _ = executor(tmp_path)
    dummy = Agent("ocf", "heartbeat", "Dummy")
    assert rcs(ex, dummy, ["monitor", "start", "monitor"]) == [7, 0, 0]
    assert files_under(tmp_path / "node1") == ["run/resource-agents/Dummy-r1.state"]
    assert not Path("/run/resource-agents/Dummy-r1.state").exists()
    other, _ = executor(tmp_path, "node2")
    assert rcs(other, dummy, ["monitor"]) == [7]
    assert rcs(ex, dummy, ["stop", "monitor"]) == [0, 7]
    assert files_under(tmp_path / "node1") == []


def test_pacemaker_dummy_keeps_state_in_ha_varrun(tmp_path: Path) -> None:
    need(PACEMAKER, "pacemaker-resource-agents")
    ex, _ = executor(tmp_path)
    dummy = Agent("ocf", "pacemaker", "Dummy")
    assert rcs(ex, dummy, ["monitor", "start", "monitor"]) == [7, 0, 0]
    assert files_under(tmp_path / "node1") == ["run/Dummy-r1.state"]
    other, _ = executor(tmp_path, "node2")
    assert rcs(other, dummy, ["monitor"]) == [7]
    assert rcs(ex, dummy, ["stop", "monitor"]) == [0, 7]


def test_pacemaker_stateful_promote_demote(tmp_path: Path) -> None:
    need(PACEMAKER, "pacemaker-resource-agents")
    ex, _ = executor(tmp_path)
    stateful = Agent("ocf", "pacemaker", "Stateful")
    tasks = [
        "monitor",
        "start",
        "monitor",
        "promote",
        "monitor",
        "demote",
        "monitor",
        "stop",
        "monitor",
    ]
    assert rcs(ex, stateful, tasks, rsc="db:0") == [7, 0, 0, 0, 8, 0, 0, 0, 7]


def test_heartbeat_metadata(tmp_path: Path) -> None:
    need(HEARTBEAT, "resource-agents")
    ex, _ = executor(tmp_path)
    xml = asyncio.run(ex.metadata(Agent("ocf", "heartbeat", "IPaddr2")))
    assert '<resource-agent name="IPaddr2"' in xml and "</resource-agent>" in xml


@pytest.fixture
def test_nic() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("IPaddr2 needs root: it adds an address to a network interface")
    name = "vgtst0"
    subprocess.run(["ip", "link", "del", name], capture_output=True)
    made = subprocess.run(["ip", "link", "add", name, "type", "dummy"], capture_output=True)
    if made.returncode != 0:  # no dummy module here: a veth pair does as well
        made = subprocess.run(
            ["ip", "link", "add", name, "type", "veth", "peer", "name", "vgtst1"],
            capture_output=True,
        )
    if made.returncode != 0:
        pytest.skip(f"cannot create a test interface: {made.stderr.decode().strip()}")
    try:
        for dev in (name, "vgtst1"):
            subprocess.run(["ip", "link", "set", dev, "up"], capture_output=True)
        subprocess.run(["ip", "addr", "add", "10.213.77.1/24", "dev", name], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def test_ipaddr2_adds_and_removes_an_address(tmp_path: Path, test_nic: str) -> None:
    need(HEARTBEAT, "resource-agents")
    ex, _ = executor(tmp_path)
    vip = Agent("ocf", "heartbeat", "IPaddr2")
    params = (("cidr_netmask", "24"), ("ip", "10.213.77.10"), ("nic", test_nic))

    def addresses() -> str:
        return subprocess.run(
            ["ip", "-4", "addr", "show", "dev", test_nic],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert rcs(ex, vip, ["monitor"], "vip", params) == [7]
    started = time.monotonic()
    assert rcs(ex, vip, ["start"], "vip", params) == [0]
    # its background send_arp holds stdout for about a second: we must not wait for it
    assert time.monotonic() - started < 0.9
    assert "10.213.77.10/24" in addresses()
    assert rcs(ex, vip, ["monitor", "stop", "monitor"], "vip", params) == [0, 0, 7]
    assert "10.213.77.10" not in addresses()
