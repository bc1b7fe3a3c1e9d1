"""resource_clear removes what move and ban added: all of it, or only what names one node."""

import pytest

from vigil.core import cib as C
from vigil.core.cibops import WRITE_OPS
from vigil.errors import CibNotFound


def apply(cib, op, **req):
    new, result = WRITE_OPS[op](cib, req)
    return (new if new is not None else cib), result


@pytest.fixture
def moved_and_banned():
    cib = C.new_cib()
    for i in (1, 2, 3):
        cib, _ = apply(cib, "cib_put", section="nodes", xml=f'<node id="{i}" uname="node{i}"/>',
                       mode="create")
    cib, _ = apply(cib, "resource_create", id="web", agent="ocf:vigil:Dummy")
    cib, _ = apply(cib, "resource_move", id="web", node="node2")
    cib, _ = apply(cib, "resource_ban", id="web", node="node3")
    cib, _ = apply(cib, "resource_ban", id="web", node="node1")
    return cib


def location_ids(cib):
    return sorted(el.get("id") for el in cib.iter("rsc_location"))


def test_clear_without_node_removes_every_move_and_ban(moved_and_banned):
    cib, result = apply(moved_and_banned, "resource_clear", id="web")
    assert sorted(result["removed"]) == ["cli-ban-web-on-node1", "cli-ban-web-on-node3",
                                         "cli-prefer-web"]
    assert result["changed"] is True and location_ids(cib) == []


def test_clear_with_node_removes_only_what_names_it(moved_and_banned):
    cib, result = apply(moved_and_banned, "resource_clear", id="web", node="node3")
    assert result["removed"] == ["cli-ban-web-on-node3"]
    assert location_ids(cib) == ["cli-ban-web-on-node1", "cli-prefer-web"]
    cib, result = apply(cib, "resource_clear", id="web", node="node2")
    assert result["removed"] == ["cli-prefer-web"]
    assert location_ids(cib) == ["cli-ban-web-on-node1"]


def test_clear_with_nothing_to_remove_is_not_a_change(moved_and_banned):
    cib, _ = apply(moved_and_banned, "resource_clear", id="web")
    new, result = WRITE_OPS["resource_clear"](cib, {"id": "web", "node": "node1"})
    assert new is None and result["changed"] is False and result["removed"] == []


def test_clear_on_an_unknown_node_is_refused(moved_and_banned):
    with pytest.raises(CibNotFound, match="node9"):
        WRITE_OPS["resource_clear"](moved_and_banned, {"id": "web", "node": "node9"})
