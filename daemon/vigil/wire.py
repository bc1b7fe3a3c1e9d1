"""Wire format: every packet is AEAD-sealed (AES-256-GCM) with the cluster authkey.

Layout::

    header (24 bytes, authenticated, not encrypted)
        magic   b"VGL"     3
        version 1          1
        sender  node id    2   (big endian)
        _pad    0          2
        incarnation        8   (boot number of the sender: strictly grows across restarts)
        seq                8   (per sender and incarnation, strictly increasing)
    nonce                  12  (random)
    ciphertext + tag       N + 16  (JSON object, UTF-8)

Rules: a packet is checked in this order and dropped (with a reason, for the counters) at
the first failure: size bounds, magic/version, authentication tag (with every accepted
key: key rotation keeps the old key valid during a rollover), replay (sender
incarnation older than known, or seq already seen), JSON decode, shape (an object with a
string ``t``). Nothing reaches a core before all checks pass. Pure functions except that
the caller supplies the nonce.
"""

from __future__ import annotations

import functools
import json
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import ProtocolError

MAGIC = b"VGL"
VERSION = 1
HEADER = struct.Struct("!3sBHHQQ")
NONCE_LEN = 12
TAG_LEN = 16
MAX_PACKET = 65000
MIN_PACKET = HEADER.size + NONCE_LEN + TAG_LEN + 2
KEY_LEN = 32


@dataclass(frozen=True)
class Envelope:
    sender: int
    incarnation: int
    seq: int
    msg: dict[str, Any]


@functools.lru_cache(maxsize=8)
def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def check_key(key: bytes, where: str = "authkey") -> bytes:
    if len(key) != KEY_LEN:
        raise ProtocolError(f"{where}: must be exactly {KEY_LEN} bytes, got {len(key)}")
    return key


def seal(key: bytes, sender: int, incarnation: int, seq: int, msg: dict[str, Any],
         nonce: bytes, max_size: int = MAX_PACKET) -> bytes:
    header = HEADER.pack(MAGIC, VERSION, sender, 0, incarnation, seq)
    body = json.dumps(msg, separators=(",", ":")).encode()
    sealed = header + nonce + _aead(key).encrypt(nonce, body, header)
    if len(sealed) > max_size:
        raise ProtocolError(f"size: message of {len(sealed)} bytes exceeds {max_size}")
    return sealed


def open_packet(keys: list[bytes], packet: bytes, max_size: int = MAX_PACKET
                ) -> tuple[int, int, int, dict[str, Any]]:
    """Authenticate and decode; raise ProtocolError whose first word is the drop reason."""
    if not MIN_PACKET <= len(packet) <= max_size:
        raise ProtocolError(f"size: {len(packet)} bytes")
    magic, version, sender, _pad, incarnation, seq = HEADER.unpack_from(packet)
    if magic != MAGIC or version != VERSION:
        raise ProtocolError("malformed: bad magic or version")
    header = packet[: HEADER.size]
    nonce = packet[HEADER.size : HEADER.size + NONCE_LEN]
    sealed = packet[HEADER.size + NONCE_LEN :]
    body = None
    for key in keys:
        try:
            body = _aead(key).decrypt(nonce, sealed, header)
            break
        except InvalidTag:
            continue
    if body is None:
        raise ProtocolError("auth: tag does not verify with any accepted key")
    try:
        msg = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, absurd nesting/numbers
        raise ProtocolError("malformed: body is not JSON") from exc
    if not isinstance(msg, dict) or not isinstance(msg.get("t"), str):
        raise ProtocolError("malformed: body is not an object with a type")
    return sender, incarnation, seq, msg


@dataclass
class ReplayGuard:
    """Per-sender sliding window over (incarnation, seq); 4096 packets of reordering allowed.

    One guard covers both channels of a sender (datagrams and streams share its sequence
    numbers), so a packet captured on one cannot be replayed on the other or on a new
    connection.
    """

    window: int = 4096
    _state: dict[int, tuple[int, int, int]] = field(default_factory=dict)

    def accept(self, sender: int, incarnation: int, seq: int) -> bool:
        known = self._state.get(sender)
        if known is None or incarnation > known[0]:
            self._state[sender] = (incarnation, seq, 1)
            return True
        inc, top, mask = known
        if incarnation < inc:
            return False
        if seq > top:
            shift = seq - top
            mask = ((mask << shift) | 1) & ((1 << self.window) - 1) if shift < self.window else 1
            self._state[sender] = (inc, seq, mask)
            return True
        offset = top - seq
        if offset >= self.window or mask & (1 << offset):
            return False
        self._state[sender] = (inc, top, mask | (1 << offset))
        return True

    def forget(self, sender: int) -> None:
        self._state.pop(sender, None)
