# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Pure rules of the cluster-operation modules (node, resource_ctl, fence).

Every function here reads values the daemon returned (the configuration XML of
``cib_get``, the status object, the CIB ``status`` section) and computes what a module
would change, exactly as the daemon's operations change it, so that check mode predicts
what a real run does. Nothing here talks to a socket or sleeps; :func:`poll` is the only
loop and takes its clock and its sleep as arguments.

Rules
-----
* A node's state is its permanent node attributes in the configuration: ``standby`` and
  ``maintenance``, true when the value is one of Pacemaker's true words (``on``, ``true``,
  ``yes``, ``y``, ``1``). Setting writes ``on``/``true``; clearing deletes the attribute.
* ``move`` owns ``cli-prefer-RSC`` (+INFINITY on the node), ``ban`` owns
  ``cli-ban-RSC-on-NODE`` (-INFINITY); ``clear`` removes those (only the ones naming
  ``node`` when given).
* A resource is disabled when its first meta attribute block says ``target-role=Stopped``;
  ``enable`` deletes that target-role, ``disable`` sets it.
* A resource has failures to clean up when the status section holds a fail count, a
  last-failure time or a ``*_last_failure_0`` operation for it (the records ``cleanup``
  forgets).
* A group or clone is placed where its primitives are: the status object lists primitives
  (clone instances folded into the primitive's id).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError

TRUE_WORDS = ("true", "on", "yes", "y", "1")
RESOURCE_TAGS = ("primitive", "group", "clone", "master", "bundle")
ACTIVE_ROLES = ("Started", "Promoted", "Unpromoted")
ROLES = ("Started", "Stopped", "Promoted", "Unpromoted")

# state option -> (node attribute, whether it is set)
NODE_STATES = {
    "online": ("standby", False),
    "unstandby": ("standby", False),
    "standby": ("standby", True),
    "maintenance": ("maintenance", True),
    "ready": ("maintenance", False),
}
SET_VALUES = {"standby": "on", "maintenance": "true"}


def is_true(text):
    return text is not None and text.strip().lower() in TRUE_WORDS


def parse(text, what):
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise VigilError("protocol", "%s is not XML: %s" % (what, exc)) from None


def configuration(client):
    """The live configuration section (an element) and the CIB version it was read at."""
    reply = client.call("cib_get", scope="configuration")
    return parse(reply["xml"], "the configuration the daemon sent"), reply.get("version")


# ---------------------------------------------------------------------------- nodes

def node_names(conf):
    return [n.get("uname") for n in conf.iter("node") if n.get("uname")]


def find_node(conf, name):
    for node in conf.iter("node"):
        if node.get("uname") == name:
            return node
    raise VigilError("not_found", "no node named %r in this cluster (nodes: %s)"
                     % (name, ", ".join(node_names(conf)) or "none"))


def node_attribute(node, name):
    """The value of a permanent attribute of a <node> (first instance_attributes block)."""
    block = node.find("instance_attributes")
    if block is None:
        return None
    for nv in block.findall("nvpair"):
        if nv.get("name") == name:
            return nv.get("value")
    return None


def node_state(conf, name):
    node = find_node(conf, name)
    return dict(standby=is_true(node_attribute(node, "standby")),
                maintenance=is_true(node_attribute(node, "maintenance")))


def plan_node(conf, name, state):
    """(before, after, request): request is the node_attr arguments, None when unchanged."""
    attr, wanted = NODE_STATES[state]
    before = node_state(conf, name)
    after = dict(before)
    after[attr] = wanted
    if before == after:
        return before, after, None
    return before, after, dict(node=name, name=attr, value=SET_VALUES[attr] if wanted else None)


def describe_node_state(state):
    return "standby: %s\nmaintenance: %s\n" % (
        "on" if state["standby"] else "off", "on" if state["maintenance"] else "off")


def status_node(status, name):
    for node in status.get("nodes") or []:
        if node.get("name") == name:
            return node
    return None


def resources_on(status, name):
    return sorted(r["id"] for r in status.get("resources") or [] if name in (r.get("nodes") or []))


def node_settled(status, name, state):
    """Whether the status shows the node as the state asks (the module's ``wait``)."""
    node = status_node(status, name)
    if node is None:
        return False
    attr, wanted = NODE_STATES[state]
    if attr == "standby" and wanted:
        return bool(node.get("standby")) and not resources_on(status, name)
    if attr == "standby":
        return bool(node.get("online")) and not node.get("standby") and bool(status.get("dc"))
    return bool(node.get(attr)) == wanted


# ---------------------------------------------------------------------------- resources

def find_resource(conf, rsc):
    resources = conf.find("resources")
    for el in resources.iter() if resources is not None else ():
        if el.tag in RESOURCE_TAGS and el.get("id") == rsc:
            return el
    known = [el.get("id") for el in resources.iter() if el.tag in RESOURCE_TAGS] \
        if resources is not None else []
    raise VigilError("not_found", "no resource with id %r (resources: %s)"
                     % (rsc, ", ".join(known) or "none"))


def primitive_ids(el):
    return [p.get("id") for p in el.iter("primitive")]


def cli_constraints(conf, rsc):
    """The move/ban constraints of a resource: {id: (node, score)}."""
    out = {}
    section = conf.find("constraints")
    for el in section.iter("rsc_location") if section is not None else ():
        ident = el.get("id") or ""
        if el.get("rsc") == rsc and (ident == "cli-prefer-%s" % rsc
                                     or ident.startswith("cli-ban-%s-on-" % rsc)):
            out[ident] = (el.get("node"), el.get("score"))
    return out


def target_role(el):
    block = el.find("meta_attributes")
    for nv in block.findall("nvpair") if block is not None else ():
        if nv.get("name") == "target-role":
            return nv.get("value")
    return None


def plan_resource(conf, rsc, action, node=None):
    """What an action changes: (before, after, changed), before/after as text for the diff.

    ``cleanup`` and ``restart`` depend on more than the configuration: see
    :func:`failures` and the module."""
    el = find_resource(conf, rsc)
    if node is not None:
        find_node(conf, node)
    if action in ("move", "ban", "clear"):
        before, after = plan_constraints(conf, rsc, action, node)
        return describe_constraints(before), describe_constraints(after), before != after
    if action in ("enable", "disable"):
        role = target_role(el)
        disabled = role is not None and role.lower() == "stopped"
        wanted = action == "disable"
        after = "Stopped" if wanted else (None if disabled else role)
        return describe_role(role), describe_role(after), disabled != wanted
    raise ValueError(action)


def plan_constraints(conf, rsc, action, node=None):
    """The move/ban constraints of a resource before and after ``action``."""
    before = cli_constraints(conf, rsc)
    after = dict(before)
    if action == "move":
        after["cli-prefer-%s" % rsc] = (node, "INFINITY")
    elif action == "ban":
        after["cli-ban-%s-on-%s" % (rsc, node)] = (node, "-INFINITY")
    else:
        after = dict((k, v) for k, v in before.items() if node is not None and v[0] != node)
    return before, after


def changed_ids(before, after):
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def describe_constraints(constraints):
    return "".join("%s: %s on %s\n" % (ident, score, node)
                   for ident, (node, score) in sorted(constraints.items()))


def describe_role(role):
    return "target-role: %s\n" % (role if role is not None else "(not set)")


def failures(status_xml, prims, node=None):
    """The failure records a cleanup would forget, per primitive id: {id: [what...]}."""
    out = {}
    for ns in status_xml.iter("node_state"):
        if node is not None and ns.get("uname") != node:
            continue
        where = ns.get("uname") or ns.get("id")
        for nv in ns.iterfind("transient_attributes/instance_attributes/nvpair"):
            name = nv.get("name") or ""
            for prefix in ("fail-count-", "last-failure-"):
                owner = name[len(prefix):].split("#", 1)[0] if name.startswith(prefix) else None
                if owner in prims:
                    out.setdefault(owner, []).append("%s on %s" % (name, where))
        for lr in ns.iterfind("lrm/lrm_resources/lrm_resource"):
            if lr.get("id") not in prims:
                continue
            for op in lr.findall("lrm_rsc_op"):
                if (op.get("id") or "").endswith("_last_failure_0"):
                    out.setdefault(lr.get("id"), []).append("%s on %s" % (op.get("id"), where))
    return out


def describe_failures(found):
    return "".join("%s: %s\n" % (rsc, ", ".join(sorted(what)))
                   for rsc, what in sorted(found.items()))


# ---------------------------------------------------------------------------- placement

def placement(status, prims):
    """Where the primitives run: {"role", "nodes", "members": {id: {role, nodes, roles, failed}}}.

    ``role`` sums the members up: Failed when one failed, Stopped when none runs, Promoted
    when one is promoted somewhere, else the role every running member shares (Started)."""
    entries = dict((r.get("id"), r) for r in status.get("resources") or [])
    members = {}
    for pid in prims:
        entry = entries.get(pid) or {}
        nodes = list(entry.get("nodes") or [])
        roles = entry.get("roles")
        if roles is None:  # a daemon that does not say per node
            roles = dict((n, entry.get("role")) for n in nodes)
        members[pid] = dict(role=entry.get("role") or "Stopped", nodes=nodes, roles=dict(roles),
                            failed=bool(entry.get("failed")))
    everywhere = sorted(set(n for m in members.values() for n in m["nodes"]))
    all_roles = [m["role"] for m in members.values()]
    if "Failed" in all_roles:
        role = "Failed"
    elif not everywhere:
        role = "Stopped"
    elif any("Promoted" in m["roles"].values() for m in members.values()):
        role = "Promoted"
    elif all(m["nodes"] for m in members.values()):
        role = "Started" if all(r != "Unpromoted" for r in all_roles) else "Unpromoted"
    else:
        role = "Partial"
    return dict(role=role, nodes=everywhere, members=members)


def role_reached(place, role, node=None):
    """Whether every member primitive has ``role`` (on ``node`` when given)."""
    for member in place["members"].values():
        roles = member["roles"]
        if role == "Stopped":
            ok = node not in roles if node is not None else not roles
        elif member["failed"]:
            ok = False
        elif role == "Started":
            ok = roles.get(node) in ACTIVE_ROLES if node is not None else bool(roles)
        else:
            ok = roles.get(node) == role if node is not None else role in roles.values()
        if not ok:
            return False
    return True


def describe_placement(place):
    if not place["nodes"]:
        return "%s" % place["role"]
    return "%s on %s" % (place["role"], ", ".join(place["nodes"]))


# ---------------------------------------------------------------------------- waiting

def poll(probe, timeout_s, clock, sleep, interval_s=0.2):
    """Call ``probe()`` until it returns (True, value) or ``timeout_s`` passes.

    ``probe`` returns (done, value); a VigilError it raises counts as not done and is kept.
    Returns (done, last value, last error)."""
    deadline = clock() + timeout_s
    value, error = None, None
    while True:
        try:
            done, value = probe()
            error = None
        except VigilError as exc:
            done, error = False, exc
        if done:
            return True, value, None
        if clock() >= deadline:
            return False, value, error
        sleep(interval_s)
