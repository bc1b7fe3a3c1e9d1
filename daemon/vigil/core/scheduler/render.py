"""A transition rendered for people and tools: JSON, a crm_simulate-style text, dot.

Pure functions of the :class:`~vigil.core.graph.Transition` (and, for the node and
resource lists, of the CIB it was computed from); ``vigilctl simulate`` prints them.

Rules
-----
* ``transition_json`` has the keys and meaning of ``tools/oracle.py`` (placements, roles,
  actions, fencing, fencing_ops, cluster_actions, summary; nodes and failed with the CIB;
  notes; scores when asked), so the two compare directly.
* Actions are named as crm_simulate names them: ``<operation_key> <node>``, and
  ``Cancel <key> <node>`` for a cancelled recurring op.
* ``summary_text`` turns one summary line (``move web node1->node2``) into crm_simulate's
  ``  * Move       web     ( node1 -> node2 )``; ``human`` is the status, the optional
  scores and the summary; ``dot_text`` is the graph, one node per action, edges from each
  action's prerequisites.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from vigil.core.graph import Action, Transition

from .unpack import unpack


def action_name(a: Action) -> str:
    """crm_simulate's naming: "<operation_key> <node>", "Cancel <key> <node>"."""
    name = f"Cancel {a.key}" if a.task == "cancel" else a.key
    return f"{name} {a.node}" if a.node else name


def transition_json(tr: Transition, cib: etree._Element | None = None, now_s: float = 0.0,
                    show_scores: bool = False) -> dict[str, Any]:
    """The transition in oracle.py's JSON shape."""
    out: dict[str, Any] = {
        "placements": {k: (sorted(v) if v else "Stopped")
                       for k, v in sorted(tr.placements.items())},
        "roles": {k: {r: list(n) for r, n in v.items()} for k, v in sorted(tr.roles.items())},
        "actions": sorted(action_name(a) for a in tr.actions if a.kind == "rsc"),
        "fencing": list(tr.fencing),
        "fencing_ops": sorted(f"{a.task} {a.node}" for a in tr.actions if a.kind == "fence"),
        "cluster_actions": sorted(f"{a.key} {a.node}" if a.node else a.key
                                  for a in tr.actions if a.kind == "cluster"),
        "summary": sorted(tr.summary),
    }
    if cib is not None:
        state = unpack(cib, now_s)
        out["nodes"] = {n: s.flags() for n, s in state.nodes.items()}
        out["failed"] = sorted(f"{r.id} {n}" for r in state.resources.values()
                               if r.failed for n in r.running)
    if tr.notes:
        out["notes"] = list(tr.notes)
    if show_scores:
        out["scores"] = tr.scores
    return out


_VERB = {"start": "Start", "stop": "Stop", "move": "Move", "recover": "Recover",
         "restart": "Restart", "promote": "Promote", "demote": "Demote",
         "re-promote": "Re-promote", "migrate": "Migrate", "reload": "Reload"}


def summary_text(line: str) -> str:
    """"move web node1->node2" -> "  * Move       web     ( node1 -> node2 )"."""
    if line.startswith("fence("):
        action, node = line.split(" ", 1)
        return f"  * Fence ({action[6:-1]}) {node}"
    blocked = line.endswith(" [blocked]")
    if blocked:
        line = line[: -len(" [blocked]")]
    role = ""
    if line.endswith(")") and " (" in line:
        line, role = line.rsplit(" (", 1)
        role = role[:-1].replace("->", " -> ").replace(" -> ?", "")
    verb, rsc, where = (line.split(" ", 2) + ["", ""])[:3]
    where = where.replace("->", " -> ")
    inner = f"{role} {where}".strip() if role else where
    text = f"  * {_VERB.get(verb, verb.title()):<10} {rsc:<20} ( {inner} )"
    return text + ("  blocked" if blocked else "")


def human(tr: Transition, cib: etree._Element, now_s: float, show_scores: bool) -> str:
    state = unpack(cib, now_s)
    lines = ["Current cluster status:", "  * Node List:"]
    for name, node_state in state.nodes.items():
        lines.append(f"    * {name}: {' '.join(node_state.flags())}")
    lines.append("")
    lines.append("  * Full List of Resources:")
    for rsc in state.resources.values():
        if rsc.kind != "primitive" or (rsc.orphan and not rsc.running):
            continue
        spec = rsc.agent.spec if rsc.agent else "?"
        where = " ".join(rsc.running) if rsc.running else ""
        status = f"{rsc.role_name} {where}".strip() if rsc.running else "Stopped"
        if rsc.failed:
            status = f"FAILED {where}"
        lines.append(f"    * {rsc.id}\t({spec}):\t {status}")
    if show_scores:
        lines.append("")
        for kind, table in tr.scores.items():
            for rid, per_node in table.items():
                for node, score in per_node.items():
                    lines.append(f"{kind} {rid} allocation score on {node}: {score}")
    lines.append("")
    lines.append("Transition Summary:")
    lines.extend(summary_text(s) for s in tr.summary)
    for note in tr.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines) + "\n"


def dot_text(tr: Transition) -> str:
    """The transition graph in Graphviz dot, one node per action, edges from requires."""
    by_id = {a.id: a for a in tr.actions}

    def label(a: Action) -> str:
        if a.kind == "fence":
            return f"stonith '{a.task}' {a.node}"
        return action_name(a)

    lines = [' digraph "g" {']
    for a in tr.actions:
        color = "orange" if a.kind == "pseudo" else "green"
        style = "bold" if a.kind != "pseudo" else "dashed"
        lines.append(f'"{label(a)}" [ style={style} color="{color}" fontcolor="black"]')
    for a in tr.actions:
        for r in sorted(a.requires):
            lines.append(f'"{label(by_id[r])}" -> "{label(a)}" [ style = bold]')
    lines.append("}")
    return "\n".join(lines) + "\n"
