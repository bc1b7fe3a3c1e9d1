"""The roles vigil_cluster, vigil_validate and vigil_rolling on a real 3-node loopback cluster.

One cluster for the module, deployed the way a user deploys one: playbooks/site.yml
(vigil_daemon, vigil_cluster, vigil_validate) on inventories/local, with its own directory,
ports and multicast group (extra vars), so a developer's demo cluster is not touched. The
declared cluster is web-like: a group of a Dummy "vip" and a real web server "www", a Dummy
"db", a location and an order constraint, cluster options and node attributes. What the
tests check is what a user would look at: the CIB, vigilctl status, the page being served,
the recap's changed counts, the reports the roles write, the daemons' pids.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from vigil.client import call
from vigil.core import cib as C
from vigil.errors import VigilError

from .ansible_run import ROOT, playbook

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

INVENTORY = str(ROOT / "inventories" / "local")
NODES = ("node1", "node2", "node3")


@dataclass
class Env:
    tmp: Path
    vars_file: Path
    local_dir: Path
    url: str
    plays: dict[str, Path] = field(default_factory=dict)
    site_stdout: str = ""

    def socket(self, node: str) -> Path:
        return self.local_dir / node / "run" / "vigil" / "vigil.sock"

    def status(self, node: str = "node1") -> dict[str, Any]:
        result: dict[str, Any] = call(self.socket(node), "status", timeout_s=5)
        return result

    def run(self, path: Path, *args: str, **extra: Any) -> subprocess.CompletedProcess[str]:
        """ansible-playbook PATH on the local inventory with the module's variables, then
        ``extra`` (which overrides them)."""
        more = ["-e", json.dumps(extra)] if extra else []
        return playbook(
            path, "-e", f"@{self.vars_file}", *more, *args, inventory=INVENTORY, timeout=600
        )

    def vigilctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(self.local_dir / "venv" / "bin" / "vigilctl"),
                "--socket",
                str(self.socket("node1")),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )

    def cib(self) -> Any:
        proc = self.vigilctl("cib", "get")
        assert proc.returncode == 0, proc.stderr
        return C.parse(proc.stdout)

    def pid(self, node: str) -> int:
        return int((self.local_dir / node / "run" / "vigil" / "vigild.pid").read_text())


def check(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def recap(stdout: str) -> dict[str, dict[str, int]]:
    hosts = {}
    for match in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", stdout, re.MULTILINE):
        hosts[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return hosts


def page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=1.0) as resp:
        return str(resp.read().decode())


def where(status: dict[str, Any], rsc: str) -> list[str]:
    return [n for r in status["resources"] if r["id"] == rsc for n in r["nodes"]]


ONE_ROLE = """\
- name: Run one role
  hosts: vigil_cluster
  gather_facts: false
  roles:
    - role: {role}
