"""Cluster transport shell: UDP heartbeats (multicast or unicast) and TCP messages.

Both carry packets sealed by :mod:`vigil.wire`. UDP datagrams are checked by the replay
guard and dropped with a counted reason when anything is wrong; TCP frames are a 4-byte
big-endian length and a sealed packet of at most ``wire.MAX_FRAME`` bytes (larger messages
go as fragments), one connection per direction and peer, opened lazily and re-opened after
an error. Inbound streams, and what they may cost before they are authenticated, are
:mod:`.peerport`'s. A message to an unreachable peer is dropped (the cores recover
through heartbeats: version adverts, timeouts), never queued forever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

from .. import wire
from ..config import Config
from ..errors import ProtocolError
from .listen import Counters
from .peerport import PeerPort

log = logging.getLogger("vigil.transport")
MAX_FRAME = wire.MAX_FRAME
OnPacket = Callable[[int, int, dict[str, Any]], None]
__all__ = ["Counters", "MAX_FRAME", "Transport"]


class Transport:
    def __init__(self, cfg: Config, keys: list[bytes], incarnation: int,
                 on_heartbeat: OnPacket, on_message: OnPacket) -> None:
        self.cfg = cfg
        self.keys = keys
        self.incarnation = incarnation
        self.on_heartbeat = on_heartbeat
        self.on_message = on_message
        self.seq = 0
        self.guard = wire.ReplayGuard()
        self.counters = Counters(packets_received=0, packets_sent=0, packets_dropped_auth=0,
                                 packets_dropped_malformed=0, packets_dropped_replay=0,
                                 packets_dropped_size=0, messages_dropped_unreachable=0)
        self.udp: asyncio.DatagramTransport | None = None
        self.port = PeerPort(lambda data: self._open(data, self.guard, wire.MAX_MESSAGE),
                             self.on_message, self.counters,
                             lambda: {n.address for n in self.cfg.nodes})
        self.writers: dict[int, asyncio.StreamWriter] = {}
        self.connecting: dict[int, asyncio.Task[None]] = {}
        self.queues: dict[int, list[bytes]] = {}

    # ------------------------------------------------------------------ set-up
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = self._udp_socket()
        self.udp, _ = await loop.create_datagram_endpoint(
            lambda: _Datagrams(self), sock=sock)
        self.port.start(self.cfg.me.address, self.cfg.port)

    def _udp_socket(self) -> socket.socket:
        cfg = self.cfg
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # bursts of 64 nodes
        if cfg.transport_mode == "multicast":
            sock.bind((cfg.group, cfg.port))
            iface = socket.inet_aton(cfg.interface)
            mreq = socket.inet_aton(cfg.group) + iface
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, iface)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, cfg.ttl)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        else:
            sock.bind((cfg.me.address, cfg.port))
        sock.setblocking(False)
        return sock

    async def close(self) -> None:
        if self.udp:
            self.udp.close()
        self.port.close()
        for task in self.connecting.values():
            task.cancel()
        for writer in self.writers.values():
            writer.close()

    # ------------------------------------------------------------------ sealing
    def _seal(self, msg: dict[str, Any]) -> bytes:
        return self._seal_body(wire.encode(msg))

    def _seal_body(self, body: bytes) -> bytes:
        self.seq += 1
        return wire.seal_body(self.keys[0], self.cfg.me.id, self.incarnation, self.seq, body,
                              os.urandom(wire.NONCE_LEN),
                              max_size=wire.MAX_MESSAGE + wire.OVERHEAD)

    def _open(self, data: bytes, guard: wire.ReplayGuard | None,
              max_size: int) -> tuple[int, int, dict[str, Any]] | None:
        try:
            sender, inc, seq, msg = wire.open_packet(self.keys, data, max_size=max_size)
        except ProtocolError as exc:
            reason = str(exc).split(":", 1)[0]
            self.counters.bump(f"packets_dropped_{reason}")
            return None
        if sender == self.cfg.me.id:
            return None  # our own multicast, looped back
        if self.cfg.node_by_id(sender) is None:
            self.counters.bump("packets_dropped_malformed")
            return None
        if guard is not None and not guard.accept(sender, inc, seq):
            self.counters.bump("packets_dropped_replay")
            return None
        self.counters.bump("packets_received")
        return sender, inc, msg

    # ------------------------------------------------------------------ heartbeats
    def broadcast(self, msg: dict[str, Any]) -> None:
        if self.udp is None:
            return
        packet = self._seal(msg)
        if len(packet) > wire.MAX_PACKET:
            log.error("heartbeat of %d bytes not sent: too large", len(packet))
            return
        if self.cfg.transport_mode == "multicast":
            targets = [(self.cfg.group, self.cfg.port)]
        else:
            targets = [(n.address, self.cfg.port) for n in self.cfg.nodes
                       if n.id != self.cfg.me.id]
        for target in targets:
            self.udp.sendto(packet, target)
            self.counters.bump("packets_sent")

    def datagram(self, data: bytes) -> None:
        opened = self._open(data, self.guard, wire.MAX_PACKET)
        if opened:
            sender, inc, msg = opened
            self.on_heartbeat(sender, inc, msg)

    # ------------------------------------------------------------------ messages
    def send(self, node_id: int, msg: dict[str, Any]) -> None:
        try:
            bodies = wire.split(wire.encode(msg), self.seq + 1)
        except ProtocolError as exc:
            log.error("message %r to node %s not sent: %s", msg.get("t"), node_id, exc)
            self.counters.bump("messages_dropped_size")
            return
        frames = [self._seal_body(body) for body in bodies]
        data = b"".join(struct.pack("!I", len(frame)) + frame for frame in frames)
        writer = self.writers.get(node_id)
        if writer is not None and not writer.is_closing():
            writer.write(data)
            return
        self.queues.setdefault(node_id, []).append(data)
        if node_id not in self.connecting:
            self.connecting[node_id] = asyncio.ensure_future(self._connect(node_id))

    async def _connect(self, node_id: int) -> None:
        node = self.cfg.node_by_id(node_id)
        try:
            if node is None:
                raise OSError(f"unknown node {node_id}")
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(node.address, self.cfg.port,
                                        local_addr=(self.cfg.me.address, 0)), 2.0)
            self.writers[node_id] = writer
            for data in self.queues.pop(node_id, []):
                writer.write(data)
        except (TimeoutError, OSError) as exc:
            dropped = len(self.queues.pop(node_id, []))
            self.counters["messages_dropped_unreachable"] += dropped
            log.debug("node %s unreachable (%s): %d messages dropped", node_id, exc, dropped)
        finally:
            if self.connecting.get(node_id) is asyncio.current_task():
                del self.connecting[node_id]

    def forget(self, node_id: int) -> None:
        """Drop the connection to a peer that left or restarted, and what waits for it.

        Messages queued for the old process are dropped (counted as unreachable): the
        cores resend what still matters to the new one.
        """
        writer = self.writers.pop(node_id, None)
        if writer is not None:
            writer.close()
        task = self.connecting.pop(node_id, None)
        if task is not None:
            task.cancel()
        dropped = len(self.queues.pop(node_id, []))
        self.counters["messages_dropped_unreachable"] += dropped


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, transport: Transport) -> None:
        self.owner = transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.owner.datagram(data)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)
