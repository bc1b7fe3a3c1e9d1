"""Fuzz a live 3-node loopback cluster on all three doors: ``python -m vigil.testing.fuzz``.

Doors and material:

- UDP (the multicast group, so every node judges each packet): random bytes, a valid
  magic then noise, forged headers, bit flips, truncations and extensions of real sealed
  heartbeats captured from the group, exact replays, wrong-key seals, real-key seals by a
  node id outside the cluster.
- TCP peer port (each node in turn, from addresses that are no node's): one connection
  carries 1-4 framed packets of the same material, sometimes a lying length (0, just over
  1 MiB, 4 GiB), sometimes forged fragments, sometimes nothing (idle until timed out).
  A daemon closes a stream at its first bad frame, so one frame per connection is
  *judged*; only those are counted.
- Control socket: garbage lines, lines without an end, JSON that is no object, unknown
  ops, read ops with absurd arguments, writes that must be refused (bad XML, unknown
  agents, unknown ids), deep nesting, now and then a line over 16 MiB.

Checked: no daemon died or logged a traceback, every node's membership stayed whole with
the same DC (polled throughout), every node still answers, drop counters grew, and each
daemon's RSS (sampled, and VmHWM at the end) stayed under ``--rss-limit-mib``. Prints a
report (``--json`` for a machine) and exits 1 on any finding. ``--seed`` replays.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .. import wire
from .loop import LoopCluster
from .probe import free_port, proc_status_kib

CONTROL_OPS = ["status", "cib_get", "fence_history", "metrics", "agent_check", "fence_check",
               "cib_replace", "cib_put", "cib_delete", "resource_create", "resource_meta",
               "x-unknown", ""]


class Material:
    def __init__(self, rng: random.Random, key: bytes, captured: list[bytes]) -> None:
        self.rng, self.key, self.captured = rng, key, captured
        self.makers = [(20, self.noise), (10, self.magic), (10, self.forged), (15, self.flip),
                       (10, self.cut), (10, self.extend), (8, self.replay),
                       (7, self.wrong_key), (5, self.outsider)]
        self.weights = [w for w, _ in self.makers]

    def __call__(self) -> bytes:
        return self.rng.choices(self.makers, self.weights)[0][1]()

    def _size(self) -> int:
        r = self.rng.random()
        return (self.rng.randint(0, 80) if r < 0.4 else self.rng.randint(80, 1500)
                if r < 0.995 else self.rng.randint(20_000, 65_000))

    def _real(self) -> bytes:
        return self.rng.choice(self.captured)

    def noise(self) -> bytes:
        return self.rng.randbytes(self._size())

    def magic(self) -> bytes:
        return b"VGL\x01" + self.rng.randbytes(max(self._size() - 4, 0))

    def forged(self) -> bytes:
        hdr = wire.HEADER.pack(wire.MAGIC, wire.VERSION, self.rng.randint(0, 5), 0,
                               self.rng.getrandbits(64), self.rng.getrandbits(64))
        return hdr + self.rng.randbytes(wire.NONCE_LEN + self.rng.randint(17, 600))

    def flip(self) -> bytes:
        packet = bytearray(self._real())
        for _ in range(self.rng.randint(1, 8)):
            packet[self.rng.randrange(len(packet))] ^= 1 << self.rng.randrange(8)
        return bytes(packet)

    def cut(self) -> bytes:
        packet = self._real()
        return packet[: self.rng.randrange(len(packet))]

    def extend(self) -> bytes:
        return self._real() + self.rng.randbytes(self.rng.randint(1, 200))

    def replay(self) -> bytes:
        return self._real()

    def _seal(self, key: bytes, sender: int, msg: dict[str, Any]) -> bytes:
        return wire.seal(key, sender, time.time_ns(), self.rng.getrandbits(40), msg,
                         self.rng.randbytes(wire.NONCE_LEN))

    def wrong_key(self) -> bytes:
        return self._seal(self.rng.randbytes(32), self.rng.randint(1, 3),
                          {"t": self.rng.choice(["hb", "frag", "cib"]), "c": "test"})

    def outsider(self) -> bytes:
        sender = self.rng.randint(100, 65_535)
        msg = (self.rng.choice([{"t": "hb", "c": "test", "dc": sender},
                                {"t": "frag", "id": 1, "i": 0, "n": 3, "d": "AAAA"}]))
        return self._seal(self.key, sender, msg)


def control_line(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.15:
        return rng.randbytes(rng.randint(0, 300)) + b"\n"
    if r < 0.2:
        return rng.randbytes(rng.randint(1, 300))  # no end: EOF after it
    if r < 0.25:
        return rng.choice([b"[1,2]", b"null", b'"op"', b"{}", b'{"op": 5}']) + b"\n"
    if r < 0.28:
        depth = rng.choice([65, 1000, 100_000])
        return b'{"op":"status","x":' + b"[" * depth + b"]" * depth + b"}\n"
    if r < 0.28002:
        return b'{"op":"status","x":"' + b"a" * (17 * 1024 * 1024) + b'"}\n'
    op = rng.choice(CONTROL_OPS)
    junk: list[Any] = [None, 0, -1, 2**70, 1.5, "", "x" * rng.randint(0, 200),
                       [], {}, ["a"], {"k": "v"}, True, "<cib>", "<configuration><x"]
    args = {k: rng.choice(junk) for k in rng.sample(
        ["scope", "agent", "target", "xml", "section", "mode", "id", "name", "value",
         "params", "expect_version"], rng.randint(0, 4))}
    if op == "resource_create":
        args.update(id=f"fz{rng.getrandbits(32)}", agent="ocf:nope:Nothing")
    return json.dumps({"op": op, **args}).encode() + b"\n"


class Run:
    def __init__(self, cluster: LoopCluster, seed: int, counts: dict[str, int],
                 rss_limit_mib: float, udp_rate: int) -> None:
        self.c, self.seed, self.target = cluster, seed, counts
        self.rss_limit_mib, self.udp_rate = rss_limit_mib, udp_rate
        self.sent = {"udp": 0, "tcp": 0, "control": 0, "tcp_extra_frames": 0,
                     "tcp_idle": 0, "tcp_idle_closed": 0, "control_unanswered": 0}
        self.took_s: dict[str, float] = {}
        self.versions: list[Any] = []
        self.t0 = time.monotonic()
        self.problems: list[str] = []
        self.peak_kib: dict[str, int] = {}
        self.done = threading.Event()

    # ------------------------------------------------------------------ the doors
    def udp(self, material: Material) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                        socket.inet_aton("127.0.0.1"))
        t0 = time.monotonic()
        while self.sent["udp"] < self.target["udp"]:
            for _ in range(200):
                try:
                    sock.sendto(material(), (self.c.group, self.c.port))
                except OSError:
                    continue
                self.sent["udp"] += 1
            ahead_s = self.sent["udp"] / self.udp_rate - (time.monotonic() - t0)
            if ahead_s > 0:
                time.sleep(ahead_s)
        sock.close()
        self.took_s["udp"] = time.monotonic() - self.t0

    def tcp(self, material: Material, rng: random.Random, lane: int) -> None:
        i = 0
        while self.sent["tcp"] < self.target["tcp"]:
            i += 1
            target = f"127.0.0.{i % 3 + 1}"
            source = f"127.0.{lane + 1}.{50 + i % 200}"
            frames = []
            for _ in range(rng.randint(1, 4)):
                packet = material()
                length = len(packet) if rng.random() > 0.05 else rng.choice(
                    [0, 2**32 - 1, wire.MAX_FRAME + 1, len(packet) + 10])
                frames.append(struct.pack("!I", length) + packet)
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind((source, 0))
                    sock.settimeout(3)
                    sock.connect((target, self.c.port))
                    sock.sendall(b"".join(frames))
                    sock.shutdown(socket.SHUT_WR)
                    while sock.recv(4096):
                        pass
            except OSError:
                pass
            self.sent["tcp"] += 1
            self.sent["tcp_extra_frames"] += len(frames) - 1
        self.took_s["tcp"] = time.monotonic() - self.t0

    def idle(self, rng: random.Random, stop: threading.Event) -> None:
        """Rounds of 16 silent connections held until the daemons time them out."""
        while not stop.is_set():
            socks = []
            for i in range(16):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.settimeout(15)
                try:
                    sock.bind((f"127.0.9.{rng.randint(1, 250)}", 0))
                    sock.connect((f"127.0.0.{i % 3 + 1}", self.c.port))
                except OSError:
                    sock.close()
                    continue
                socks.append(sock)
            for sock in socks:
                try:
                    if sock.recv(1) == b"":
                        self.sent["tcp_idle_closed"] += 1
                except OSError:
                    pass
                sock.close()
                self.sent["tcp_idle"] += 1

    def control(self, rng: random.Random) -> None:
        while self.sent["control"] < self.target["control"]:
            node = rng.choice(self.c.names)
            line = control_line(rng)
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(40)
                    sock.connect(str(self.c.socket(node)))
                    sock.sendall(line)
                    sock.shutdown(socket.SHUT_WR)
                    reply = b""
                    while chunk := sock.recv(65536):
                        reply += chunk
                if not reply.endswith(b"\n"):
                    self.sent["control_unanswered"] += 1
            except OSError:
                self.sent["control_unanswered"] += 1
            self.sent["control"] += 1
        self.took_s["control"] = time.monotonic() - self.t0

    # ------------------------------------------------------------------ the watch
    def watch(self, dc: str) -> None:
        while not self.done.is_set():
            for node in self.c.names:
                try:
                    st = self.c.ctl(node, "status", timeout_s=10)
                except Exception as exc:  # noqa: BLE001 - any failure is a finding
                    self.problems.append(f"{node}: status failed: {exc}")
                    continue
                offline = [n["name"] for n in st["nodes"] if not n["online"]]
                if st["dc"] != dc or offline or not st["quorate"]:
                    self.problems.append(f"{node}: dc={st['dc']} quorate={st['quorate']} "
                                         f"offline={offline}")
            self._sample_rss()
            self.done.wait(0.5)

    def _sample_rss(self, field: str = "VmRSS") -> None:
        for node, proc in self.c.procs.items():
            try:
                kib = proc_status_kib(proc.pid, field)
            except (OSError, KeyError):
                continue
            self.peak_kib[node] = max(self.peak_kib.get(node, 0), kib)

    # ------------------------------------------------------------------ the run
    def run(self) -> dict[str, Any]:
        c = self.c
        dc = c.wait_quorate()
        captured = capture(c.group, c.port, 1.5)
        key = c.authkey.read_bytes()
        before = {n: c.status(n)["counters"] for n in c.names}
        self.versions = [c.status(dc)["version"]]
        rng = random.Random(self.seed)
        workers = [threading.Thread(target=self.udp, args=(Material(rng, key, captured),))]
        for lane in range(2):
            workers.append(threading.Thread(target=self.tcp, args=(
                Material(random.Random(self.seed + 1 + lane), key, captured),
                random.Random(self.seed + 10 + lane), lane)))
            workers.append(threading.Thread(target=self.control,
                                            args=(random.Random(self.seed + 20 + lane),)))
        watcher = threading.Thread(target=self.watch, args=(dc,), daemon=True)
        stop_idle = threading.Event()
        idler = threading.Thread(target=self.idle, args=(random.Random(self.seed + 30),
                                                          stop_idle), daemon=True)
        self.t0 = t0 = time.monotonic()
        watcher.start()
        for w in [*workers, idler]:
            w.daemon = True
            w.start()
        for w in workers:
            w.join()
        elapsed_s = time.monotonic() - t0
        stop_idle.set()
        idler.join(30)
        time.sleep(1.5)  # the last packets judged, any late suspicion shown
        self.done.set()
        watcher.join(30)
        self._sample_rss("VmHWM")
        after = {n: c.status(n)["counters"] for n in c.names}
        self.versions.append(c.status(dc)["version"])
        return self._report(dc, elapsed_s, before, after)

    def _report(self, dc: str, elapsed_s: float, before: dict[str, dict[str, int]],
                after: dict[str, dict[str, int]]) -> dict[str, Any]:
        c = self.c
        judged = self.sent["udp"] + self.sent["tcp"] + self.sent["control"]
        grew = {n: {k: v - before[n].get(k, 0) for k, v in after[n].items()
                    if v != before[n].get(k, 0) and not k.startswith("packets_sent")}
                for n in c.names}
        dead = {n: p.returncode for n, p in c.procs.items() if p.poll() is not None}
        tracebacks = {n: c.log_path(n).read_text(errors="replace").count("Traceback")
                      for n in c.names}
        peak_mib = {n: round(k / 1024, 1) for n, k in self.peak_kib.items()}
        findings = list(self.problems[:20])
        findings += [f"{n} died (exit {rc})" for n, rc in dead.items()]
        findings += [f"{n} logged {k} tracebacks" for n, k in tracebacks.items() if k]
        findings += [f"{n} peak RSS {m} MiB over {self.rss_limit_mib}"
                     for n, m in peak_mib.items() if m >= self.rss_limit_mib]
        findings += [f"{n}: fewer than half the UDP packets counted as drops"
                     for n in c.names if sum(v for k, v in grew[n].items()
                                             if k.startswith("packets_dropped"))
                     < 0.5 * self.sent["udp"]]
        if not dead:
            try:
                if c.wait_quorate(timeout_s=20) != dc:
                    findings.append("the DC changed")
            except TimeoutError as exc:
                findings.append(f"cluster not whole after the run: {exc}")
        if self.sent["tcp_idle_closed"] < self.sent["tcp_idle"]:
            findings.append(f"{self.sent['tcp_idle'] - self.sent['tcp_idle_closed']} idle "
                            "connections not closed by the daemons")
        if self.sent["control_unanswered"]:
            findings.append(f"{self.sent['control_unanswered']} control requests unanswered")
        return {"seed": self.seed, "elapsed_s": round(elapsed_s, 1), "sent": self.sent,
                "took_s": {k: round(v, 1) for k, v in self.took_s.items()},
                "judged": judged, "rate_per_s": round(judged / elapsed_s),
                "peak_rss_mib": peak_mib, "cib_version_before_after": self.versions,
                "counters_grew": grew, "findings": findings}


def capture(group: str, port: int, seconds: float) -> list[bytes]:
    """Real sealed heartbeats, as the daemons send them to the group."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((group, port))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton(group) + socket.inet_aton("127.0.0.1"))
    sock.settimeout(0.1)
    packets, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            packets.append(sock.recv(1 << 16))
        except TimeoutError:
            pass
    sock.close()
    return packets


