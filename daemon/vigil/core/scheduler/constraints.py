"""Stage 1b: the ``<constraints>`` section -> location, colocation and order specs.

Rules
-----
* A constraint may name a resource, a ``<tag>`` or a ``<template>``; a tag or template
  stands for its resources as a resource set would (location: each of them; colocation
  and order: a non-sequential set, as Pacemaker expands it).
* Resource sets are expanded into the pairwise constraints they mean (Pacemaker
  Explained, "Resource sets"):
  * order: within a sequential set each member after the previous one; between two
    consecutive sets, the last member of a first set marked ``sequential="true"`` (else
    every member: Pacemaker's order_rsc_sets reads only an explicit value there) before
    the first member of a next set so marked (else every member). The set's ``action``
    (default: the constraint's, else start) applies to its members.
  * colocation: within a sequential set each member with the previous one; in a
    non-sequential set with a negative score every member apart from every other; between
    sets, the first member of the earlier set (or every member) with the last member of
    the later set (or every member), so a later set is placed first.
  * location: every member gets the constraint. ``rsc-pattern`` (with or without ``rsc``)
    adds every top-level resource whose id the pattern matches.
  * ``require-all=false`` on an order set (for start/promote): the next set's members
    need any one member of it (``OrderSpec.relaxed``); on a simple order with a clone
    first, one instance (the deprecated form of ``clone-min=1``).
* A reference to a resource inside a clone means the clone.
* A reference to something that is not a resource raises :class:`CibInvalid`, except a
  bundle id (bundles are not modelled: the constraint is skipped with a note).
* An unknown order kind is read as Mandatory, as Pacemaker resets it; a colocation
  without a score (score 0) does nothing and is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import pairwise

from lxml import etree

from vigil.errors import CibInvalid

from . import scores
from .model import ColocSpec, LocationSpec, OrderSpec, TicketSpec
from .xmlread import describe, norm_role, parse_rule

Element = etree._Element


class _Skip(Exception):
    """A constraint that refers to an unmodelled resource (a bundle): skipped."""


class Refs:
    """What a constraint may name: resources, tags/templates (expanded), bundles."""

    def __init__(self, known: set[str], groups: Mapping[str, Sequence[str]],
                 unmodelled: set[str], aliases: Mapping[str, str],
                 top: Sequence[str] = ()) -> None:
        self.known, self.groups, self.unmodelled = known, groups, unmodelled
        self.aliases = aliases  # anything inside a clone -> the clone (Pacemaker)
        self.top = top  # top-level resources, in configuration order (rsc-pattern)

    def expand(self, el: Element, rid: str | None, attr: str) -> list[str]:
        if not rid:
            raise CibInvalid(f"{describe(el)}: missing {attr}")
        if rid in self.known:
            return [self.aliases.get(rid, rid)]
        if rid in self.groups:
            return [self.aliases.get(r, r) for r in self.groups[rid] if r in self.known]
        if rid in self.unmodelled:
            raise _Skip(f"{describe(el)}: {rid!r} is a bundle, not modelled; ignored")
        raise CibInvalid(f"{describe(el)}: {attr} {rid!r} is not a configured resource")


def _children(el: Element, tag: str) -> list[Element]:
    return [c for c in el if isinstance(c.tag, str) and c.tag == tag]


def _is_true(el: Element, attr: str, default: bool) -> bool:
    return scores.is_true(el.get(attr), default)


class _Set:
    def __init__(self, el: Element, refs: Refs) -> None:
        self.el = el
        self.members: list[str] = []
        for ref in _children(el, "resource_ref"):
            self.members.extend(refs.expand(el, ref.get("id"), "resource_ref"))
        self.sequential = _is_true(el, "sequential", True)
        self.explicit_sequential = _is_true(el, "sequential", False)
        self.require_all = _is_true(el, "require-all", True)
        self.role = norm_role(el.get("role"))
        self.action = (el.get("action") or "").lower() or None


def _sets(el: Element, refs: Refs) -> list[_Set]:
    return [_Set(s, refs) for s in _children(el, "resource_set")]


def _tag_set(el: Element, refs: Refs, attr: str, role_attr: str,
             action_attr: str | None = None) -> _Set | None:
    """``rsc``-style attribute naming a tag/template: the set it stands for."""
    rid = el.get(attr)
    if rid is None or rid in refs.known or rid not in refs.groups:
        return None
    tag_set = _single(el, refs, attr, role_attr, action_attr)
    tag_set.sequential = False  # as Pacemaker's pcmk__tag_to_set makes it
    return tag_set


# -- location ----------------------------------------------------------------------------
def parse_location(el: Element, refs: Refs, notes: list[str]) -> list[LocationSpec]:
    rules = tuple(parse_rule(r) for r in _children(el, "rule"))
    node = el.get("node")
    if node is None and not rules:
        raise CibInvalid(f"{describe(el)}: needs node and score, or rules")
    score = scores.parse_score(el.get("score"), describe(el), 0) if node is not None else 0
    if node is not None and el.get("score") is None:
        raise CibInvalid(f"{describe(el)}: node {node!r} given without score")
    discovery = el.get("resource-discovery", "always")
    targets: list[tuple[str, str | None]] = []
    sets = _sets(el, refs)
    if sets:
        targets = [(m, s.role or norm_role(el.get("role"))) for s in sets for m in s.members]
    else:
        pattern = el.get("rsc-pattern")
        if el.get("rsc") or not pattern:
            targets = [(r, norm_role(el.get("role")))
                       for r in refs.expand(el, el.get("rsc"), "rsc")]
        if pattern:
            targets += [(r, norm_role(el.get("role")))
                        for r in _pattern_matches(pattern, refs.top, el, notes)]
    return [LocationSpec(id=el.get("id", ""), rsc=rsc, node=node, score=score, rules=rules,
                         role=role, discovery=discovery) for rsc, role in targets]


def _pattern_matches(pattern: str, top: Sequence[str], el: Element,
                     notes: list[str]) -> list[str]:
    """Top-level resources an ``rsc-pattern`` (an unanchored extended regular expression;
    a leading ``!`` inverts it) selects, as Pacemaker's unpack_simple_location."""
    invert = pattern.startswith("!")
    try:
        rx = re.compile(pattern[1:] if invert else pattern)
    except re.error:
        notes.append(f"{describe(el)}: rsc-pattern {pattern!r} is invalid; ignored")
        return []
    return [r for r in top if (rx.search(r) is None) == invert]


