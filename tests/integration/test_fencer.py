"""The fencer with real fence agents: Debian's fence_dummy and fake agents written here."""

from __future__ import annotations

import asyncio
import os
import textwrap
import time
from pathlib import Path

import pytest

from vigil.core.fencing import FenceDevice, FenceLevel, FenceRequest, FenceResult
from vigil.io.fencer import Fencer

FENCE_DUMMY = Path("/usr/sbin/fence_dummy")

METADATA = """<?xml version="1.0" ?>
<resource-agent name="{name}" shortdesc="test agent">
<parameters>
  <parameter name="plug"/><parameter name="color"/>
</parameters>
<actions>
  <action name="on"/><action name="off"/><action name="reboot"/>
  <action name="status"/><action name="list"/><action name="metadata"/>
</actions>
</resource-agent>"""


def need_fence_dummy() -> None:
    if FENCE_DUMMY.exists():
        return
    message = f"{FENCE_DUMMY} absent: install Debian's fence-agents package to run this test"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: not skipping)")
    pytest.skip(message)


def fake_agent(directory: Path, name: str, body: str) -> Path:
    """A fence agent in sh: logs each call's stdin to $LOG, answers meta-data, runs body."""
    directory.mkdir(exist_ok=True)
    log = directory / f"{name}.log"
    script = directory / name
    script.write_text(
        "#!/bin/sh\n"
        f"LOG={log}\n"
        "input=$(cat)\n"
        "action=$(printf '%s\\n' \"$input\" | sed -n 's/^action=//p')\n"
        'if [ "$action" = metadata ]; then\n'
        "cat <<'XML'\n" + METADATA.format(name=name) + "\nXML\nexit 0\nfi\n"
        'printf \'%s\\n---\\n\' "$input" >> "$LOG"\n' + textwrap.dedent(body)
    )
    script.chmod(0o755)
    return log


def calls(log: Path) -> list[dict[str, str]]:
    if not log.exists():
        return []
    blocks = log.read_text().split("---\n")
    return [dict(ln.split("=", 1) for ln in b.splitlines() if "=" in ln) for b in blocks if b]


def fence(fencer: Fencer, target: str, devices: list[FenceDevice], action: str = "reboot",
          levels: tuple[FenceLevel, ...] = ()) -> FenceResult:  # fmt: skip
    req = FenceRequest(target, action, "node1", 1000.0)
    return asyncio.run(fencer.fence(req, {d.id: d for d in devices}, levels))


# --- fence_dummy ---------------------------------------------------------------------------


def test_fence_dummy_reboot_off_on(tmp_path: Path) -> None:
    need_fence_dummy()
    status = tmp_path / "power"
    status.write_text("on")
    fencer = Fencer("node1", retry_delay_ms=0)
    device = FenceDevice(
        "dummy", "fence_dummy", (("pcmk_host_list", "node2 node3"), ("status_file", str(status)))
    )
    result = fence(fencer, "node2", [device], "off")
    assert result.ok and result.device == "dummy" and status.read_text() == "off"
    assert fence(fencer, "node2", [device], "on").ok and status.read_text() == "on"
    assert fence(fencer, "node3", [device], "reboot").ok
    refused = fence(fencer, "node9", [device])
    assert not refused.ok and "node9" in refused.reason and refused.attempts == ()
    assert (refused.target, refused.action, refused.device) == ("node9", "reboot", "")


def test_fence_dummy_metadata_and_status_host_check(tmp_path: Path) -> None:
    need_fence_dummy()
    fencer = Fencer("node1")
    xml = asyncio.run(fencer.metadata("fence_dummy"))
    assert '<resource-agent name="fence_dummy"' in xml
    device = FenceDevice("dummy", "fence_dummy", (("status_file", str(tmp_path / "p")),))
    # no host list, and fence_dummy has no list action: Pacemaker's default is "status"
    ok, why = asyncio.run(fencer.can_fence(device, "node2"))
    assert ok and "status" in why


