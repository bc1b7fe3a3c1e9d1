"""Random constraints: location (scores, rules, roles, resource-discovery, sets, patterns),
colocation (scores, roles, node-attribute, influence, sets), order (kinds, scores,
symmetrical, actions, require-all, sets) and tickets (loss policies, roles, sets).

Constraints name existing resources only, never a resource together with one of its own
ancestors or descendants, and a resource at most once per constraint, so every constraint
is valid for Pacemaker; whether it is satisfiable is up to chance.
"""

from __future__ import annotations

from lxml import etree

from .model import INF, Clone, Config, Group, Prim

Element = etree._Element
SCORES = [INF, INF, "-INFINITY", "+INFINITY", "100", "50", "-100", "0", "10", "1000", "-1"]
COLOCATION_SCORES = [INF, INF, "-INFINITY", "100", "500", "-500", "0", "5000"]


class Targets:
    """What constraints may name, with each id's family (itself, ancestors, descendants)."""

    def __init__(self, c: Config) -> None:
        self.top: list[str] = []
        self.members: list[str] = []
        self.promotable: set[str] = set()
        self.family: dict[str, set[str]] = {}
        for r in c.resources:
            self.top.append(r.id)
            below = self._below(r)
            self.family[r.id] = {r.id, *below}
            if isinstance(r, Group):
                self.members.extend(m.id for m in r.members)
                for m in r.members:
                    self.family[m.id] = {m.id, r.id}
            if isinstance(r, Clone) and r.promotable:
                self.promotable.add(r.id)

    @staticmethod
    def _below(r: Prim | Group | Clone) -> set[str]:
        if isinstance(r, Group):
            return {m.id for m in r.members}
        if isinstance(r, Clone):
            kids = {p.id for p in r.prims()}
            return kids | ({r.child.id} if isinstance(r.child, Group) else set())
        return set()

    def pick(self, c: Config, members: float = 0.1) -> str:
        if self.members and c.chance(members, "constraint:group-member"):
            return c.rng.choice(self.members)
        return c.rng.choice(self.top)

    def distinct(self, c: Config, count: int, members: float = 0.1) -> list[str]:
        """Up to ``count`` ids, no two of the same family."""
        out: list[str] = []
        for _ in range(count * 3):
            rid = self.pick(c, members)
            if all(rid not in self.family[o] and o not in self.family[rid] for o in out):
                out.append(rid)
            if len(out) == count:
                break
        return out


