#!/usr/bin/env python3
"""How long ``kkt-bridge`` takes to start, as a whole process: ``--help`` (the target is
0.12 s), the English ``--help``, and each command's ``--help`` (a command imports only its
own module). hyperfine runs each with warm-up when it is installed (the figure the issue
asks for); otherwise a plain loop of subprocesses gives mean and minimum. Also reports
how many modules ``--help`` imports.

    .venv/bin/python tools/bench_startup.py [--runs 20] [--commands] [--json]

The same figure by hand: ``hyperfine --warmup 3 '.venv/bin/kkt-bridge --help'``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENTRY = Path(sys.executable).with_name("kkt-bridge")


def _hyperfine(command: list[str], runs: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(["hyperfine", "--warmup", "3", "--runs", str(runs), "--style", "none",
                        "--export-json", out.name, " ".join(command)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result = json.loads(Path(out.name).read_text())["results"][0]
    return {"mean": result["mean"], "min": result["min"], "stddev": result["stddev"] or 0.0}


def _loop(command: list[str], runs: int) -> dict[str, float]:
    for _warmup in range(3):
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    times = []
    for _run in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return {"mean": statistics.mean(times), "min": min(times),
            "stddev": statistics.stdev(times) if len(times) > 1 else 0.0}


def _modules(args: list[str]) -> int:
    probe = ("import sys\nfrom kkt_bridge.cli import main as m\n"
             f"sys.argv = ['kkt-bridge', *{args!r}]\n"
             "try:\n    m.main()\nexcept SystemExit:\n    pass\n"
             "print(len(sys.modules), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return int(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--commands", action="store_true",
                        help="also time each command's --help")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()

    measure = _hyperfine if shutil.which("hyperfine") else _loop
    cases: list[list[str]] = [["--help"], ["--lang", "en", "--help"]]
    if options.commands:
        from kkt_bridge.cli.main import COMMANDS

        cases += [[name, "--help"] for name in sorted(COMMANDS)]
    tool = "hyperfine" if measure is _hyperfine else "subprocess loop"
    modules = _modules(["--help"])
    seconds = {" ".join(args): measure([str(ENTRY), *args], options.runs) for args in cases}
    if options.json:
        print(json.dumps({"tool": tool, "runs": options.runs,
                          "modules imported by --help": modules, "seconds": seconds},
                         indent=1))
        return
    print(f"{tool}, {options.runs} runs each; --help imports {modules} modules")
    for case, figures in seconds.items():
        print(f"  kkt-bridge {case:<24} mean {figures['mean'] * 1000:6.1f} ms  "
              f"min {figures['min'] * 1000:6.1f} ms  ± {figures['stddev'] * 1000:4.1f}")


if __name__ == "__main__":
    main()
