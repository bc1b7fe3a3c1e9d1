import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vigil.config import load_config, parse_config
from vigil.errors import ConfigError

GOOD = {
    "cluster_name": "web",
    "node_name": "node1",
    "nodes": [{"name": "node1", "id": 1, "address": "10.0.0.1"},
              {"name": "node2", "id": 2, "address": "10.0.0.2"},
              {"name": "node3", "id": 3, "address": "10.0.0.3"}],
    "transport": {"mode": "multicast", "group": "239.255.86.1", "port": 5486,
                  "interface": "10.0.0.1"},
    "timing": {"heartbeat_interval_ms": 200, "deadtime_ms": 1000},
    "authkey": "/etc/vigil/authkey",
    "state_dir": "/var/lib/vigil",
    "control_socket": "/run/vigil/vigil.sock",
}


def with_(path, value):
    raw = yaml.safe_load(yaml.safe_dump(GOOD))
    keys = path.split(".")
    target = raw
    for k in keys[:-1]:
        target = target[int(k)] if isinstance(target, list) else target[k]
    last = keys[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return raw


def test_good_config_parses_with_defaults():
    cfg = parse_config(GOOD)
    assert cfg.me.address == "10.0.0.1"
    assert cfg.total_votes == 3
    assert cfg.join_timeout_ms == 2000


@pytest.mark.parametrize("path,value,where", [
    ("transport.port", 70000, "transport.port"),
    ("transport.group", "10.1.1.1", "transport.group"),
    ("timing.deadtime_ms", 100, "timing.deadtime_ms"),
    ("node_name", "node9", "node_name"),
    ("nodes.1.address", "not-an-ip", "nodes[1].address"),
    ("nodes.2.id", 1, "nodes[2].id"),
    ("transport.mode", "carrier-pigeon", "transport.mode"),
    ("quorum", {"two_node": True}, "quorum.two_node"),
])
def test_errors_name_the_key_path(path, value, where):
    with pytest.raises(ConfigError) as info:
        parse_config(with_(path, value))
    assert where in [p for p, _ in info.value.errors], info.value.errors


def test_unknown_keys_and_every_error_reported():
    raw = with_("transport.port", "x")
    raw["colour"] = "blue"
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    paths = [p for p, _ in info.value.errors]
    assert "colour" in paths and "transport.port" in paths


def test_relative_paths_resolve_next_to_the_file(tmp_path):
    raw = dict(GOOD, state_dir="state", control_socket="s.sock", authkey="key")
    path = tmp_path / "vigil.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg = load_config(path)
    assert cfg.state_dir == tmp_path / "state"
    assert cfg.control_socket == tmp_path / "s.sock"


def run_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigil.cli.vigild", "--check-config",
                           str(path)], capture_output=True, text=True)


def test_check_config_cli(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(GOOD))
    assert run_check(good).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(with_("timing.heartbeat_interval_ms", "fast")))
    res = run_check(bad)
    assert res.returncode == 2
    assert "timing.heartbeat_interval_ms" in res.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("cluster_name: [unclosed\n")
    res = run_check(broken)
    assert res.returncode == 2 and "line" in res.stderr


@pytest.mark.parametrize("mode,refused", [(0o400, False), (0o600, False), (0o440, True),
                                          (0o640, True), (0o644, True), (0o604, True),
                                          (0o620, True)])
def test_an_authkey_group_or_others_may_use_is_refused(tmp_path, mode, refused):
    from vigil.config import authkey_errors

    ok, loose = tmp_path / "ok.key", tmp_path / "loose.key"
    for key, key_mode in ((ok, 0o400), (loose, mode)):
        key.write_bytes(b"k" * 32)
        key.chmod(key_mode)
    cfg = parse_config(dict(GOOD, authkey=str(ok), authkey_accept=[str(loose)]))
    errors = authkey_errors(cfg)
    assert bool(errors) == refused
    if refused:
        assert errors == [("authkey_accept[0]", f"{loose} has mode {mode:04o}: group or "
                           "others may read or change it; the cluster key must be for its "
                           "owner only (chmod 0400 or 0600)")]
