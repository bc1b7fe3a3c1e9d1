# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Stdlib-only client for the vigild control socket.

Protocol (docs/control-api.md): one request per connection. The client writes one JSON
object and a newline, the daemon answers with one JSON object and a newline, then closes.
``{"ok": true, "result": ...}`` becomes the return value of :meth:`ControlClient.call`;
``{"ok": false, "error": {"kind", "message"}}`` becomes a :class:`VigilError` with the
daemon's kind and message. Failures to reach the daemon are kind ``socket``, a daemon that
does not answer in time is kind ``timeout``, an answer that is not a JSON object with
``ok`` is kind ``protocol``.
"""

from __future__ import annotations

import errno
import json
import os
import socket

from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

DEFAULT_SOCKET = "/run/vigil/vigil.sock"
DEFAULT_TIMEOUT_S = 30.0
MAX_REPLY_BYTES = 64 * 1024 * 1024


class ControlClient(object):
    """Calls operations on one node's control socket."""

    def __init__(self, path=DEFAULT_SOCKET, timeout_s=DEFAULT_TIMEOUT_S):
        self.path = path
        self.timeout_s = timeout_s

    def call(self, op, **arguments):
        """Send ``{"op": op, **arguments}`` and return the reply's ``result``."""
        request = dict(arguments)
        request["op"] = op
        payload = (json.dumps(request, sort_keys=True) + "\n").encode("utf-8")
        raw = self._exchange(op, payload)
        return self._decode(op, raw)

    def _exchange(self, op, payload):
        if not os.path.exists(self.path):
            raise VigilError(
                "socket",
                "control socket %s does not exist: is vigild running on this node "
                "(and is this its control_socket)?" % self.path,
            )
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout_s)
        try:
            try:
                sock.connect(self.path)
            except socket.timeout:
                raise VigilError("timeout", "connecting to %s timed out after %.1f s"
                                 % (self.path, self.timeout_s))
            except (OSError, IOError) as exc:
                raise VigilError("socket", self._describe_connect_error(exc))
            try:
                sock.sendall(payload)
                chunks = []
                size = 0
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                    if chunk.endswith(b"\n"):
                        break
                    if size > MAX_REPLY_BYTES:
                        raise VigilError("protocol", "reply to %r from %s exceeds %d bytes"
                                         % (op, self.path, MAX_REPLY_BYTES))
            except socket.timeout:
                raise VigilError("timeout", "vigild at %s did not answer %r within %.1f s"
                                 % (self.path, op, self.timeout_s))
            except (OSError, IOError) as exc:
                raise VigilError("socket", "talking to vigild at %s failed during %r: %s"
                                 % (self.path, op, exc))
        finally:
            sock.close()
        return b"".join(chunks)

    def _describe_connect_error(self, exc):
        code = getattr(exc, "errno", None)
        if code == errno.ECONNREFUSED:
            return ("nothing listens on control socket %s (connection refused): vigild is "
                    "not running or was killed and left its socket behind" % self.path)
        if code in (errno.EACCES, errno.EPERM):
            return ("permission denied on control socket %s: run as root or as a member of "
                    "the daemon's group" % self.path)
        return "cannot connect to control socket %s: %s" % (self.path, exc)

    def _decode(self, op, raw):
        if not raw:
            raise VigilError("protocol", "vigild at %s closed the connection without "
                                         "answering %r" % (self.path, op))
        try:
            reply = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise VigilError("protocol", "answer to %r from %s is not JSON: %s"
                             % (op, self.path, exc))
        if not isinstance(reply, dict) or "ok" not in reply:
            raise VigilError("protocol", "answer to %r from %s has no 'ok' field" % (op, self.path))
        if reply["ok"]:
            return reply.get("result")
        error = reply.get("error") or {}
        if not isinstance(error, dict):
            error = {"message": str(error)}
        raise VigilError(str(error.get("kind") or "error"),
                         str(error.get("message") or "vigild refused %r without a message" % op))
