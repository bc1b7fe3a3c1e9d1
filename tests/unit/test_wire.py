import os

import pytest

from vigil import wire
from vigil.errors import ProtocolError

KEY = bytes(range(32))


def sealed(msg=None, seq=1, key=KEY, sender=2, inc=100):
    return wire.seal(key, sender, inc, seq, msg or {"t": "hb"}, os.urandom(12))


def test_roundtrip():
    assert wire.open_packet([KEY], sealed({"t": "hb", "x": 1})) == (2, 100, 1, {"t": "hb", "x": 1})


def test_rotation_accepts_old_and_new_key():
    old = os.urandom(32)
    assert wire.open_packet([KEY, old], sealed(key=old))[3] == {"t": "hb"}


@pytest.mark.parametrize("mutate,reason", [
    (lambda p: p[:-1] + bytes([p[-1] ^ 1]), "auth"),
    (lambda p: p[:10] + bytes([p[10] ^ 1]) + p[11:], "auth"),  # header is authenticated
    (lambda p: b"XXX" + p[3:], "malformed"),
    (lambda p: p[:20], "size"),
    (lambda p: p + b"\0" * 70000, "size"),
])
def test_tampering_is_detected_with_a_reason(mutate, reason):
    with pytest.raises(ProtocolError) as info:
        wire.open_packet([KEY], mutate(sealed()))
    assert str(info.value).startswith(reason)


def test_wrong_key():
    with pytest.raises(ProtocolError, match="^auth"):
        wire.open_packet([os.urandom(32)], sealed())


def test_authenticated_non_object_is_malformed():
    packet = wire.seal(KEY, 1, 1, 1, {"t": 5}, os.urandom(12))  # type: ignore[dict-item]
    with pytest.raises(ProtocolError, match="^malformed"):
        wire.open_packet([KEY], packet)


def test_replay_guard():
    g = wire.ReplayGuard()
    assert g.accept(1, 10, 5)
    assert not g.accept(1, 10, 5), "the same packet twice"
    assert g.accept(1, 10, 3), "reordered within the window"
    assert not g.accept(1, 10, 3)
    assert g.accept(1, 10, 5000)
    assert not g.accept(1, 10, 100), "older than the window"
    assert not g.accept(1, 9, 1000), "an older boot of the sender"
    assert g.accept(1, 11, 1), "a new boot starts over"
