"""Timing and quorum defaults have one source (core/defaults.py) that everything agrees
with: the parsed file, ``Config``, the controller's ``ClusterSpec`` (core/spec.py),
docs/configuration.md and the vigil_daemon role's defaults."""

import dataclasses
import re
from pathlib import Path

import yaml

from vigil.config import Config, NodeSpec, parse_config
from vigil.core import defaults as D
from vigil.core.spec import ClusterSpec

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = {"cluster_name": "c", "node_name": "n1",
           "nodes": [{"name": "n1", "id": 1, "address": "10.0.0.1"}]}
# key in the file (section.key) -> (Config field, ClusterSpec field, the shared default)
KEYS = {
    "timing.heartbeat_interval_ms": ("heartbeat_interval_ms", "heartbeat_interval_ms",
                                     D.HEARTBEAT_INTERVAL_MS),
    "timing.deadtime_ms": ("deadtime_ms", "deadtime_ms", D.DEADTIME_MS),
    "timing.join_timeout_ms": ("join_timeout_ms", "join_timeout_ms", D.JOIN_TIMEOUT_MS),
    "quorum.expected_votes": ("expected_votes", "expected_votes", D.EXPECTED_VOTES),
    "quorum.two_node": ("two_node", "two_node", D.TWO_NODE),
    "quorum.wait_for_all": ("wait_for_all", "wait_for_all", D.WAIT_FOR_ALL),
    "quorum.last_man_standing": ("last_man_standing", "last_man_standing",
                                 D.LAST_MAN_STANDING),
    "quorum.last_man_standing_window_ms": ("last_man_standing_window_ms", "lms_window_ms",
                                           D.LMS_WINDOW_MS),
}


def defaults_of(cls: type) -> dict[str, object]:
    return {f.name: f.default for f in dataclasses.fields(cls)}


def test_config_cluster_spec_and_the_parser_share_the_defaults():
    parsed = parse_config(MINIMAL)
    built = Config("c", "n1", (NodeSpec("n1", 1, "10.0.0.1"),))
    spec = defaults_of(ClusterSpec)
    for key, (cfg_field, spec_field, value) in KEYS.items():
        assert getattr(parsed, cfg_field) == value, f"parse_config: {key}"
        assert getattr(built, cfg_field) == value, f"Config: {key}"
        assert spec[spec_field] == value, f"ClusterSpec.{spec_field}"


def test_derived_defaults_follow_their_rules():
    slow = parse_config({**MINIMAL, "timing": {"deadtime_ms": 3000}})
    assert slow.join_timeout_ms == D.join_timeout_ms(3000) == 6000
    assert D.JOIN_TIMEOUT_MS == D.join_timeout_ms(D.DEADTIME_MS)
    two = parse_config({**MINIMAL, "nodes": MINIMAL["nodes"] + [
        {"name": "n2", "id": 2, "address": "10.0.0.2"}], "quorum": {"two_node": True}})
    assert two.wait_for_all is True


def test_the_configuration_page_states_the_defaults():
    text = (ROOT / "docs" / "configuration.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block, "docs/configuration.md has no yaml example"
    example = yaml.safe_load(block.group(1))
    for key, (_cfg, _spec, value) in KEYS.items():
        section, name = key.split(".")
        assert example[section][name] == value, f"docs/configuration.md: {key}"


def test_the_daemon_role_writes_the_same_defaults():
    role = yaml.safe_load((ROOT / "roles" / "vigil_daemon" / "defaults" / "main.yml").read_text())
    for key, (_cfg, _spec, value) in KEYS.items():
        var = f"vigil_{key.split('.')[1]}"
        if var in role:
            assert role[var] == value, f"roles/vigil_daemon/defaults/main.yml: {var}"
