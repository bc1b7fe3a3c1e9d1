"""Small probes for tests and benchmarks against real vigild processes: a free port, a
process's memory from /proc."""

from __future__ import annotations

import random
import socket


def free_port(hosts: int = 3) -> int:
    """A port free on 127.0.0.1..N for TCP and UDP, below the ephemeral range (32768+), so
    no client connection of another test can hold it when the daemons bind."""
    rng = random.Random()
    for _ in range(100):
        port = rng.randint(10_000, 32_000)
        try:
            for i in range(1, hosts + 1):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    with socket.socket(socket.AF_INET, kind) as sock:
                        sock.bind((f"127.0.0.{i}", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port found")


def proc_status_kib(pid: int, field: str = "VmRSS") -> int:
    """A ``kB`` field of /proc/PID/status: VmRSS (now) or VmHWM (peak RSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(f"{field} not in /proc/{pid}/status")
