"""The audits of a campaign, with the agents' own state as the truth.

After each fault and its settle window (and once more at the end):

* placement: every primitive runs on exactly one host (per its state file), the group's
  members together, the clone on every node, one Promoted ``db`` and Unpromoted
  elsewhere; and each node's ``status`` agrees with the agents (a status saying Started
  where the agent says stopped, or the reverse, is a violation);
* writes: every acknowledged ``property set`` is in the DC's CIB (at the end: every node's);
* fencing: each off/reboot the fence agent logged was due (its target is entitled by the
  fault under way, see :mod:`.faults`); each is in ``fence history`` as asked before the
  agent ran, ended as it ended; no history success without an agent run; every node
  reports the same history;
* the sticky primitive stays where it was unless its node was hit;
* logs: no Python traceback in any vigild.log; no daemon exits that nobody caused.

At the end, from the Dummy agents' own log (exact times): no primitive started on a node
while it still ran on another, and no recovery before the fencing it needs: a primitive
whose host died (crash, fencing) starts elsewhere only after that host's fencing ended or
after it booted again; one stopped on a host cut off from the new one, while the cut
lasted, starts there only after the old host was fenced or the cut healed.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bed import CLONE, PROMOTABLE, SINGLES, FenceRun
from .report import Recorder, excerpt
from .report import clock as _clock
from .watch import Writer, properties

if TYPE_CHECKING:
    from .bed import Bed
    from .faults import Fault

Truth = dict[str, dict[str, str]]
EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")
Statuses = dict[str, dict[str, Any] | None]


def statuses(bed: Bed) -> Statuses:
    return {n: bed.status(n) for n in bed.names}


def the_dc(sts: Statuses) -> str | None:
    for node, st in sts.items():
        if st and st.get("dc") == node and st.get("dc_state") is not None and st["quorate"]:
            return node
    return None


def not_stable(bed: Bed, sts: Statuses, truth: Truth, stuck_s: float = 60) -> list[str]:
    """Why the cluster is not stable yet (empty: one DC, all online, idle, placed). A
    fencing pending for longer than ``stuck_s`` no longer counts (the auditor reports it
    as stuck), else one stuck entry would leave every later fault unsettled."""
    why = [f"{n} is down" for n in bed.names if not bed.host_up(n) or not bed.daemon_up(n)]
    why += [f"{n} does not answer" for n in bed.names if sts.get(n) is None and not why]
    if why:
        return why
    views = [st for st in sts.values() if st]
    dcs = {st["dc"] for st in views}
    if len(dcs) != 1 or None in dcs:
        return [f"DCs {sorted(map(str, dcs))}"]
    dc = str(dcs.pop())
    for st in views:
        offline = [x["name"] for x in st["nodes"] if not x["online"]]
        if offline or not st["quorate"]:
            return [f"{st['node']} sees {offline or 'no quorum'} offline"]
    dc_st = sts[dc]
    assert dc_st is not None
    if dc_st.get("dc_state") != "idle":
        return [f"DC {dc} is {dc_st.get('dc_state')}"]
    pending = [e for e in dc_st["fencing"]["last"] if e["state"] == "pending"
               and time.time() - e["requested"] < stuck_s]
    if pending:
        return [f"fencing pending: {[e['target'] for e in pending]}"]
    return [detail for _kind, detail, _node in placement(bed, sts, truth)]


def placement(bed: Bed, sts: Statuses, truth: Truth) -> list[tuple[str, str, str | None]]:
    """(kind, detail, node) of every way placement or status differs from what is expected."""
    out: list[tuple[str, str, str | None]] = []
    names = [n for n in bed.names if bed.host_up(n)]
    for rsc in SINGLES:
        holders = sorted(n for n in names if rsc in truth.get(n, {}))
        if len(holders) != 1:
            out.append(("not_running" if not holders else "double_active",
                        f"{rsc} runs on {holders or 'no node'} (agents)", None))
    grp = [next((n for n in names if r in truth.get(n, {})), None) for r in ("grp-a", "grp-b")]
    if None not in grp and grp[0] != grp[1]:
        out.append(("placement", f"group members apart: grp-a on {grp[0]}, grp-b on {grp[1]}",
                    None))
    missing = [n for n in names if CLONE not in truth.get(n, {})] if bed.clone else []
    if missing:
        out.append(("not_running", f"clone {CLONE} not running on {missing} (agents)", None))
    if bed.stateful:
        roles = {n: truth.get(n, {}).get(PROMOTABLE, "Stopped") for n in names}
        promoted = [n for n, r in roles.items() if r == "Promoted"]
        if len(promoted) != 1 or any(r == "Stopped" for r in roles.values()):
            out.append(("not_running", f"{PROMOTABLE} roles {roles} (agents)", None))
    wrong: dict[tuple[str, str, str], list[str]] = {}
    for node, st in sts.items():
        if st is None:
            continue
        for entry in st["resources"]:
            rid = entry["id"]
            if rid not in (*SINGLES, CLONE, PROMOTABLE):
                continue
            said = {n: r for n, r in entry["roles"].items()}
            real = {n: truth.get(n, {})[rid] for n in names if rid in truth.get(n, {})}
            if said != real:
                wrong.setdefault((rid, _roles(said), _roles(real)), []).append(node)
    for (rid, said_s, real_s), nodes in wrong.items():
        out.append(("status_wrong", f"status on {','.join(nodes)} says {rid} is {said_s}, "
                    f"the agents say {real_s}", nodes[0]))
    return out


def _roles(roles: dict[str, str]) -> str:
    if not roles:
        return "stopped"
    return ", ".join(f"{r} on {n}" for n, r in sorted(roles.items()))


@dataclass
class AgentAction:
    t: float
    node: str
    rsc: str
    what: str  # "open" (started) or "close" (stop began)


class Auditor:
    def __init__(self, bed: Bed, rec: Recorder, writer: Writer) -> None:
        self.bed, self.rec, self.writer = bed, rec, writer
        self.log_pos = {n: 0 for n in bed.names}
        self.runs_checked = 0
        self.lost: set[str] = set()

    # ------------------------------------------------------------------ each fault
    def after_settle(self, fault: Fault, faults: list[Fault], settled: bool, why: list[str],
                     sts: Statuses, truth: Truth) -> None:
        dc = the_dc(sts)
        if not settled:
            self.rec.add("not_settled", "; ".join(why)[:400], node=dc or fault.nodes[0]
                         if fault.nodes else dc, key="settle")
            for kind, detail, node in placement(self.bed, sts, truth):
                self.rec.add(kind, detail, node=node or dc, key=detail)
        if dc is not None:
            self.writes(dc)
            self.fencing(faults, sts, dc)
        self.sticky(fault, truth)
        self.logs()

    def writes(self, dc: str, node_list: list[str] | None = None) -> None:
        for node in node_list or [dc]:
            try:
                props = properties(self.bed.ctl(node, "cib_get", scope="configuration")["xml"])
            except Exception as exc:  # noqa: BLE001 - a node that cannot answer is audited later
                self.rec.add("no_answer", f"{node} cannot return its CIB: {exc}", node=node,
                             key=f"cib:{node}")
                continue
            for w in list(self.writer.acked):
                if w.name in self.lost or props.get(w.name) == w.value:
                    continue
                self.lost.add(w.name)
                hint = f"CIB {w.version}"
                where = next((n for n in self.bed.names
                              if any(hint in x for x in excerpt(self.bed.log_path(n), w.acked,
                                                                 hint, 5, 1))), node)
                self.rec.add("write_lost", f"{w.name}={w.value} acknowledged by {w.node} at "
                             f"{_clock(w.acked)} (CIB {w.version}) is not in {node}'s CIB",
                             node=where, t=w.acked, key=w.name, hint=hint)

    def fencing(self, faults: list[Fault], sts: Statuses, dc: str) -> None:
        runs = self.bed.fence_runs
        dc_st = sts.get(dc)
        history = self._history(dc)
        if history is None or dc_st is None:
            return
        while self.runs_checked < len(runs) and runs[self.runs_checked].end is not None:
            run = runs[self.runs_checked]
            self.runs_checked += 1
            self.due(run, faults)
            self.recorded(run, history, dc)
        for e in history:
            if e["state"] == "pending" and time.time() - e["requested"] > 60:
                self.rec.add("fence_stuck_pending", f"{dc}'s history has the {e['action']} of "
                             f"{e['target']} asked at {_clock(e['requested'])} by "
                             f"{e.get('origin')} still pending", node=dc, t=e["requested"],
                             key=f"{e['target']}@{e['requested']}", hint=e["target"],
                             fault=_fault_at(faults, e["requested"]), once=True)
            if e["state"] == "success" and not any(
                    r.target == e["target"] and r.result == "ok"
                    and e["requested"] - 0.05 <= r.begin <= (e["completed"] or math.inf)
                    for r in runs):
                self.rec.add("fence_without_agent", f"history says {e['target']} fenced "
                             f"({e['action']}, {_clock(e['requested'])}) but the agent never "
                             "ran", node=dc, t=e["requested"], key=f"{e}", hint=e["target"],
                             fault=_fault_at(faults, e["requested"]), once=True)
        views = {n: self._history(n) for n, st in sts.items() if st is not None}
        seen = {n: {(e["target"], round(e["requested"], 3), e["state"]) for e in h}
                for n, h in views.items() if h is not None}
        mine = seen.get(dc, set())
        for node, entries in seen.items():
            if entries != mine:
                self.rec.add("fence_history_differs", f"{node}'s fence history differs from "
                             f"the DC's ({dc}): only on {node} {sorted(entries - mine)}, only "
                             f"on {dc} {sorted(mine - entries)}", node=node, once=True,
                             key=f"{node}:{sorted(entries ^ mine)}")

    def due(self, run: FenceRun, faults: list[Fault]) -> None:
        fault = next((f for f in reversed(faults) if f.start <= run.begin), None)
        if fault is not None and run.target in fault.fence_ok:
            self.again(run, fault)
            return
        because = (f"under fault #{fault.index} ({fault.describe()}), which entitles "
                   f"{sorted(fault.fence_ok) or 'nobody'}" if fault else "before any fault")
        node = self._fencer_of(run)
        self.rec.add("unjustified_fencing", f"{run.action} of {run.target} at {_clock(run.begin)}"
                     f" ({run.result}) {because}", node=node, t=run.begin,
                     fault=fault.index if fault else 0, key=f"{run.target}@{run.begin}",
                     hint=run.target)

    def again(self, run: FenceRun, fault: Fault) -> None:
        """A node fenced for this fault, booted again and back for a while, is fenced
        again: nothing hit it since (one cause, one fencing)."""
        prior = [r for r in self.bed.fence_runs if r.target == run.target and r.result == "ok"
                 and r.end is not None and fault.start <= r.begin < run.begin]
        if not prior:
            return
        assert prior[-1].end is not None
        boots = [e for e in self.bed.events if e.node == run.target and e.what == "boot"
                 and prior[-1].end <= e.t and e.t + 2.0 < run.begin]
        if boots:
            self.rec.add("fenced_again", f"{run.action} of {run.target} at {_clock(run.begin)}:"
                         f" fenced at {_clock(prior[-1].begin)} for {fault.describe()}, booted "
                         f"at {_clock(boots[-1].t)}, nothing hit it since", t=run.begin,
                         node=self._fencer_of(run), key=f"{run.target}@{run.begin}",
                         hint=run.target)

    def recorded(self, run: FenceRun, history: list[dict[str, Any]], dc: str) -> None:
        assert run.end is not None
        mine = [e for e in history if e["target"] == run.target]
        match = [e for e in mine if e["requested"] - 0.05 <= run.begin
                 and (e["completed"] or math.inf) >= run.end - 0.05]
        node = self._fencer_of(run)
        if not match:
            late = [e for e in mine if run.begin < e["requested"] <= run.end + 5]
            kind = "fence_recorded_late" if late else "fence_not_in_history"
            self.rec.add(kind, f"the agent ran {run.action} of {run.target} at "
                         f"{_clock(run.begin)}-{_clock(run.end)} ({run.result}); {dc}'s history "
                         f"has {[(_clock(e['requested']), e['state']) for e in mine] or 'nothing'}"
                         " for it", node=node, t=run.begin, key=f"{run.target}@{run.begin}",
                         hint=run.target)
        elif run.result != "ok" and all(e["state"] == "success" for e in match) and not any(
                r.target == run.target and r.result == "ok" and r.end is not None
                and e["requested"] - 0.05 <= r.begin and r.end <= (e["completed"] or math.inf)
                for e in match for r in self.bed.fence_runs):  # no retry that succeeded
            self.rec.add("fence_history_wrong", f"the agent failed {run.action} of {run.target}"
                         f" at {_clock(run.begin)}; history says success", node=node,
                         t=run.begin, key=f"{run.target}@{run.begin}", hint=run.target)

    def _fencer_of(self, run: FenceRun) -> str | None:
        """The node whose log shows the fencing (the one that ran the agent)."""
        for node in self.bed.names:
            if any(run.target in x and "fenc" in x
                   for x in excerpt(self.bed.log_path(node), run.begin, run.target, 1, 1)):
                return node
        return None

    def _history(self, node: str) -> list[dict[str, Any]] | None:
        try:
            return list(self.bed.ctl(node, "fence_history", timeout_s=5))
        except Exception:  # noqa: BLE001
            return None

    def sticky(self, fault: Fault, truth: Truth) -> None:
        before = fault.placement_before.get("sticky")
        after = next((n for n, roles in truth.items() if "sticky" in roles), None)
        if before is None or after is None or before == after or before in fault.affected:
            return
        fenced = {r.target for r in self.bed.fence_runs if r.begin >= fault.start}
        if before in fenced:
            return
        self.rec.add("sticky_moved", f"sticky moved from {before} to {after} although "
                     f"{before} was not hit by {fault.describe()}", node=after, key="sticky",
                     hint="sticky")

    def logs(self) -> None:
        for node in self.bed.names:
            path = self.bed.log_path(node)
            try:
                with open(path, "rb") as f:
                    f.seek(self.log_pos[node])
                    data = f.read()
            except OSError:
                continue
            self.log_pos[node] += len(data)
            lines = data.decode(errors="replace").splitlines()
            for i, line in enumerate(lines):
                if "Traceback (most recent call last)" in line or \
                        "exception was never retrieved" in line:
                    tail = [x for x in lines[i + 1:i + 40] if x.strip()]
                    last = next((x for x in tail if EXC_LINE.match(x)), None) or next(
                        (x for x in reversed(tail[:30]) if not x.startswith(" ")), "")
                    self.rec.add("traceback", f"{node}: {last.strip()[:200]}", node=node,
                                 key=f"{node}:{last}",
                                 lines=[lines[max(i - 1, 0)], *tail[:10]])

    def check_exits(self) -> list[str]:
        """Daemons that exited by themselves; returns nodes found down (to be booted)."""
        found = []
        self.bed.read_fence_log()
        while self.bed.start_failures:
            node, t, why = self.bed.start_failures.pop(0)
            booted = self.bed.boots.get(node, t - 30)
            if any(r.target == node and r.result == "ok" and booted - 1 <= r.begin <= t
                   for r in self.bed.fence_runs):
                # a fencing of that node that was pending (its device was broken, say)
                # went through while it booted: the boot was cut short, as a reboot of a
                # booting machine is; the node is booted again below
                continue
            self.rec.add("start_failed", f"vigild on {node} did not start: {why}", node=node,
                         t=t, key=f"{node}@{t}", lines=_tail(self.bed.log_path(node)))
        for node in self.bed.names:
            proc = self.bed.cluster.procs.get(node)
            if proc is None or proc.poll() is None or not self.bed.host_up(node) \
                    or node in self.bed.daemon_dead:
                continue
            pending = [r for r in self.bed.fence_runs if r.target == node and r.result is None
                       and r.begin >= self.bed.boots.get(node, 0)]
            if not pending:
                self.rec.add("daemon_exit", f"vigild on {node} exited with {proc.returncode} "
                             "and nobody stopped it", node=node, key=node,
                             lines=_tail(self.bed.log_path(node)))
            with self.bed.lock:
                self.bed.down.setdefault(node, time.time())
            found.append(node)
        return found

    # ------------------------------------------------------------------ the end
    def final(self, faults: list[Fault]) -> None:
        self.logs()
        sts = statuses(self.bed)
        dc = the_dc(sts)
        if dc is not None:
            self.writes(dc, [n for n, st in sts.items() if st is not None])
            self.fencing(faults, sts, dc)
        self.agent_log(faults)

    def agent_log(self, faults: list[Fault]) -> None:
        for rsc in SINGLES:
            self._timeline(rsc, sorted(self._actions(rsc), key=lambda a: a.t), faults)

    def _actions(self, rsc: str) -> list[AgentAction]:
        out = []
        try:
            text = self.bed.agent_log.read_text(errors="replace")
        except OSError:
            return []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 5 or parts[2] != rsc:
                continue
            if parts[3] == "start" and parts[4] == "done":
                out.append(AgentAction(float(parts[0]), parts[1], rsc, "open"))
            elif parts[3] == "stop" and parts[4] == "begin":
                out.append(AgentAction(float(parts[0]), parts[1], rsc, "close"))
        for e in self.bed.events:
            if e.what in ("crash", "boot"):
                out.append(AgentAction(e.t, e.node, rsc, e.what))
        for r in self.bed.fence_runs:
            if r.result == "ok":
                out.append(AgentAction(r.begin, r.target, rsc, "fenced"))
        return out

    def _timeline(self, rsc: str, actions: list[AgentAction], faults: list[Fault]) -> None:
        open_on: dict[str, float] = {}
        closed: dict[str, tuple[float, str]] = {}  # node -> (time, how) of its last end
        for a in actions:
            if a.what == "open":
                others = [n for n in open_on if n != a.node]
                if others:
                    self.rec.add("double_active", f"{rsc} started on {a.node} at {_clock(a.t)} "
                                 f"while running on {others} (agent log)", node=a.node, t=a.t,
                                 fault=_fault_at(faults, a.t), key=f"{rsc}@{a.t}", hint=rsc)
                prev = max(((t, n, how) for n, (t, how) in closed.items() if n != a.node),
                           default=None)
                if prev is not None:
                    self._recovery(rsc, a, prev, faults)
                open_on[a.node] = a.t
            elif a.node in open_on:
                del open_on[a.node]
                closed[a.node] = (a.t, {"close": "stop"}.get(a.what, a.what))

    def _recovery(self, rsc: str, a: AgentAction, prev: tuple[float, str, str],
                  faults: list[Fault]) -> None:
        t_end, old, how = prev
        fenced = [r for r in self.bed.fence_runs if r.target == old and r.result == "ok"
                  and r.end is not None and r.end >= t_end - 60]
        confirmed = any(r.end is not None and r.end <= a.t for r in fenced)
        booted = any(e.node == old and e.what == "boot" and t_end <= e.t <= a.t
                     for e in self.bed.events)
        if how in ("crash", "fenced") and not confirmed and not booted:
            self.rec.add("recovered_before_fencing", f"{rsc} started on {a.node} at "
                         f"{_clock(a.t)}; {old} ({how} at {_clock(t_end)}) was not fenced yet",
                         node=a.node, t=a.t, fault=_fault_at(faults, a.t), key=f"{rsc}@{a.t}",
                         hint=rsc)
            return
        if how != "stop":
            return
        cut = next((f for f in faults if f.start <= t_end <= f.healed
                    and f.separated(old, a.node) and a.t < f.healed), None)
        if cut is not None and not any(r.end is not None and cut.start <= r.end <= a.t
                                       for r in fenced):
            self.rec.add("recovered_without_fencing", f"{rsc} started on {a.node} at "
                         f"{_clock(a.t)} while {old}, which stopped it at {_clock(t_end)} cut "
                         f"off by #{cut.index} {cut.describe()}, was not fenced", node=a.node,
                         t=a.t, fault=cut.index, key=f"{rsc}@{a.t}", hint=rsc)


def _fault_at(faults: list[Fault], t: float) -> int:
    return next((f.index for f in reversed(faults) if f.start <= t), 0)


def _tail(path: Path, lines: int = 8) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []
