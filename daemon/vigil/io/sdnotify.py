"""``sd_notify``: tell systemd (``Type=notify`` units) that vigild is ready.

Without ``NOTIFY_SOCKET`` in the environment (not started by systemd) nothing is sent; an
abstract socket name starts with ``@``. A failure is logged, never raised.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("vigil.node")


def notify_systemd(state: str) -> None:
    target = os.environ.get("NOTIFY_SOCKET")
    if not target:
        return
    if target.startswith("@"):
        target = "\0" + target[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(target)
            sock.sendall(state.encode())
        except OSError as exc:
            log.warning("could not notify systemd: %s", exc)


