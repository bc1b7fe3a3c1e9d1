# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""The body every configuration module shares: check, read, edit, compare, write, report.

A module gives :func:`run` a ``build()`` that checks its parameters (raising VigilError)
and returns a :class:`Task`. Bad parameters fail before the CIB is read; a failure at any
point writes nothing and reports ``error_kind``.
"""

from __future__ import annotations

from ansible_collections.vigil.cluster.plugins.module_utils import backend as backends
from ansible_collections.vigil.cluster.plugins.module_utils import changes
from ansible_collections.vigil.cluster.plugins.module_utils.common import fail
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError


class Task(object):
    """What a module does: ``edit(conf)`` in place; ``describe(conf)`` its object (a dict or
    None) returned under ``key``; the resource ``agents`` that must be installed."""

    def __init__(self, what, edit, key=None, describe=None, agents=()):
        self.what = what
        self.edit = edit
        self.key = key
        self.describe = describe
        self.agents = list(agents)


def check_agents(backend, agents):
    """Fail (kind ``agent``) when the node behind the back end lacks one of ``agents``."""
    for agent in agents:
        if backend.check_agent(agent) is False:
            raise VigilError("agent", "resource agent %s is not installed on the node behind %s"
                             % (agent, backend.where))


def action(change, before, after):
    if not change.changed:
        return "none"
    if before is None:
        return "create"
    return "delete" if after is None else "update"


def execute(task, backend, check_mode, diff_mode):
    """Run ``task`` against ``backend``; the module's result dict."""
    checked = []

    def check(change):
        if not checked:
            check_agents(backend, task.agents)
            checked.append(True)

    change, version = changes.converge_edit(backend, task.edit, check_mode,
                                            check if task.agents else None)
    result = changes.result_of(change, version, backend.where, task.what, diff_mode)
    if task.key is not None:
        before = task.describe(change.before_conf)
        after = task.describe(change.after_conf)
        result[task.key] = after
        result["action"] = action(change, before, after)
    return result


def run(module, build):
    """Build the task from the module's parameters, run it, exit or fail the module."""
    backend = backends.open_backend(module.params, atomic_move=module.atomic_move)
    try:
        result = execute(build(), backend, module.check_mode, module._diff)
    except VigilError as exc:
        fail(module, exc, changed=False)
    module.exit_json(**result)
