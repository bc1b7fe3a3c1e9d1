# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Where a CIB module reads and writes: a live daemon, or a CIB file.

Both back ends offer the same five calls: ``read()`` returns ``(cib_element, version)``;
``put(section, element, expect_version)`` creates or replaces the element with that id;
``delete(elem_id, section, expect_version)`` removes it; ``replace(configuration,
expect_version)`` swaps the whole <configuration> in one write (for changes that move
elements, which put and delete cannot do atomically); ``check_agent(agent)`` says whether
a resource agent is installed (None when it cannot be known). A write whose
``expect_version`` (``[admin_epoch, epoch]``) is stale fails with kind ``conflict`` and
changes nothing, so callers re-read and re-plan (:func:`converge`).

The file back end bumps ``epoch`` (and resets ``num_updates``) on every change, writes a
temporary file in the same directory and renames it over the original, and never writes
when nothing changed: the file stays byte-identical.
"""

from __future__ import annotations

import copy
import os
import tempfile
import xml.etree.ElementTree as ET

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils.client import ControlClient
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

EMPTY_CIB = ('<cib admin_epoch="0" epoch="0" num_updates="0" validate-with="pacemaker-3.9" '
             'crm_feature_set="3.19.0"><configuration><crm_config/><nodes/><resources/>'
             '<constraints/></configuration><status/></cib>')

CONFLICT_RETRIES = 5


def apply_put(conf, section, elem):
    """Put ``elem`` into ``conf`` (a <configuration>): replace in place, or append to section.

    Returns True when the configuration changed.
    """
    elem_id = elem.get("id")
    live, parent = cibxml.find_by_id(conf, elem_id)
    if live is not None:
        if live.tag != elem.tag:
            raise VigilError("invalid", "id %r is already used by a <%s> element" % (elem_id, live.tag))
        if cibxml.equal(live, elem):
            return False
        index = list(parent).index(live)
        parent.remove(live)
        parent.insert(index, elem)
        return True
    target = conf.find(section)
    if target is None:
        target = ET.SubElement(conf, section)
    target.append(elem)
    return True


def apply_delete(conf, elem_id):
    """Remove ``elem_id`` and what goes with it (:func:`cib.deletion`); the removed ids.

    Kind ``not_found`` when there is no such element.
    """
    removed = cibxml.deletion(conf, elem_id)
    if not removed:
        raise VigilError("not_found", "no element with id %r in the configuration" % elem_id)
    for elem, parent in removed:
        parent.remove(elem)
    return [pair[0].get("id") for pair in removed]


class LiveCib(object):
    """The CIB of a running cluster, through one node's control socket."""

    def __init__(self, client):
        self.client = client
        self.where = "vigild at %s" % client.path

    def read(self):
        result = self.client.call("cib_get", scope=None)
        cib = cibxml.parse_xml(result["xml"], "the CIB from %s" % self.where)
        return cib, list(result.get("version") or cibxml.version_of(cib))

    def put(self, section, elem, expect_version):
        xml = ET.tostring(elem, encoding="unicode")
        result = self.client.call("cib_put", section=section, xml=xml, mode="upsert",
                                  expect_version=list(expect_version[:2]))
        return result.get("version")

    def delete(self, elem_id, section, expect_version):
        result = self.client.call("cib_delete", id=elem_id, section=section,
                                  expect_version=list(expect_version[:2]))
        return result.get("version")

    def replace(self, conf, expect_version):
        xml = ET.tostring(conf, encoding="unicode")
        result = self.client.call("cib_replace", xml=xml, expect_version=list(expect_version[:2]))
        return result.get("version")

    def check_agent(self, agent):
        result = self.client.call("agent_check", agent=agent)
        return bool(result.get("exists"))


class FileCib(object):
    """A CIB kept in a file: read, modify and write back atomically, epoch bumped."""

    def __init__(self, path, atomic_move=None):
        self.path = path
        self.where = "CIB file %s" % path
        self._atomic_move = atomic_move

    def _load(self):
        if not os.path.exists(self.path):
            cib = cibxml.parse_xml(EMPTY_CIB)
            return cib
        with open(self.path, "rb") as handle:
            data = handle.read()
        cib = cibxml.parse_xml(data, self.where)
        if cib.tag != "cib":
            raise VigilError("invalid", "%s: the root element is <%s>, expected <cib>"
                             % (self.where, cib.tag))
        cibxml.configuration(cib)
        return cib

    def read(self):
        cib = self._load()
        return cib, cibxml.version_of(cib)

    def _modify(self, expect_version, change):
        cib = self._load()
        version = cibxml.version_of(cib)
        if expect_version is not None and list(version[:2]) != list(expect_version[:2]):
            raise VigilError("conflict", "%s moved from version %s to %s since it was read"
                             % (self.where, list(expect_version[:2]), version[:2]))
        if not change(cibxml.configuration(cib)):
            return version
        cib.set("epoch", str(version[1] + 1))
        cib.set("num_updates", "0")
        self._write(cib)
        return cibxml.version_of(cib)

    def _write(self, cib):
        directory = os.path.dirname(os.path.abspath(self.path))
        data = cibxml.to_text(cib).encode("utf-8") + b"\n"
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(self.path), dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if os.path.exists(self.path):
                os.chmod(tmp, os.stat(self.path).st_mode & 0o7777)
            else:
                os.chmod(tmp, 0o644)
            if self._atomic_move is not None:
                self._atomic_move(tmp, self.path)
            else:
                os.rename(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def put(self, section, elem, expect_version):
        return self._modify(expect_version, lambda conf: apply_put(conf, section, elem))

    def delete(self, elem_id, section, expect_version):
        def change(conf):
            apply_delete(conf, elem_id)
            return True
        return self._modify(expect_version, change)

    def replace(self, conf, expect_version):
        def change(current):
            if cibxml.equal(current, conf):
                return False
            current.clear()
            current.attrib.update(conf.attrib)
            current.extend(copy.deepcopy(list(conf)))
            return True
        return self._modify(expect_version, change)

    def check_agent(self, agent):
        return None


def open_backend(params, atomic_move=None):
    """The back end the common options ``socket`` and ``cib_file`` select."""
    if params.get("cib_file"):
        return FileCib(params["cib_file"], atomic_move=atomic_move)
    return LiveCib(ControlClient(params.get("socket") or "/run/vigil/vigil.sock"))


def converge(backend, make_plan, apply_plan, check_mode, retries=CONFLICT_RETRIES):
    """Read, plan and apply until the write lands on the version that was planned against.

    ``make_plan(cib)`` returns a plan with ``changed``; ``apply_plan(plan, version)`` writes
    it. Returns ``(plan, version)``; nothing is written when the plan has no change or in
    check mode. A ``conflict`` (someone wrote in between) re-reads and re-plans.
    """
    for attempt in range(retries):
        cib, version = backend.read()
        plan = make_plan(cib)
        if not plan.changed or check_mode:
            return plan, version
        try:
            return plan, apply_plan(plan, version)
        except VigilError as exc:
            if exc.kind != "conflict" or attempt == retries - 1:
                raise
    raise VigilError("conflict", "gave up after %d conflicting writes" % retries)
