"""Every XML entry point refuses DOCTYPEs, entities and processing instructions (issue 13,
item 7): an unresolved ``&x;`` stored in the CIB made every peer fail to parse it, every
later write fail, and the node's own cib.xml unreadable after a restart."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vigil.core import cib as C
from vigil.core.cibops import WRITE_OPS
from vigil.core.controller import ClusterSpec, Controller
from vigil.core.events import Heartbeat, PeerMessage, Tick
from vigil.errors import CibInvalid
from vigil.io.storage import Storage

ENTITY = ('<!DOCTYPE configuration [<!ENTITY x "boom">]>'
          "<configuration><crm_config/><nodes/><resources/><constraints/>"
          "<acls>&x;</acls></configuration>")
POISON = [
    (ENTITY, "DOCTYPE"),
    ('<!DOCTYPE cib SYSTEM "http://127.0.0.1:1/x.dtd"><configuration/>', "DOCTYPE"),
    ("<!DOCTYPE configuration><configuration/>", "DOCTYPE"),
    ('<!DOCTYPE c [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     "<configuration><acls>&b;</acls></configuration>", "DOCTYPE"),
    ("<configuration><acls>&x;</acls></configuration>", "Entity 'x' not defined"),
    ('<?xml version="1.0"?><?xml-stylesheet href="x"?><configuration/>',
     "processing instruction"),
    ("<configuration><acls><?php echo 1 ?></acls></configuration>", "processing instruction"),
]


@pytest.mark.parametrize("xml,needle", POISON)
def test_the_parser_refuses_dtds_entities_and_processing_instructions(xml, needle):
    with pytest.raises(CibInvalid, match=needle) as err:
        C.parse(xml, "the replacement configuration")
    assert str(err.value).startswith("the replacement configuration ")


def test_plain_xml_with_predefined_and_character_references_still_parses():
    el = C.parse('<?xml version="1.0"?><!-- a comment --><configuration>'
                 '<acls a="&lt;&#65;">&amp;&#x42;</acls></configuration>')
    assert el.find("acls").text == "&B" and el.find("acls").get("a") == "<A"


def test_a_refused_replace_leaves_the_cib_exactly_as_it_was():
    cib = C.new_cib()
    before = C.to_bytes(cib)
    with pytest.raises(CibInvalid, match="DOCTYPE"):
        WRITE_OPS["cib_replace"](cib, {"xml": ENTITY})
    with pytest.raises(CibInvalid, match="DOCTYPE"):
        WRITE_OPS["cib_put"](cib, {"xml": '<!DOCTYPE p [<!ENTITY x "1">]>'
                                          '<primitive id="p" class="ocf" provider="vigil" '
                                          'type="Dummy">&x;</primitive>',
                                   "section": "resources"})
    assert C.to_bytes(cib) == before


def poisoned_cib() -> bytes:
    """A whole CIB with a DOCTYPE and an entity in its text, as old versions stored it."""
    cib = C.to_bytes(C.new_cib()).decode()
    return ('<!DOCTYPE cib [<!ENTITY x "boom">]>\n'
            + cib.replace("<status/>", "<status>&x;</status>")).encode()


NAMES = {1: "node1", 2: "node2", 3: "node3"}


def following(me: int) -> Controller:
    spec = ClusterSpec("t", me, NAMES, {n: 1 for n in NAMES}, 200, 1000, join_timeout_ms=2000)
    c = Controller(spec, incarnation=1000 + me, cib=None, now_ms=0)
    now = 0
    while c.dc is None and now < 4000:
        now += 100
        for other in (n for n in NAMES if n != me):
            c.handle(Heartbeat(other, 1000 + other, {
                "t": "hb", "c": "t", "dc": None, "v": [0, 0, 0], "term": 0,
                "m": sorted(NAMES), "q": True}, now))
        c.handle(Tick(now, now / 1000))
    assert c.dc == 1
    return c


def test_a_cib_from_the_dc_with_an_entity_is_dropped_not_adopted_and_never_raises():
    c = following(2)
    before = C.to_bytes(c.cib)
    out = c.handle(PeerMessage(1, {"t": "cib", "xml": poisoned_cib().decode(), "term": 9},
                               1001))
    assert C.to_bytes(c.cib) == before and c.term != 9
    assert not any(type(o).__name__ in ("Persist", "Send") for o in out)
    assert any("DOCTYPE" in getattr(o, "text", "") for o in out), out


def test_a_cib_pushed_to_a_new_dc_with_an_entity_is_dropped_not_replicated():
    """A new DC pulls the newest replica from a member; a poisoned one must not spread."""
    spec = ClusterSpec("t", 1, NAMES, {n: 1 for n in NAMES}, 200, 1000, join_timeout_ms=2000)
    c = Controller(spec, incarnation=1001, cib=None, now_ms=0)
    now = 0
    while not c.is_dc and now < 4000:
        now += 100
        for other in (2, 3):  # they advertise a newer CIB: the DC waits for a push
            c.handle(Heartbeat(other, 1000 + other, {
                "t": "hb", "c": "t", "dc": None, "v": [0, 5, 0], "term": 3,
                "m": sorted(NAMES), "q": True}, now))
        c.handle(Tick(now, now / 1000))
    assert c.is_dc and not c.duties.synced
    xml = poisoned_cib().decode().replace('epoch="1"', 'epoch="5"')
    out = c.handle(PeerMessage(2, {"t": "cib_push", "xml": xml, "term": 3}, 1002))
    assert b"&x;" not in C.to_bytes(c.cib) and C.version(c.cib)[1] != 5
    assert not any(type(o).__name__ in ("Persist", "Send") for o in out), out


def test_a_poisoned_cib_on_disk_is_refused_and_the_newest_good_backup_is_loaded(tmp_path):
    store = Storage(tmp_path)
    good = C.new_cib()
    store.save(C.to_bytes(good), C.version(good))
    newer = C.new_cib()
    C.set_version(newer, (0, 2, 0))
    store.save(C.to_bytes(newer), C.version(newer))  # good (0,1,0) goes to backups
    (tmp_path / "cib.xml").write_bytes(poisoned_cib())
    (tmp_path / "cib.xml.sha256").unlink()
    loaded = Storage(tmp_path).load()
    assert loaded is not None and C.version(loaded) == (0, 1, 0)
    assert b"&x;" not in C.to_bytes(loaded)


def test_simulate_refuses_a_cib_file_with_an_entity(tmp_path):
    path = tmp_path / "cib.xml"
    path.write_bytes(poisoned_cib())
    res = subprocess.run([sys.executable, "-m", "vigil.cli.vigilctl", "simulate",
                          "--xml-file", str(path)], capture_output=True, text=True)
    assert res.returncode == 2 and "DOCTYPE" in res.stderr, res