def split_total(total: int) -> dict[str, int]:
    """UDP carries most, as on a real network: 80 % UDP, 14 % TCP, 6 % control."""
    return {"udp": total * 80 // 100, "tcp": total * 14 // 100,
            "control": total - total * 80 // 100 - total * 14 // 100}


def fuzz(base: Path, total: int, seed: int, rss_limit_mib: float = 100,
         udp_rate: int = 8000) -> dict[str, Any]:
    cluster = LoopCluster(base, size=3, port=free_port(), log_level="info")
    try:
        cluster.start()
        cluster.wait_quorate()
        return Run(cluster, seed, split_total(total), rss_limit_mib, udp_rate).run()
    finally:
        cluster.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vigil.testing.fuzz", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--total", type=int, default=1_000_000, help="packets, frames and "
                    "requests to throw (80 %% UDP, 14 %% TCP, 6 %% control)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--udp-rate", type=int, default=8000, help="UDP packets per second")
    ap.add_argument("--rss-limit-mib", type=float, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    with tempfile.TemporaryDirectory(prefix="vigil-fuzz-") as tmp:
        report = fuzz(Path(tmp), args.total, seed, args.rss_limit_mib, args.udp_rate)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        s = report["sent"]
        print(f"seed {seed}: {report['judged']:,} judged in {report['elapsed_s']} s "
              f"({report['rate_per_s']:,}/s): UDP {s['udp']:,}, TCP frames {s['tcp']:,} "
              f"(+{s['tcp_extra_frames']:,} after the first, {s['tcp_idle']} idle "
              f"connections), control {s['control']:,}; doors done at {report['took_s']}")
        print(f"peak RSS MiB: {report['peak_rss_mib']}; CIB version before and after: "
              f"{report['cib_version_before_after']}")
        for node, grew in report["counters_grew"].items():
            print(f"{node} counters grew: {json.dumps(grew, sort_keys=True)}")
        print("findings: " + ("; ".join(report["findings"]) or "none"))
    return 1 if report["findings"] else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
