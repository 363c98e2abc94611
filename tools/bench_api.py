"""The local API's latency on the demo: p50 / p95 / p99 per route, over a real socket.

The demo is started in this process (emulated register over TCP, the reference back office,
the daemon owning the register and serving the page and the API), played once (paired,
settings, «Обновить сейчас», three receipts), then each route is called ``--n`` times with
keep-alive, as the page's JavaScript or cash software would. Nothing is timed in the tests:
run it by hand.

    python tools/bench_api.py --n 500
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console

from kkt_bridge.demo import Demo


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="calls per route")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kkt-bridge-bench-api-") as tmp:
        demo = Demo(Path(tmp), Console(file=io.StringIO()))
        demo.start()
        try:
            demo.run_once()
            key = demo.register_key
            base = demo.page_url.split("/login")[0]
            secret = (Path(tmp) / "api-secret").read_text().strip()
            routes = {
                "GET /api/registers": ("GET", "/api/registers", None),
                "GET /api/registers/{key}/status": ("GET", f"/api/registers/{key}/status",
                                                    None),
                "GET /api/prompts": ("GET", "/api/prompts", None),
                "GET /api/registers/{key}/settings": ("GET", f"/api/registers/{key}/settings",
                                                      None),
                "GET /api/registers/{key}/catalog": ("GET", f"/api/registers/{key}/catalog",
                                                     None),
                "POST /api/registers/{key}/settings/preview": (
                    "POST", f"/api/registers/{key}/settings/preview", {"goods_period": 0}),
            }
            with httpx.Client(base_url=base, timeout=30,
                              headers={"Authorization": f"Bearer {secret}"}) as client:
                print(f"{'route':45} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
                every: list[float] = []
                for name, (method, path, body) in routes.items():
                    client.request(method, path, json=body).raise_for_status()  # warm
                    samples = []
                    for _call in range(args.n):
                        started = time.perf_counter()
                        client.request(method, path, json=body).raise_for_status()
                        samples.append((time.perf_counter() - started) * 1000)
                    every += samples
                    print(f"{name:45} {len(samples):5d} {statistics.median(samples):8.2f} "
                          f"{percentile(samples, 0.95):8.2f} {percentile(samples, 0.99):8.2f}")
                print(f"{'all routes':45} {len(every):5d} {statistics.median(every):8.2f} "
                      f"{percentile(every, 0.95):8.2f} {percentile(every, 0.99):8.2f}")
        finally:
            demo.stop()


if __name__ == "__main__":
    main()