def test_fence_dummy_failing_hits_the_retry_cap(tmp_path: Path) -> None:
    need_fence_dummy()
    fencer = Fencer("node1", retry_delay_ms=0)
    device = FenceDevice(
        "broken",
        "fence_dummy",
        (("type", "fail"), ("power_timeout", "1"), ("pcmk_reboot_retries", "1"),
         ("pcmk_host_list", "node2")),
    )  # fmt: skip
    result = fence(fencer, "node2", [device])
    assert not result.ok
    assert len(result.attempts) == 2
    assert "gave up after 2 attempt(s)" in result.reason
    assert "Timed out waiting to power OFF" in result.reason


# --- fake agents ---------------------------------------------------------------------------


def test_failing_agent_retry_cap_and_clear_error(tmp_path: Path) -> None:
    log = fake_agent(tmp_path, "fence_vtfail", """
        echo "2026-01-01 00:00:00,000 ERROR: Failed: device unreachable" >&2
        exit 1
    """)  # fmt: skip
    fencer = Fencer("node1", agent_dirs=[tmp_path], retry_delay_ms=10)
    device = FenceDevice("pdu", "fence_vtfail", (("pcmk_host_list", "node2"),
                                                 ("pcmk_reboot_retries", "2")))  # fmt: skip
    result = fence(fencer, "node2", [device])
    assert not result.ok and len(calls(log)) == 3
    assert result.reason == (
        "reboot of node2 failed: pdu (fence_vtfail) reboot: gave up after 3 attempt(s): "
        "exit code 1: ERROR: Failed: device unreachable"
    )
    assert [a.rc for a in result.attempts] == [1, 1, 1]


def test_dynamic_list_host_map_and_stdin(tmp_path: Path) -> None:
    log = fake_agent(tmp_path, "fence_vtlist", """
        case "$action" in
          list) printf 'n1,alias1\\nplug2\\n'; exit 0 ;;
          *) exit 0 ;;
        esac
    """)  # fmt: skip
    fencer = Fencer("node1", agent_dirs=[tmp_path])
    device = FenceDevice(
        "sw", "fence_vtlist",
        (("color", "blue"), ("pcmk_host_check", "dynamic-list"),
         ("pcmk_host_map", "node2:plug2"), ("pcmk_reboot_timeout", "5s")),
    )  # fmt: skip
    assert asyncio.run(fencer.can_fence(device, "node2"))[0]
    assert not asyncio.run(fencer.can_fence(device, "node3"))[0]
    assert asyncio.run(fencer.can_fence(device, "n1"))[0]
    assert [c["action"] for c in calls(log)] == ["list"]  # cached
    assert fence(fencer, "node2", [device]).ok
    last = calls(log)[-1]
    assert last == {"action": "reboot", "color": "blue", "plug": "plug2", "nodename": "node2"}


def test_topology_falls_through_to_next_level(tmp_path: Path) -> None:
    fake_agent(tmp_path, "fence_vtfail", "exit 1\n")
    ok_log = fake_agent(tmp_path, "fence_vtok", "exit 0\n")
    fencer = Fencer("node1", agent_dirs=[tmp_path], retry_delay_ms=0)
    bad = FenceDevice("ipmi", "fence_vtfail", (("pcmk_reboot_retries", "0"),))
    good = FenceDevice("pdu", "fence_vtok")
    levels = (FenceLevel(2, ("pdu",), target="node2"), FenceLevel(1, ("ipmi",), target="node2"))
    result = fence(fencer, "node2", [bad, good], levels=levels)
    assert result.ok and result.device == "pdu"
    assert [(a.device, a.ok) for a in result.attempts] == [("ipmi", False), ("pdu", True)]
    assert len(calls(ok_log)) == 1


