# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""The argument spec every vigil.cluster module shares (documented in doc_fragments/common.py)."""

from __future__ import annotations

from ansible_collections.vigil.cluster.plugins.module_utils.client import DEFAULT_SOCKET

SOCKET_ARGS = dict(
    socket=dict(type="path", default=DEFAULT_SOCKET),
)

CIB_ARGS = dict(
    SOCKET_ARGS,
    cib_file=dict(type="path"),
)


def argument_spec(extra, cib=True):
    """The common options (``socket``, and ``cib_file`` for CIB modules) plus ``extra``."""
    spec = dict(CIB_ARGS if cib else SOCKET_ARGS)
    spec.update(extra)
    return spec


def fail(module, exc, **result):
    """Fail the module with a VigilError's kind and message, keeping partial results."""
    module.fail_json(msg=exc.message, error_kind=exc.kind, **result)
