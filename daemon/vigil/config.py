"""Node configuration: load, validate and explain (``vigild --check-config``).

Every error names the key path that is wrong (``nodes[1].address``, ``timing.deadtime_ms``)
so an operator can fix the file without reading code. Validation collects all errors, not
only the first.
"""

from __future__ import annotations

import ipaddress
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .core import defaults as D
from .errors import ConfigError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_GROUP = "239.255.86.1"
DEFAULT_PORT = 5486


@dataclass(frozen=True)
class NodeSpec:
    name: str
    id: int
    address: str
    votes: int = 1


@dataclass(frozen=True)
class Config:
    cluster_name: str
    node_name: str
    nodes: tuple[NodeSpec, ...]
    transport_mode: str = "multicast"
    group: str = DEFAULT_GROUP
    port: int = DEFAULT_PORT
    interface: str = "0.0.0.0"
    ttl: int = 1
    heartbeat_interval_ms: int = D.HEARTBEAT_INTERVAL_MS
    deadtime_ms: int = D.DEADTIME_MS
    join_timeout_ms: int = D.JOIN_TIMEOUT_MS
    expected_votes: int | None = D.EXPECTED_VOTES
    two_node: bool = D.TWO_NODE
    wait_for_all: bool = D.WAIT_FOR_ALL
    last_man_standing: bool = D.LAST_MAN_STANDING
    last_man_standing_window_ms: int = D.LMS_WINDOW_MS
    authkey: Path = Path("/etc/vigil/authkey")
    authkey_accept: tuple[Path, ...] = ()  # also accepted on receive (key rotation)
    state_dir: Path = Path("/var/lib/vigil")
    control_socket: Path = Path("/run/vigil/vigil.sock")
    agent_roots: tuple[Path, ...] = ()
    log_level: str = "info"
    discovery: bool = True
    metrics_listen: tuple[str, int] | None = None  # (address, port) of the /metrics endpoint
    source: Path | None = field(default=None, compare=False)

    @property
    def me(self) -> NodeSpec:
        return next(n for n in self.nodes if n.name == self.node_name)

    def node_by_id(self, node_id: int) -> NodeSpec | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def node_by_name(self, name: str) -> NodeSpec | None:
        return next((n for n in self.nodes if n.name == name), None)

    @property
    def total_votes(self) -> int:
        if self.expected_votes is not None:
            return self.expected_votes
        return sum(n.votes for n in self.nodes)


