# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""A change to the CIB configuration: compared by object, shown as a diff, written minimally.

The CIB modules other than cib_resource work the same way: they copy the <configuration>
they read, edit the copy (the edit functions of the other module_utils), and hand both to
:class:`ConfigChange`. Rules:

- An *object* is a direct child of a configuration section (a top-level resource, a
  constraint, a property set, a node, a fencing level). Objects are matched by id and
  compared canonically (:func:`cib.canonical`); ``changed`` is exact.
- The diff shows the objects that differ, before and after, in configuration order.
- The write is the smallest the control API can do atomically: one ``put`` when a single
  object is created or updated in place; one ``delete`` when the objects that go are exactly
  what the daemon removes with that id (the resource and the constraints that name it);
  otherwise one ``replace`` of the whole configuration (moving a primitive into a group,
  several objects at once). Every write carries the version read, so a replace can never
  undo someone else's change: it is refused, and the module reads and plans again.
- An edit that would give two elements the same id is refused before anything is written.
"""

from __future__ import annotations

import copy

from ansible_collections.vigil.cluster.plugins.module_utils import backend as backends
from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError


class ObjectDiff(object):
    """One object that differs: ``before`` or ``after`` is None when it is created or removed."""

    def __init__(self, section, key, before, after):
        self.section = section
        self.key = key
        self.before = before
        self.after = after

    @property
    def id(self):
        elem = self.after if self.after is not None else self.before
        return elem.get("id")

    @property
    def action(self):
        if self.before is None:
            return "create"
        return "delete" if self.after is None else "update"


def objects(conf):
    """``[(section, key, element)]`` for every object of ``conf``, in document order.

    The key is the id; an object without one gets a key no id can take (``#tag-N``), which
    makes any change to it a replace.
    """
    result = []
    for section in conf:
        if not isinstance(section.tag, str):
            continue
        index = 0
        for child in section:
            if not isinstance(child.tag, str):
                continue
            key = child.get("id") or "#%s-%d" % (child.tag, index)
            result.append((section.tag, key, child))
            index += 1
    return result


def object_diffs(before_conf, after_conf):
    """The objects that differ between two configurations, in configuration order."""
    before = dict(((s, k), e) for s, k, e in objects(before_conf))
    after = dict(((s, k), e) for s, k, e in objects(after_conf))
    order = [(s, k) for s, k, _e in objects(before_conf)]
    order += [(s, k) for s, k, _e in objects(after_conf) if (s, k) not in before]
    diffs = []
    for section, key in order:
        old, new = before.get((section, key)), after.get((section, key))
        if not cibxml.equal(old, new):
            diffs.append(ObjectDiff(section, key, old, new))
    return diffs


def duplicate_ids(conf):
    """Ids used by more than one element of ``conf`` (nodes excepted: their ids are numbers)."""
    seen = set()
    dups = set()
    for elem in conf.iter():
        elem_id = elem.get("id") if isinstance(elem.tag, str) and elem.tag != "node" else None
        if elem_id is None:
            continue
        if elem_id in seen:
            dups.add(elem_id)
        seen.add(elem_id)
    return dups


def significant_ids(conf):
    """Ids of the objects and of the resources inside them, in document order."""
    result = []
    for _section, key, elem in objects(conf):
        if not key.startswith("#"):
            result.append(key)
        result.extend(e.get("id") for e in elem.iter()
                      if e is not elem and e.tag in cibxml.RESOURCE_TAGS and e.get("id"))
    return result


def minimal_write(before_conf, diffs):
    """``("put", section, element)``, ``("delete", id, section)`` or None (replace)."""
    if not diffs or any(d.key.startswith("#") for d in diffs):
        return None
    if len(diffs) == 1 and diffs[0].after is not None:
        diff = diffs[0]
        if diff.before is None or diff.before.tag == diff.after.tag:
            return ("put", diff.section, diff.after)
        return None
    if any(d.after is not None for d in diffs):
        return None
    gone = set(d.key for d in diffs)
    for diff in diffs:
        if set(e.get("id") for e, _p in cibxml.deletion(before_conf, diff.key)) == gone:
            return ("delete", diff.key, diff.section)
    return None


class ConfigChange(object):
    """Configuration before and after an edit; ``info`` is what the edit reported."""

    def __init__(self, before_conf, after_conf, info=None):
        self.before_conf = before_conf
        self.after_conf = after_conf
        self.info = info
        self.changed = not cibxml.equal(before_conf, after_conf)
        self.diffs = object_diffs(before_conf, after_conf) if self.changed else []
        new_dups = duplicate_ids(after_conf) - duplicate_ids(before_conf)
        if new_dups:
            raise VigilError("invalid", "the change would use the id %s twice"
                             % ", ".join(repr(i) for i in sorted(new_dups)))
        self.write = minimal_write(before_conf, self.diffs) if self.changed else None

    def ids(self, action):
        """Ids that ``create`` adds, ``delete`` removes, or whose object ``update`` changes.

        Counted are resources at any depth and the objects of every section, so a primitive
        moved into a group is updated, not removed, and the group is created.
        """
        before, after = significant_ids(self.before_conf), significant_ids(self.after_conf)
        if action == "create":
            return [i for i in after if i not in before]
        if action == "delete":
            return [i for i in before if i not in after]
        return [d.id for d in self.diffs if d.id in before and d.id in after]

    def apply(self, backend, version):
        """Write the change on ``version``; return the new version."""
        if self.write is None:
            return backend.replace(self.after_conf, version)
        if self.write[0] == "put":
            return backend.put(self.write[1], self.write[2], version)
        return backend.delete(self.write[1], self.write[2], version)

    def diff(self, header):
        """Ansible's diff dict: the objects that differ, as XML before and after."""
        before = "".join(cibxml.display(d.before) for d in self.diffs)
        after = "".join(cibxml.display(d.after) for d in self.diffs)
        return dict(before=before, after=after, before_header=header, after_header=header)


def converge_edit(backend, edit, check_mode, check=None):
    """Read, edit a copy of the configuration, write the difference; retry on a race.

    ``edit(conf)`` changes ``conf`` in place (raising VigilError on bad input) and returns
    anything the module wants back (``change.info``). ``check(change)``, when given, runs
    before a change is written or predicted (check mode) and may refuse it by raising.
    Returns ``(change, version)``.
    """
    def make_plan(cib):
        before = cibxml.configuration(cib)
        after = copy.deepcopy(before)
        change = ConfigChange(before, after, edit(after))
        if change.changed and check is not None:
            check(change)
        return change

    return backends.converge(backend, make_plan, lambda change, version: change.apply(
        backend, version), check_mode)


def result_of(change, version, where, what, diff_mode):
    """The keys every configuration module returns: changed, version, created/updated/removed."""
    result = dict(
        changed=change.changed,
        version=version,
        created=change.ids("create"),
        updated=change.ids("update"),
        removed=change.ids("delete"),
    )
    if diff_mode:
        result["diff"] = change.diff("%s: %s" % (where, what))
    return result
