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
* A ``primitive template=`` takes the template's class, provider, type, attribute sets
  and operations; its own values, and its own operations with the same name and role
  (whatever their interval), win.
* Bundles are not modelled: skipped with a note rather than misread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from lxml import etree

from vigil.core.durations import parse_msec
from vigil.core.graph import Agent
from vigil.errors import CibInvalid

from . import scores
from .constraints import Refs, parse_constraints
from .model import (
    Config,
    NodeSpec,
    OpSpec,
    Options,
    RscSpec,
    Rule,
)
from .rules import Agent3, eval_rule
from .xmlread import children as _children
from .xmlread import describe, norm_role, parse_rule

Element = etree._Element
Pairs = tuple[tuple[str, str], ...]
AttrSets = tuple[tuple[tuple[Rule, ...], Pairs], ...]


def read_sets(parent: Element | None, tag: str) -> AttrSets:
    """The ``tag`` sets under ``parent`` in descending score order: (rules, pairs)."""
    sets = _children(parent, tag)
    sets.sort(key=lambda s: -scores.lenient_int(s.get("score"), 0))
    out = []
    for s in sets:
        pairs = tuple((str(nv.get("name")), str(nv.get("value")))
                      for nv in _children(s, "nvpair")
                      if nv.get("name") is not None and nv.get("value") is not None)
        out.append((tuple(parse_rule(r) for r in _children(s, "rule")), pairs))
    return tuple(out)


def merge_sets(sets: AttrSets, now_s: float, agent: Agent3 | None = None) -> dict[str, str]:
    """The first value of each name among the sets whose rules hold (an nvpair without a
    value sets nothing, as in Pacemaker)."""
    out: dict[str, str] = {}
    for rules, pairs in sets:
        if rules and not all(eval_rule(r, {}, now_s, agent) for r in rules):
            continue
        for name, value in pairs:
            out.setdefault(name, value)
    return out


def nvpairs(parent: Element | None, tag: str, now_s: float) -> dict[str, str]:
    """Merged name/value pairs of every ``tag`` set under ``parent`` (first value wins)."""
    return merge_sets(read_sets(parent, tag), now_s)


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
        no_quorum_policy=_no_quorum_policy(cib, props, flag("stonith-enabled", True), quorum),
        have_quorum=quorum,
        stop_all=flag("stop-all-resources", False),
        maintenance_mode=flag("maintenance-mode", False),
        start_failure_fatal=flag("start-failure-is-fatal", True),
        placement_strategy=(props.get("placement-strategy") or "default").lower(),
        concurrent_fencing=flag("concurrent-fencing", False),
        startup_fencing=flag("startup-fencing", True),
        have_watchdog=flag("have-watchdog", False),
        stop_orphan_resources=flag("stop-orphan-resources", True),
        stop_orphan_actions=flag("stop-orphan-actions", True),
        dc_uuid=cib.get("dc-uuid"),
        health_strategy=(props.get("node-health-strategy") or "none").lower(),
        health_scores=_health_scores(props),
        enable_unfencing=_unfencing_enabled(cib),
        shutdown_lock=flag("shutdown-lock", False),
        shutdown_lock_limit_s=scores.parse_duration_ms(props.get("shutdown-lock-limit"), 0)
        // 1000,
    )


def _no_quorum_policy(cib: Element, props: Mapping[str, str], stonith: bool,
                      quorum: bool) -> str:
    """``suicide`` holds only with fencing enabled and a partition that had quorum (or the
    CIB's ``no-quorum-panic``); otherwise it is ``stop`` (Pacemaker's unpack_config)."""
    policy = (props.get("no-quorum-policy") or "stop").lower()
    if policy not in ("stop", "freeze", "ignore", "demote", "suicide"):
        return "stop"  # an unknown policy is stop too
    if policy == "suicide" and not (stonith and (
            quorum or scores.lenient_int(cib.get("no-quorum-panic"), 0))):
        return "stop"
    return policy


def _unfencing_enabled(cib: Element) -> bool:
    """Pacemaker's pe_flag_enable_unfencing: a ``provides`` or ``requires`` meta attribute
    with the value ``unfencing`` anywhere in the resources, or in ``rsc_defaults``."""
    pairs = [*cib.iterfind("configuration/resources//meta_attributes/nvpair"),
             *cib.iterfind("configuration/rsc_defaults/meta_attributes/nvpair")]
    return any(p.get("name") in ("provides", "requires") and p.get("value") == "unfencing"
               for p in pairs)


def _health_scores(props: Mapping[str, str]) -> tuple[int, int, int, int]:
    """(red, yellow, green, base) for node-health-strategy (Pacemaker's pe_health.c):
    migrate-on-red bans red nodes, only-green bans red and yellow ones, progressive and
    custom read node-health-red/-yellow/-green (defaults -INFINITY, 0, 0); only
    progressive adds node-health-base."""
    strategy = (props.get("node-health-strategy") or "none").lower()
    inf = scores.INFINITY
    if strategy == "migrate-on-red":
        return (-inf, 0, 0, 0)
    if strategy == "only-green":
        return (-inf, -inf, 0, 0)
    if strategy not in ("progressive", "custom"):
        return (0, 0, 0, 0)

    def val(name: str, default: int) -> int:
        return scores.lenient_int(props.get(name), default)

    base = val("node-health-base", 0) if strategy == "progressive" else 0
    return (val("node-health-red", -inf), val("node-health-yellow", 0),
            val("node-health-green", 0), base)


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
    return op_timeout_ms(text)


