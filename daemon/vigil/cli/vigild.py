"""vigild: the vigil cluster daemon (one per node).

    vigild --config /etc/vigil/vigil.yaml              run in the foreground
    vigild --config FILE --daemon --pidfile P --log-file L
    vigild --check-config FILE                         validate, exit 0 or 2
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from .. import __version__
from ..config import check_authkeys, load_config
from ..errors import ConfigError, VigilError

EPILOG = """\
exit status: 0 clean stop or valid config, 1 runtime failure, 2 invalid configuration.
signals: SIGTERM/SIGINT stop the node gracefully (its resources are moved away first);
a second signal stops it at once."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vigild", description="vigil cluster daemon: membership, CIB, scheduler, "
        "executor and fencing for one node.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=Path("/etc/vigil/vigil.yaml"),
                   help="node configuration file (default: %(default)s)")
    p.add_argument("--check-config", type=Path, metavar="FILE",
                   help="validate FILE, print every error with its key path, and exit")
    p.add_argument("--daemon", action="store_true",
                   help="detach once the control socket is listening")
    p.add_argument("--pidfile", type=Path, help="write the daemon's pid here")
    p.add_argument("--log-file", type=Path, help="log here instead of standard error")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"],
                   help="override the config's log_level")
    p.add_argument("--version", action="version", version=f"vigild {__version__}")
    return p


def check_config(path: Path) -> int:
    try:
        cfg = load_config(path)
        check_authkeys(cfg)
    except ConfigError as exc:
        for key, message in exc.errors:
            print(f"{path}: {key + ': ' if key else ''}{message}", file=sys.stderr)
        return 2
    print(f"{path}: valid (cluster {cfg.cluster_name}, node {cfg.node_name}, "
          f"{len(cfg.nodes)} nodes)")
    return 0


def setup_logging(level: str, log_file: Path | None, node: str) -> None:
    handler: logging.Handler
    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(
        f"%(asctime)s {node} %(name)s %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper()))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.check_config:
        return check_config(args.check_config)
    try:
        cfg = load_config(args.config)
        check_authkeys(cfg)
    except ConfigError as exc:
        for key, message in exc.errors:
            print(f"vigild: {args.config}: {key + ': ' if key else ''}{message}",
                  file=sys.stderr)
        return 2
    ready_fd: int | None = None
    if args.daemon:
        ready_fd = _daemonize()
    setup_logging(args.log_level or cfg.log_level, args.log_file, cfg.node_name)
    if args.pidfile:
        args.pidfile.parent.mkdir(parents=True, exist_ok=True)
        args.pidfile.write_text(f"{os.getpid()}\n")

    def ready() -> None:
        nonlocal ready_fd
        if ready_fd is not None:
            os.write(ready_fd, b"1")
            os.close(ready_fd)
            ready_fd = None

    from ..io.node import Node

    try:
        node = Node(cfg, on_ready=ready)
        asyncio.run(node.run())
    except (VigilError, OSError) as exc:
        text = f"cannot run: {exc}"
        logging.getLogger("vigil").error("%s", text)
        if ready_fd is not None:
            os.write(ready_fd, b"E" + text.encode())
        print(f"vigild: {text}", file=sys.stderr)
        return 1
    finally:
        if args.pidfile:
            args.pidfile.unlink(missing_ok=True)
    return 0


def _daemonize() -> int:
    """Fork; the parent exits 0 once the child says it is ready (1 if it died first)."""
    read_fd, write_fd = os.pipe()
    if os.fork() > 0:
        os.close(write_fd)
        answer = os.read(read_fd, 4096)
        if answer != b"1":
            why = answer[1:].decode(errors="replace") or "it died before it was ready"
            print(f"vigild: {why}", file=sys.stderr)
        os._exit(0 if answer == b"1" else 1)
    os.close(read_fd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    return write_fd


if __name__ == "__main__":
    sys.exit(main())
