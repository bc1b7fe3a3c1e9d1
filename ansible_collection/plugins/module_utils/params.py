# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Checked access to one object's options, for a module's parameters and ``cib``'s items.

A module's parameters are already typed by Ansible; the items of ``vigil.cluster.cib``'s
``config`` are not, so every spec reads its options through :class:`Options`, which names
the offending option (``config.constraints[2].score``) in every error. Unknown keys are
refused (a typo must not be silently ignored); ``None`` means "not given".
"""

from __future__ import annotations

from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

_TRUE = ("true", "yes", "on", "y", "1")
_FALSE = ("false", "no", "off", "n", "0")


def truthy(text):
    """Pacemaker's reading of a boolean attribute value (None is false)."""
    return str(text or "").strip().lower() in _TRUE


class Options(object):
    """The options of one object: ``values`` (a dict), named ``where`` in messages."""

    def __init__(self, values, where="", allowed=None):
        if not isinstance(values, dict):
            raise VigilError("invalid", "%s: expected a dict, got %s"
                             % (where or "options", type(values).__name__))
        self.values = values
        self.where = where
        if allowed is not None:
            unknown = sorted(str(k) for k, v in values.items()
                             if k not in allowed and v is not None)
            if unknown:
                raise VigilError("invalid", "%s: unknown option%s %s (allowed: %s)" % (
                    where or "options", "s" if len(unknown) > 1 else "", ", ".join(unknown),
                    ", ".join(sorted(allowed))))

    def name(self, key):
        return "%s.%s" % (self.where, key) if self.where else key

    def fail(self, key, message):
        raise VigilError("invalid", "%s: %s" % (self.name(key), message))

    def given(self, key):
        return self.values.get(key) is not None

    def text(self, key, required=False, choices=None, default=None):
        value = self.values.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(key, "expected a string, got %s" % type(value).__name__)
        value = str(value)
        if not value.strip():
            self.fail(key, "must not be empty")
        if choices is not None and value not in choices:
            self.fail(key, "%r is not one of %s" % (value, ", ".join(choices)))
        return value

    def flag(self, key, default=None):
        value = self.values.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() in _TRUE:
            return True
        if str(value).strip().lower() in _FALSE:
            return False
        self.fail(key, "expected a boolean, got %r" % (value,))

    def integer(self, key, required=False, minimum=None):
        value = self.values.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return None
        if isinstance(value, bool):
            self.fail(key, "expected an integer, got %r" % (value,))
        try:
            number = int(str(value).strip())
        except ValueError:
            self.fail(key, "expected an integer, got %r" % (value,))
        if minimum is not None and number < minimum:
            self.fail(key, "must be at least %d, got %d" % (minimum, number))
        return number

    def mapping(self, key):
        value = self.values.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(key, "expected a dict, got %s" % type(value).__name__)
        return value

    def items(self, key, required=False):
        value = self.values.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return None
        if not isinstance(value, list):
            self.fail(key, "expected a list, got %s" % type(value).__name__)
        return value

    def str_list(self, key, required=False, unique=True):
        value = self.items(key, required)
        if value is None:
            return None
        result = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip():
                self.fail(key, "item %d: expected a non-empty string, got %r" % (index, item))
            if unique and str(item) in result:
                self.fail(key, "%r is listed twice" % (str(item),))
            result.append(str(item))
        return result

    def state(self):
        return self.text("state", choices=("present", "absent"), default="present")
