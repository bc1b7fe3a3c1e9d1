"""From the configuration file to the running node: authkeys, the cluster spec, reload.

A reload (SIGHUP, or the ``reload`` control op) applies at once: the node list (nodes
added or removed; this node's own entry must stay), the authkeys (rotation: send with
``authkey``, also accept ``authkey_accept``), ``expected_votes`` and ``log_level``. Other
changes are reported as needing a restart. A file that does not validate, a key that
cannot be read or is too open, or a change to this node's own name, id or address changes
nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from ..config import Config, check_authkeys, load_config
from ..core.spec import ClusterSpec
from ..errors import VigilError

log = logging.getLogger("vigil.node")

# what a reload applies at once; every other setting needs a restart
RELOADABLE = ("nodes", "authkey", "authkey_accept", "expected_votes", "log_level")


def read_authkey(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise VigilError(f"authkey {path}: {exc.strerror} (create it with vigilctl keygen)"
                         ) from exc
    if len(key) != 32:
        raise VigilError(f"authkey {path}: must hold exactly 32 bytes, it holds {len(key)}")
    return key


def read_keys(cfg: Config) -> list[bytes]:
    """The key packets are sealed with, then the other keys accepted on receive."""
    check_authkeys(cfg)  # a key that group or others may read is refused (also on reload)
    return [read_authkey(cfg.authkey), *(read_authkey(p) for p in cfg.authkey_accept)]


def spec_from_config(cfg: Config) -> ClusterSpec:
    return ClusterSpec(
        cluster_name=cfg.cluster_name, me=cfg.me.id,
        names={n.id: n.name for n in cfg.nodes}, votes={n.id: n.votes for n in cfg.nodes},
        heartbeat_interval_ms=cfg.heartbeat_interval_ms, deadtime_ms=cfg.deadtime_ms,
        join_timeout_ms=cfg.join_timeout_ms, expected_votes=cfg.expected_votes,
        two_node=cfg.two_node, wait_for_all=cfg.wait_for_all,
        last_man_standing=cfg.last_man_standing, lms_window_ms=cfg.last_man_standing_window_ms,
    )


@dataclasses.dataclass(frozen=True)
class Reloaded:
    cfg: Config  # the running configuration with the reloadable settings of the file
    keys: list[bytes]
    needs_restart: list[str]  # settings that changed but apply only after a restart
    keys_changed: bool
    nodes_changed: bool

    def report(self, source: Path) -> dict[str, Any]:
        """Log what the reload of ``source`` did; the control op's answer."""
        if self.needs_restart:
            log.warning("reload: %s changed but only apply after a restart",
                        ", ".join(self.needs_restart))
        log.info("configuration reloaded from %s (keys %s, nodes %s)", source,
                 "changed" if self.keys_changed else "unchanged",
                 "changed" if self.nodes_changed else "unchanged")
        return {"ok": True, "result": {"keys_changed": self.keys_changed,
                                       "nodes_changed": self.nodes_changed,
                                       "needs_restart": self.needs_restart}}


def reread(cfg: Config, keys: list[bytes]) -> Reloaded:
    """Read ``cfg``'s file again; what to apply. Raises VigilError, changing nothing."""
    source = cfg.source
    if source is None:
        raise VigilError("this node was not started from a file")
    new = load_config(source)
    if new.node_name != cfg.node_name or new.me != cfg.me:
        raise VigilError("this node's own name, id or address changed: restart instead")
    new_keys = read_keys(new)
    restart = sorted(f.name for f in dataclasses.fields(Config)
                     if f.name not in (*RELOADABLE, "source")
                     and getattr(new, f.name) != getattr(cfg, f.name))
    applied = dataclasses.replace(
        cfg, nodes=new.nodes, authkey=new.authkey, authkey_accept=new.authkey_accept,
        expected_votes=new.expected_votes, log_level=new.log_level)
    return Reloaded(applied, new_keys, restart, new_keys != keys, applied.nodes != cfg.nodes)
