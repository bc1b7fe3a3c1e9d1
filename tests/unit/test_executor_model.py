"""The pure rules of agent execution (vigil.core.execmodel)."""

from __future__ import annotations

import ast
from pathlib import Path

from vigil.core import execmodel as m
from vigil.core.graph import Agent

DUMMY = Agent("ocf", "vigil", "Dummy")


def call(**kw: object) -> m.AgentCall:
    base: dict[str, object] = dict(
        rsc="web", agent=DUMMY, task="start", interval_ms=0, timeout_ms=20000, params=()
    )
    base.update(kw)
    return m.AgentCall(**base)


def test_op_key_follows_pacemaker() -> None:
    assert call().op_key == "web_start_0"
    assert call(task="monitor", interval_ms=10000).op_key == "web_monitor_10000"
    assert call(task="probe").op_key == "web_monitor_0"
    assert call(task="probe").agent_task == "monitor"
    assert call(key="custom").op_key == "custom"


def test_known_exit_codes_pass_through() -> None:
    for code in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191):
        assert m.classify(code, None, "") == (code, 0, "")


def test_unknown_exit_code_is_generic_error_naming_the_code() -> None:
    rc, status, reason = m.classify(99, None, "")
    assert (rc, status) == (1, m.ExecStatus.ERROR)
    assert "99" in reason
    rc, status, reason = m.classify(42, None, "disk on fire")
    assert reason.startswith("disk on fire") and "42" in reason


def test_signal_death_is_an_error() -> None:
    rc, status, reason = m.classify(None, 9, "")
    assert (rc, status) == (1, 4) and "signal 9" in reason


def test_exit_reason_is_last_prefixed_line_capped() -> None:
    err = "noise\nocf-exit-reason:first\nmore\nocf-exit-reason: second \n"
    assert m.exit_reason(err) == "second"
    assert m.exit_reason("nothing here") == ""
    assert len(m.exit_reason("ocf-exit-reason:" + "x" * 1000)) == m.EXIT_REASON_MAX


def test_timeout_and_not_installed_results() -> None:
    r = m.timed_out(500, 510)
    assert (r.rc, r.op_status, r.exit_reason) == (1, 2, "timed out after 500 ms")
    r = m.not_installed(Agent("ocf", "x", "Y"), ["/a/resource.d/x/Y", "/b/resource.d/x/Y"])
    assert (r.rc, r.op_status) == (5, 7)
    assert "ocf:x:Y" in r.exit_reason and "/a/resource.d/x/Y" in r.exit_reason
    assert type(r.rc) is int and type(r.op_status) is int


def test_ocf_env() -> None:
    c = call(
        params=(("ip", "10.0.0.1"), ("OCF_CHECK_LEVEL", "10")),
        meta=(("clone-max", "3"), ("interval", "999")),
        interval_ms=5000,
        timeout_ms=7000,
    )
    env = m.ocf_env(c, "node1", "/usr/lib/ocf", "/s/run/", "/s/run/resource-agents")
    assert env["OCF_ROOT"] == "/usr/lib/ocf"
    assert env["OCF_RA_VERSION_MAJOR"] == "1" and env["OCF_RA_VERSION_MINOR"] == "1"
    assert env["OCF_RESOURCE_INSTANCE"] == "web"
    assert env["OCF_RESOURCE_TYPE"] == "Dummy" and env["OCF_RESOURCE_PROVIDER"] == "vigil"
    assert env["OCF_RESKEY_ip"] == "10.0.0.1"
    assert env["OCF_CHECK_LEVEL"] == "10"
    assert env["OCF_RESKEY_CRM_meta_clone_max"] == "3"
    assert env["OCF_RESKEY_CRM_meta_interval"] == "5000"  # the call's, not a meta's
    assert env["OCF_RESKEY_CRM_meta_timeout"] == "7000"
    assert env["OCF_RESKEY_CRM_meta_on_node"] == "node1"
    assert env["HA_VARRUN"] == "/s/run/" and env["HA_RSCTMP"] == "/s/run/resource-agents"
    assert env["LC_ALL"] == "C" and "/usr/sbin" in env["PATH"]


def test_ocf_env_drops_what_exec_would_refuse() -> None:
    env = m.ocf_env(call(params=(("a", "x\0y"), ("b=c", "1"))), "n", "/r", "/v/", "/t")
    assert "OCF_RESKEY_a" not in env and "OCF_RESKEY_b=c" not in env


def test_lsb_status_mapping() -> None:
    assert m.lsb_to_ocf("monitor", 0) == 0
    assert [m.lsb_to_ocf("monitor", c) for c in (1, 2, 3)] == [7, 7, 7]
    assert m.lsb_to_ocf("monitor", 4) == 1
    assert m.lsb_to_ocf("start", 5) == 5
    assert m.lsb_to_ocf("stop", 150) == 1


def test_systemd_helpers() -> None:
    assert m.systemd_unit("nginx") == "nginx.service"
    assert m.systemd_unit("foo.socket") == "foo.socket"
    assert m.systemd_state_to_ocf("active\n") == 0
    assert m.systemd_state_to_ocf("failed") == 7
    assert m.systemd_state_to_ocf("inactive") == 7


def test_is_change() -> None:
    ok = m.AgentResult(0, 0, "", 1, "")
    assert not m.is_change((0, 0), ok)
    assert m.is_change((0, 0), m.AgentResult(7, 0, "", 1, ""))
    assert m.is_change((0, 0), m.AgentResult(1, 2, "timed out", 1, ""))
    assert m.is_change(None, ok)


def test_generic_metadata_escapes() -> None:
    xml = m.generic_metadata(Agent("lsb", None, "a<b"), "x & y")
    assert "a&lt;b" in xml and "x &amp; y" in xml and "<actions>" in xml


def test_safe_name() -> None:
    assert m.safe_name("Dummy")
    assert not m.safe_name("../x") and not m.safe_name("..") and not m.safe_name(None)


def test_core_module_does_no_io() -> None:
    forbidden = {"asyncio", "socket", "subprocess", "threading", "time", "random"}
    for name in ("execmodel.py", "fencing.py"):
        path = Path(m.__file__).parent / name
        if not path.exists():
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not names & forbidden, f"{name} imports {names & forbidden}"
