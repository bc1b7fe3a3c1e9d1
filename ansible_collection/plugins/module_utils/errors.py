# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""The one error type the vigil.cluster modules raise and report.

Every error carries a ``kind`` and a ``message``. Kinds the daemon sends over the control
socket (``invalid``, ``exists``, ``not_found``, ``agent``, ``conflict``, ``unavailable``,
``error``) are kept as they are; the client adds ``socket`` (cannot reach the daemon),
``timeout`` and ``protocol`` (the daemon's answer is not what docs/control-api.md says).
"""

from __future__ import annotations


class VigilError(Exception):
    """A failure with a stable ``kind`` and a message that names what is wrong."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self):
        return "%s: %s" % (self.kind, self.message)
