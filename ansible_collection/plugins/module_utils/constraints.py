# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)
"""Location, colocation and order constraints: options, rendering, description.

Rules:

- A constraint is exactly what its options say: an option left out is an attribute the
  element does not have (Pacemaker's default applies). ``score`` defaults to INFINITY for
  location (with ``node``) and colocation constraints, and to INFINITY for each rule.
- Scores are integers or ``INFINITY``/``+INFINITY``/``-INFINITY``; a live score that means
  the same as the wanted one (``+INFINITY`` and ``INFINITY``, ``+100`` and ``100``) is kept
  as written, so it is not a change.
- Every resource a constraint names must exist in the configuration being edited; an
  option that does not belong to the type (``node`` on an order) is refused.
- Rule and expression ids are ``ID-rule``, ``ID-rule-1``..., ``RULE-expr``,
  ``RULE-expr-1``...; an existing rule keeps its id and its expressions' ids by position.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ansible_collections.vigil.cluster.plugins.module_utils import cib as cibxml
from ansible_collections.vigil.cluster.plugins.module_utils.errors import VigilError
from ansible_collections.vigil.cluster.plugins.module_utils.params import Options
from ansible_collections.vigil.cluster.plugins.module_utils.resources import (
    check_id,
    listing,
    resource_elements,
    section,
)

TAGS = {"location": "rsc_location", "colocation": "rsc_colocation", "order": "rsc_order"}
TYPES = dict((tag, name) for name, tag in TAGS.items())
ROLES = ("Started", "Stopped", "Promoted", "Unpromoted")
ACTIONS = ("start", "stop", "promote", "demote")
KINDS = ("Mandatory", "Optional", "Serialize")
OPERATIONS = ("lt", "gt", "lte", "gte", "eq", "ne", "defined", "not_defined")
VALUE_TYPES = ("string", "integer", "number", "version")
COMMON = ("id", "type", "state")
OPTIONS = {
    "location": ("resource", "node", "score", "rules", "role"),
    "colocation": ("resource", "with_resource", "score", "role", "with_role"),
    "order": ("first", "then", "first_action", "then_action", "kind", "symmetrical"),
}
ALL_OPTIONS = COMMON + tuple(sorted(set(o for opts in OPTIONS.values() for o in opts)))
# Option -> attribute, in the order attributes are written.
ATTRS = {
    "location": (("resource", "rsc"), ("role", "role"), ("node", "node"), ("score", "score")),
    "colocation": (("resource", "rsc"), ("role", "rsc-role"), ("with_resource", "with-rsc"),
                   ("with_role", "with-rsc-role"), ("score", "score")),
    "order": (("first", "first"), ("first_action", "first-action"), ("then", "then"),
              ("then_action", "then-action"), ("kind", "kind"), ("symmetrical", "symmetrical")),
}
# Options that name a resource.
REFS = {"location": ("resource",), "colocation": ("resource", "with_resource"),
        "order": ("first", "then")}
_INT_RE = re.compile(r"^[+-]?\d+$")


def score_text(value, where):
    """The canonical text of a score; anything else fails naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise VigilError("invalid", "%s: %r is not a score (an integer, INFINITY, +INFINITY or "
                                    "-INFINITY)" % (where, value))
    text = str(value).strip()
    if _INT_RE.match(text):
        return str(int(text))
    if text.upper() in ("INFINITY", "+INFINITY"):
        return "INFINITY"
    if text.upper() == "-INFINITY":
        return "-INFINITY"
    raise VigilError("invalid", "%s: %r is not a score (an integer, INFINITY, +INFINITY or "
                                "-INFINITY)" % (where, value))


def _score(opts):
    value = opts.values.get("score")
    return score_text("INFINITY" if value is None else value, opts.name("score"))


def _same_score(live_text, wanted):
    try:
        return live_text is not None and score_text(live_text, "") == wanted
    except VigilError:
        return False