# -- colocation --------------------------------------------------------------------------
def _coloc(el: Element, rsc: str, with_rsc: str, score: int, rsc_role: str | None,
           with_role: str | None) -> ColocSpec:
    influence = el.get("influence")
    return ColocSpec(
        id=el.get("id", ""), rsc=rsc, with_rsc=with_rsc, score=score, rsc_role=rsc_role,
        with_rsc_role=with_role, node_attribute=el.get("node-attribute") or "#uname",
        influence=None if influence is None else scores.is_true(influence))


def parse_colocation(el: Element, refs: Refs) -> list[ColocSpec]:
    score_text = el.get("score")
    score = scores.parse_score(score_text, describe(el)) if score_text is not None else 0
    sets = _sets(el, refs)
    if not sets:
        src = _tag_set(el, refs, "rsc", "rsc-role")
        dst = _tag_set(el, refs, "with-rsc", "with-rsc-role")
        if src is None and dst is None:
            rsc = refs.expand(el, el.get("rsc"), "rsc")[0]
            with_rsc = refs.expand(el, el.get("with-rsc"), "with-rsc")[0]
            if score == 0:
                return []
            return [_coloc(el, rsc, with_rsc, score, norm_role(el.get("rsc-role")),
                           norm_role(el.get("with-rsc-role")))]
        sets = [src or _single(el, refs, "rsc", "rsc-role"),
                dst or _single(el, refs, "with-rsc", "with-rsc-role")]
    if score == 0:
        return []
    out: list[ColocSpec] = []
    for s in sets:
        if s.sequential:
            out.extend(_coloc(el, b, a, score, s.role, s.role)
                       for a, b in pairwise(s.members))
        elif score < 0:
            out.extend(_coloc(el, b, a, score, s.role, s.role)
                       for i, a in enumerate(s.members) for b in s.members[i + 1:])
    for dep, prim in pairwise(sets):
        deps = dep.members[:1] if dep.sequential else dep.members
        prims = prim.members[-1:] if prim.sequential else prim.members
        out.extend(_coloc(el, d, p, score, dep.role, prim.role)
                   for d in deps for p in prims if d != p)
    return out


def _single(el: Element, refs: Refs, attr: str, role_attr: str,
            action_attr: str | None = None) -> _Set:
    fake = etree.Element("resource_set", id=f"{el.get('id', '')}-{attr}")
    for member in refs.expand(el, el.get(attr), attr):
        etree.SubElement(fake, "resource_ref", id=member)
    if role_attr and el.get(role_attr):
        fake.set("role", el.get(role_attr, ""))
    if action_attr and el.get(action_attr):
        fake.set("action", el.get(action_attr, ""))
    return _Set(fake, refs)


