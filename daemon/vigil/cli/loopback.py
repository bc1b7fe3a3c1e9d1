"""Simulated power loss of a node that shares this machine with other nodes.

Several vigil nodes can run on one machine (loopback tests, the demo). Killing only the
daemon is not a node failure: the services it started would keep running. A power-off
SIGKILLs the node's daemon (its pidfile, or the process running with its config) and every
process whose environment carries the node's agent state directory (``HA_VARRUN``,
which the executor sets for every agent it runs).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from ..config import load_config


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    out = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            out[key.decode(errors="replace")] = value.decode(errors="replace")
    return out


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def node_pids(config: Path) -> list[int]:
    cfg = load_config(config)
    varrun = str(cfg.state_dir / "run").rstrip("/")
    config_abs = str(config.resolve())
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        env = _environ(pid)
        if env.get("HA_VARRUN", "").rstrip("/") == varrun:
            found.append(pid)
            continue
        args = _cmdline(pid)
        if any(a.endswith("vigild") or a.endswith("vigild.py") or a == "vigil.cli.vigild"
               for a in args[:3]) and _config_arg(args) == config_abs:
            found.append(pid)
    return sorted(found)


def _config_arg(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            return str(Path(args[i + 1]).resolve())
        if arg.startswith("--config="):
            return str(Path(arg.split("=", 1)[1]).resolve())
    return None


def poweroff(config: Path) -> str:
    pids = node_pids(config)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    cfg = load_config(config)
    return (f"node {cfg.node_name} powered off: killed {len(pids)} processes"
            + (f" ({', '.join(map(str, pids))})" if pids else ""))
