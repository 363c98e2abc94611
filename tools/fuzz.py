"""Fuzzing campaign: every decoder of every driver and of the fiscal package, fed junk, must
raise only kkt_bridge's errors (:mod:`kkt_bridge.testing.fuzzing` lists the targets; a new
driver adds its own ``fuzzing`` module and is picked up here).

With atheris installed (``pip install atheris``) the run is coverage-guided: one libFuzzer
campaign over all targets, the first input byte choosing the target. Without it, hypothesis
draws the inputs, the budget split evenly over the targets. Either way it is bounded by
``--inputs`` and ``--seconds`` and never stops at a finding: it counts inputs, counts the
exceptions that are not kkt_bridge's per target and exception type, and writes one example
input of each to ``--findings``.

    nice python tools/fuzz.py --inputs 1000000 --seconds 900
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kkt_bridge.testing.fuzzing import Target


class Campaign:
    def __init__(self, targets: list[Target], findings_dir: Path, limit: int,
                 seconds: float) -> None:
        self.targets = targets
        self.findings_dir = findings_dir
        self.limit = limit
        self.deadline = time.monotonic() + seconds
        self.started = time.monotonic()
        self.runs: Counter[str] = Counter()
        self.findings: Counter[tuple[str, str]] = Counter()
        self.examples: dict[tuple[str, str], str] = {}

    @property
    def total(self) -> int:
        return sum(self.runs.values())

    def done(self) -> bool:
        return self.total >= self.limit or time.monotonic() >= self.deadline

    def one(self, target: Target, data: bytes) -> None:
        from kkt_bridge.testing.fuzzing import run_one

        self.runs[target.name] += 1
        found = run_one(target, data)
        if found is None:
            return
        key = (target.name, f"{type(found).__name__}: {str(found)[:120]}")
        self.findings[key] += 1
        if key not in self.examples:
            self.findings_dir.mkdir(parents=True, exist_ok=True)
            path = self.findings_dir / f"{target.name}-{len(self.examples)}.bin"
            path.write_bytes(data)
            self.examples[key] = str(path)

    def report(self, engine: str) -> dict[str, Any]:
        return {
            "engine": engine,
            "inputs": self.total,
            "seconds": round(time.monotonic() - self.started, 1),
            "targets": len(self.targets),
            "per_target": dict(sorted(self.runs.items())),
            "outside_hierarchy": [
                {"target": name, "exception": what, "count": count,
                 "example": self.examples[(name, what)]}
                for (name, what), count in sorted(self.findings.items())],
        }


def finish(campaign: Campaign, engine: str) -> None:
    report = campaign.report(engine)
    print(json.dumps(report, ensure_ascii=False, indent=1), flush=True)
    sys.stderr.flush()
    os._exit(1 if report["outside_hierarchy"] else 0)


def run_atheris(campaign: Campaign) -> str:
    import atheris

    targets = campaign.targets

    def one_input(data: bytes) -> None:
        if not data:
            return
        campaign.one(targets[data[0] % len(targets)], data[1:])
        if campaign.done():
            # libFuzzer ends the process with exit() and no Python finalisation: report
            # here, then leave the same way
            finish(campaign, "atheris")

    # seeds as a corpus: each target's valid inputs, prefixed with its index
    corpus = campaign.findings_dir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for index, target in enumerate(targets):
        for number, seed in enumerate(target.seeds):
            (corpus / f"{index}-{number}").write_bytes(bytes([index]) + seed)
    argv = [sys.argv[0], f"-runs={campaign.limit + 1_000_000}", "-max_len=4096",
            f"-max_total_time={int(campaign.deadline - time.monotonic()) + 1}",
            "-print_final_stats=1", str(corpus)]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()
    return "atheris"  # pragma: no cover - Fuzz() ends the process


def run_hypothesis(campaign: Campaign) -> str:
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import HypothesisException

    from kkt_bridge.testing.fuzzing import inputs

    per_target = max(1, campaign.limit // len(campaign.targets))

    def explorer(target: Target) -> Any:
        @settings(max_examples=per_target, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(inputs(target))
        def explore(data: bytes) -> None:
            if not campaign.done():
                campaign.one(target, data)
        return explore

    for target in campaign.targets:
        if campaign.done():
            break
        # e.g. too few distinct inputs for a tiny target
        with contextlib.suppress(HypothesisException):
            explorer(target)()
    return "hypothesis"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=900.0)
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    parser.add_argument("--only", default="", help="run only targets whose name has this")
    parser.add_argument("--findings", type=Path, default=Path("fuzz-findings"))
    args = parser.parse_args()
    engine = args.engine
    if engine == "auto":
        try:
            import atheris
            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    if engine == "atheris":
        import atheris
        # coverage of kkt-bridge's own code guides the fuzzer: its modules are imported
        # (for the first time) inside this block, and only they are instrumented
        with atheris.instrument_imports(include=["kkt_bridge"]):
            from kkt_bridge.testing.fuzzing import all_targets
            targets = all_targets()
    else:
        from kkt_bridge.testing.fuzzing import all_targets
        targets = all_targets()
    targets = [t for t in targets if args.only in t.name]
    campaign = Campaign(targets, args.findings, args.inputs, args.seconds)
    used = run_atheris(campaign) if engine == "atheris" else run_hypothesis(campaign)
    finish(campaign, used)
    return 0  # pragma: no cover - finish() exits


if __name__ == "__main__":
    sys.exit(main())
