# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Comparing configurations object by object, the smallest write, and the file back end."""

from __future__ import annotations

import copy
import os
import shutil
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import backend, changes, resources
from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture
def conf():
    return cibxml.configuration(ET.parse(os.path.join(FIXTURES, "cluster.xml")).getroot())


def change_of(conf, edit):
    after = copy.deepcopy(conf)
    edit(after)
    return changes.ConfigChange(conf, after)


def test_no_edit_is_no_change(conf):
    change = change_of(conf, lambda c: None)
    assert change.changed is False and change.diffs == [] and change.write is None
    assert change.diff("h") == dict(before="", after="", before_header="h", after_header="h")


def test_reordered_attributes_are_no_change(conf):
    def edit(c):
        prim = c.find("resources/primitive[@id='vip']")
        attrs = list(prim.attrib.items())
        prim.attrib.clear()
        prim.attrib.update(reversed(attrs))
    assert change_of(conf, edit).changed is False


def test_one_object_updated_is_one_put(conf):
    change = change_of(conf, lambda c: c.find("constraints/rsc_colocation").set("score", "50"))
    assert change.write[0] == "put" and change.write[1] == "constraints"
    assert change.write[2].get("score") == "50"
    assert change.ids("update") == ["web-with-vip"]
    assert change.ids("create") == [] and change.ids("delete") == []
    diff = change.diff("h")
    assert 'score="INFINITY"' in diff["before"] and 'score="50"' in diff["after"]


def test_a_member_changed_puts_its_group(conf):
    change = change_of(conf, lambda c: c.find(".//primitive[@id='db']").set("type", "pgsql"))
    assert change.write[0] == "put" and change.write[2].get("id") == "db-group"


def test_deleting_a_resource_and_its_constraints_is_one_delete(conf):
    def edit(c):
        elem, parent = cibxml.find_by_id(c, "vip")
        resources.remove_resource(c, elem, parent)
    change = change_of(conf, edit)
    assert change.write == ("delete", "vip", "resources")
    assert change.ids("delete") == ["vip", "web-with-vip", "vip-then-web"]


def test_deleting_a_constraint_alone_is_one_delete(conf):
    def edit(c):
        holder = c.find("constraints")
        holder.remove(holder.find("rsc_order"))
    assert change_of(conf, edit).write == ("delete", "vip-then-web", "constraints")


def test_moving_a_primitive_is_a_replace(conf):
    def edit(c):
        resources.edit_group(c, resources.GroupSpec(dict(id="web-group", members=["vip", "web"])))
    change = change_of(conf, edit)
    assert change.write is None
    assert change.ids("create") == ["web-group"]
    assert change.ids("update") == ["vip", "web"]
    assert change.ids("delete") == []


def test_deleting_less_than_the_daemon_would_is_a_replace(conf):
    # The daemon's delete of vip also removes its constraints: removing vip alone (leaving
    # dangling constraints is the edit's business) cannot be one delete.
    def edit(c):
        c.find("resources").remove(c.find("resources/primitive[@id='vip']"))
    assert change_of(conf, edit).write is None


def test_a_duplicate_id_is_refused(conf):
    def edit(c):
        c.find("resources").append(ET.Element("primitive", {"id": "web", "class": "ocf",
                                                            "provider": "x", "type": "y"}))
    with pytest.raises(VigilError) as err:
        change_of(conf, edit)
    assert err.value.kind == "invalid" and "'web'" in err.value.message


def test_diff_lists_objects_in_configuration_order(conf):
    def edit(c):
        c.find("constraints/rsc_order").set("kind", "Optional")
        c.find(".//nvpair[@name='stonith-enabled']").set("value", "false")
    diff = change_of(conf, edit).diff("h")
    assert diff["before"].index("cib-bootstrap-options") < diff["before"].index("vip-then-web")
    assert 'kind="Optional"' in diff["after"]


class Recorder(object):
    """A back end that records which write a change makes."""

    def __init__(self):
        self.calls = []

    def put(self, section, elem, version):
        self.calls.append(("put", section, elem.get("id"), version))
        return [0, 13, 0]

    def delete(self, elem_id, section, version):
        self.calls.append(("delete", elem_id, section, version))
        return [0, 13, 0]

    def replace(self, conf, version):
        self.calls.append(("replace", conf.tag, version))
        return [0, 13, 0]


@pytest.mark.parametrize("edit, call", [
    (lambda c: c.find("constraints/rsc_order").set("kind", "Optional"),
     ("put", "constraints", "vip-then-web", [0, 12])),
    (lambda c: c.find("constraints").remove(c.find("constraints/rsc_order")),
     ("delete", "vip-then-web", "constraints", [0, 12])),
    (lambda c: resources.edit_clone(c, resources.CloneSpec(dict(id="web-clone", resource="web"))),
     ("replace", "configuration", [0, 12])),
])
def test_apply_makes_the_planned_write(conf, edit, call):
    store = Recorder()
    assert change_of(conf, edit).apply(store, [0, 12]) == [0, 13, 0]
    assert store.calls == [call]


@pytest.fixture
def cib_file(tmp_path):
    path = str(tmp_path / "cib.xml")
    shutil.copy(os.path.join(FIXTURES, "cluster.xml"), path)
    return path


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_converge_edit_on_a_file_moves_primitives_in_one_write(cib_file):
    store = backend.FileCib(cib_file)
    spec = resources.GroupSpec(dict(id="web-group", members=["vip", "web"]))
    change, version = changes.converge_edit(store, lambda c: resources.edit_group(c, spec), False)
    assert change.changed and version == [0, 13, 0]
    root = store.read()[0]
    group = root.find("configuration/resources/group[@id='web-group']")
    assert [p.get("id") for p in group] == ["vip", "web"]
    assert root.find("configuration/resources/primitive[@id='vip']") is None
    assert root.find("status/node_state") is not None


def test_converge_edit_without_change_or_in_check_mode_leaves_the_file_alone(cib_file):
    before = read_bytes(cib_file)
    store = backend.FileCib(cib_file)
    spec = resources.GroupSpec(dict(id="db-group", members=["fs", "db"]))
    change, version = changes.converge_edit(store, lambda c: resources.edit_group(c, spec), False)
    assert change.changed is False and version == [0, 12, 4]
    spec = resources.GroupSpec(dict(id="db-group", members=["db", "fs"]))
    change, version = changes.converge_edit(store, lambda c: resources.edit_group(c, spec), True)
    assert change.changed is True and version == [0, 12, 4]
    assert read_bytes(cib_file) == before


def test_converge_edit_runs_the_check_before_writing(cib_file):
    before = read_bytes(cib_file)
    store = backend.FileCib(cib_file)

    def refuse(change):
        raise VigilError("agent", "no such agent")
    spec = resources.GroupSpec(dict(id="db-group", members=["db", "fs"]))
    with pytest.raises(VigilError) as err:
        changes.converge_edit(store, lambda c: resources.edit_group(c, spec), False, refuse)
    assert err.value.kind == "agent"
    assert read_bytes(cib_file) == before


def test_file_replace_is_version_checked(cib_file):
    before = read_bytes(cib_file)
    store = backend.FileCib(cib_file)
    conf = cibxml.configuration(store.read()[0])
    with pytest.raises(VigilError) as err:
        store.replace(conf, [0, 11])
    assert err.value.kind == "conflict"
    assert store.replace(conf, [0, 12]) == [0, 12, 4]
    assert read_bytes(cib_file) == before
