"""Stage 1a: the ``<configuration>`` section of a CIB -> :class:`model.Config`.

Rules
-----
* Attribute sets (``instance_attributes``, ``meta_attributes``, ``utilization``,
  ``cluster_property_set``) are read in descending ``score`` order; the first value of a
  name wins. A set guarded by a ``<rule>`` counts only when the rule holds (date rules are
  judged against ``now_s``).
* Resources inherit meta attributes from their parents (clone -> group -> primitive) and
  from ``rsc_defaults``; a resource's own value wins.
* Invalid input raises :class:`CibInvalid` naming the element: a missing id, a primitive
  without class or type, a score that is not a number, a constraint naming a resource that
  does not exist, a duplicate resource id.
* Unsupported constructs (bundles, templates, resource sets, tickets) are skipped with a
  note rather than misread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from lxml import etree

from vigil.core.graph import Agent
from vigil.errors import CibInvalid

from . import scores
from .model import (
    ColocSpec,
    Config,
    Expr,
    LocationSpec,
    NodeSpec,
    OpSpec,
    Options,
    OrderSpec,
    RscSpec,
    Rule,
)
from .rules import eval_rule

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


def _children(el: Element | None, tag: str) -> list[Element]:
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
        elif child.tag == "rule":
            exprs.append(Expr(id=cid, kind="rule", rule=parse_rule(child)))
    score_attr = el.get("score-attribute")
    score = 0 if score_attr else scores.parse_score(el.get("score"), where, 0)
    return Rule(
        id=el.get("id", ""), score=score, score_attribute=score_attr,
        boolean_op=(el.get("boolean-op") or "and").lower(), role=norm_role(el.get("role")),
        exprs=tuple(exprs),
    )


def nvpairs(parent: Element | None, tag: str, now_s: float) -> dict[str, str]:
    """Merged name/value pairs of every ``tag`` set under ``parent`` (first value wins)."""
    sets = _children(parent, tag)
    sets.sort(key=lambda s: -scores.lenient_int(s.get("score"), 0))
    out: dict[str, str] = {}
    for s in sets:
        rules = _children(s, "rule")
        if rules and not all(eval_rule(parse_rule(r), {}, now_s) for r in rules):
            continue
        for nv in _children(s, "nvpair"):
            name, value = nv.get("name"), nv.get("value")
            if name is not None and value is not None and name not in out:
                out[name] = value  # an nvpair without a value sets nothing (Pacemaker)
    return out


def parse_options(cib: Element, now_s: float) -> Options:
    crm = cib.find("configuration/crm_config")
    props = nvpairs(crm, "cluster_property_set", now_s)
    quorum = scores.is_true(cib.get("have-quorum"), False)

    def flag(name: str, default: bool) -> bool:
        return scores.is_true(props.get(name), default)

    return Options(
        stonith_enabled=flag("stonith-enabled", True),
        stonith_action=props.get("stonith-action", "reboot") or "reboot",
        symmetric=flag("symmetric-cluster", True),
        no_quorum_policy=(props.get("no-quorum-policy") or "stop").lower(),
        have_quorum=quorum,
        stop_all=flag("stop-all-resources", False),
        maintenance_mode=flag("maintenance-mode", False),
        start_failure_fatal=flag("start-failure-is-fatal", True),
        placement_strategy=(props.get("placement-strategy") or "default").lower(),
        concurrent_fencing=flag("concurrent-fencing", False),
        startup_fencing=flag("startup-fencing", True),
        stop_orphan_resources=flag("stop-orphan-resources", True),
        stop_orphan_actions=flag("stop-orphan-actions", True),
        dc_uuid=cib.get("dc-uuid"),
    )


def _utilization(el: Element, now_s: float) -> dict[str, int]:
    return {k: scores.lenient_int(v) for k, v in nvpairs(el, "utilization", now_s).items()}


def parse_nodes(cib: Element, now_s: float) -> tuple[NodeSpec, ...]:
    out: list[NodeSpec] = []
    seen: set[str] = set()
    for el in _children(cib.find("configuration/nodes"), "node"):
        nid = el.get("id")
        if not nid:
            raise CibInvalid(f"{describe(el)}: node without id")
        if el.get("type") == "remote":
            continue
        name = el.get("uname") or nid
        if name in seen:
            raise CibInvalid(f"{describe(el)}: duplicate node name {name!r}")
        seen.add(name)
        attrs = nvpairs(el, "instance_attributes", now_s)
        out.append(NodeSpec(id=nid, name=name, attrs=MappingProxyType(attrs),
                            utilization=_utilization(el, now_s)))
    return tuple(out)


def _op_timeout(op: Element, op_defaults: Mapping[str, str], now_s: float) -> int:
    text = op.get("timeout")
    if text is None:
        text = nvpairs(op, "meta_attributes", now_s).get("timeout")
    if text is None:
        text = op_defaults.get("timeout")
    return scores.parse_duration_ms(text, 20000) or 20000


def parse_ops(el: Element, op_defaults: Mapping[str, str], now_s: float) -> tuple[OpSpec, ...]:
    ops: list[OpSpec] = []
    for holder in _children(el, "operations"):
        for op in _children(holder, "op"):
            name = op.get("name")
            if not name:
                raise CibInvalid(f"{describe(op)}: operation without name")
            ops.append(OpSpec(
                id=op.get("id", ""), name=name,
                interval_ms=scores.parse_duration_ms(op.get("interval"), 0),
                timeout_ms=_op_timeout(op, op_defaults, now_s),
                role=norm_role(op.get("role")), on_fail=(op.get("on-fail") or None),
                enabled=scores.is_true(op.get("enabled"), True),
            ))
    return tuple(ops)


class _ResourceReader:
    """Reads the resource tree, checking id uniqueness."""

    def __init__(self, op_defaults: Mapping[str, str], now_s: float) -> None:
        self.op_defaults = op_defaults
        self.now_s = now_s
        self.ids: set[str] = set()
        self.notes: list[str] = []

    def _claim(self, el: Element) -> str:
        rid = el.get("id")
        if not rid:
            raise CibInvalid(f"<{el.tag}> without id")
        if rid in self.ids:
            raise CibInvalid(f"{describe(el)}: duplicate resource id")
        self.ids.add(rid)
        return rid

    def read(self, el: Element, inherit: Mapping[str, str] | None = None) -> RscSpec | None:
        """``inherit``: instance attributes of the enclosing group/clone (the child's own
        values win), as Pacemaker passes them to the agent."""
        if el.tag == "primitive":
            return self.primitive(el, inherit)
        if el.tag == "group":
            rid = self._claim(el)
            params = {**(inherit or {}), **nvpairs(el, "instance_attributes", self.now_s)}
            members = [self.primitive(c, params) for c in _children(el, "primitive")]
            return RscSpec(id=rid, kind="group", children=tuple(members),
                           meta=MappingProxyType(nvpairs(el, "meta_attributes", self.now_s)))
        if el.tag in ("clone", "master"):
            return self.clone(el)
        if isinstance(el.tag, str) and el.tag not in ("meta_attributes", "instance_attributes"):
            self.notes.append(f"{describe(el)}: not supported by vigil's scheduler; ignored")
        return None

    def primitive(self, el: Element, inherit: Mapping[str, str] | None = None) -> RscSpec:
        rid = self._claim(el)
        cls, rtype = el.get("class"), el.get("type")
        if not cls or not rtype:
            raise CibInvalid(f"{describe(el)}: primitive needs class and type")
        provider = el.get("provider")
        if cls == "ocf" and not provider:
            raise CibInvalid(f"{describe(el)}: ocf primitive needs a provider")
        params = {**(inherit or {}), **nvpairs(el, "instance_attributes", self.now_s)}
        return RscSpec(
            id=rid, kind="primitive", agent=Agent(cls, provider, rtype),
            meta=MappingProxyType(nvpairs(el, "meta_attributes", self.now_s)),
            params=tuple(sorted(params.items())),
            ops=parse_ops(el, self.op_defaults, self.now_s),
            utilization=_utilization(el, self.now_s),
        )

    def clone(self, el: Element) -> RscSpec | None:
        rid = self._claim(el)
        meta = nvpairs(el, "meta_attributes", self.now_s)
        kids = [c for c in el if isinstance(c.tag, str) and c.tag in ("primitive", "group")]
        if len(kids) != 1:
            raise CibInvalid(f"{describe(el)}: a clone needs exactly one primitive or group")
        child = self.read(kids[0], nvpairs(el, "instance_attributes", self.now_s))
        if child is None:
            return None
        promotable = el.tag == "master" or scores.is_true(meta.get("promotable"), False)
        return RscSpec(id=rid, kind="clone", children=(child,), meta=MappingProxyType(meta),
                       promotable=promotable)


def _walk(specs: Iterable[RscSpec]) -> Iterable[RscSpec]:
    for s in specs:
        yield s
        yield from _walk(s.children)


def parse_constraints(
    cib: Element, known: set[str]
) -> tuple[list[LocationSpec], list[ColocSpec], list[OrderSpec], list[str]]:
    locs: list[LocationSpec] = []
    colocs: list[ColocSpec] = []
    orders: list[OrderSpec] = []
    notes: list[str] = []
    holder = cib.find("configuration/constraints")
    for el in holder if holder is not None else []:
        if not isinstance(el.tag, str):
            continue
        if _children(el, "resource_set"):
            notes.append(f"{describe(el)}: resource sets are not supported; ignored")
            continue
        if el.tag == "rsc_location":
            loc = parse_location(el, known, notes)
            if loc is not None:
                locs.append(loc)
        elif el.tag == "rsc_colocation":
            colocs.append(parse_colocation(el, known))
        elif el.tag == "rsc_order":
            orders.append(parse_order(el, known))
        elif el.tag != "rsc_ticket":
            notes.append(f"{describe(el)}: unknown constraint; ignored")
    return locs, colocs, orders, notes


def _ref(el: Element, attr: str, known: set[str]) -> str:
    rid = el.get(attr)
    if not rid:
        raise CibInvalid(f"{describe(el)}: missing {attr}")
    if rid not in known:
        raise CibInvalid(f"{describe(el)}: {attr} {rid!r} is not a configured resource")
    return rid


def parse_location(el: Element, known: set[str], notes: list[str]) -> LocationSpec | None:
    if el.get("rsc-pattern") and not el.get("rsc"):
        notes.append(f"{describe(el)}: rsc-pattern is not supported; ignored")
        return None
    rsc = _ref(el, "rsc", known)
    rules = tuple(parse_rule(r) for r in _children(el, "rule"))
    node = el.get("node")
    if node is None and not rules:
        raise CibInvalid(f"{describe(el)}: needs node and score, or rules")
    score = scores.parse_score(el.get("score"), describe(el), 0) if node is not None else 0
    if node is not None and el.get("score") is None:
        raise CibInvalid(f"{describe(el)}: node {node!r} given without score")
    return LocationSpec(id=el.get("id", ""), rsc=rsc, node=node, score=score, rules=rules,
                        role=norm_role(el.get("role")),
                        discovery=el.get("resource-discovery", "always"))


def parse_colocation(el: Element, known: set[str]) -> ColocSpec:
    score_text = el.get("score")
    if score_text is None:
        raise CibInvalid(f"{describe(el)}: colocation without score")
    influence = el.get("influence")
    return ColocSpec(
        id=el.get("id", ""), rsc=_ref(el, "rsc", known), with_rsc=_ref(el, "with-rsc", known),
        score=scores.parse_score(score_text, describe(el)),
        rsc_role=norm_role(el.get("rsc-role")), with_rsc_role=norm_role(el.get("with-rsc-role")),
        node_attribute=el.get("node-attribute") or "#uname",
        influence=None if influence is None else scores.is_true(influence),
    )


def parse_order(el: Element, known: set[str]) -> OrderSpec:
    kind = el.get("kind")
    if kind is None:
        score_text = el.get("score")
        if score_text is not None and scores.parse_score(score_text, describe(el)) == 0:
            kind = "Optional"
        else:
            kind = "Mandatory"
    kind = kind.capitalize()
    if kind not in ("Mandatory", "Optional", "Serialize"):
        raise CibInvalid(f"{describe(el)}: unknown order kind {kind!r}")
    sym = el.get("symmetrical")
    symmetrical = scores.is_true(sym, True) if sym is not None else kind != "Serialize"
    return OrderSpec(
        id=el.get("id", ""), first=_ref(el, "first", known), then=_ref(el, "then", known),
        first_action=(el.get("first-action") or "start").lower(),
        then_action=(el.get("then-action") or el.get("first-action") or "start").lower(),
        kind=kind, symmetrical=symmetrical,
    )


def unpack_config(cib: Element, now_s: float) -> Config:
    """Read the configuration section of ``cib`` (a ``<cib>`` element)."""
    if cib.tag != "cib":
        raise CibInvalid(f"expected a <cib> document, got <{cib.tag}>")
    conf = cib.find("configuration")
    if conf is None:
        raise CibInvalid("<cib> has no <configuration>")
    rsc_defaults = nvpairs(conf.find("rsc_defaults"), "meta_attributes", now_s)
    op_defaults = nvpairs(conf.find("op_defaults"), "meta_attributes", now_s)
    reader = _ResourceReader(op_defaults, now_s)
    resources = []
    holder = conf.find("resources")
    for el in holder if holder is not None else []:
        if isinstance(el.tag, str):
            spec = reader.read(el)
            if spec is not None:
                resources.append(spec)
    known = {s.id for s in _walk(resources)}
    props = nvpairs(conf.find("crm_config"), "cluster_property_set", now_s)
    locs, colocs, orders, notes = parse_constraints(cib, known)
    return Config(
        options=parse_options(cib, now_s), nodes=parse_nodes(cib, now_s),
        resources=tuple(resources), locations=tuple(locs), colocations=tuple(colocs),
        orders=tuple(orders), rsc_defaults=MappingProxyType(rsc_defaults),
        op_defaults=MappingProxyType(op_defaults), notes=tuple(reader.notes + notes),
        fence_timeout_ms=scores.parse_duration_ms(props.get("stonith-timeout"), 60000) or 60000,
    )
