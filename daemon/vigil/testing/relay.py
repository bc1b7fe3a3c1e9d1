"""A user-space netem: copy Ethernet frames between two interfaces, delaying and dropping
those going one way (for kernels without ``sch_netem``; root, AF_PACKET).

:class:`vigil.testing.netns.Fabric` splices it between a node's switch port and the bridge::

    python -m vigil.testing.relay NODE_SIDE SWITCH_SIDE --delay-ms 50 --loss-pct 10 --direction out

It prints ``ready`` once both sockets are open and runs until killed. Frames must carry real
checksums and be MTU-sized: the fabric switches checksum offload and GSO off first
(``OFFLOADS_OFF``).
"""

from __future__ import annotations

import argparse
import heapq
import random
import select
import socket
import sys
import time
from typing import Literal

Direction = Literal["out", "in", "both"]


# Run inside a node's namespace: switch off checksum offload and GSO on one interface
# (ETHTOOL_STXCSUM, ETHTOOL_SGSO ioctls; there is no ethtool binary on every machine).
OFFLOADS_OFF = """
import array, fcntl, socket, struct, sys
for cmd in (0x17, 0x24):
    buf = array.array('B', struct.pack('II', cmd, 0))
    ifr = struct.pack('16sP', sys.argv[1].encode(), buf.buffer_info()[0])
    with socket.socket() as s:
        fcntl.ioctl(s, 0x8946, ifr)
"""


ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def _packet_socket(ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((ifname, ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setblocking(False)
    return sock


def relay(node_side: str, switch_side: str, delay_ms: float, jitter_ms: float,
          loss_pct: float, direction: Direction) -> None:
    """Copy frames between two interfaces, delaying/dropping those going ``direction``.

    Frames the node sends arrive on ``node_side`` and leave on ``switch_side`` ("out");
    frames for the node take the reverse path ("in"). Runs until killed.
    """
    rng = random.Random()
    a, b = _packet_socket(node_side), _packet_socket(switch_side)
    route = {a.fileno(): (a, b, direction in ("out", "both")),
             b.fileno(): (b, a, direction in ("in", "both"))}
    due: list[tuple[float, int, int, bytes]] = []  # (time, order, out fd, frame)
    order = 0
    print("ready", flush=True)
    while True:
        timeout = max(due[0][0] - time.monotonic(), 0) if due else None
        readable, _, _ = select.select(list(route), [], [], timeout)
        now = time.monotonic()
        for fd in readable:
            src, dst, impaired = route[fd]
            for frame in _drain(src):
                if not impaired:
                    _send(dst, frame)
                elif rng.random() * 100 >= loss_pct:
                    wait_s = max(delay_ms + rng.uniform(-jitter_ms, jitter_ms), 0) / 1000
                    order += 1
                    heapq.heappush(due, (now + wait_s, order, dst.fileno(), frame))
        while due and due[0][0] <= time.monotonic():
            _, _, out_fd, frame = heapq.heappop(due)
            _send(route[out_fd][0], frame)


def _drain(sock: socket.socket) -> list[bytes]:
    frames: list[bytes] = []
    while True:
        try:
            frame, addr = sock.recvfrom(1 << 16)
        except OSError:  # nothing left, or the link went down (a cut): carry on
            return frames
        if addr[2] != PACKET_OUTGOING:
            frames.append(frame)


def _send(sock: socket.socket, frame: bytes) -> None:
    try:
        sock.send(frame)
    except OSError:
        pass  # link down or queue full: the frame is lost, as on a wire


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vigil.testing.relay",
                                description="delay/drop frames between two interfaces")
    p.add_argument("node_side")
    p.add_argument("switch_side")
    p.add_argument("--delay-ms", type=float, default=0)
    p.add_argument("--jitter-ms", type=float, default=0)
    p.add_argument("--loss-pct", type=float, default=0)
    p.add_argument("--direction", choices=["out", "in", "both"], default="out")
    args = p.parse_args(argv)
    relay(args.node_side, args.switch_side, args.delay_ms, args.jitter_ms, args.loss_pct,
          args.direction)
    return 0


if __name__ == "__main__":
    sys.exit(main())
