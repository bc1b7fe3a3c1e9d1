"""``vigilctl simulate``: run vigil's scheduler offline on a CIB file, crm_simulate style.

This module parses the arguments, loads and modifies the CIB (``--node-fail``,
``--op-fail``, ``--set-quorum``) and prints; the renderers (JSON in ``tools/oracle.py``'s
shape, the summary text, dot) are pure functions in :mod:`vigil.core.scheduler.render`.
The clock is read here (``--now`` defaults to the CIB's ``execution-date``, as
crm_simulate's, else the current time), never in the core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from vigil.core import cib as C
from vigil.core.scheduler import schedule
from vigil.core.scheduler.render import dot_text, human, transition_json
from vigil.errors import CibInvalid

EXIT_BAD_INPUT = 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``simulate`` sub-command on an argparse subparsers object."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "simulate", help="show what the scheduler would do with a CIB file",
        description="Run vigil's policy engine offline on a CIB (with status) and show the "
                    "transition it computes, like crm_simulate.")
    p.add_argument("--xml-file", metavar="CIB", required=True, help="CIB XML file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--show-scores", action="store_true", help="include allocation scores")
    p.add_argument("--node-fail", metavar="NODE", action="append", default=[],
                   help="take NODE out of the cluster first (repeatable)")
    p.add_argument("--op-fail", metavar="RSC_OP@NODE=RC", action="append", default=[],
                   help="record an operation result first, e.g. web_monitor_10000@node1=7 "
                        "(repeatable, like crm_simulate -i)")
    p.add_argument("--set-quorum", choices=("true", "false"), help="override have-quorum")
    p.add_argument("--dot", metavar="FILE", help="write the transition graph as Graphviz dot")
    p.add_argument("--now", metavar="EPOCH_S", type=float,
                   help="evaluate failure-timeout and date rules at this time (default: "
                        "the CIB's execution-date, else the current time)")
    p.set_defaults(func=run)
    return p


# -- input modifications -----------------------------------------------------------------
def _node_state(cib: etree._Element, name: str) -> etree._Element:
    status = cib.find("status")
    if status is None:
        status = etree.SubElement(cib, "status")
    node_id = name
    for node in cib.iterfind("configuration/nodes/node"):
        if node.get("uname") == name or node.get("id") == name:
            node_id, name = node.get("id", name), node.get("uname", name)
            break
    else:
        raise CibInvalid(f"node {name!r} is not configured")
    for ns in status.iterfind("node_state"):
        if ns.get("id") == node_id or ns.get("uname") == name:
            return ns
    return etree.SubElement(status, "node_state", id=node_id, uname=name)


def fail_node(cib: etree._Element, name: str) -> None:
    ns = _node_state(cib, name)
    ns.set("in_ccm", "false")
    ns.set("crmd", "offline")
    ns.set("join", "down")
    ns.set("expected", "down")


def inject_op(cib: etree._Element, spec: str, now_s: float) -> None:
    """Record ``RSC_TASK_INTERVAL@NODE=RC`` in the node's history (crm_simulate -i)."""
    try:
        key, rest = spec.split("@", 1)
        node, rc_text = rest.rsplit("=", 1)
        rc = int(rc_text)
        head, interval_text = key.rsplit("_", 1)
        rsc, task = head.rsplit("_", 1)
        interval = int(interval_text)
    except ValueError as exc:
        raise CibInvalid(f"--op-fail {spec!r}: expected RSC_OP_INTERVAL@NODE=RC") from exc
    prim = None
    for p in cib.iter("primitive"):
        if p.get("id") == rsc:
            prim = p
    if prim is None:
        raise CibInvalid(f"--op-fail {spec!r}: no primitive {rsc!r}")
    ns = _node_state(cib, node)
    lrm = ns.find("lrm")
    if lrm is None:
        lrm = etree.SubElement(ns, "lrm", id=ns.get("id", node))
    res = lrm.find("lrm_resources")
    if res is None:
        res = etree.SubElement(lrm, "lrm_resources")
    entry = next((e for e in res.iterfind("lrm_resource") if e.get("id") == rsc), None)
    if entry is None:
        attrs = {"id": rsc, "class": prim.get("class", "ocf"), "type": prim.get("type", "")}
        if prim.get("provider"):
            attrs["provider"] = prim.get("provider", "")
        entry = etree.SubElement(res, "lrm_resource", attrs)
    call = 1 + max((int(o.get("call-id", "0")) for o in entry.iterfind("lrm_rsc_op")
                    if o.get("call-id", "").isdigit()), default=0)
    op_id = f"{rsc}_last_0" if interval == 0 else f"{rsc}_{task}_{interval}"
    for old in entry.iterfind("lrm_rsc_op"):
        if old.get("id") == op_id:
            entry.remove(old)
    tk = "0:0:0:00000000-0000-0000-0000-000000000000"
    etree.SubElement(entry, "lrm_rsc_op", {
        "id": op_id, "operation_key": key, "operation": task, "interval": str(interval),
        "call-id": str(call), "rc-code": str(rc), "op-status": "0", "transition-key": tk,
        "transition-magic": f"0:{rc};{tk}", "last-rc-change": str(int(now_s)),
        "on_node": node,
    })


def read_cib(opts: argparse.Namespace) -> etree._Element:
    try:
        data = Path(opts.xml_file).read_bytes()
    except OSError as exc:
        raise CibInvalid(f"{opts.xml_file}: cannot read: {exc}") from exc
    cib = C.parse(data, str(opts.xml_file), keep_blanks=True)
    if cib.tag != "cib":
        raise CibInvalid(f"{opts.xml_file}: root element is <{cib.tag}>, expected <cib>")
    return cib


def execution_date_s(cib: etree._Element) -> float | None:
    """The CIB's ``execution-date`` (epoch seconds): crm_simulate's "now" without -t."""
    text = cib.get("execution-date")
    try:
        return float(text) if text else None
    except ValueError:
        return None


def load_cib(opts: argparse.Namespace, now_s: float) -> etree._Element:
    cib = read_cib(opts)
    modify_cib(cib, opts, now_s)
    return cib


def modify_cib(cib: etree._Element, opts: argparse.Namespace, now_s: float) -> None:
    """Apply --set-quorum, --node-fail and --op-fail (in that order)."""
    if opts.set_quorum is not None:
        cib.set("have-quorum", "1" if opts.set_quorum == "true" else "0")
    for node in opts.node_fail:
        fail_node(cib, node)
    for spec in opts.op_fail:
        inject_op(cib, spec, now_s)


def run(args: argparse.Namespace) -> int:
    try:
        cib = read_cib(args)
        now_s = args.now
        if now_s is None:  # as crm_simulate: the CIB's execution-date, else the clock
            now_s = execution_date_s(cib) or time.time()
        modify_cib(cib, args, now_s)
        # as crm_simulate -x: a CIB file may have masked secrets (op-secure-digest)
        tr = schedule(cib, now_s, sanitized=True)
    except CibInvalid as exc:
        print(f"vigilctl simulate: invalid input: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.dot:
        try:
            with open(args.dot, "w", encoding="utf-8") as fh:
                fh.write(dot_text(tr))
        except OSError as exc:
            print(f"vigilctl simulate: cannot write {args.dot}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    if args.json:
        out = transition_json(tr, cib, now_s, args.show_scores)
        sys.stdout.write(json.dumps(out, indent=2, sort_keys=False) + "\n")
    else:
        sys.stdout.write(human(tr, cib, now_s, args.show_scores))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (``python -m vigil.cli.simulate``), for testing."""
    parser = argparse.ArgumentParser(prog="vigilctl")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
