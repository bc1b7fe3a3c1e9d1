"""The random configuration: cluster options, nodes and the resource tree.

Everything is drawn from one ``random.Random`` so a seed names a case. The model is plain
data (``Node``, ``Op``, ``Prim``, ``Group``, ``Clone``); ``render.py`` writes it as XML and
``status.py`` invents a history for it. Each draw that uses a feature records its tag in
``Config.features`` (e.g. ``clone:unique``, ``op:iso-interval``), so a run can report which
features it exercised.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

INF = "INFINITY"
# (text as written in the CIB, milliseconds): plain seconds, units and ISO 8601 durations
INTERVALS = [("10s", 10000), ("10", 10000), ("PT10S", 10000), ("15s", 15000),
             ("PT1M", 60000), ("1m", 60000), ("20000ms", 20000), ("P0DT30S", 30000)]
# a timeout is never ISO 8601 for Pacemaker 2.1.5 (crm_get_msec): "PT40S" means the default
TIMEOUTS = [("20s", 20000), ("20s", 20000), ("30s", 30000), ("PT40S", 20000), ("1min", 60000)]
ROLE_NAMES = {"Promoted": ("Promoted", "Master"), "Unpromoted": ("Unpromoted", "Slave")}


@dataclass
class Op:
    name: str
    interval: str = "0"
    interval_ms: int = 0
    timeout: str = "20s"
    timeout_ms: int = 20000
    role: str | None = None  # as written (Promoted, Master, Unpromoted, Slave, Stopped)
    on_fail: str | None = None

    @property
    def norm_role(self) -> str | None:
        return {"Master": "Promoted", "Slave": "Unpromoted"}.get(self.role or "", self.role)


@dataclass
class Prim:
    id: str
    type: str = "Dummy"
    cls: str = "ocf"
    params: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    utilization: dict[str, str] = field(default_factory=dict)

    @property
    def provider(self) -> str | None:
        return "pacemaker" if self.cls == "ocf" else None

    def monitors(self, role: str) -> list[Op]:
        """The recurring monitors that run while the resource is in ``role``."""
        wanted = {"Promoted": ("Promoted",)}.get(role, (None, "Started", "Unpromoted"))
        return [op for op in self.ops
                if op.name == "monitor" and op.interval_ms and op.norm_role in wanted]


@dataclass
class Group:
    id: str
    members: list[Prim]
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class Clone:
    id: str
    child: Prim | Group
    meta: dict[str, str] = field(default_factory=dict)
    tag: str = "clone"  # or the legacy "master"
    promotable: bool = False
    unique: bool = False
    clone_max: int = 0  # 0: number of nodes
    node_max: int = 1
    promoted_max: int = 1

    def prims(self) -> list[Prim]:
        return self.child.members if isinstance(self.child, Group) else [self.child]


Resource = Prim | Group | Clone


@dataclass
class Node:
    id: str
    name: str
    state: str = "online"  # online, offline, unclean, unseen
    standby: str | None = None  # None, "config" or "transient"
    maintenance: bool = False
    shutdown: bool = False
    attrs: dict[str, str] = field(default_factory=dict)
    utilization: dict[str, str] = field(default_factory=dict)

    @property
    def has_lrm(self) -> bool:
        """Whether the status holds a history for this node (online, or lost unclean)."""
        return self.state in ("online", "unclean")


@dataclass
class Config:
    rng: random.Random
    now_s: int
    props: dict[str, str] = field(default_factory=dict)
    rsc_defaults: dict[str, str] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    fence: Prim | None = None
    quorum: bool = True
    cib_attrs: dict[str, str] = field(default_factory=dict)
    features: set[str] = field(default_factory=set)

    @property
    def stonith(self) -> bool:
        return self.props.get("stonith-enabled") == "true"

    @property
    def opt_in_safe(self) -> bool:
        """False in an opt-in cluster: crm_simulate 2.1.5 aborts on an unmanaged promotable
        instance active where no location allows it (pcmk_sched_promotable.c:318)."""
        return self.props.get("symmetric-cluster") != "false"

    @property
    def utilization(self) -> bool:
        return self.props.get("placement-strategy", "default") != "default"

    def chance(self, p: float, feature: str | None = None) -> bool:
        hit = self.rng.random() < p
        if hit and feature:
            self.features.add(feature)
        return hit

    def all_prims(self) -> list[Prim]:
        out: list[Prim] = [self.fence] if self.fence else []
        for r in self.resources:
            if isinstance(r, Prim):
                out.append(r)
            elif isinstance(r, Group):
                out.extend(r.members)
            else:
                out.extend(r.prims())
        return out


# -- cluster options and nodes --------------------------------------------------------------
def build_options(c: Config) -> None:
    rng = c.rng
    c.props["stonith-enabled"] = "true" if c.chance(0.35, "stonith") else "false"
    c.quorum = not c.chance(0.2, "no-quorum")
    policies = ["stop", "freeze", "ignore", "demote", "suicide"]
    if c.chance(0.5):
        policy = rng.choices(policies, [3, 3, 3, 2, c.stonith])[0]
        c.props["no-quorum-policy"] = policy
        c.features.add(f"no-quorum-policy:{policy}")
        if policy == "suicide" and c.chance(0.5, "no-quorum-panic"):
            c.cib_attrs["no-quorum-panic"] = "1"
    if c.chance(0.2, "symmetric-cluster:false"):
        c.props["symmetric-cluster"] = "false"
    if c.chance(0.25):
        strategy = rng.choice(["utilization", "minimal", "balanced"])
        c.props["placement-strategy"] = strategy
        c.features.add(f"placement-strategy:{strategy}")
    if c.chance(0.06, "start-failure-is-fatal:false"):
        c.props["start-failure-is-fatal"] = "false"
    if c.stonith and c.chance(0.08, "startup-fencing:false"):
        c.props["startup-fencing"] = "false"
    if c.opt_in_safe and c.chance(0.03, "maintenance-mode"):
        c.props["maintenance-mode"] = "true"
    if c.chance(0.03, "stop-all-resources"):
        c.props["stop-all-resources"] = "true"
    if c.chance(0.5, "stickiness:default"):
        c.rsc_defaults["resource-stickiness"] = rng.choice(["1", "50", "100", "100", INF])
    if c.chance(0.1, "migration-threshold:default"):
        c.rsc_defaults["migration-threshold"] = rng.choice(["1", "2", "3"])


def build_nodes(c: Config) -> None:
    rng = c.rng
    count = rng.choice([2, 2, 3, 3, 3, 4, 5])
    for i in range(1, count + 1):
        n = Node(str(i), f"node{i}")
        if i > 1:  # node1 stays online: the partition needs a DC
            n.state = rng.choices(["online", "offline", "unclean", "unseen"], [70, 10, 14, 6])[0]
        c.features.add(f"node:{n.state}")
        if c.chance(0.1):
            n.standby = rng.choice(["config", "transient"])
            c.features.add("node:standby")
        n.maintenance = c.chance(0.06, "node:maintenance")
        n.shutdown = n.state == "online" and i > 1 and c.chance(0.04, "node:shutdown")
        if c.chance(0.6):
            n.attrs["site"] = rng.choice(["a", "b"])
        if c.chance(0.5):
            n.attrs["rack"] = str(rng.randint(1, 3))
        if c.chance(0.25):
            n.attrs["ssd"] = "yes"
        if c.utilization:
            n.utilization = {"cpu": str(rng.choice([1, 2, 4])),
                             "mem": str(rng.choice([512, 1024, 2048]))}
        c.nodes.append(n)


# -- resources ------------------------------------------------------------------------------
class Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"


def monitor(c: Config, role: str | None = None, interval: tuple[str, int] | None = None) -> Op:
    text, ms = interval or c.rng.choice(INTERVALS)
    if text.startswith("P"):
        c.features.add("op:iso-interval")
    tt, tms = c.rng.choice(TIMEOUTS)
    op = Op("monitor", text, ms, tt, tms, role)
    if c.chance(0.12):
        choices = ["ignore", "block", "stop", "restart", "standby"]
        if c.stonith:
            choices.append("fence")
        if role in ("Promoted", "Master"):
            choices.append("demote")
        op.on_fail = c.rng.choice(choices)
        c.features.add(f"on-fail:{op.on_fail}")
    return op


def primitive(c: Config, rid: str, stateful: bool = False) -> Prim:
    rng = c.rng
    p = Prim(rid, "Stateful" if stateful else "Dummy")
    if c.chance(0.2, "params"):
        p.params["fake"] = rng.choice(["a", "b", "1"])
    if stateful:
        promoted = (ROLE_NAMES["Promoted"][c.chance(0.2, "role:legacy-names")], 9000)
        p.ops.append(monitor(c, promoted[0], (rng.choice(["9s", "PT9S"]), 9000)))
        if c.chance(0.9):
            p.ops.append(monitor(c, ROLE_NAMES["Unpromoted"][0], ("11s", 11000)))
        c.features.add("op:role-monitor")
    elif c.chance(0.9):
        p.ops.append(monitor(c))
        if c.chance(0.05, "op:two-monitors"):
            p.ops.append(monitor(c, None, ("PT45S", 45000)))
    if c.chance(0.04, "op:role-stopped-monitor"):
        p.ops.append(Op("monitor", "17s", 17000, "20s", 20000, "Stopped"))
    if c.chance(0.06, "op:stop-on-fail"):
        p.ops.append(Op("stop", "0", 0, "20s", 20000,
                        on_fail=rng.choice(["block", "fence" if c.stonith else "block"])))
    meta = p.meta
    if c.chance(0.07):
        roles = ["Stopped", "Stopped", "Started"] + (["Promoted", "Unpromoted"] * stateful)
        meta["target-role"] = rng.choice(roles)
        c.features.add(f"target-role:{meta['target-role']}")
    if (c.opt_in_safe or not stateful) and c.chance(0.05, "is-managed:false"):
        meta["is-managed"] = "false"
    if (c.opt_in_safe or not stateful) and c.chance(0.03, "rsc-maintenance"):
        meta["maintenance"] = "true"
    if c.chance(0.15, "stickiness:rsc"):
        meta["resource-stickiness"] = rng.choice(["0", "10", "200", INF])
    if c.chance(0.2, "migration-threshold"):
        meta["migration-threshold"] = rng.choice(["1", "2", "3"])
    if c.chance(0.07, "failure-timeout"):
        meta["failure-timeout"] = rng.choice(["60s", "PT10M"])
    if c.chance(0.1, "priority"):
        meta["priority"] = str(rng.randint(1, 10))
    if c.chance(0.04, "allow-migrate"):
        meta["allow-migrate"] = "true"
    if c.chance(0.04, "multiple-active"):
        meta["multiple-active"] = rng.choice(["block", "stop_only", "stop_start",
                                              "stop_unexpected"])
    if c.chance(0.03, "requires"):
        meta["requires"] = rng.choice(["nothing", "quorum", "fencing"])
    if c.utilization and c.chance(0.8, "utilization"):
        p.utilization = {"cpu": str(rng.choice([1, 1, 2])),
                         "mem": str(rng.choice([256, 512, 1024]))}
    return p


def group(c: Config, ids: Ids, gid: str) -> Group:
    members = [primitive(c, f"{gid}m{i}") for i in range(1, c.rng.choice([2, 2, 3]) + 1)]
    g = Group(gid, members)
    if c.chance(0.08):
        g.meta["target-role"] = "Stopped"
        c.features.add("target-role:group")
    if c.chance(0.1, "stickiness:group"):
        g.meta["resource-stickiness"] = c.rng.choice(["0", "100"])
    return g


def clone(c: Config, ids: Ids, promotable: bool) -> Clone:
    rng = c.rng
    cid = ids("p" if promotable else "c")
    child: Prim | Group
    if not promotable and c.chance(0.15, "clone:group"):
        child = group(c, ids, f"{cid}g")
    else:
        child = primitive(c, f"{cid}r", stateful=promotable)
    cl = Clone(cid, child, promotable=promotable)
    meta = cl.meta
    if promotable:
        c.features.add("clone:promotable")
        if c.chance(0.2, "clone:master-tag"):
            cl.tag = "master"
        else:
            meta["promotable"] = "true"
        if c.chance(0.25, "clone:promoted-max"):
            cl.promoted_max = 2
            meta["promoted-max"] = "2"
    else:
        c.features.add("clone:anonymous")
    if c.chance(0.25, "clone:unique"):
        cl.unique = True
        meta["globally-unique"] = "true"
    if c.chance(0.3, "clone:clone-max"):
        cl.clone_max = rng.randint(1, len(c.nodes) + 1)
        meta["clone-max"] = str(cl.clone_max)
    if cl.unique and c.chance(0.3, "clone:clone-node-max"):
        cl.node_max = 2
        meta["clone-node-max"] = "2"
    if c.chance(0.25, "clone:interleave"):
        meta["interleave"] = "true"
    if c.chance(0.15, "clone:ordered"):
        meta["ordered"] = "true"
    if c.chance(0.05, "clone:notify"):
        meta["notify"] = "true"
    if c.chance(0.05):
        meta["target-role"] = rng.choice(["Stopped", "Started"])
        c.features.add("target-role:clone")
    if (c.opt_in_safe or not promotable) and c.chance(0.06, "is-managed:clone"):
        meta["is-managed"] = "false"
    return cl


def build_resources(c: Config) -> None:
    ids = Ids()
    if c.stonith:
        c.fence = Prim("fence1", "fence_dummy", "stonith",
                       ops=[Op("monitor", "60s", 60000, "20s", 20000)])
    for _ in range(c.rng.choice([1, 2, 3, 3, 4, 4, 5, 6])):
        kind = c.rng.choices(["primitive", "group", "clone", "promotable"], [45, 20, 20, 15])[0]
        c.features.add(f"kind:{kind}")
        if kind == "primitive":
            c.resources.append(primitive(c, ids("r")))
        elif kind == "group":
            c.resources.append(group(c, ids, ids("g")))
        else:
            c.resources.append(clone(c, ids, kind == "promotable"))


def _interleave_compatible(c: Config) -> None:
    """Interleaving needs both clones of a colocation to allow as many instances per node
    (crm_verify rejects it otherwise): with mixed clone-node-max, no clone interleaves."""
    clones = [r for r in c.resources if isinstance(r, Clone)]
    if len({cl.node_max if cl.unique else 1 for cl in clones}) > 1:
        for cl in clones:
            cl.meta.pop("interleave", None)
        c.features.discard("clone:interleave")


def build(seed: int, now_s: int) -> Config:
    c = Config(random.Random(seed), now_s)
    build_options(c)
    build_nodes(c)
    build_resources(c)
    _interleave_compatible(c)
    return c