"""

START = """\
- name: Start stopped nodes again
  hosts: vigil_cluster
  gather_facts: false
  tasks:
    - name: Start vigild
      ansible.builtin.include_role:
        name: vigil_daemon
        tasks_from: start
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("roles")
    docroot = tmp / "www"
    docroot.mkdir()
    (docroot / "index.html").write_text("vigil roles test\n")
    http_port = random.randint(40001, 50000)
    settings: dict[str, Any] = {
        "vigil_local_dir": str(tmp / "local"),
        "vigil_cluster_name": "roles-test",
        "vigil_transport_port": random.randint(20000, 40000),
        "vigil_transport_group": f"239.255.{random.randint(1, 254)}.{random.randint(1, 254)}",
        "vigil_wait_timeout": 60,
        "vigil_stop_timeout": 20,
        # vigil_cluster: a small web-like cluster
        "vigil_cluster_properties": {"stonith-enabled": False, "no-quorum-policy": "stop"},
        "vigil_cluster_rsc_defaults": {"resource-stickiness": 100},
        "vigil_cluster_op_defaults": {"timeout": "20s"},
        "vigil_cluster_node_attributes": {"node1": {"rack": "a"}, "node2": {"rack": "b"}},
        "vigil_cluster_resources": [
            {
                "id": "vip",
                "agent": "ocf:vigil:Dummy",
                "ops": [{"name": "monitor", "interval": "2s"}],
            },
            {
                "id": "www",
                "agent": "ocf:vigil:http",
                "params": {"docroot": str(docroot), "port": str(http_port), "ip": "127.0.0.1"},
                "ops": [{"name": "monitor", "interval": "2s", "timeout": "10s"}],
            },
            {"id": "db", "agent": "ocf:vigil:Dummy"},
        ],
        "vigil_cluster_groups": [{"id": "web", "members": ["vip", "www"]}],
        "vigil_cluster_constraints": [
            {
                "id": "web-prefers-node2",
                "type": "location",
                "resource": "web",
                "node": "node2",
                "score": 50,
            },
            {"id": "db-before-web", "type": "order", "first": "db", "then": "web"},
        ],
        # vigil_validate: no fence devices on one machine
        "vigil_validate_require_fencing": False,
        "vigil_validate_report_path": str(tmp / "site-report.yml"),
    }
    vars_file = tmp / "vars.yml"
    vars_file.write_text(yaml.safe_dump(settings, sort_keys=False))
    e = Env(tmp, vars_file, tmp / "local", f"http://127.0.0.1:{http_port}/")
    for role in ("vigil_cluster", "vigil_validate"):
        e.plays[role] = tmp / f"{role}.yml"
        e.plays[role].write_text(ONE_ROLE.format(role=role))
    e.plays["start"] = tmp / "start.yml"
    e.plays["start"].write_text(START)
    try:
        e.site_stdout = check(e.run(ROOT / "playbooks" / "site.yml"))
        yield e
    finally:
        check(e.run(ROOT / "playbooks" / "stop-local.yml", vigil_local_purge=True))


SEED_CIB = """\
<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.9" have-quorum="1"
     dc-uuid="1"><configuration><crm_config/><nodes>{nodes}</nodes><resources/><constraints/>
</configuration><status>{states}</status></cib>
"""


