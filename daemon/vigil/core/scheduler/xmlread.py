"""Helpers shared by the configuration readers: naming an element in errors, role names,
child elements, and ``<rule>`` elements read into :class:`model.Rule`."""

from __future__ import annotations

from types import MappingProxyType

from lxml import etree

from . import scores
from .model import Expr, Rule

Element = etree._Element
ROLE_ALIASES = {"master": "Promoted", "slave": "Unpromoted", "promoted": "Promoted",
                "unpromoted": "Unpromoted", "started": "Started", "stopped": "Stopped"}


def norm_role(text: str | None) -> str | None:
    if text is None or text == "" or text.lower() in ("#default", "unknown"):
        return None
    return ROLE_ALIASES.get(text.lower(), text)


def describe(el: Element) -> str:
    ident = el.get("id")
    return f"<{el.tag} id={ident!r}>" if ident else f"<{el.tag}>"


def children(el: Element | None, tag: str) -> list[Element]:
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str) and c.tag == tag]


def parse_rule(el: Element) -> Rule:
    where = describe(el)
    exprs: list[Expr] = []
    for child in el:
        if not isinstance(child.tag, str):
            continue
        cid = child.get("id", "")
        if child.tag == "expression":
            exprs.append(Expr(
                id=cid, kind="attr", attribute=child.get("attribute", ""),
                operation=child.get("operation", "defined"), value=child.get("value"),
                type=child.get("type", ""), value_source=child.get("value-source", "literal"),
            ))
        elif child.tag == "date_expression":
            spec: dict[str, str] = {}
            for sub in child:
                if isinstance(sub.tag, str) and sub.tag in ("date_spec", "duration"):
                    spec.update({str(k): str(v) for k, v in sub.attrib.items() if k != "id"})
            exprs.append(Expr(
                id=cid, kind="date", operation=child.get("operation", "in_range"),
                start=child.get("start"), end=child.get("end"), spec=MappingProxyType(spec),
            ))
        elif child.tag in ("rsc_expression", "op_expression"):
            fields = ("class", "provider", "type") if child.tag == "rsc_expression" \
                else ("name", "interval")
            exprs.append(Expr(
                id=cid, kind=child.tag[:-len("_expression")],
                spec=MappingProxyType({k: str(child.get(k)) for k in fields
                                       if child.get(k) is not None}),
            ))
        elif child.tag == "rule":
            exprs.append(Expr(id=cid, kind="rule", rule=parse_rule(child)))
    score_attr = el.get("score-attribute")
    score = 0 if score_attr else scores.parse_score(el.get("score"), where, 0)
    return Rule(
        id=el.get("id", ""), score=score, score_attribute=score_attr,
        boolean_op=(el.get("boolean-op") or "and").lower(), role=norm_role(el.get("role")),
        exprs=tuple(exprs),
    )


