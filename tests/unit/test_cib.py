import pytest

from vigil.core import cib as C
from vigil.core.cibops import WRITE_OPS
from vigil.errors import CibConflict, CibExists, CibInvalid, CibNotFound


@pytest.fixture
def base():
    cib = C.new_cib()
    new, _ = WRITE_OPS["resource_create"](cib, {"id": "web", "agent": "ocf:vigil:http",
                                                "params": {"port": "8080"}})
    return new


def frozen(cib):
    return C.to_bytes(cib)


def test_create_bumps_epoch_and_renders_pacemaker_ids(base):
    assert C.version(base) == (0, 2, 0)
    prim = C.find_id(base, "web")
    assert prim.get("provider") == "vigil"
    assert base.find(".//nvpair[@id='web-instance_attributes-port']").get("value") == "8080"


def test_create_existing_id_is_refused_and_changes_nothing(base):
    before = frozen(base)
    with pytest.raises(CibExists, match="web"):
        WRITE_OPS["resource_create"](base, {"id": "web", "agent": "ocf:vigil:Dummy"})
    assert frozen(base) == before


@pytest.mark.parametrize("agent", ["ocf:vigil", "http", "ocf::http", "bogus:x:y:z"])
def test_bad_agent_spec(base, agent):
    with pytest.raises(CibInvalid, match="agent"):
        WRITE_OPS["resource_create"](base, {"id": "x", "agent": agent})


def test_upsert_same_element_is_not_a_change(base):
    el = C.find_id(base, "web")
    new, changed = C.put(base, "resources", el, "upsert")
    assert not changed and new is base


def test_stale_expected_version_is_a_conflict(base):
    with pytest.raises(CibConflict, match="changed since"):
        C.set_property(base, "stonith-enabled", "false", expect=[0, 1])
    new, changed = C.set_property(base, "stonith-enabled", "false", expect=[0, 2])
    assert changed and C.get_property(new, "stonith-enabled") == "false"


def test_delete_resource_takes_its_constraints(base):
    xml = ('<configuration><crm_config/><nodes/><resources>'
           '<primitive id="a" class="ocf" provider="vigil" type="Dummy"/>'
           '<primitive id="b" class="ocf" provider="vigil" type="Dummy"/></resources>'
           '<constraints><rsc_colocation id="c1" rsc="a" with-rsc="b" score="INFINITY"/>'
           '<rsc_location id="l1" rsc="b" node="n1" score="100"/></constraints>'
           '</configuration>')
    cib = C.replace_configuration(base, C.parse(xml))
    new, removed = C.delete(cib, "a")
    assert sorted(removed) == ["a", "c1"]
    assert C.find_id(new, "l1") is not None
    with pytest.raises(CibNotFound):
        C.delete(new, "a")


@pytest.mark.parametrize("xml,needle", [
    ("<configuration><crm_config/><nodes/><resources/><constraints>"
     "<rsc_location id='l' rsc='ghost' node='n1' score='1'/></constraints></configuration>",
     "ghost"),
    ("<configuration><crm_config/><nodes/><resources>"
     "<primitive id='p' class='ocf' provider='x' type='y'/></resources><constraints>"
     "<rsc_location id='l' rsc='p' node='n1' score='lots'/></constraints></configuration>",
     "'lots' is not a number"),
    ("<configuration><crm_config/><nodes/><resources>"
     "<primitive id='p' class='ocf' type='y'/></resources><constraints/></configuration>",
     "provider"),
    ("<configuration><crm_config/><nodes/><resources>"
     "<primitive id='p' class='ocf' provider='x' type='y'/>"
     "<primitive id='p' class='ocf' provider='x' type='y'/></resources><constraints/>"
     "</configuration>", "used twice"),
    ("<configuration><resources>", "not well-formed"),
])
def test_invalid_replacement_is_refused_and_changes_nothing(base, xml, needle):
    before = frozen(base)
    with pytest.raises(CibInvalid, match=needle):
        WRITE_OPS["cib_replace"](base, {"xml": xml})
    assert frozen(base) == before


def test_replace_from_a_whole_cib_takes_only_configuration(base):
    other = C.new_cib()
    C.set_version(other, (0, 99, 5))
    new, result = WRITE_OPS["cib_replace"](base, {"xml": C.to_bytes(other).decode()})
    assert C.find_id(new, "web") is None
    assert result["version"] == [0, 3, 0], "epoch moves on from ours, not the file's"


def test_deleting_a_groups_last_member_removes_the_group_and_its_constraints(base):
    xml = ('<configuration><crm_config/><nodes/><resources>'
           '<group id="g"><primitive id="a" class="ocf" provider="vigil" type="Dummy"/></group>'
           '</resources><constraints><rsc_location id="l" rsc="g" node="n1" score="5"/>'
           '</constraints></configuration>')
    cib = C.replace_configuration(base, C.parse(xml))
    new, removed = C.delete(cib, "a")
    assert sorted(removed) == ["a", "g", "l"]
    C.validate(new)


def test_a_malformed_expect_version_is_refused_with_a_clear_error() -> None:
    cib = C.new_cib()
    for junk in (5, ["a"], [1], "0,1", [True, 1]):
        with pytest.raises(CibInvalid, match="expect_version must be a list of integers"):
            WRITE_OPS["property_set"](cib, {"op": "property_set", "name": "p", "value": "1",
                                            "expect_version": junk})