class Builder:
    def __init__(self, c: Config, parent: Element) -> None:
        self.c, self.parent, self.t = c, parent, Targets(c)
        self.n = 0
        self.tickets: set[str] = set()

    def new_id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def el(self, tag: str, parent: Element | None = None, **attrs: str) -> Element:
        e = etree.SubElement(self.parent if parent is None else parent, tag)
        for k, v in attrs.items():
            e.set(k.rstrip("_").replace("_", "-"), v)
        return e

    def role_for(self, rid: str, p: float = 0.4) -> str | None:
        if rid in self.t.promotable and self.c.chance(p, "constraint:role"):
            return self.c.rng.choice(["Promoted", "Promoted", "Unpromoted", "Started",
                                      "Master", "Slave"])
        return None

    def resource_set(self, parent: Element, refs: list[str], kind: str) -> Element:
        c = self.c
        s = self.el("resource_set", parent, id=self.new_id("set"))
        if c.chance(0.4):
            s.set("sequential", c.rng.choice(["true", "false"]))
        if kind == "order" and c.chance(0.2, "set:require-all"):
            s.set("require-all", "false")
        if kind == "order" and c.chance(0.1, "set:action"):
            s.set("action", c.rng.choice(["start", "stop"]))
        if kind in ("colocation", "ticket") and all(r in self.t.promotable for r in refs):
            role = self.role_for(refs[0])
            if role:
                s.set("role", role)
        for r in refs:
            self.el("resource_ref", s, id=r)
        return s

    def sets(self, parent: Element, kind: str, n_sets: int) -> bool:
        refs = self.t.distinct(self.c, self.c.rng.randint(n_sets, n_sets + 2))
        if len(refs) < n_sets:
            return False
        cut = sorted(self.c.rng.sample(range(1, len(refs)), n_sets - 1)) if n_sets > 1 else []
        bounds = [0, *cut, len(refs)]
        for a, b in zip(bounds, bounds[1:], strict=False):
            self.resource_set(parent, refs[a:b], kind)
        self.c.features.add(f"set:{kind}")
        return True

    # -- one constraint of each kind ------------------------------------------------------
    def location(self) -> None:
        c, rng = self.c, self.c.rng
        e = self.el("rsc_location", id=self.new_id("loc"))
        if c.chance(0.08) and self.sets(e, "location", 1):
            pass
        elif c.chance(0.04, "location:rsc-pattern"):
            e.set("rsc-pattern", rng.choice(["^r[0-9]+$", "^g", "^(r1|c2)$"]))
        else:
            rid = self.t.pick(c)
            e.set("rsc", rid)
            role = self.role_for(rid, 0.3)
            if role and c.chance(0.5):
                e.set("role", role)
        if c.chance(0.12):
            e.set("resource-discovery", rng.choice(["never", "exclusive", "always"]))
            c.features.add(f"resource-discovery:{e.get('resource-discovery')}")
        if c.chance(0.55):
            c.features.add("location:node")
            e.set("score", rng.choice(SCORES))
            e.set("node", rng.choice(c.nodes).name)
            return
        c.features.add("location:rule")
        rule = self.el("rule", e, id=self.new_id("rule"))
        if c.chance(0.1, "rule:score-attribute"):
            rule.set("score-attribute", "rack")
        else:
            rule.set("score", rng.choice(SCORES))
        if e.get("rsc") in self.t.promotable and "role" not in e.attrib and c.chance(0.5):
            rule.set("role", rng.choice(["Promoted", "Master", "Unpromoted"]))
            c.features.add("rule:role")
        if c.chance(0.3):
            rule.set("boolean-op", rng.choice(["and", "or"]))
        for _ in range(rng.choice([1, 1, 2])):
            self.expression(rule)

    def expression(self, rule: Element) -> None:
        c, rng = self.c, self.c.rng
        kind = rng.choice(["site", "rack", "uname", "ssd", "date"])
        x = self.el("expression", rule, id=self.new_id("expr"))
        if kind == "site":
            x.set("attribute", "site")
            x.set("operation", rng.choice(["eq", "ne"]))
            x.set("value", rng.choice(["a", "b"]))
        elif kind == "rack":
            x.set("attribute", "rack")
            x.set("operation", rng.choice(["gt", "lt", "gte", "lte", "eq"]))
            x.set("value", str(rng.randint(1, 3)))
            x.set("type", rng.choice(["integer", "number", "string"]))
        elif kind == "uname":
            x.set("attribute", "#uname")
            x.set("operation", rng.choice(["eq", "ne"]))
            x.set("value", rng.choice(c.nodes).name)
        elif kind == "ssd":
            x.set("attribute", "ssd")
            x.set("operation", rng.choice(["defined", "not_defined"]))
        else:
            rule.remove(x)
            d = self.el("date_expression", rule, id=self.new_id("date"))
            d.set("operation", "in_range")
            d.set("start", "2020-01-01")
            d.set("end", rng.choice(["2023-01-01", "2030-01-01"]))
        c.features.add(f"rule:{kind}")

    def colocation(self) -> None:
        c, rng = self.c, self.c.rng
        e = self.el("rsc_colocation", id=self.new_id("col"))
        e.set("score", rng.choice(COLOCATION_SCORES))
        if c.chance(0.12) and self.sets(e, "colocation", rng.choice([1, 2])):
            return
        pair = self.t.distinct(c, 2)
        if len(pair) < 2:
            self.parent.remove(e)
            return
        c.features.add("colocation")
        e.set("rsc", pair[0])
        e.set("with-rsc", pair[1])
        for attr, rid in (("rsc-role", pair[0]), ("with-rsc-role", pair[1])):
            role = self.role_for(rid)
            if role:
                e.set(attr, role)
        if c.chance(0.05, "colocation:node-attribute"):
            e.set("node-attribute", "site")
        if c.chance(0.05, "colocation:influence"):
            e.set("influence", "false")

    def order(self) -> None:
        c, rng = self.c, self.c.rng
        e = self.el("rsc_order", id=self.new_id("ord"))
        if c.chance(0.7):
            kind = rng.choice(["Mandatory", "Optional", "Serialize"])
            e.set("kind", kind)
            c.features.add(f"order:{kind}")
        elif c.chance(0.5):
            e.set("score", rng.choice(["0", INF, "100"]))
            c.features.add("order:score")
        if c.chance(0.25):
            e.set("symmetrical", rng.choice(["false", "false", "true"]))
            c.features.add(f"order:symmetrical={e.get('symmetrical')}")
        if c.chance(0.12) and self.sets(e, "order", rng.choice([1, 2, 2])):
            return
        pair = self.t.distinct(c, 2)
        if len(pair) < 2:
            self.parent.remove(e)
            return
        e.set("first", pair[0])
        e.set("then", pair[1])
        for attr, rid in (("first-action", pair[0]), ("then-action", pair[1])):
            if c.chance(0.15):
                acts = ["start", "stop"] + ["promote", "demote"] * (rid in self.t.promotable)
                e.set(attr, rng.choice(acts))
                c.features.add(f"order:{attr}")
        if c.chance(0.05, "order:require-all"):
            e.set("require-all", "false")

    def ticket(self) -> None:
        c, rng = self.c, self.c.rng
        tid = rng.choice(["ticketA", "ticketB"])
        self.tickets.add(tid)
        e = self.el("rsc_ticket", id=self.new_id("tkt"), ticket=tid)
        if c.chance(0.6):
            policy = rng.choice(["stop", "demote", "freeze"] + ["fence"] * c.stonith)
            e.set("loss-policy", policy)
            c.features.add(f"ticket:{policy}")
        if c.chance(0.1) and self.sets(e, "ticket", 1):
            return
        rid = self.t.pick(c)
        e.set("rsc", rid)
        role = self.role_for(rid)
        if role:
            e.set("rsc-role", role)
        c.features.add("ticket")


def build_constraints(c: Config, parent: Element) -> set[str]:
    """Add random constraints under ``parent``; return the tickets they name."""
    b = Builder(c, parent)
    makers = [b.location, b.colocation, b.order, b.ticket]
    for _ in range(c.rng.choice([0, 1, 2, 2, 3, 3, 4, 5, 6])):
        c.rng.choices(makers, [35, 30, 25, 10])[0]()
    return b.tickets