class ConstraintSpec(object):
    """``cib_constraint``'s options, checked for the constraint's type."""

    def __init__(self, values, where=""):
        opts = Options(values, where, ALL_OPTIONS)
        self.where = opts
        self.id = opts.text("id", required=True)
        check_id(self.id, opts.name("id"))
        self.state = opts.state()
        self.type = opts.text("type", required=self.state == "present", choices=tuple(TAGS))
        self.attrs = {}
        self.rules = None
        if self.type is None:
            return
        misplaced = [k for k in ALL_OPTIONS if k not in COMMON + OPTIONS[self.type]
                     and opts.given(k)]
        if misplaced:
            opts.fail(misplaced[0], "is not an option of %s constraints (their options: %s)"
                      % (self.type, ", ".join(OPTIONS[self.type])))
        if self.state == "present":
            getattr(self, "_" + self.type)(opts)

    def _location(self, opts):
        self.attrs["resource"] = opts.text("resource", required=True)
        self.attrs["role"] = opts.text("role", choices=ROLES)
        rules = opts.items("rules")
        if opts.given("node") == (rules is not None):
            opts.fail("node", "give either node or rules (exactly one of them)")
        if rules is not None:
            if opts.given("score"):
                opts.fail("score", "with rules, give each rule its own score")
            if not rules:
                opts.fail("rules", "give at least one rule")
            self.rules = [_rule(rule, "%s[%d]" % (opts.name("rules"), i))
                          for i, rule in enumerate(rules)]
            return
        self.attrs["node"] = opts.text("node")
        self.attrs["score"] = _score(opts)

    def _colocation(self, opts):
        self.attrs["resource"] = opts.text("resource", required=True)
        self.attrs["with_resource"] = opts.text("with_resource", required=True)
        if self.attrs["resource"] == self.attrs["with_resource"]:
            opts.fail("with_resource", "a resource cannot be colocated with itself")
        self.attrs["role"] = opts.text("role", choices=ROLES)
        self.attrs["with_role"] = opts.text("with_role", choices=ROLES)
        self.attrs["score"] = _score(opts)

    def _order(self, opts):
        self.attrs["first"] = opts.text("first", required=True)
        self.attrs["then"] = opts.text("then", required=True)
        if self.attrs["first"] == self.attrs["then"]:
            opts.fail("then", "a resource cannot be ordered after itself")
        self.attrs["first_action"] = opts.text("first_action", choices=ACTIONS)
        self.attrs["then_action"] = opts.text("then_action", choices=ACTIONS)
        self.attrs["kind"] = opts.text("kind", choices=KINDS)
        symmetrical = opts.flag("symmetrical")
        if symmetrical is not None:
            self.attrs["symmetrical"] = "true" if symmetrical else "false"


def _rule(values, where):
    opts = Options(values, where, ("score", "expressions", "boolean_op"))
    rule = dict(score=_score(opts),
                boolean_op=opts.text("boolean_op", choices=("and", "or")), expressions=[])
    expressions = opts.items("expressions", required=True)
    if not expressions:
        opts.fail("expressions", "give at least one expression")
    for index, expr in enumerate(expressions):
        ex = Options(expr, "%s[%d]" % (opts.name("expressions"), index),
                     ("attribute", "operation", "value", "type"))
        item = dict(attribute=ex.text("attribute", required=True),
                    operation=ex.text("operation", required=True, choices=OPERATIONS),
                    value=ex.text("value"), type=ex.text("type", choices=VALUE_TYPES))
        if item["operation"] in ("defined", "not_defined"):
            if item["value"] is not None:
                ex.fail("value", "operation %s takes no value" % item["operation"])
        elif item["value"] is None:
            ex.fail("value", "is required with operation %s" % item["operation"])
        rule["expressions"].append(item)
    return rule


def _check_refs(conf, spec):
    known = set(e.get("id") for e in resource_elements(conf))
    for option in REFS[spec.type]:
        name = spec.attrs[option]
        if name not in known:
            raise VigilError("invalid", "%s: constraint %r names resource %r, which does not "
                                        "exist (resources: %s)" % (
                                            spec.where.name(option), spec.id, name,
                                            listing(known)))


