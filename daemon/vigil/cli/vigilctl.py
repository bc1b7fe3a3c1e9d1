"""vigilctl: the operator's command line for a vigil cluster.

Every status command has ``--json``; errors go to standard error; exit status 0 ok,
1 operation failed, 2 usage or invalid input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .. import __version__
from ..client import DEFAULT_SOCKET, call
from ..errors import VigilError
from . import loopback, render

EPILOG = """\
examples:
  vigilctl keygen /etc/vigil/authkey
  vigilctl status
  vigilctl status --json | jq .dc
  vigilctl metrics | grep vigil_packets_dropped_total
  vigilctl cib get --scope configuration > conf.xml; vigilctl cib replace conf.xml
  vigilctl property set stonith-enabled false
  vigilctl resource create web ocf:vigil:http docroot=/srv/www port=8080 --op monitor:10s
  vigilctl resource delete web
  vigilctl fence node2 --off; vigilctl fence history --json
  vigilctl ticket grant ticketA; vigilctl ticket revoke ticketA --force
  vigilctl simulate --xml-file /var/lib/vigil/pe/pe-input-7.xml

exit status: 0 ok, 1 the operation failed, 2 usage error or invalid input."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vigilctl", description="Inspect and control a vigil cluster through any "
        "node's control socket.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--socket", type=Path,
                   default=Path(os.environ.get("VIGIL_SOCKET", DEFAULT_SOCKET)),
                   help="control socket of the node to talk to (default: $VIGIL_SOCKET or "
                   "%(default)s)")
    p.add_argument("--version", action="version", version=f"vigilctl {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    k = sub.add_parser("keygen", help="write a new 256-bit cluster authkey")
    k.add_argument("file", type=Path)
    k.add_argument("--force", action="store_true", help="overwrite an existing key")

    s = sub.add_parser("status", help="cluster status, like crm_mon")
    s.add_argument("--json", action="store_true", help="print the status object as JSON")

    sub.add_parser("metrics", help="the node's metrics in Prometheus text format (what "
                   "metrics_listen serves at /metrics)")

    rl = sub.add_parser("reload", help="re-read the node's configuration file (like SIGHUP): "
                        "nodes added/removed, authkeys, expected_votes, log_level")
    rl.add_argument("--json", action="store_true", help="print the result as JSON")

    c = sub.add_parser("cib", help="read or replace the CIB")
    csub = c.add_subparsers(dest="cib_command", required=True, metavar="ACTION")
    g = csub.add_parser("get", help="print the CIB XML")
    g.add_argument("--scope", choices=["configuration", "status"])
    r = csub.add_parser("replace", help="replace the configuration section from FILE")
    r.add_argument("file", type=Path, help="a <configuration> or a whole <cib> ('-': stdin)")

    pr = sub.add_parser("property", help="cluster properties")
    psub = pr.add_subparsers(dest="prop_command", required=True, metavar="ACTION")
    ps = psub.add_parser("set", help="set a cluster property")
    ps.add_argument("name")
    ps.add_argument("value")
    pu = psub.add_parser("unset", help="delete a cluster property")
    pu.add_argument("name")

    rs = sub.add_parser("resource", help="create and delete resources")
    rsub = rs.add_subparsers(dest="rsc_command", required=True, metavar="ACTION")
    rc = rsub.add_parser("create", help="create a primitive resource")
    rc.add_argument("id")
    rc.add_argument("agent", help="CLASS:PROVIDER:TYPE, e.g. ocf:heartbeat:IPaddr2")
    rc.add_argument("params", nargs="*", metavar="NAME=VALUE", help="instance attributes")
    rc.add_argument("--meta", action="append", default=[], metavar="NAME=VALUE")
    rc.add_argument("--op", action="append", default=[], metavar="NAME:INTERVAL[:TIMEOUT]",
                    help="an operation, e.g. monitor:10s or start:0:60s")
    rd = rsub.add_parser("delete", help="delete a resource and the constraints naming it")
    rd.add_argument("id")
    for name, text in (("move", "prefer NODE (+INFINITY location cli-prefer-ID)"),
                       ("ban", "keep off NODE (-INFINITY location cli-ban-ID-on-NODE)")):
        sp = rsub.add_parser(name, help=text)
        sp.add_argument("id")
        sp.add_argument("node")
    rclear = rsub.add_parser("clear", help="remove what move and ban added")
    rclear.add_argument("id")
    rcl = rsub.add_parser("cleanup", help="forget failures and history: re-probe")
    rcl.add_argument("id", nargs="?")
    rcl.add_argument("--node")
    for name, text in (("enable", "target-role Started"), ("disable", "target-role Stopped")):
        sp = rsub.add_parser(name, help=text)
        sp.add_argument("id")
    rr = rsub.add_parser("restart", help="stop, wait until stopped, start again")
    rr.add_argument("id")
    rr.add_argument("--timeout", type=float, default=60.0)

    nd = sub.add_parser("node", help="standby, online and maintenance of nodes")
    nsub = nd.add_subparsers(dest="node_command", required=True, metavar="ACTION")
    for name, text in (("standby", "move every resource off NODE"),
                       ("online", "let NODE run resources again"),
                       ("maintenance", "leave NODE's resources alone (unmanaged)"),
                       ("ready", "end maintenance")):
        sp = nsub.add_parser(name, help=text)
        sp.add_argument("node")

    f = sub.add_parser("fence", help="fence a node, or show the fencing history",
                       description="vigilctl fence NODE [--off|--on] fences NODE through the "
                       "cluster's fence devices and waits for the result; vigilctl fence "
                       "history [--json] lists every fencing, oldest first.")
    f.add_argument("target", metavar="NODE|history")
    group = f.add_mutually_exclusive_group()
    group.add_argument("--reboot", dest="action", action="store_const", const="reboot")
    group.add_argument("--off", dest="action", action="store_const", const="off")
    group.add_argument("--on", dest="action", action="store_const", const="on")
    f.add_argument("--json", action="store_true", help="history as JSON")

    t = sub.add_parser("ticket", help="grant, revoke, standby and activate tickets, "
                       "or list them (like crm_ticket)",
                       description="Tickets gate the resources of rsc_ticket constraints. "
                       "revoke and standby can trigger those constraints' loss-policy (stop, "
                       "demote, fence or freeze) and need --force.")
    tsub = t.add_subparsers(dest="ticket_command", required=True, metavar="ACTION")
    tl = tsub.add_parser("list", help="every ticket: granted, standby, constraints")
    tl.add_argument("--json", action="store_true")
    for name, text in (("grant", "grant TICKET here"), ("revoke", "revoke TICKET"),
                       ("standby", "put TICKET in standby (its resources stop or demote)"),
                       ("activate", "end TICKET's standby")):
        sp = tsub.add_parser(name, help=text)
        sp.add_argument("ticket")
        if name in ("revoke", "standby"):
            sp.add_argument("--force", action="store_true",
                            help="yes, apply the loss-policy of the constraints naming it")

    d = sub.add_parser("discover", help="list vigil nodes advertised by zeroconf")
    d.add_argument("--timeout", type=float, default=3.0, help="seconds to listen")
    d.add_argument("--interface", default="0.0.0.0", help="address of the interface")
    d.add_argument("--json", action="store_true")

    lp = sub.add_parser("loopback-poweroff", help="simulate power loss of a node that "
                        "shares this machine (tests, demos)")
    lp.add_argument("--config", type=Path, required=True, help="that node's config file")

    try:
        from . import simulate
    except ImportError:
        simulate = None  # type: ignore[assignment]
    if simulate is not None:
        simulate.add_parser(sub)
    return p


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise VigilError(f"{what} {item!r} is not NAME=VALUE")
        out[name] = value
    return out


def _ops(items: list[str]) -> list[dict[str, str]]:
    ops = []
    for item in items:
        parts = item.split(":")
        if len(parts) < 2 or not parts[0]:
            raise VigilError(f"operation {item!r} is not NAME:INTERVAL[:TIMEOUT]")
        op = {"name": parts[0], "interval": parts[1]}
        if len(parts) > 2:
            op["timeout"] = parts[2]
        ops.append(op)
    return ops


def run(args: argparse.Namespace) -> int:
    sock = args.socket
    if args.command == "keygen":
        return keygen(args.file, args.force)
    if args.command == "status":
        result = call(sock, "status")
        print(json.dumps(result, indent=2) if args.json else render.status_text(result))
    elif args.command == "metrics":
        print(call(sock, "metrics")["text"], end="")
    elif args.command == "reload":
        result = call(sock, "reload")
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            said = {True: "changed", False: "unchanged"}
            print(f"configuration reloaded: keys {said[bool(result['keys_changed'])]}, "
                  f"nodes {said[bool(result['nodes_changed'])]}")
            if result["needs_restart"]:
                print(f"changed but applied only after a restart: "
                      f"{', '.join(result['needs_restart'])}")
    elif args.command == "cib" and args.cib_command == "get":
        print(call(sock, "cib_get", scope=args.scope)["xml"], end="")
    elif args.command == "cib":
        text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text()
        result = call(sock, "cib_replace", xml=text)
        print(f"configuration replaced; CIB version {result['version']}")
    elif args.command == "property":
        value = args.value if args.prop_command == "set" else None
        result = call(sock, "property_set", name=args.name, value=value)
        done = "set" if value is not None else "deleted"
        print(f"{args.name} {done if result['changed'] else 'unchanged'}"
              f"; CIB version {result['version']}")
    elif args.command == "resource" and args.rsc_command == "create":
        result = call(sock, "resource_create", id=args.id, agent=args.agent,
                      params=_pairs(args.params, "parameter"),
                      meta=_pairs(args.meta, "meta attribute"), ops=_ops(args.op))
        print(f"resource {args.id} created; CIB version {result['version']}")
    elif args.command == "resource" and args.rsc_command in ("move", "ban"):
        result = call(sock, f"resource_{args.rsc_command}", id=args.id, node=args.node)
        print(f"{args.id}: {args.rsc_command} {args.node} "
              f"({'constraint ' + result['constraint'] if result['changed'] else 'unchanged'})")
    elif args.command == "resource" and args.rsc_command == "clear":
        result = call(sock, "resource_clear", id=args.id)
        print(f"{args.id}: removed {', '.join(result['removed']) or 'nothing'}")
    elif args.command == "resource" and args.rsc_command == "cleanup":
        call(sock, "resource_cleanup", id=args.id, node=args.node)
        print(f"cleaned up {args.id or 'all resources'} on {args.node or 'all nodes'}")
    elif args.command == "resource" and args.rsc_command in ("enable", "disable"):
        role = "Started" if args.rsc_command == "enable" else "Stopped"
        call(sock, "resource_meta", id=args.id, name="target-role", value=role)
        print(f"{args.id}: target-role {role}")
    elif args.command == "resource" and args.rsc_command == "restart":
        return restart(sock, args.id, args.timeout)
    elif args.command == "node":
        name, value = {"standby": ("standby", "on"), "online": ("standby", None),
                       "maintenance": ("maintenance", "true"),
                       "ready": ("maintenance", None)}[args.node_command]
        result = call(sock, "node_attr", node=args.node, name=name, value=value)
        print(f"{args.node}: {args.node_command}"
              + ("" if result["changed"] else " (unchanged)"))
    elif args.command == "resource":
        result = call(sock, "resource_delete", id=args.id)
        extra = [r for r in result.get("removed", []) if r != args.id]
        print(f"resource {args.id} deleted" + (f" with {', '.join(extra)}" if extra else "")
              + f"; CIB version {result['version']}")
    elif args.command == "fence" and args.target == "history":
        history = call(sock, "fence_history")
        if args.json:
            print(json.dumps(history, indent=2))
        for e in [] if args.json else history:
            print(render.fence_line(e))
        if not history and not args.json:
            print("no fencing has happened")
    elif args.command == "fence":
        entry = call(sock, "fence", target=args.target, action=args.action or "reboot",
                     confirm=True, timeout_s=300)
        print(render.fence_line(entry))
    elif args.command == "ticket":
        return ticket(sock, args)
    elif args.command == "discover":
        import asyncio

        from ..io.discovery import browse

        found = asyncio.run(browse(args.timeout, args.interface))
        if args.json:
            print(json.dumps(found, indent=2))
        for n in [] if args.json else found:
            print(f"{n['cluster']:<16} {n['node']:<16} id {n['id']:<4} "
                  f"{','.join(n['addresses'])}:{n['port']} ({n['transport']}, "
                  f"protocol {n['protocol']})")
        if not found and not args.json:
            print(f"no vigil nodes answered within {args.timeout:g} s")
    elif args.command == "loopback-poweroff":
        print(loopback.poweroff(args.config))
    elif args.command == "simulate":
        from . import simulate

        return int(simulate.run(args))
    return 0


def ticket(sock: Path, args: argparse.Namespace) -> int:
    if args.ticket_command == "list":
        tickets = call(sock, "ticket_list")
        if args.json:
            print(json.dumps(tickets, indent=2))
        for t in [] if args.json else tickets:
            state = ("granted" if t["granted"] else "revoked") + (
                ", standby" if t["standby"] else "")
            users = ", ".join(f"{u['rsc']} (loss-policy {u['loss_policy']})"
                              for u in t["constraints"]) or "no constraint"
            print(f"{t['id']}: {state}; {users}")
        if not tickets and not args.json:
            print("no tickets (no rsc_ticket constraint and no ticket state)")
        return 0
    result = call(sock, "ticket", ticket=args.ticket, action=args.ticket_command,
                  force=bool(getattr(args, "force", False)))
    t = result["ticket"]
    state = ("granted" if t["granted"] else "revoked") + (", standby" if t["standby"] else "")
    print(f"ticket {args.ticket}: {state}" + ("" if result["changed"] else " (unchanged)"))
    return 0


def restart(sock: Path, rsc: str, timeout_s: float) -> int:
    import time

    def running() -> list[str]:
        for r in call(sock, "status")["resources"]:
            if r["id"] == rsc:
                return list(r["nodes"])
        raise VigilError(f"no resource {rsc!r} in the status")

    before = running()
    call(sock, "resource_meta", id=rsc, name="target-role", value="Stopped")
    deadline = time.monotonic() + timeout_s
    while running():
        if time.monotonic() > deadline:
            call(sock, "resource_meta", id=rsc, name="target-role", value=None)
            raise VigilError(f"{rsc} did not stop within {timeout_s:g} s")
        time.sleep(0.2)
    call(sock, "resource_meta", id=rsc, name="target-role", value=None)
    while before and not running():
        if time.monotonic() > deadline:
            raise VigilError(f"{rsc} did not start again within {timeout_s:g} s")
        time.sleep(0.2)
    print(f"{rsc} restarted (was on {', '.join(before) or 'no node'}, now on "
          f"{', '.join(running()) or 'no node'})")
    return 0


def keygen(path: Path, force: bool) -> int:
    if path.exists() and not force:
        raise VigilError(f"{path} exists; use --force to replace the cluster key")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
    with os.fdopen(fd, "wb") as fh:
        fh.write(os.urandom(32))
    os.replace(tmp, path)
    print(f"wrote a new 256-bit authkey to {path} (mode 0400); copy it to every node")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except VigilError as exc:
        print(f"vigilctl: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"vigilctl: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130




if __name__ == "__main__":
    sys.exit(main())
