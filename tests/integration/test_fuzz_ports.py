"""A short run of ``python -m vigil.testing.fuzz`` (the full run is a million packets):
UDP, TCP peer port and control socket of a live 3-node cluster at once.

Asserted: no finding (no daemon died or logged a traceback, membership whole with the same
DC throughout, every control request answered, idle connections closed by the daemons,
drop counters grew by at least half the UDP packets on every node), each daemon's peak RSS
under 100 MiB, and every node still answers status afterwards. VIGIL_FUZZ_SEED replays.
"""

import os
import random

import pytest

from vigil.testing.fuzz import fuzz

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
TOTAL = int(os.environ.get("VIGIL_FUZZ_TOTAL", "40000"))


def test_fuzz_all_three_doors(tmp_path):
    seed = int(os.environ.get("VIGIL_FUZZ_SEED", random.randrange(2**32)))
    print(f"fuzz seed {seed} (VIGIL_FUZZ_SEED={seed} replays this run)")
    report = fuzz(tmp_path, TOTAL, seed, rss_limit_mib=100, udp_rate=8000)
    print({k: report[k] for k in ("elapsed_s", "sent", "rate_per_s", "peak_rss_mib")})
    assert report["findings"] == [], report["findings"]
    assert report["judged"] >= TOTAL
    assert all(m < 100 for m in report["peak_rss_mib"].values()), report["peak_rss_mib"]
    for node, grew in report["counters_grew"].items():
        assert grew.get("packets_dropped_auth", 0) > 0, (node, grew)
        assert grew.get("control_requests_invalid", 0) > 0, (node, grew)
        assert grew.get("connections_dropped_auth_timeout", 0) > 0, (node, grew)