def test_multi_device_level_reboot_is_off_then_on(tmp_path: Path) -> None:
    log = fake_agent(tmp_path, "fence_vtok", "exit 0\n")
    fencer = Fencer("node1", agent_dirs=[tmp_path])
    psu1 = FenceDevice("psu1", "fence_vtok", (("color", "1"),))
    psu2 = FenceDevice("psu2", "fence_vtok", (("color", "2"),))
    levels = (FenceLevel(1, ("psu1", "psu2"), target="node2"),)
    result = fence(fencer, "node2", [psu1, psu2], levels=levels)
    assert result.ok and result.device == "psu1,psu2"
    assert [(c["color"], c["action"]) for c in calls(log)] == [
        ("1", "off"), ("2", "off"), ("1", "on"), ("2", "on"),
    ]  # fmt: skip


def test_timeout_kills_the_agent_group(tmp_path: Path) -> None:
    fake_agent(tmp_path, "fence_vthang", f"""
        sleep 300 &
        echo $! > {tmp_path}/child.pid
        sleep 300
    """)  # fmt: skip
    fencer = Fencer("node1", agent_dirs=[tmp_path], kill_grace_ms=200)
    device = FenceDevice(
        "slow",
        "fence_vthang",
        (("pcmk_reboot_timeout", "500ms"), ("pcmk_reboot_retries", "3"),
         ("pcmk_host_check", "none")),
    )  # fmt: skip
    started = time.monotonic()
    result = fence(fencer, "node2", [device])
    assert time.monotonic() - started < 3
    assert not result.ok and "timed out after" in result.reason
    assert len(result.attempts) == 1  # the timeout bounds the retries too
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def test_concurrent_requests_for_one_target_share_a_run(tmp_path: Path) -> None:
    log = fake_agent(tmp_path, "fence_vtok", "sleep 0.3\nexit 0\n")
    fencer = Fencer("node1", agent_dirs=[tmp_path])
    devices = {"d": FenceDevice("d", "fence_vtok", (("pcmk_host_list", "node2"),))}

    async def both() -> list[FenceResult]:
        req = FenceRequest("node2", "reboot", "node1", 1.0)
        return list(await asyncio.gather(fencer.fence(req, devices), fencer.fence(req, devices)))

    first, second = asyncio.run(both())
    assert first.ok and first == second and len(calls(log)) == 1


def test_missing_agent_and_delay(tmp_path: Path) -> None:
    fencer = Fencer("node1", agent_dirs=[tmp_path], retry_delay_ms=0)
    ghost = FenceDevice("ghost", "fence_nonexistent", (("pcmk_host_list", "node2"),))
    result = fence(fencer, "node2", [ghost])
    assert not result.ok and "fence_nonexistent not found" in result.reason
    assert len(result.attempts) == 1  # no retries for an agent that is not there
    fake_agent(tmp_path, "fence_vtok", "exit 0\n")
    slow = FenceDevice(
        "slow", "fence_vtok", (("pcmk_delay_base", "300ms"), ("pcmk_host_list", "node2"))
    )
    started = time.monotonic()
    assert fence(fencer, "node2", [slow]).ok
    assert time.monotonic() - started >= 0.3


def test_close_cancels_a_request_in_flight(tmp_path: Path) -> None:
    fake_agent(tmp_path, "fence_vthang", f"echo $$ > {tmp_path}/agent.pid\nsleep 300\n")
    fencer = Fencer("node1", agent_dirs=[tmp_path])
    devices = {"d": FenceDevice("d", "fence_vthang", (("pcmk_host_check", "none"),))}

    async def scenario() -> None:
        pending = asyncio.ensure_future(fencer.fence(FenceRequest("node2"), devices))
        while not (tmp_path / "agent.pid").exists():
            await asyncio.sleep(0.02)
        await fencer.close()
        with pytest.raises(asyncio.CancelledError):
            await pending

    asyncio.run(scenario())
    pid = int((tmp_path / "agent.pid").read_text())
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)


def test_unknown_action_is_refused(tmp_path: Path) -> None:
    fencer = Fencer("node1", agent_dirs=[tmp_path])
    result = fence(fencer, "node2", [], action="explode")
    assert not result.ok and "unknown action" in result.reason


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