@pytest.mark.parametrize(
    ("inventory", "hosts"), [("example", ["web1", "web2", "web3"]), ("two-node", ["db1", "db2"])]
)
def test_example_inventories_declare_a_valid_cib(
    tmp_path: Path, inventory: str, hosts: list[str]
) -> None:
    """vigil_cluster renders each example inventory's configuration into a CIB file (offline
    staging, vigil_cluster_cib_file), which Pacemaker's crm_verify accepts; a second run
    leaves the file as it is."""
    cib_file = tmp_path / "cib.xml"
    cib_file.write_text(
        SEED_CIB.format(
            nodes="".join(f'<node id="{i}" uname="{h}"/>' for i, h in enumerate(hosts, 1)),
            states="".join(
                f'<node_state id="{i}" uname="{h}" in_ccm="true" crmd="online" join="member"'
                ' expected="member"/>'
                for i, h in enumerate(hosts, 1)
            ),
        )
    )
    play = tmp_path / "declare.yml"
    play.write_text(ONE_ROLE.format(role="vigil_cluster"))
    offline = {
        "vigil_cluster_cib_file": str(cib_file),
        "ansible_connection": "local",
        "ansible_become": False,
        "ansible_python_interpreter": sys.executable,
        "vault_web_ipmi_password": "secret",
        "vault_db_ipmi_password": "secret",
    }
    where = str(ROOT / "inventories" / inventory)
    out = check(playbook(play, inventory=where, extra_vars=offline))
    assert recap(out)[hosts[0]]["changed"] > 0
    cib = C.parse(cib_file.read_text())
    devices = [p.get("id") for p in cib.iter("primitive") if p.get("class") == "stonith"]
    assert devices == [f"fence-{h}" for h in hosts]
    assert C.get_property(cib, "stonith-enabled") == "true"
    assert all(cib.find(f".//rsc_location[@id='fence-{h}-not-on-{h}']") is not None for h in hosts)
    if inventory == "example":
        group = cib.find(".//group[@id='web']")
        assert group is not None and [p.get("type") for p in group] == ["IPaddr2", "http"]
        assert len(list(cib.iter("fencing-level"))) == 3
    written = cib_file.read_bytes()
    out = check(playbook(play, inventory=where, extra_vars=offline))
    assert recap(out)[hosts[0]]["changed"] == 0 and cib_file.read_bytes() == written
    if shutil.which("crm_verify") is None and not os.environ.get("CI"):
        pytest.skip("crm_verify (pacemaker-cli-utils) is not installed")
    res = subprocess.run(
        ["crm_verify", "--xml-file", str(cib_file)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_site_declares_the_cluster_and_a_second_run_changes_nothing(env: Env) -> None:
    cib = env.cib()
    group = cib.find(".//group[@id='web']")
    assert group is not None and [p.get("id") for p in group.findall("primitive")] == ["vip", "www"]
    www = group.find("primitive[@id='www']")
    assert (www.get("class"), www.get("provider"), www.get("type")) == ("ocf", "vigil", "http")
    assert cib.find(".//rsc_location[@id='web-prefers-node2']").get("node") == "node2"
    order = cib.find(".//rsc_order[@id='db-before-web']")
    assert (order.get("first"), order.get("then")) == ("db", "web")
    assert C.get_property(cib, "no-quorum-policy") == "stop"
    assert C.get_property(cib, "stonith-enabled") == "false"
    stickiness = cib.find(".//rsc_defaults//nvpair[@name='resource-stickiness']")
    assert stickiness is not None and stickiness.get("value") == "100"
    rack = cib.find("configuration/nodes/node[@uname='node2']//nvpair[@name='rack']")
    assert rack is not None and rack.get("value") == "b"
    # the site's health gate passed, and the web server answers
    report = yaml.safe_load((env.tmp / "site-report.yml").read_text())
    assert report["result"] == "passed" and report["checks"][0]["name"] == "health"
    assert page(env.url) == "vigil roles test\n"

    # A property set by hand is not declared: vigil_cluster leaves it alone.
    assert env.vigilctl("property", "set", "cluster-recheck-interval", "5min").returncode == 0
    out = check(env.run(env.plays["vigil_cluster"]))
    assert recap(out)["node1"]["changed"] == 0, out[-6000:]
    assert C.get_property(env.cib(), "cluster-recheck-interval") == "5min"

    # Declared absent: the order constraint and db go, in that order; nothing else moves.
    out = check(
        env.run(
            env.plays["vigil_cluster"],
            vigil_cluster_resources=[{"id": "db", "state": "absent"}],
            vigil_cluster_constraints=[{"id": "db-before-web", "state": "absent"}],
        )
    )
    assert recap(out)["node1"]["changed"] == 2, out[-6000:]
    cib = env.cib()
    assert cib.find(".//primitive[@id='db']") is None
    assert cib.find(".//rsc_order[@id='db-before-web']") is None
    assert cib.find(".//group[@id='web']") is not None
    assert cib.find(".//rsc_location[@id='web-prefers-node2']") is not None


def test_health_gate_passes_then_fails_with_reasons_when_a_node_is_stopped(env: Env) -> None:
    report_path = env.tmp / "health.yml"
    check(env.run(env.plays["vigil_validate"], vigil_validate_report_path=str(report_path)))
    assert yaml.safe_load(report_path.read_text())["result"] == "passed"

    check(env.run(ROOT / "playbooks" / "stop-local.yml", "--limit", "node3"))
    try:
        proc = env.run(
            env.plays["vigil_validate"],
            vigil_validate_report_path=str(report_path),
            vigil_validate_health_timeout_s=2,
        )
        assert proc.returncode != 0
        assert "node node3 is offline" in proc.stdout, proc.stdout[-4000:]
        report = yaml.safe_load(report_path.read_text())
        assert report["result"] == "failed"
        health = report["checks"][0]
        assert health["result"] == "failed" and "node node3 is offline" in health["reasons"]
        assert health["details"]["offline_nodes"] == ["node3"]
    finally:
        check(env.run(env.plays["start"], "--limit", "node3"))
    assert all(n["online"] for n in env.status()["nodes"])


def test_failover_drill_moves_the_web_server_and_writes_a_report(env: Env) -> None:
    before = where(env.status(), "www")
    assert len(before) == 1
    report_path = env.tmp / "drill.md"
    out = check(
        env.run(
            ROOT / "playbooks" / "validate.yml",
            vigil_validate_report_path=str(report_path),
            vigil_validate_failover_drill=True,
            vigil_validate_failover_resource="www",
            vigil_validate_failover_bound_s=30,
        )
    )
    assert "PASSED | failover drill" in out, out[-4000:]
    text = report_path.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| failover drill |"))
    assert f"www moved from {before[0]} to " in row and "| passed |" in row, text
    moved_to = re.search(r"to (node\d) in ([\d.]+) s \(bound 30 s\)", row)
    assert moved_to and moved_to.group(1) != before[0] and float(moved_to.group(2)) <= 30
    status = env.status()
    assert all(n["online"] for n in status["nodes"])
    assert where(status, "www") == [moved_to.group(1)]
    assert page(env.url) == "vigil roles test\n"

    # A drill that cannot run says why, stops nothing, and fails the play after the report.
    pids = {node: env.pid(node) for node in NODES}
    proc = env.run(
        ROOT / "playbooks" / "validate.yml",
        vigil_validate_report_path=str(report_path),
        vigil_validate_failover_drill=True,
        vigil_validate_failover_resource="nothing",
    )
    assert proc.returncode != 0
    assert "resource nothing does not run on any node" in report_path.read_text()
    assert {node: env.pid(node) for node in NODES} == pids


class Watcher(threading.Thread):
    """Polls the page and the nodes' status every 0.1 s while a play runs."""

    def __init__(self, env: Env) -> None:
        super().__init__(daemon=True)
        self.env = env
        self.stop = threading.Event()
        self.samples: list[tuple[float, bool, int]] = []  # (time, page served, nodes online)

    def run(self) -> None:
        while not self.stop.is_set():
            served = True
            try:
                page(self.env.url)
            except OSError:
                served = False
            # the best-informed view: a node that has just started sees only itself
            online = 0
            for node in NODES:
                try:
                    status = self.env.status(node)
                except VigilError:
                    continue
                if status["quorate"]:
                    online = max(online, sum(n["online"] for n in status["nodes"]))
            self.samples.append((time.monotonic(), served, online))
            time.sleep(0.1)

    def longest_outage_s(self) -> float:
        longest, since = 0.0, None
        for t, served, _ in self.samples:
            if not served and since is None:
                since = t
            elif served and since is not None:
                longest, since = max(longest, t - since), None
        return longest if since is None else float("inf")


def restart_turns(stdout: str) -> list[str]:
    """The nodes vigil_daemon restarted one at a time, in the order the play took them."""
    return re.findall(r"^TASK \[vigil_daemon : Restart vigild, on its turn, on (\S+)\]", stdout,
                      re.MULTILINE)


def test_rolling_restart_takes_one_node_at_a_time_and_the_web_server_stays_up(env: Env) -> None:
    pids = {node: env.pid(node) for node in NODES}
    web_node = where(env.status(), "www")[0]
    report_path = env.tmp / "rolling.yml"
    watcher = Watcher(env)
    watcher.start()
    try:
        out = check(
            env.run(ROOT / "playbooks" / "rolling.yml", vigil_rolling_report_path=str(report_path))
        )
    finally:
        watcher.stop.set()
        watcher.join()
    report = yaml.safe_load(report_path.read_text())
    order = [n["node"] for n in report["nodes"]]
    assert sorted(order) == list(NODES), out[-4000:]
    # the node running the web group goes last: the group moves once, not with every node
    assert order[-1] == web_node, report
    assert {"vip", "www"} <= set(report["nodes"][-1]["moved"])
    assert not [r for n in report["nodes"][:-1] for r in n["moved"]], report
    assert all(n["action"] == "restart" for n in report["nodes"])
    # every daemon runs again, as a new process
    assert all(env.pid(node) != pids[node] for node in NODES)
    status = env.status()
    assert all(n["online"] and not n["standby"] for n in status["nodes"])
    # never more than one node down at a time; the page answered throughout, but for the
    # moment the web server moves off a node that goes into standby (stop, then start)
    assert min(online for _, _, online in watcher.samples if online) >= 2
    assert len(watcher.samples) > 50
    assert watcher.longest_outage_s() < 2.0, watcher.samples
    assert page(env.url) == "vigil roles test\n"


def test_a_changed_configuration_restarts_the_daemons_one_at_a_time(env: Env) -> None:
    """vigil_daemon on a running cluster whose configuration changed in a way a reload
    cannot apply (the deadtime): each daemon restarts on its turn, the node running the web
    group last, every node back before the next; the cluster keeps quorum and the page."""
    pids = {node: env.pid(node) for node in NODES}
    web_node = where(env.status(), "www")[0]
    play = env.tmp / "daemon.yml"
    play.write_text(ONE_ROLE.format(role="vigil_daemon"))
    watcher = Watcher(env)
    watcher.start()
    try:
        out = check(env.run(play, vigil_deadtime_ms=1100))
    finally:
        watcher.stop.set()
        watcher.join()
    turns = restart_turns(out)
    assert sorted(turns) == list(NODES) and turns[-1] == web_node, out[-6000:]
    assert all(env.pid(node) != pids[node] for node in NODES)
    assert all(
        yaml.safe_load((env.local_dir / n / "etc" / "vigil" / "vigil.yaml").read_text())
        ["timing"]["deadtime_ms"] == 1100 for n in NODES)
    assert min(online for _, _, online in watcher.samples if online) >= 2, watcher.samples
    assert watcher.longest_outage_s() < 2.0, watcher.samples
    # the same configuration again: nothing restarts
    pids = {node: env.pid(node) for node in NODES}
    out = check(env.run(play, vigil_deadtime_ms=1100))
    assert restart_turns(out) == [] and all(env.pid(n) == pids[n] for n in NODES)
    assert recap(out)["node1"]["changed"] == 0, out[-6000:]


def build_wheel(tmp: Path, version: str) -> Path:
    """A wheel of this checkout that says it is ``version``."""
    src = tmp / f"src-{version}"
    shutil.copytree(ROOT / "daemon", src / "daemon",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "README.md", src / "README.md")
    pyproject = (ROOT / "pyproject.toml").read_text()
    (src / "pyproject.toml").write_text(pyproject.replace('version = "0.1.0"',
                                                          f'version = "{version}"', 1))
    init = src / "daemon" / "vigil" / "__init__.py"
    init.write_text(re.sub(r'__version__ = "[^"]*"', f'__version__ = "{version}"',
                           init.read_text()))
    out = tmp / f"dist-{version}"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(out), str(src)],
                   check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = out.glob("vigil_ha-*.whl")
    return wheel


def test_rolling_upgrade_installs_a_new_version_one_node_at_a_time(env: Env) -> None:
    """Under serial: 1, with a wheel of a newer version: every daemon is restarted on its
    turn and runs the new version afterwards; the node running the web group goes last."""
    wheel = build_wheel(env.tmp, "0.1.0.post1")
    pids = {node: env.pid(node) for node in NODES}
    web_node = where(env.status(), "www")[0]
    assert {env.status(n)["daemon_version"] for n in NODES} == {"0.1.0"}
    report_path = env.tmp / "upgrade.yml"
    watcher = Watcher(env)
    watcher.start()
    try:
        out = check(env.run(ROOT / "playbooks" / "rolling.yml", vigil_rolling_action="upgrade",
                            vigil_package=str(wheel),
                            vigil_wheelhouse=str(ROOT / "dist" / "wheelhouse"),
                            vigil_rolling_report_path=str(report_path)))
    finally:
        watcher.stop.set()
        watcher.join()
    report = yaml.safe_load(report_path.read_text())
    order = [n["node"] for n in report["nodes"]]
    assert sorted(order) == list(NODES) and order[-1] == web_node, out[-4000:]
    assert all(n["action"] == "upgrade" for n in report["nodes"])
    assert {env.status(n)["daemon_version"] for n in NODES} == {"0.1.0.post1"}
    assert all(env.pid(node) != pids[node] for node in NODES)
    status = env.status()
    assert all(n["online"] and not n["standby"] for n in status["nodes"])
    assert min(online for _, _, online in watcher.samples if online) >= 2, watcher.samples
    assert watcher.longest_outage_s() < 2.0, watcher.samples
    assert page(env.url) == "vigil roles test\n"


def test_fence_drill_fences_a_node_and_waits_until_it_rejoins(env: Env) -> None:
    host_map = ";".join(f"{n}:{env.local_dir / n / 'etc' / 'vigil' / 'vigil.yaml'}" for n in NODES)
    check(
        env.run(
            env.plays["vigil_cluster"],
            vigil_cluster_properties={"stonith-enabled": True},
            vigil_cluster_stonith_devices=[
                {
                    "id": "fence-loop",
                    "agent": "stonith:fence_vigil_loopback",
                    "params": {"pcmk_host_map": host_map},
                    "ops": [{"name": "monitor", "interval": "60s"}],
                }
            ],
        )
    )
    # the DC first (a peer fences it), then another node (the new DC fences it)
    dc = env.status()["dc"]
    other = next(n for n in NODES if n != dc)
    pids = {n: env.pid(n) for n in NODES}
    started = time.time()
    report_path = env.tmp / "fence.yml"
    out = check(
        env.run(
            ROOT / "playbooks" / "validate.yml",
            vigil_validate_report_path=str(report_path),
            vigil_validate_require_fencing=True,
            vigil_validate_fence_drill=True,
            vigil_validate_fence_nodes=[dc, other],
            vigil_validate_fence_start_daemon=True,
        )
    )
    report = yaml.safe_load(report_path.read_text())
    assert [(c["name"], c["result"]) for c in report["checks"]] == [
        ("health", "passed"),
        (f"fence drill {dc}", "passed"),
        (f"fence drill {other}", "passed"),
    ], out[-4000:]
    for check_, node in zip(report["checks"][1:], (dc, other), strict=True):
        entry = check_["details"]["history"]
        assert (entry["target"], entry["action"], entry["state"], entry["device"]) == (
            node, "reboot", "success", "fence-loop")
        # carried out by the node the drill asked, not by the target; a new boot came back
        assert entry["origin"] == check_["details"]["asked"] != node
        assert check_["details"]["new_boot"] in (True, "True")
    # the cluster's own history has each fencing once: the DC elected after the old DC was
    # fenced did not fence it a second time
    history = json.loads(env.vigilctl("fence", "history", "--json").stdout)
    recent = [(e["target"], e["state"]) for e in history if e["requested"] >= started - 1]
    assert sorted(recent) == sorted([(dc, "success"), (other, "success")]), history
    assert all(env.pid(n) != pids[n] for n in (dc, other))
    status = env.status()
    assert all(n["online"] and not n["unclean"] for n in status["nodes"])
    assert status["dc"] is not None
