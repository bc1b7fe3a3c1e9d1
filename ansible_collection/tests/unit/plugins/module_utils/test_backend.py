# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""The CIB file back end and the read-plan-apply loop."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.vigil.cluster.plugins.module_utils import backend
from ansible_collections.vigil.cluster.plugins.module_utils import cib
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")

NEW = '<primitive id="db" class="ocf" provider="vigil" type="Dummy"/>'


@pytest.fixture
def cib_file(tmp_path):
    path = str(tmp_path / "cib.xml")
    shutil.copy(os.path.join(FIXTURES, "web.xml"), path)
    return path


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_put_new_element_bumps_epoch(cib_file):
    store = backend.FileCib(cib_file)
    version = store.put("resources", ET.fromstring(NEW), [0, 7])
    assert version == [0, 8, 0]
    root, read_version = store.read()
    assert read_version == [0, 8, 0]
    assert root.find("configuration/resources/primitive[@id='db']") is not None


def test_put_equal_element_leaves_file_byte_identical(cib_file):
    before = read_bytes(cib_file)
    prim = ET.parse(os.path.join(FIXTURES, "web-reordered.xml")).getroot()
    assert backend.FileCib(cib_file).put("resources", prim, [0, 7]) == [0, 7, 3]
    assert read_bytes(cib_file) == before


def test_put_replaces_in_place_inside_a_group(cib_file):
    store = backend.FileCib(cib_file)
    store.put("resources", ET.fromstring('<primitive id="vip" class="ocf" provider="vigil" '
                                         'type="Dummy"/>'), [0, 7])
    root = store.read()[0]
    members = [p.get("id") for p in root.find("configuration/resources/group")]
    assert members == ["vip", "app"]
    assert root.find(".//primitive[@id='vip']").get("type") == "Dummy"


def test_stale_version_is_a_conflict_and_changes_nothing(cib_file):
    before = read_bytes(cib_file)
    with pytest.raises(VigilError) as err:
        backend.FileCib(cib_file).put("resources", ET.fromstring(NEW), [0, 6])
    assert err.value.kind == "conflict"
    assert read_bytes(cib_file) == before


def test_delete(cib_file):
    store = backend.FileCib(cib_file)
    assert store.delete("web", "resources", [0, 7]) == [0, 8, 0]
    root = store.read()[0]
    assert root.find(".//primitive[@id='web']") is None


def test_delete_missing_is_not_found(cib_file):
    before = read_bytes(cib_file)
    with pytest.raises(VigilError) as err:
        backend.FileCib(cib_file).delete("nope", "resources", [0, 7])
    assert err.value.kind == "not_found"
    assert read_bytes(cib_file) == before


def test_put_over_another_kind_of_element_is_refused(cib_file):
    with pytest.raises(VigilError) as err:
        backend.FileCib(cib_file).put("resources", ET.fromstring('<primitive id="g1" class="ocf" '
                                                                 'provider="x" type="y"/>'), [0, 7])
    assert err.value.kind == "invalid"


def test_missing_file_reads_as_empty_and_is_created_on_write(tmp_path):
    path = str(tmp_path / "new.xml")
    store = backend.FileCib(path)
    root, version = store.read()
    assert version == [0, 0, 0] and root.find("configuration/resources") is not None
    assert not os.path.exists(path)
    store.put("resources", ET.fromstring(NEW), version)
    assert cib.version_of(ET.parse(path).getroot()) == [0, 1, 0]


def test_file_mode_is_kept(cib_file):
    os.chmod(cib_file, 0o600)
    backend.FileCib(cib_file).put("resources", ET.fromstring(NEW), [0, 7])
    assert os.stat(cib_file).st_mode & 0o777 == 0o600
    assert [n for n in os.listdir(os.path.dirname(cib_file)) if n.startswith(".")] == []


@pytest.mark.parametrize("content, words", [
    ("<cib", "not well-formed"), ("<configuration/>", "expected <cib>"),
    ("<cib epoch='1'/>", "with a <configuration>"),
])
def test_bad_files(tmp_path, content, words):
    path = tmp_path / "bad.xml"
    path.write_text(content)
    with pytest.raises(VigilError) as err:
        backend.FileCib(str(path)).read()
    assert err.value.kind == "invalid" and words in err.value.message


class Plan(object):
    def __init__(self, changed):
        self.changed = changed


class RacingBackend(object):
    """Reports a conflict on the first ``conflicts`` writes."""

    def __init__(self, conflicts):
        self.conflicts = conflicts
        self.reads = 0
        self.writes = 0

    def read(self):
        self.reads += 1
        return None, [0, self.reads, 0]

    def apply(self, plan, version):
        self.writes += 1
        if self.writes <= self.conflicts:
            raise VigilError("conflict", "moved")
        return [0, version[1] + 1, 0]


def test_converge_retries_on_conflict():
    store = RacingBackend(conflicts=2)
    plan, version = backend.converge(store, lambda cib_root: Plan(True), store.apply, False)
    assert store.reads == 3 and version == [0, 4, 0]


def test_converge_gives_up():
    store = RacingBackend(conflicts=10)
    with pytest.raises(VigilError) as err:
        backend.converge(store, lambda cib_root: Plan(True), store.apply, False, retries=3)
    assert err.value.kind == "conflict" and store.writes == 3


def test_converge_writes_nothing_in_check_mode_or_without_change():
    store = RacingBackend(conflicts=0)
    backend.converge(store, lambda cib_root: Plan(True), store.apply, True)
    backend.converge(store, lambda cib_root: Plan(False), store.apply, False)
    assert store.writes == 0


def test_other_errors_are_not_retried():
    store = RacingBackend(conflicts=0)

    def apply(plan, version):
        raise VigilError("agent", "no such agent")
    with pytest.raises(VigilError) as err:
        backend.converge(store, lambda cib_root: Plan(True), apply, False)
    assert err.value.kind == "agent" and store.reads == 1


def test_delete_takes_constraints_and_an_emptied_group(tmp_path):
    path = tmp_path / "cib.xml"
    path.write_text(
        '<cib admin_epoch="0" epoch="1" num_updates="0"><configuration><resources>'
        '<group id="g"><primitive id="only" class="ocf" provider="vigil" type="Dummy"/></group>'
        '<primitive id="other" class="ocf" provider="vigil" type="Dummy"/>'
        '</resources><constraints>'
        '<rsc_location id="l1" rsc="only" node="n1" score="10"/>'
        '<rsc_colocation id="c1" rsc="other" with-rsc="g" score="INFINITY"/>'
        '<rsc_order id="o1" first="other" then="x"/>'
        '</constraints></configuration></cib>')
    store = backend.FileCib(str(path))
    store.delete("only", "resources", [0, 1])
    root = store.read()[0]
    assert root.find(".//group") is None
    assert [c.get("id") for c in root.find("configuration/constraints")] == ["o1"]
    assert root.find(".//primitive[@id='other']") is not None
