#!/usr/bin/env python3
"""Request a URL again and again, as a client of the web cluster would, and summarize.

    probe.py --url URL --summary FILE --stop-file FILE [--interval-s 0.1] [--timeout-s 1]
             [--max-s 900]

Runs until STOP_FILE exists (or --max-s passed), one GET every --interval-s. A request
fails when it raises, times out or answers other than 200. At the end, writes FILE (JSON):

    requests, failed       counts
    windows                failure windows, oldest first: {start, end, failed} (epoch s)
    served_by              successful answers per node (the page names its node)
    served_first/last      per node, when its first and last successful answer started
    first, last            epoch seconds of the first and last request
"""

import argparse
import json
import os
import re
import time
import urllib.request


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--summary", required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--interval-s", type=float, default=0.1)
    p.add_argument("--timeout-s", type=float, default=1.0)
    p.add_argument("--max-s", type=float, default=900)
    args = p.parse_args()

    requests = failed = 0
    windows, served_by, served_first, served_last = [], {}, {}, {}
    window = None
    first = time.time()
    deadline = time.monotonic() + args.max_s
    while not os.path.exists(args.stop_file) and time.monotonic() < deadline:
        started = time.time()
        try:
            with urllib.request.urlopen(args.url, timeout=args.timeout_s) as reply:
                body = reply.read().decode(errors="replace")
            ok = reply.status == 200
        except OSError:
            ok, body = False, ""
        requests += 1
        if ok:
            match = re.search(r"served by (\S+)", body)
            node = match.group(1) if match else "?"
            served_by[node] = served_by.get(node, 0) + 1
            served_first.setdefault(node, started)
            served_last[node] = started
            window = None
        else:
            failed += 1
            if window is None:
                window = {"start": started, "end": started, "failed": 0}
                windows.append(window)
            window["end"] = time.time()
            window["failed"] += 1
        time.sleep(max(0.0, args.interval_s - (time.time() - started)))
    summary = {"requests": requests, "failed": failed, "windows": windows,
               "served_by": served_by, "served_first": served_first,
               "served_last": served_last, "first": first, "last": time.time()}
    with open(args.summary + ".tmp", "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(args.summary + ".tmp", args.summary)


if __name__ == "__main__":
    main()