# -- order -------------------------------------------------------------------------------
def _kind(el: Element, notes: list[str]) -> str:
    kind = el.get("kind")
    if kind is None:
        score_text = el.get("score")
        if score_text is not None and scores.parse_score(score_text, describe(el)) == 0:
            return "Optional"
        return "Mandatory"
    kind = kind.capitalize()
    if kind not in ("Mandatory", "Optional", "Serialize"):
        notes.append(f"{describe(el)}: unknown order kind {kind!r} read as Mandatory")
        kind = "Mandatory"
    return kind


def parse_order(el: Element, refs: Refs, notes: list[str]) -> list[OrderSpec]:
    kind = _kind(el, notes)
    sym = el.get("symmetrical")
    symmetrical = scores.is_true(sym, True) if sym is not None else kind != "Serialize"
    sets = _sets(el, refs)
    default_action = (el.get("first-action") or "start").lower()

    def spec(first: str, then: str, first_action: str, then_action: str,
             relaxed: str | None = None) -> OrderSpec:
        return OrderSpec(id=el.get("id", ""), first=first, then=then,
                         first_action=first_action, then_action=then_action,
                         kind=kind, symmetrical=symmetrical,
                         require_all=_is_true(el, "require-all", True), relaxed=relaxed)

    if not sets:
        src = _tag_set(el, refs, "first", "", "first-action")
        dst = _tag_set(el, refs, "then", "", "then-action")
        if src is None and dst is None:
            first = refs.expand(el, el.get("first"), "first")[0]
            then = refs.expand(el, el.get("then"), "then")[0]
            then_action = (el.get("then-action") or el.get("first-action") or "start").lower()
            return [spec(first, then, default_action, then_action)]
        sets = [src or _single(el, refs, "first", "", "first-action"),
                dst or _single(el, refs, "then", "", "then-action")]
    out: list[OrderSpec] = []
    for s in sets:
        action = s.action or default_action
        if s.sequential:
            out.extend(spec(a, b, action, action) for a, b in pairwise(s.members))
    for set1, set2 in pairwise(sets):
        action = set1.action or default_action
        relaxed = None
        if not set1.require_all and action not in ("stop", "demote"):
            relaxed = f"{el.get('id', '')}:{set1.el.get('id', '')}"
            firsts, thens = set1.members, set2.members
        else:  # between sets only an explicit sequential="true" picks one end
            firsts = set1.members[-1:] if set1.explicit_sequential else set1.members
            thens = set2.members[:1] if set2.explicit_sequential else set2.members
        out.extend(spec(f, t, action, set2.action or default_action, relaxed)
                   for f in firsts for t in thens if f != t)
    return out


# -- ticket ------------------------------------------------------------------------------
def parse_ticket(el: Element, refs: Refs) -> list[TicketSpec]:
    ticket = el.get("ticket")
    if not ticket:
        raise CibInvalid(f"{describe(el)}: rsc_ticket without ticket")
    sets = _sets(el, refs) or [_single(el, refs, "rsc", "rsc-role")]
    policy = (el.get("loss-policy") or "").lower() or None
    return [TicketSpec(id=el.get("id", ""), rsc=m, ticket=ticket,
                       role=None if s.role == "Started" else s.role, loss_policy=policy)
            for s in sets for m in s.members]


class Parsed:
    def __init__(self) -> None:
        self.locations: list[LocationSpec] = []
        self.colocations: list[ColocSpec] = []
        self.orders: list[OrderSpec] = []
        self.tickets: list[TicketSpec] = []
        self.notes: list[str] = []


def parse_constraints(cib: Element, refs: Refs) -> Parsed:
    out = Parsed()
    locs, colocs, orders, notes = out.locations, out.colocations, out.orders, out.notes
    holder = cib.find("configuration/constraints")
    for el in holder if holder is not None else []:
        if not isinstance(el.tag, str):
            continue
        try:
            if el.tag == "rsc_location":
                locs.extend(parse_location(el, refs, notes))
            elif el.tag == "rsc_colocation":
                colocs.extend(parse_colocation(el, refs))
            elif el.tag == "rsc_order":
                orders.extend(parse_order(el, refs, notes))
            elif el.tag == "rsc_ticket":
                out.tickets.extend(parse_ticket(el, refs))
            else:
                notes.append(f"{describe(el)}: unknown constraint; ignored")
        except _Skip as skip:
            notes.append(str(skip))
    return out
