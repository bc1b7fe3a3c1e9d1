"""``python -m vigil.testing.cibgen``: print one random CIB, or compare many with crm_simulate.

    python -m vigil.testing.cibgen --seed 17 > case.xml
    python -m vigil.testing.cibgen --count 5000 [--start 0] [--workers 2] [--verify]

The second form runs vigil and ``tools/oracle.py`` (default: ``<repo>/../shared/tools/
oracle.py``) on seeds ``start .. start+count-1``, prints the report of ``differ.report``
and exits 1 when any seed differs (crm_simulate's own errors and invalid transitions are
reported, not counted). ``--verify`` also runs ``crm_verify`` on each CIB.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from . import generate

DEFAULT_ORACLE = Path(__file__).resolve().parents[4].parent / "shared" / "tools" / "oracle.py"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vigil.testing.cibgen",
                                 description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seed", type=int, help="print the CIB of this seed")
    ap.add_argument("--features", action="store_true", help="with --seed: print its features")
    ap.add_argument("--count", type=int, help="compare this many seeds with crm_simulate")
    ap.add_argument("--start", type=int, default=0, help="first seed of --count")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--verify", action="store_true", help="also run crm_verify on each CIB")
    ap.add_argument("--oracle", type=Path, default=DEFAULT_ORACLE)
    ap.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "vigil-diff",
                    help="directory for the CIBs that differ (default: %(default)s)")
    opts = ap.parse_args(argv)
    if opts.seed is not None:
        case = generate(opts.seed)
        if opts.features:
            print("\n".join(sorted(case.features)))
        else:
            sys.stdout.buffer.write(case.xml)
        return 0
    if not opts.count:
        ap.error("--seed or --count is required")
    from .differ import report, run_many

    t0 = time.monotonic()
    outcomes = run_many(range(opts.start, opts.start + opts.count), opts.oracle, opts.keep,
                        opts.workers, opts.verify)
    print(report(outcomes, opts.oracle))
    print(f"{time.monotonic() - t0:.1f} s")
    failed = [o for o in outcomes if o.status in ("differ", "raised", "invalid")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
