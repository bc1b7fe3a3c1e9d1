"""A short randomized fault campaign (issue 13): 5 nodes in network namespaces, at least
60 faults in about 8 minutes, fails on any violation the campaign's audits find.

The promotable ``ocf:pacemaker:Stateful`` is left out (``--without promotable``): it sets
its promotion score with ``crm_attribute --promotion``, which vigil does not provide yet
(issue 17), so without a score it is never promoted and the cluster never settles; a
campaign with it shows exactly that (``not_settled``/``not_running`` for ``db``).

Runs ``python -m vigil.testing.cts`` as a process (it cleans up its namespaces even when
killed) and reads its JSON report. Needs root, ``ip`` and ``nft``: skipped with the reason
otherwise, failed when CI=true. ``VIGIL_CTS_SEED`` and ``VIGIL_CTS_FAULTS`` override the
seed (default 13) and the fault count (default 60).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vigil.testing import netns

pytestmark = pytest.mark.slow

REASON = netns.skip_reason()
if REASON and os.environ.get("CI") != "true":
    pytestmark = [pytest.mark.slow, pytest.mark.skip(reason=REASON)]

SEED = int(os.environ.get("VIGIL_CTS_SEED", "13"))
FAULTS = int(os.environ.get("VIGIL_CTS_FAULTS", "60"))


def test_short_fault_campaign_finds_no_violation(tmp_path):
    if REASON:
        pytest.fail(f"CI=true but the fault campaign cannot run: {REASON}")
    report_path = tmp_path / "report.json"
    argv = [sys.executable, "-m", "vigil.testing.cts", "--seed", str(SEED),
            "--faults", str(FAULTS), "--minutes", "9", "--max-fault-s", "5",
            "--without", "promotable",
            "--workdir", str(tmp_path / "campaign"), "--json", str(report_path)]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=15 * 60,
                             env=dict(os.environ))
    except subprocess.TimeoutExpired as exc:  # it was SIGKILLed: clean what it left
        netns.cleanup_stale()
        pytest.fail(f"the campaign did not stop by itself:\n{exc.stdout}")
    assert report_path.exists(), res.stdout[-4000:] + res.stderr[-4000:]
    report = json.loads(Path(report_path).read_text())
    progress = [x for x in res.stdout.splitlines() if x.startswith("[")]
    headlines = [f"[{v['kind']}] #{v['fault']}: {v['detail'][:160]}"
                 for v in report["violations"]]
    summary = "\n".join(progress[-80:] + ["", *headlines[:40],
                                           f"evidence: {report['workdir']}"])
    assert report["faults"] >= min(FAULTS, 60) or report["violations"], summary
    assert not report["violations"], (
        f"{len(report['violations'])} violations ({report['violations_by_kind']}), seed "
        f"{SEED}, settle {report['settle']}:\n{summary}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
