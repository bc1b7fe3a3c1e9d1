"""Stream framing: messages over one frame go as fragments, joined only when each is whole,
in order and under the cap; a stream that breaks a rule raises ProtocolError."""

import os

import pytest

from vigil import wire
from vigil.errors import ProtocolError
from vigil.io.control import BadRequest, parse

KEY = os.urandom(32)


def sealed_bodies(msg, msg_id=1):
    bodies = wire.split(wire.encode(msg), msg_id)
    frames = [wire.seal_body(KEY, 1, 7, i + 1, b, os.urandom(12), wire.MAX_FRAME)
              for i, b in enumerate(bodies)]
    return [wire.open_packet([KEY], f, wire.MAX_FRAME)[3] for f in frames], frames


def test_a_small_message_is_one_ordinary_frame():
    msgs, frames = sealed_bodies({"t": "cib", "xml": "<cib/>"})
    assert msgs == [{"t": "cib", "xml": "<cib/>"}] and len(frames) == 1


def test_a_large_message_is_fragments_under_a_mebibyte_each_and_joins_back():
    msg = {"t": "cib_push", "xml": "x" * (3 * wire.MAX_FRAME)}
    msgs, frames = sealed_bodies(msg)
    assert len(frames) > 1 and all(len(f) <= wire.MAX_FRAME for f in frames)
    joiner = wire.Reassembler()
    out = [joiner.feed(1, m) for m in msgs]
    assert out[:-1] == [None] * (len(msgs) - 1) and out[-1] == msg


def test_fragments_out_of_order_from_another_sender_or_interleaved_are_refused():
    msgs, _ = sealed_bodies({"t": "cib_push", "xml": "y" * (2 * wire.MAX_FRAME)})
    with pytest.raises(ProtocolError, match="malformed"):
        wire.Reassembler().feed(1, msgs[1])
    j = wire.Reassembler()
    j.feed(1, msgs[0])
    with pytest.raises(ProtocolError, match="malformed"):
        j.feed(2, msgs[1])
    j = wire.Reassembler()
    j.feed(1, msgs[0])
    with pytest.raises(ProtocolError, match="malformed"):
        j.feed(1, {"t": "hb"})


def test_the_joined_size_is_capped():
    msgs, _ = sealed_bodies({"t": "cib_push", "xml": "z" * (3 * wire.MAX_FRAME)})
    j = wire.Reassembler(max_size=wire.MAX_FRAME)
    with pytest.raises(ProtocolError, match="size|malformed"):
        for m in msgs:
            j.feed(1, m)


def test_bad_fragment_fields_are_malformed():
    for bad in ({"t": "frag"}, {"t": "frag", "i": 0, "n": 10**9, "d": ""},
                {"t": "frag", "i": 0, "n": 2, "d": "not base64!"},
                {"t": "frag", "i": "0", "n": 2, "d": ""}):
        with pytest.raises(ProtocolError, match="malformed"):
            wire.Reassembler().feed(1, bad)


def test_control_requests_nested_too_deeply_are_refused_without_recursion():
    for depth in (65, 5000, 1_000_000):
        with pytest.raises(BadRequest, match="nested deeper"):
            parse(b'{"op": "status", "x": ' + b"[" * depth + b"]" * depth + b"}")
    assert parse(b'{"op": "status", "x": [[[]]]}')["op"] == "status"
