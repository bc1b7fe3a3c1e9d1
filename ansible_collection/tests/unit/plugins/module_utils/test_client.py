# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""The control socket client against a small fake daemon."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils.client import ControlClient
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError


class FakeDaemon(object):
    """Answers each connection with ``reply(request)`` (bytes), one connection at a time."""

    def __init__(self, reply):
        self.dir = tempfile.mkdtemp(prefix="vigil-")
        self.path = os.path.join(self.dir, "s")
        self.reply = reply
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.thread = threading.Thread(target=self._serve)
        self.thread.daemon = True
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                request = json.loads(data.decode("utf-8"))
                self.requests.append(request)
                answer = self.reply(request)
                if answer:
                    conn.sendall(answer)

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


@pytest.fixture
def daemon():
    started = []

    def start(reply):
        started.append(FakeDaemon(reply))
        return started[-1]
    yield start
    for fake in started:
        fake.close()


def line(obj):
    return (json.dumps(obj) + "\n").encode("utf-8")


def test_ok_reply_returns_result(daemon):
    fake = daemon(lambda req: line({"ok": True, "result": {"op": req["op"], "scope": req["scope"]}}))
    result = ControlClient(fake.path).call("cib_get", scope="configuration")
    assert result == {"op": "cib_get", "scope": "configuration"}
    assert fake.requests == [{"op": "cib_get", "scope": "configuration"}]


def test_error_reply_carries_kind_and_message(daemon):
    fake = daemon(lambda req: line({"ok": False, "error": {"kind": "agent",
                                                           "message": "no agent ocf:x:y"}}))
    with pytest.raises(VigilError) as err:
        ControlClient(fake.path).call("resource_create", id="r", agent="ocf:x:y")
    assert (err.value.kind, err.value.message) == ("agent", "no agent ocf:x:y")


def test_missing_socket(tmp_path):
    with pytest.raises(VigilError) as err:
        ControlClient(str(tmp_path / "nope.sock")).call("status")
    assert err.value.kind == "socket" and "does not exist" in err.value.message


def test_stale_socket_file_is_connection_refused():
    directory = tempfile.mkdtemp(prefix="vigil-")
    path = os.path.join(directory, "s")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.close()
    try:
        with pytest.raises(VigilError) as err:
            ControlClient(path).call("status")
        assert err.value.kind == "socket" and "not running" in err.value.message
    finally:
        os.unlink(path)
        os.rmdir(directory)


def test_closed_without_answer(daemon):
    fake = daemon(lambda req: b"")
    with pytest.raises(VigilError) as err:
        ControlClient(fake.path).call("status")
    assert err.value.kind == "protocol"


@pytest.mark.parametrize("answer", [b"not json\n", b"[1, 2]\n"])
def test_malformed_answer(daemon, answer):
    fake = daemon(lambda req: answer)
    with pytest.raises(VigilError) as err:
        ControlClient(fake.path).call("status")
    assert err.value.kind == "protocol"


def test_timeout():
    directory = tempfile.mkdtemp(prefix="vigil-")
    path = os.path.join(directory, "s")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    try:
        with pytest.raises(VigilError) as err:
            ControlClient(path, timeout_s=0.2).call("status")
        assert err.value.kind == "timeout"
    finally:
        server.close()
        os.unlink(path)
        os.rmdir(directory)