def render(spec, live=None):
    """The desired constraint element (``live``: the one in the CIB, for its ids and scores)."""
    elem = ET.Element(TAGS[spec.type], {"id": spec.id})
    for option, attr in ATTRS[spec.type]:
        value = spec.attrs.get(option)
        if value is None:
            continue
        if option == "score" and live is not None and _same_score(live.get(attr), value):
            value = live.get(attr)
        elem.set(attr, value)
    live_rules = [] if live is None else live.findall("rule")
    taken = set([spec.id])
    for index, rule in enumerate(spec.rules or []):
        live_rule = live_rules[index] if index < len(live_rules) else None
        elem.append(_render_rule(spec.id, rule, live_rule, taken))
    return elem


def _live_id(live, taken):
    elem_id = None if live is None else live.get("id")
    if elem_id and elem_id not in taken:
        taken.add(elem_id)
        return elem_id
    return None


def _render_rule(owner_id, rule, live, taken):
    rule_id = _live_id(live, taken) or cibxml.unique_id("%s-rule" % owner_id, taken)
    score = rule["score"]
    if live is not None and _same_score(live.get("score"), score):
        score = live.get("score")
    elem = ET.Element("rule", {"id": rule_id, "score": score})
    if rule["boolean_op"]:
        elem.set("boolean-op", rule["boolean_op"])
    live_exprs = [] if live is None else live.findall("expression")
    for index, expr in enumerate(rule["expressions"]):
        live_expr = live_exprs[index] if index < len(live_exprs) else None
        expr_id = _live_id(live_expr, taken) or cibxml.unique_id("%s-expr" % rule_id, taken)
        attrs = {"id": expr_id}
        for key in ("attribute", "operation", "value", "type"):
            if expr[key] is not None:
                attrs[key] = expr[key]
        ET.SubElement(elem, "expression", attrs)
    return elem


def edit(conf, spec):
    """Apply a ConstraintSpec to ``conf``."""
    live, parent = cibxml.find_by_id(conf, spec.id)
    if live is not None and (live.tag not in cibxml.CONSTRAINT_REFS or (
            spec.state == "present" and live.tag != TAGS[spec.type])):
        raise VigilError("invalid", "id %r is already used by a <%s> element; delete it first "
                                    "or choose another id" % (spec.id, live.tag))
    if spec.state == "absent":
        if live is not None:
            parent.remove(live)
        return
    _check_refs(conf, spec)
    elem = render(spec, live)
    if live is None:
        section(conf, "constraints").append(elem)
        return
    index = list(parent).index(live)
    parent.remove(live)
    parent.insert(index, elem)


def describe(elem):
    """The dict form of a constraint: ``cib_constraint``'s options.

    A constraint these options cannot express (resource sets, tickets, rsc-pattern) is
    described by its ``id``, ``type`` and ``xml``.
    """
    if elem is None:
        return None
    kind = TYPES.get(elem.tag)
    plain = kind is not None and elem.find("resource_set") is None and all(
        attr in dict(ATTRS[kind]).values() or attr == "id" for attr in elem.attrib)
    if not plain:
        return dict(id=elem.get("id"), type=kind or elem.tag.replace("rsc_", ""),
                    xml=cibxml.display(elem))
    result = dict(id=elem.get("id"), type=kind)
    for option, attr in ATTRS[kind]:
        if elem.get(attr) is not None:
            result[option] = elem.get(attr)
    if kind == "location" and elem.find("rule") is not None:
        result["rules"] = [_describe_rule(rule) for rule in elem.findall("rule")]
    if "symmetrical" in result:
        result["symmetrical"] = result["symmetrical"].lower() in ("true", "yes", "on", "1")
    return result


def _describe_rule(rule):
    result = dict(score=rule.get("score"), expressions=[])
    if rule.get("boolean-op"):
        result["boolean_op"] = rule.get("boolean-op")
    for expr in rule.findall("expression"):
        result["expressions"].append(dict((k, expr.get(k)) for k in (
            "attribute", "operation", "value", "type") if expr.get(k) is not None))
    return result