def op_timeout_ms(text: str | None) -> int:
    """A timeout as Pacemaker reads it (no ISO 8601); 20 s when it does not parse."""
    ms = parse_msec(text)
    return 20000 if ms is None else ms


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


def _template_op_key(op: OpSpec) -> tuple[str, str | None]:
    """Pacemaker matches a primitive's ops with its template's by name and role, a role
    of Started or Unpromoted counting as none (the interval does not matter)."""
    return op.name, None if op.role in (None, "Started", "Unpromoted") else op.role


class _ResourceReader:
    """Reads the resource tree, checking id uniqueness."""

    def __init__(self, op_defaults: Mapping[str, str], now_s: float,
                 templates: Mapping[str, Element]) -> None:
        self.op_defaults = op_defaults
        self.templates = templates
        self.derived: dict[str, list[str]] = {}  # template id -> primitives made from it
        self.unmodelled: set[str] = set()
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
        if el.tag == "template":
            return None  # read up front (see unpack_config)
        if el.tag == "bundle":
            self.unmodelled.add(self._claim(el))
            self.unmodelled.update(c.get("id", "") for c in el.iter("primitive"))
            self.notes.append(f"{describe(el)}: bundles are not modelled by vigil's scheduler;"
                              " ignored")
            return None
        if isinstance(el.tag, str) and el.tag not in ("meta_attributes", "instance_attributes"):
            self.notes.append(f"{describe(el)}: not supported by vigil's scheduler; ignored")
        return None

    def primitive(self, el: Element, inherit: Mapping[str, str] | None = None) -> RscSpec:
        rid = self._claim(el)
        tmpl = self.templates.get(el.get("template") or "")
        if el.get("template") and tmpl is None:
            raise CibInvalid(f"{describe(el)}: template {el.get('template')!r} not found")
        if tmpl is not None:
            self.derived.setdefault(tmpl.get("id", ""), []).append(rid)
        base = tmpl if tmpl is not None else el
        cls, rtype = el.get("class") or base.get("class"), el.get("type") or base.get("type")
        if not cls or not rtype:
            raise CibInvalid(f"{describe(el)}: primitive needs class and type")
        provider = el.get("provider") or base.get("provider")
        if cls == "ocf" and not provider:
            raise CibInvalid(f"{describe(el)}: ocf primitive needs a provider")

        def sets(tag: str) -> dict[str, str]:
            own = nvpairs(el, tag, self.now_s)
            return own if tmpl is None else {**nvpairs(tmpl, tag, self.now_s), **own}

        params = {**(inherit or {}), **sets("instance_attributes")}
        ops = parse_ops(el, self.op_defaults, self.now_s)
        if tmpl is not None:  # the primitive's op with the same name and role wins
            mine = {_template_op_key(o) for o in ops}
            ops = tuple(o for o in parse_ops(tmpl, self.op_defaults, self.now_s)
                        if _template_op_key(o) not in mine) + ops
        util = {k: scores.lenient_int(v) for k, v in sets("utilization").items()}
        return RscSpec(
            id=rid, kind="primitive", agent=Agent(cls, provider, rtype),
            meta=MappingProxyType(sets("meta_attributes")),
            params=tuple(sorted(params.items())), ops=ops, utilization=util,
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


def unpack_config(cib: Element, now_s: float) -> Config:
    """Read the configuration section of ``cib`` (a ``<cib>`` element)."""
    if cib.tag != "cib":
        raise CibInvalid(f"expected a <cib> document, got <{cib.tag}>")
    conf = cib.find("configuration")
    if conf is None:
        raise CibInvalid("<cib> has no <configuration>")
    rsc_default_sets = read_sets(conf.find("rsc_defaults"), "meta_attributes")
    rsc_defaults = merge_sets(rsc_default_sets, now_s)
    op_defaults = nvpairs(conf.find("op_defaults"), "meta_attributes", now_s)
    holder = conf.find("resources")
    templates = {t.get("id", ""): t for t in _children(holder, "template")}
    reader = _ResourceReader(op_defaults, now_s, templates)
    resources = []
    for el in holder if holder is not None else []:
        if isinstance(el.tag, str):
            spec = reader.read(el)
            if spec is not None:
                resources.append(spec)
    known = {s.id for s in _walk(resources)}
    props = nvpairs(conf.find("crm_config"), "cluster_property_set", now_s)
    groups: dict[str, list[str]] = dict(reader.derived)
    for tag in _children(conf.find("tags"), "tag"):
        groups[tag.get("id", "")] = [r.get("id", "") for r in _children(tag, "obj_ref")]
    aliases = {inner.id: top.id for top in resources if top.kind == "clone"
               for inner in _walk(top.children)}
    refs = Refs(known, groups, reader.unmodelled, aliases, [s.id for s in resources])
    cons = parse_constraints(cib, refs)
    return Config(
        options=parse_options(cib, now_s), nodes=parse_nodes(cib, now_s),
        resources=tuple(resources), locations=tuple(cons.locations),
        colocations=tuple(cons.colocations), orders=tuple(cons.orders),
        tickets=tuple(cons.tickets), rsc_defaults=MappingProxyType(rsc_defaults),
        rsc_default_sets=rsc_default_sets,
        op_defaults=MappingProxyType(op_defaults), notes=tuple(reader.notes + cons.notes),
        fence_timeout_ms=scores.parse_duration_ms(props.get("stonith-timeout"), 60000) or 60000,
    )
