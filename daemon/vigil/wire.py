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

Streams (the TCP peer port) carry the same packets, each framed by a 4-byte big-endian
length. A frame is at most ``MAX_FRAME`` (1 MiB), so a receiver never buffers more than that
before a tag proves the sender. A message whose sealed form would not fit goes as
fragments: ordinary sealed packets of type ``frag`` (``id``, index ``i`` of ``n``, ``d``:
base64 of up to ``FRAGMENT_DATA`` bytes of the message's JSON), sent back to back on one
stream. :class:`Reassembler` joins them only after each one passed every check, up to
``MAX_MESSAGE`` bytes. Rolling upgrades: a message that fits one frame is sent exactly as
before; a node of the previous version ignores ``frag`` (an unknown type), so only
messages over 1 MiB do not reach it.

Rules: a packet is checked in this order and dropped (with a reason, for the counters) at
the first failure: size bounds, magic/version, authentication tag (with every accepted
key: key rotation keeps the old key valid during a rollover), replay (sender
incarnation older than known, or seq already seen), JSON decode, shape (an object with a
string ``t``). Nothing reaches a core before all checks pass. Pure functions except that
the caller supplies the nonce.
"""

from __future__ import annotations

import base64
import binascii
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
OVERHEAD = HEADER.size + NONCE_LEN + TAG_LEN
MAX_FRAME = 1024 * 1024          # a stream frame (what is buffered before its tag)
MAX_MESSAGE = 64 * 1024 * 1024   # a message reassembled from fragments
FRAGMENT_DATA = 512 * 1024       # message bytes per fragment (base64: 683 KiB)
FRAG = "frag"
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


def encode(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode()


def seal(key: bytes, sender: int, incarnation: int, seq: int, msg: dict[str, Any],
         nonce: bytes, max_size: int = MAX_PACKET) -> bytes:
    return seal_body(key, sender, incarnation, seq, encode(msg), nonce, max_size)


def seal_body(key: bytes, sender: int, incarnation: int, seq: int, body: bytes,
              nonce: bytes, max_size: int = MAX_PACKET) -> bytes:
    header = HEADER.pack(MAGIC, VERSION, sender, 0, incarnation, seq)
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
    return sender, incarnation, seq, decode(body)


def decode(body: bytes) -> dict[str, Any]:
    try:
        msg = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, absurd nesting/numbers
        raise ProtocolError("malformed: body is not JSON") from exc
    if not isinstance(msg, dict) or not isinstance(msg.get("t"), str):
        raise ProtocolError("malformed: body is not an object with a type")
    return msg


def split(body: bytes, msg_id: int, max_frame: int = MAX_FRAME) -> list[bytes]:
    """The bodies to seal for one stream message: itself if it fits a frame, else its
    fragments (each sealed frame then stays under ``max_frame``)."""
    if len(body) + OVERHEAD <= max_frame:
        return [body]
    if len(body) > MAX_MESSAGE:
        raise ProtocolError(f"size: message of {len(body)} bytes exceeds {MAX_MESSAGE}")
    pieces = [body[i : i + FRAGMENT_DATA] for i in range(0, len(body), FRAGMENT_DATA)]
    return [encode({"t": FRAG, "id": msg_id, "i": i, "n": len(pieces),
                    "d": base64.b64encode(piece).decode()}) for i, piece in enumerate(pieces)]


@dataclass
class Reassembler:
    """Joins the fragments of one stream (they come back to back, in order).

    ``feed`` returns a whole message, or None while fragments are missing; it raises
    ProtocolError (``malformed`` or ``size``) for a fragment out of order, from another
    sender, or beyond ``max_size``: the caller then drops the stream.
    """

    max_size: int = MAX_MESSAGE
    _key: tuple[int, Any] | None = None  # (sender, id) of the message being joined
    _next: int = 0
    _count: int = 0
    _parts: list[bytes] = field(default_factory=list)
    _size: int = 0

    def feed(self, sender: int, msg: dict[str, Any]) -> dict[str, Any] | None:
        if msg["t"] != FRAG:
            if self._key is not None:
                raise ProtocolError("malformed: a message inside a fragmented one")
            return msg
        index, count, data = msg.get("i"), msg.get("n"), msg.get("d")
        if not (isinstance(index, int) and isinstance(count, int) and isinstance(data, str)
                and 0 <= index < count <= self.max_size // FRAGMENT_DATA + 1):
            raise ProtocolError("malformed: bad fragment fields")
        if index == 0 and self._key is None:
            self._key, self._count = (sender, msg.get("id")), count
        elif (self._key != (sender, msg.get("id")) or index != self._next
              or count != self._count):
            raise ProtocolError("malformed: fragment out of order")
        try:
            piece = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProtocolError("malformed: fragment data is not base64") from exc
        self._size += len(piece)
        if len(piece) > FRAGMENT_DATA or self._size > self.max_size:
            raise ProtocolError(f"size: fragmented message over {self.max_size} bytes")
        self._parts.append(piece)
        self._next = index + 1
        if self._next < count:
            return None
        body = b"".join(self._parts)
        self._key, self._next, self._parts, self._size = None, 0, [], 0
        whole = decode(body)
        if whole["t"] == FRAG:
            raise ProtocolError("malformed: a fragment inside a fragment")
        return whole


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
