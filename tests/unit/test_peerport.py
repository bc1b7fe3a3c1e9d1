"""The peer port's rules on a real socket, in-process: what passes before and after a
stream has proven its sender (rolling upgrades: the previous version sends a large CIB as
one frame), fragments joined, and the caps."""

import asyncio
import os
import socket
import struct

from vigil import wire
from vigil.io import peerport
from vigil.io.listen import Counters
from vigil.io.peerport import PeerPort

KEY = os.urandom(32)


def frame(seq: int, msg: dict) -> bytes:
    sealed = wire.seal(KEY, 1, 1, seq, msg, os.urandom(12), wire.MAX_MESSAGE)
    return struct.pack("!I", len(sealed)) + sealed


async def run_port(payloads: list[bytes], source: str = "127.0.0.1"):
    got, counters = [], Counters()

    def open_frame(data: bytes):
        try:
            sender, inc, _seq, msg = wire.open_packet([KEY], data, wire.MAX_MESSAGE)
        except Exception:
            counters.bump("packets_dropped_auth")
            return None
        return sender, inc, msg

    port = PeerPort(open_frame, lambda s, i, m: got.append(m), counters,
                    lambda: {"127.0.0.1"})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        number = probe.getsockname()[1]
    port.start("127.0.0.1", number)
    for data in payloads:
        reader, writer = await asyncio.open_connection("127.0.0.1", number,
                                                       local_addr=(source, 0))
        try:
            writer.write(data)
            await writer.drain()
            writer.write_eof()
            await reader.read()  # the port closes the stream at its end or first bad frame
        except ConnectionError:
            pass  # closed before all was sent: a refused frame
        writer.close()
    port.close()
    return got, counters


def test_after_a_proven_first_frame_a_large_legacy_frame_passes():
    big = {"t": "cib_push", "xml": "x" * (3 * wire.MAX_FRAME)}
    got, _ = asyncio.run(run_port([frame(1, {"t": "hello"}) + frame(2, big)]))
    assert got == [{"t": "hello"}, big]


def test_a_large_first_frame_is_refused_before_it_is_read():
    big = {"t": "cib_push", "xml": "x" * (3 * wire.MAX_FRAME)}
    got, counters = asyncio.run(run_port([frame(1, big)]))
    assert got == [] and counters["packets_dropped_size"] == 1


def test_fragments_are_delivered_as_one_message():
    big = {"t": "cib_push", "xml": "y" * (3 * wire.MAX_FRAME)}
    bodies = wire.split(wire.encode(big), 1)
    data = b"".join(frame(i + 1, wire.decode(b)) for i, b in enumerate(bodies))
    got, _ = asyncio.run(run_port([data]))
    assert got == [big]


def test_strangers_are_capped_per_source(monkeypatch):
    monkeypatch.setattr(peerport, "AUTH_TIMEOUT_S", 0.5)

    async def attack():
        counters = Counters()
        port = PeerPort(lambda d: None, lambda *a: None, counters, lambda: set())
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            number = probe.getsockname()[1]
        port.start("127.0.0.1", number)
        conns = [await asyncio.open_connection("127.0.0.1", number,
                                               local_addr=("127.0.0.77", 0))
                 for _ in range(10)]
        await asyncio.sleep(1.0)
        for _r, w in conns:
            w.close()
        port.close()
        return counters

    counters = asyncio.run(attack())
    assert counters["connections_dropped_limit"] == 10 - peerport.MAX_UNAUTH_PER_SOURCE
    assert counters["connections_dropped_auth_timeout"] == peerport.MAX_UNAUTH_PER_SOURCE