class _Checker:
    """Collects errors with their key paths while reading a raw mapping."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def section(self, raw: dict[str, Any], key: str) -> dict[str, Any]:
        value = raw.get(key, {})
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping, got {type(value).__name__}")
            return {}
        return value

    def unknown(self, raw: dict[str, Any], allowed: set[str], prefix: str) -> None:
        for key in raw:
            if key not in allowed:
                where = f"{prefix}.{key}" if prefix else str(key)
                self.fail(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def string(self, raw: dict[str, Any], key: str, path: str, default: str | None = None) -> str:
        value = raw.get(key, default)
        if value is None:
            self.fail(path, "is required")
            return ""
        if not isinstance(value, str) or not value:
            self.fail(path, f"must be a non-empty string, got {value!r}")
            return ""
        return value

    def integer(
        self, raw: dict[str, Any], key: str, path: str, default: int | None, lo: int, hi: int
    ) -> int:
        value = raw.get(key, default)
        if value is None:
            self.fail(path, "is required")
            return lo
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"must be an integer, got {value!r}")
            return lo
        if not lo <= value <= hi:
            self.fail(path, f"must be between {lo} and {hi}, got {value}")
        return value

    def boolean(self, raw: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false, got {value!r}")
            return default
        return value

    def address(self, value: str, path: str, multicast: bool = False) -> None:
        try:
            addr = ipaddress.ip_address(value)
        except ValueError:
            self.fail(path, f"is not an IP address: {value!r}")
            return
        if multicast and not addr.is_multicast:
            self.fail(path, f"{value} is not a multicast address (224.0.0.0/4)")


TOP_KEYS = {
    "cluster_name", "node_name", "nodes", "transport", "timing", "quorum", "authkey",
    "authkey_accept", "state_dir", "control_socket", "agent_roots", "log_level", "discovery",
    "metrics_listen",
}


def parse_config(raw: Any, source: Path | None = None) -> Config:
    """Validate a raw (YAML-decoded) mapping; raise ConfigError listing every problem."""
    c = _Checker()
    if not isinstance(raw, dict):
        raise ConfigError("", "the configuration must be a YAML mapping at the top level")
    c.unknown(raw, TOP_KEYS, "")
    cluster_name = c.string(raw, "cluster_name", "cluster_name")
    if cluster_name and not NAME_RE.match(cluster_name):
        c.fail("cluster_name", "must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
    node_name = c.string(raw, "node_name", "node_name")
    nodes = _parse_nodes(c, raw.get("nodes"))
    if node_name and nodes and node_name not in {n.name for n in nodes}:
        c.fail("node_name", f"{node_name!r} is not one of nodes[].name")

    tr = c.section(raw, "transport")
    c.unknown(tr, {"mode", "group", "port", "interface", "ttl"}, "transport")
    mode = tr.get("mode", "multicast")
    if mode not in ("multicast", "unicast"):
        c.fail("transport.mode", f"must be multicast or unicast, got {mode!r}")
    group = c.string(tr, "group", "transport.group", DEFAULT_GROUP)
    if group:
        c.address(group, "transport.group", multicast=True)
    port = c.integer(tr, "port", "transport.port", DEFAULT_PORT, 1, 65535)
    interface = c.string(tr, "interface", "transport.interface", "0.0.0.0")
    if interface:
        c.address(interface, "transport.interface")
    ttl = c.integer(tr, "ttl", "transport.ttl", 1, 1, 255)

    tm = c.section(raw, "timing")
    c.unknown(tm, {"heartbeat_interval_ms", "deadtime_ms", "join_timeout_ms"}, "timing")
    hb = c.integer(tm, "heartbeat_interval_ms", "timing.heartbeat_interval_ms",
                   D.HEARTBEAT_INTERVAL_MS, 10, 60000)
    dead = c.integer(tm, "deadtime_ms", "timing.deadtime_ms", D.DEADTIME_MS, 30, 600000)
    if dead < 3 * hb:
        c.fail("timing.deadtime_ms", f"must be at least 3 x heartbeat_interval_ms ({3 * hb})")
    join = c.integer(tm, "join_timeout_ms", "timing.join_timeout_ms", D.join_timeout_ms(dead),
                     0, 600000)

    q = c.section(raw, "quorum")
    c.unknown(q, {"expected_votes", "two_node", "wait_for_all", "last_man_standing",
                  "last_man_standing_window_ms"}, "quorum")
    expected = q.get("expected_votes", D.EXPECTED_VOTES)
    if expected is not None:
        expected = c.integer(q, "expected_votes", "quorum.expected_votes", D.EXPECTED_VOTES,
                             1, 1000)
    two_node = c.boolean(q, "two_node", "quorum.two_node", D.TWO_NODE)
    wait_for_all = c.boolean(q, "wait_for_all", "quorum.wait_for_all",
                             two_node or D.WAIT_FOR_ALL)
    if two_node and len(nodes) != 2:
        c.fail("quorum.two_node", f"needs exactly 2 nodes, the file lists {len(nodes)}")
    lms = c.boolean(q, "last_man_standing", "quorum.last_man_standing", D.LAST_MAN_STANDING)
    lms_window = c.integer(q, "last_man_standing_window_ms",
                           "quorum.last_man_standing_window_ms", D.LMS_WINDOW_MS, 1000, 3600000)
    if lms and two_node:
        c.fail("quorum.last_man_standing", "cannot be combined with two_node")

    authkey = c.string(raw, "authkey", "authkey", "/etc/vigil/authkey")
    accept = raw.get("authkey_accept") or []
    if not isinstance(accept, list) or not all(isinstance(a, str) and a for a in accept):
        c.fail("authkey_accept", "must be a list of authkey file paths")
        accept = []
    metrics = raw.get("metrics_listen")
    metrics_at: tuple[str, int] | None = None
    if metrics is not None:
        host, _, port_text = str(metrics).rpartition(":")
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            c.fail("metrics_listen", f"must be ADDRESS:PORT, got {metrics!r}")
        else:
            c.address(host, "metrics_listen")
            metrics_at = (host, int(port_text))
    state_dir = c.string(raw, "state_dir", "state_dir", "/var/lib/vigil")
    socket_path = c.string(raw, "control_socket", "control_socket", "/run/vigil/vigil.sock")
    if len(socket_path.encode()) > 107:
        c.fail("control_socket", "path is longer than a Unix socket allows (107 bytes)")
    roots = raw.get("agent_roots") or []
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        c.fail("agent_roots", "must be a list of directory paths")
        roots = []
    log_level = raw.get("log_level", "info")
    if log_level not in ("debug", "info", "warning", "error"):
        c.fail("log_level", f"must be debug, info, warning or error, got {log_level!r}")

    discovery = c.boolean(raw, "discovery", "discovery", True)
    if c.errors:
        raise ConfigError(c.errors[0][0], c.errors[0][1], c.errors)
    base = source.parent if source else Path.cwd()
    return Config(
        cluster_name=cluster_name, node_name=node_name, nodes=tuple(nodes),
        transport_mode=str(mode), group=group, port=port, interface=interface, ttl=ttl,
        heartbeat_interval_ms=hb, deadtime_ms=dead, join_timeout_ms=join,
        expected_votes=expected, two_node=two_node, wait_for_all=wait_for_all,
        last_man_standing=lms, last_man_standing_window_ms=lms_window,
        authkey=base / authkey, authkey_accept=tuple(base / a for a in accept),
        state_dir=base / state_dir, control_socket=base / socket_path,
        agent_roots=tuple(base / r for r in roots), log_level=str(log_level),
        discovery=discovery, metrics_listen=metrics_at, source=source,
    )


def _parse_nodes(c: _Checker, raw: Any) -> list[NodeSpec]:
    if raw is None:
        c.fail("nodes", "is required (a list of {name, id, address})")
        return []
    if not isinstance(raw, list) or not raw:
        c.fail("nodes", "must be a non-empty list of {name, id, address}")
        return []
    if len(raw) > 64:
        c.fail("nodes", f"at most 64 nodes are supported, got {len(raw)}")
    nodes: list[NodeSpec] = []
    seen: dict[str, set[Any]] = {"name": set(), "id": set(), "address": set()}
    for i, item in enumerate(raw):
        path = f"nodes[{i}]"
        if not isinstance(item, dict):
            c.fail(path, "must be a mapping with name, id, address")
            continue
        c.unknown(item, {"name", "id", "address", "votes"}, path)
        name = c.string(item, "name", f"{path}.name")
        if name and not NAME_RE.match(name):
            c.fail(f"{path}.name", "must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
        node_id = c.integer(item, "id", f"{path}.id", None, 1, 65535)
        address = c.string(item, "address", f"{path}.address")
        if address:
            c.address(address, f"{path}.address")
        votes = c.integer(item, "votes", f"{path}.votes", 1, 0, 255)
        for key, value in (("name", name), ("id", node_id), ("address", address)):
            if value in seen[key]:
                c.fail(f"{path}.{key}", f"duplicate {key} {value!r}")
            seen[key].add(value)
        nodes.append(NodeSpec(name=name, id=node_id, address=address, votes=votes))
    return nodes


def key_mode_problem(path: Path) -> str | None:
    """Why an existing authkey file is too open (group or others may use it), else None.

    A missing file is not a mode problem: the daemon reports it when it reads the key.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if mode & 0o077:
        return (f"{path} has mode {mode:04o}: group or others may read or change it; "
                "the cluster key must be for its owner only (chmod 0400 or 0600)")
    return None


def authkey_errors(cfg: Config) -> list[tuple[str, str]]:
    """(key path, message) for every configured authkey whose file mode is too open."""
    keys = [("authkey", cfg.authkey)]
    keys += [(f"authkey_accept[{i}]", p) for i, p in enumerate(cfg.authkey_accept)]
    return [(where, why) for where, path in keys if (why := key_mode_problem(path))]


def check_authkeys(cfg: Config) -> None:
    """Refuse a configuration whose key files group or others may read (ConfigError)."""
    errors = authkey_errors(cfg)
    if errors:
        raise ConfigError(errors[0][0], errors[0][1], errors)


def load_config(path: Path) -> Config:
    """Read and validate a config file; errors name the file and key path."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError("", f"cannot read {path}: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError("", f"{path}: not valid YAML{where}: {exc}") from exc
    return parse_config(raw, source=path.resolve())
