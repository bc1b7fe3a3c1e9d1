"""A random but coherent status section: where each resource runs now, and a history on
every node that explains it.

Rules of the histories (Pacemaker 2.1.5's format, as in its regression inputs and in
``tests/scheduler_cases/make_cases.py``):

* Only online nodes and lost (unclean) nodes carry an ``<lrm>``; a node that left cleanly
  has an empty one, a node never seen has no ``node_state`` at all.
* One ``lrm_resource`` per resource and node; anonymous clone instances use the clone
  child's id, unique ones ``id:N``. Its ops: ``<id>_last_0`` is the newest non-recurring
  op, ``<id>_monitor_<ms>`` each active recurring monitor, ``<id>_last_failure_0`` the
  newest failure. ``transition-key`` carries the expected rc (7 for a probe, 8 for a
  Promoted monitor); ``op-status`` is 0 (done), -1 for an op still in flight.
* ``op-digest`` is Pacemaker's digest of the parameters the op ran with (a recurring op's
  with ``CRM_meta_timeout``): equal to the configured ones unless the case plays a changed
  definition.
* A failure leaves ``fail-count-<id>#<op>_<ms>`` and ``last-failure-<id>#<op>_<ms>`` in the
  node's transient attributes (INFINITY for a failed stop, or for a failed start when
  ``start-failure-is-fatal`` is on); promotion scores are ``master-<id>`` attributes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from lxml import etree

from .model import INF, Clone, Config, Group, Node, Op, Prim

Element = etree._Element
UUID = "5f2c1c3e-8d0b-4b7a-9a55-6d1e0c9b7a21"
PROMOTED_RC, NOT_RUNNING_RC = 8, 7


def pcmk_digest(params: dict[str, str], interval_ms: int = 0, timeout_ms: int = 20000) -> str:
    """Pacemaker's op-digest for plain ASCII parameters: the MD5 of
    `` <parameters a="1" .../>\\n``, with ``CRM_meta_timeout`` for a recurring op."""
    items = dict(params)
    if interval_ms:
        items["CRM_meta_timeout"] = str(timeout_ms)
    attrs = "".join(f' {k}="{items[k]}"' for k in sorted(items))
    return hashlib.md5(f" <parameters{attrs}/>\n".encode(), usedforsecurity=False).hexdigest()


@dataclass
class Slot:
    """One history identity: a primitive, or one instance of a cloned primitive."""

    lrm_id: str
    prim: Prim
    promotable: bool = False
    # node name -> role it runs in now (Started, Promoted or Unpromoted)
    where: dict[str, str] = field(default_factory=dict)


# -- where things run now -------------------------------------------------------------------
def _hosts(c: Config) -> list[str]:
    return [n.name for n in c.nodes if n.has_lrm]


def _place_prim(c: Config, p: Prim) -> Slot:
    hosts = _hosts(c)
    k = c.rng.choices([0, 1, 2], [35, 60, 5])[0]
    s = Slot(p.id, p)
    for h in c.rng.sample(hosts, min(k, len(hosts))):
        s.where[h] = "Started"
    if len(s.where) > 1:
        c.features.add("status:multiple-active")
    return s


def _place_group(c: Config, g: Group, suffix: str = "", node: str | None = None) -> list[Slot]:
    hosts = _hosts(c)
    if node is None and hosts and c.rng.random() < 0.65:
        node = c.rng.choice(hosts)
    slots = [Slot(m.id + suffix, m) for m in g.members]
    if node is None:
        return slots
    shape = c.rng.choices(["all", "prefix", "holes"], [80, 10, 10])[0]
    if shape == "all":
        up = list(range(len(slots)))
    elif shape == "prefix":
        up = list(range(c.rng.randint(1, len(slots))))
    else:
        up = [i for i in range(len(slots)) if c.rng.random() < 0.5]
        c.features.add("status:group-holes")
    for i in up:
        slots[i].where[node] = "Started"
    return slots


def _place_clone(c: Config, cl: Clone) -> list[Slot]:
    hosts = _hosts(c)
    if cl.promotable and not c.opt_in_safe:  # see Config.opt_in_safe
        hosts = [n.name for n in c.nodes if n.has_lrm and not n.maintenance]
    rng = c.rng
    count = cl.clone_max or len(c.nodes)
    if cl.unique:
        slots: list[Slot] = []
        for i in range(count):
            node = rng.choice(hosts) if hosts and rng.random() < 0.6 else None
            slots.extend(_instance(c, cl, f":{i}", node))
        return slots
    by_node = {h: (h if rng.random() < 0.6 else None) for h in hosts}
    base = [_instance(c, cl, "", by_node[h]) for h in hosts] or [_instance(c, cl, "", None)]
    merged: list[Slot] = []
    for i, p in enumerate(cl.prims()):
        slot = Slot(p.id, p, cl.promotable)
        for row in base:
            slot.where.update(row[i].where)
        merged.append(slot)
    return merged


def _instance(c: Config, cl: Clone, suffix: str, node: str | None) -> list[Slot]:
    if isinstance(cl.child, Group):
        return _place_group(c, cl.child, suffix, node) if node else [
            Slot(m.id + suffix, m) for m in cl.child.members]
    s = Slot(cl.child.id + suffix, cl.child, cl.promotable)
    if node:
        role = "Started"
        if cl.promotable:
            role = "Promoted" if c.rng.random() < 0.35 else "Unpromoted"
        s.where[node] = role
    return [s]


def place(c: Config) -> list[Slot]:
    slots: list[Slot] = []
    if c.fence:
        s = Slot(c.fence.id, c.fence)
        online = [n.name for n in c.nodes if n.state == "online"]
        if online and c.rng.random() < 0.8:
            s.where[c.rng.choice(online)] = "Started"
        slots.append(s)
    for r in c.resources:
        if isinstance(r, Prim):
            slots.append(_place_prim(c, r))
        elif isinstance(r, Group):
            slots.extend(_place_group(c, r))
        else:
            slots.extend(_place_clone(c, r))
    return slots


# -- histories ------------------------------------------------------------------------------
RUNNING_KINDS = [("ok", 70), ("monitor-failed", 10), ("probe-active", 6), ("stop-failed", 3),
                 ("param-changed", 3), ("stale-monitor", 2), ("start-pending", 2),
                 ("degraded", 2), ("no-digest", 1)]
STOPPED_KINDS = [("none", 14), ("probed", 60), ("stopped", 9), ("start-failed", 7),
                 ("probe-error", 3), ("past-failure", 6), ("stop-pending", 1)]


class History:
    """The ops of one node, with its call counter and transient attributes."""

    def __init__(self, c: Config, node: Node, parent: Element) -> None:
        self.c, self.node, self.parent = c, node, parent
        self.call = 0
        self.attrs: dict[str, str] = {}

    def op(self, e: Element, slot: Slot, task: str, rc: int = 0, target: int = 0,
           op: Op | None = None, failure: bool = False, status: int = 0,
           params: dict[str, str] | None = None, digest: bool = True) -> None:
        self.call += 1
        ms = op.interval_ms if op else 0
        rid = slot.lrm_id
        if failure:
            op_id = f"{rid}_last_failure_0"
        else:
            op_id = f"{rid}_last_0" if ms == 0 else f"{rid}_{task}_{ms}"
        key = f"{self.call}:3:{target}:{UUID}"
        x = etree.SubElement(e, "lrm_rsc_op", id=op_id, operation_key=f"{rid}_{task}_{ms}")
        x.set("operation", task)
        x.set("transition-key", key)
        x.set("transition-magic", f"{status}:{rc};{key}")
        x.set("call-id", str(self.call if status == 0 else -1))
        x.set("rc-code", str(rc))
        x.set("op-status", str(status))
        x.set("interval", str(ms))
        x.set("last-rc-change", str(self.c.now_s - 600 + self.call))
        x.set("exec-time", "10")
        x.set("queue-time", "0")
        if digest:
            p = slot.prim.params if params is None else params
            x.set("op-digest", pcmk_digest(p, ms, op.timeout_ms if op else 20000))
        x.set("on_node", self.node.name)

    def fail(self, slot: Slot, task: str, ms: int, count: str) -> None:
        key = f"{slot.lrm_id}#{task}_{ms}"
        self.attrs[f"fail-count-{key}"] = count
        age = self.c.rng.choice([30, 30, 3000])
        self.attrs[f"last-failure-{key}"] = str(self.c.now_s - age)

    def resource(self, slot: Slot) -> None:
        c, rng = self.c, self.c.rng
        role = slot.where.get(self.node.name)
        kinds = RUNNING_KINDS if role else STOPPED_KINDS
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        if kind == "none":
            return
        c.features.add(f"history:{kind}")
        p = slot.prim
        e = etree.SubElement(self.parent, "lrm_resource", id=slot.lrm_id, type=p.type)
        e.set("class", p.cls)
        if p.provider:
            e.set("provider", p.provider)
        getattr(self, "h_" + kind.replace("-", "_"))(e, slot, role or "Stopped")

    # running now
    def _started(self, e: Element, slot: Slot, role: str, params: dict[str, str] | None = None,
                 digest: bool = True, mon_rc: int | None = None) -> None:
        """Started (and promoted): ``_last_0`` is the newest of the two, then monitors."""
        self.op(e, slot, "promote" if role == "Promoted" else "start", params=params,
                digest=digest)
        target = PROMOTED_RC if role == "Promoted" else 0
        for m in slot.prim.monitors(role):
            self.op(e, slot, "monitor", target if mon_rc is None else mon_rc, target, m,
                    params=params, digest=digest)

    def h_ok(self, e: Element, slot: Slot, role: str) -> None:
        self._started(e, slot, role)

    def h_degraded(self, e: Element, slot: Slot, role: str) -> None:
        self._started(e, slot, role, mon_rc=191 if role == "Promoted" else 190)

    def h_param_changed(self, e: Element, slot: Slot, role: str) -> None:
        self._started(e, slot, role, params={**slot.prim.params, "fake": "old"})

    def h_no_digest(self, e: Element, slot: Slot, role: str) -> None:
        self._started(e, slot, role, digest=False)

    def h_stale_monitor(self, e: Element, slot: Slot, role: str) -> None:
        self.op(e, slot, "start")
        self.op(e, slot, "monitor", 0, 0, Op("monitor", "25s", 25000, "20s", 20000))

    def h_monitor_failed(self, e: Element, slot: Slot, role: str) -> None:
        mons = slot.prim.monitors(role)
        if not mons:
            return self.h_ok(e, slot, role)
        bad = self.c.rng.choice(mons)
        self.op(e, slot, "promote" if role == "Promoted" else "start")
        target = PROMOTED_RC if role == "Promoted" else 0
        rc = self.c.rng.choices([7, 1, 5, 6, 2, 3], [50, 30, 6, 4, 5, 5])[0]
        self.c.features.add(f"history:monitor-rc{rc}")
        for m in mons:
            self.op(e, slot, "monitor", rc if m is bad else target, target, m)
        self.call -= 1 if mons[-1] is bad else 0
        self.op(e, slot, "monitor", rc, target, bad, failure=True)
        self.fail(slot, "monitor", bad.interval_ms, str(self.c.rng.randint(1, 3)))

    def h_probe_active(self, e: Element, slot: Slot, role: str) -> None:
        rc = PROMOTED_RC if role == "Promoted" else 0
        if self.c.rng.random() < 0.2:
            rc = 191 if role == "Promoted" else 190
            self.c.features.add("history:probe-degraded")
        self.op(e, slot, "monitor", rc, NOT_RUNNING_RC)

    def h_stop_failed(self, e: Element, slot: Slot, role: str) -> None:
        for failure in (False, True):
            self.call -= failure
            self.op(e, slot, "stop", 1, 0, failure=failure)
        self.fail(slot, "stop", 0, INF)

    def h_start_pending(self, e: Element, slot: Slot, role: str) -> None:
        self.op(e, slot, "start", 193, 0, status=-1)

    # not running now
    def h_probed(self, e: Element, slot: Slot, role: str) -> None:
        self.op(e, slot, "monitor", 7, 7)

    def h_stopped(self, e: Element, slot: Slot, role: str) -> None:
        self.op(e, slot, "stop")

    def h_start_failed(self, e: Element, slot: Slot, role: str) -> None:
        for failure in (False, True):
            self.call -= failure
            self.op(e, slot, "start", 1, 0, failure=failure)
        fatal = self.c.props.get("start-failure-is-fatal") != "false"
        self.fail(slot, "start", 0, INF if fatal else "1")

    def h_probe_error(self, e: Element, slot: Slot, role: str) -> None:
        rc = self.c.rng.choice([5, 5, 2, 6])
        self.c.features.add(f"history:probe-rc{rc}")
        for failure in (False, True):
            self.call -= failure
            self.op(e, slot, "monitor", rc, 7, failure=failure)

    def h_past_failure(self, e: Element, slot: Slot, role: str) -> None:
        mons = slot.prim.monitors("Promoted" if slot.promotable else "Started")
        m = mons[0] if mons else Op("monitor", "10s", 10000)
        self.op(e, slot, "monitor", 7, 0, m, failure=True)
        self.op(e, slot, "stop")
        self.fail(slot, "monitor", m.interval_ms, str(self.c.rng.randint(1, 3)))

    def h_stop_pending(self, e: Element, slot: Slot, role: str) -> None:
        self.op(e, slot, "stop", 193, 0, status=-1)


# -- node_state -----------------------------------------------------------------------------
def node_state(c: Config, parent: Element, node: Node, slots: list[Slot]) -> None:
    if node.state == "unseen":
        return
    ns = etree.SubElement(parent, "node_state", id=node.id, uname=node.name)
    up = node.state == "online"
    ns.set("in_ccm", "true" if up else "false")
    ns.set("crmd", "online" if up else "offline")
    ns.set("join", "member" if up else "down")
    ns.set("expected", "down" if node.state == "offline" else "member")
    ta = etree.SubElement(ns, "transient_attributes", id=node.id)
    lrm = etree.SubElement(ns, "lrm", id=node.id)
    res = etree.SubElement(lrm, "lrm_resources")
    h = History(c, node, res)
    if node.has_lrm:
        for s in slots:
            h.resource(s)
            if s.promotable and c.rng.random() < 0.6:
                h.attrs[f"master-{s.lrm_id}"] = c.rng.choice(["5", "10", "100", "-1", INF])
                c.features.add("promotion-score")
    if node.standby == "transient":
        h.attrs["standby"] = "on"
    if node.shutdown:
        h.attrs["shutdown"] = str(c.now_s - 10)
    if h.attrs:
        ia = etree.SubElement(ta, "instance_attributes", id=f"status-{node.id}")
        for k, v in h.attrs.items():
            etree.SubElement(ia, "nvpair", id=f"status-{node.id}-{k}", name=k, value=v)
    else:
        ns.remove(ta)


def build_status(c: Config, status: Element, tickets: set[str]) -> None:
    if tickets:
        te = etree.SubElement(status, "tickets")
        for t in sorted(tickets):
            if c.rng.random() < 0.2:
                continue
            ts = etree.SubElement(te, "ticket_state", id=t)
            ts.set("granted", "true" if c.rng.random() < 0.55 else "false")
            if c.rng.random() < 0.15:
                ts.set("standby", "true")
                c.features.add("ticket:standby")
            ts.set("last-granted", str(c.now_s - 1000))
    slots = place(c)
    for node in c.nodes:
        node_state(c, status, node, slots)
