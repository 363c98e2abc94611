"""Chaos run: at least 1,000 receipts sold by pyshtrih, then ``kkt-bridge run`` exporting them
over a line with damaged frames to a back office answering 5xx and 429, SIGKILLed every
20-40 s, until everything is exported. Reports lost, duplicated, altered documents and the
time to drain (:mod:`kkt_bridge.testing.chaos` does the work; the test suite runs a short
version of it). Slow: about as long as the export takes with the kills, tens of minutes.

    nice python tools/chaos.py --documents 1000 --workdir /tmp/kkt-chaos
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from kkt_bridge.testing.chaos import run_chaos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1000, help="receipts to sell")
    parser.add_argument("--line-faults", default="corrupt=0.001",
                        help="the emulator's fault spec (default: one byte in 1000 replaced, both "
                        "ways: about 10%% of exchanges of ~100 bytes damaged)")
    parser.add_argument("--backoffice-faults",
                        default="500:rate=0.1:seed=1,429:rate=0.1:seed=2:retry_after=1",
                        help="the reference back office's fault spec")
    parser.add_argument("--kill-min", type=float, default=20.0)
    parser.add_argument("--kill-max", type=float, default=40.0)
    parser.add_argument("--time-limit", type=float, default=3600.0)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kkt-chaos-"))
    result = run_chaos(workdir, documents=args.documents, line_faults=args.line_faults,
                       backoffice_faults=args.backoffice_faults,
                       kill_every=(args.kill_min, args.kill_max), time_limit=args.time_limit,
                       seed=args.seed, log=lambda line: print(line, flush=True))
    print(json.dumps(result.summary(), ensure_ascii=False, indent=1))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
