#!/usr/bin/env python3
"""A fleet against the reference back office on 127.0.0.1: N simulated bridges, each pairing
with its own sync code and exporting realistic receipts in batches over one keep-alive
connection, all at once. One run measures each configuration in turn:

- SQLite, 1 server process;
- PostgreSQL, 1 server process;
- PostgreSQL, 2 server processes (``serve --workers 2``).

By default every bridge sends its batches back to back (saturation: documents/s is the
capacity, latency is mostly queueing); ``--interval`` paces each bridge instead, for the
latency of a fleet below capacity. Reported per configuration: documents/s (first export to
last acknowledgement), p50/p99/max latency of one export request, errors, server CPU per
document (server processes; and the database's own processes for PostgreSQL, from /proc),
and the duplicates/loss check (every acknowledgement accepted and new; the back office holds
exactly N x --docs documents, each register its own). Then batched vs one request per
receipt at --batch, both on keep-alive connections, with --ratio-bridges bridges.

PostgreSQL is a throw-away cluster in a temporary directory (kkt_bridge.testing.postgres,
fsync and synchronous_commit off: a disposable cluster, not a tuned server), unless
``--pg-url`` names one. Clients run in --client-processes processes (asyncio + httpx) on the
same machine as the server, so on a small machine they compete for the same cores.

    .venv/bin/python tools/bench_fleet.py --bridges 100 --docs 200
    .venv/bin/python tools/bench_fleet.py --bridges 1000 --docs 100 --json
    .venv/bin/python tools/bench_fleet.py --bridges 10 --docs 50 --only sqlite:1  # a check

Never a timed test: the lead runs it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

SHOP = "Магазин на Ленина"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- documents ---------------------------------------------------------------------------

def templates(count: int) -> list[dict[str, Any]]:
    """Realistic receipts (1 to 5 items, FNS JSON and the ФН's TLV bytes) to re-number."""
    from kkt_bridge.testing.contract import sample_receipt

    docs = [sample_receipt("0" * 16, fd, items=1 + fd % 5) for fd in range(1, count + 1)]
    return [{"document_type": d.document_type, "fns": dict(d.fns),
             "raw_b64": base64.b64encode(d.raw).decode()} for d in docs]


def body_for(fn_number: str, first_fd: int, size: int, shapes: list[dict[str, Any]]) -> bytes:
    items = []
    for fd in range(first_fd, first_fd + size):
        shape = shapes[fd % len(shapes)]
        items.append({"key": f"{fn_number}:{fd}", "fn_number": fn_number, "fd_number": fd,
                      "document_type": shape["document_type"],
                      "fns": {**shape["fns"], "fiscalDocumentNumber": fd},
                      "raw_b64": shape["raw_b64"]})
    return json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()


def identity(run: int, n: int) -> dict[str, str]:
    return {"serial": f"F{run:02d}{n:013d}", "fn_number": f"9{run:02d}{n:013d}",
            "model": "ШТРИХ-М-01Ф", "inn": "7700000000", "rnm": f"{n:016d}"}


# --- clients (one process runs many bridges with asyncio) ----------------------------------

async def _bridges(url: str, codes: list[str], run: int, first: int, docs: int, batch: int,
                   shapes: list[dict[str, Any]], start_at: float,
                   interval: float) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    acks_bad = 0

    async def bridge(index: int, code: str) -> None:
        nonlocal acks_bad
        reg = identity(run, first + index)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
            answer = await http.post("/api/v1/pair", json={"code": code, "register": reg})
            if answer.status_code != 200:
                errors.append(f"pair {answer.status_code}")
                return
            headers = {"Authorization": f"Bearer {answer.json()['token']}",
                       "Content-Type": "application/json"}
            await asyncio.sleep(max(0.0, start_at - time.time()))  # everyone at once
            if interval:  # a paced fleet: bridges spread over the interval, not in step
                await asyncio.sleep(interval * ((first + index) * 0.618034 % 1.0))
            for fd in range(1, docs + 1, batch):
                if interval and fd > 1:
                    await asyncio.sleep(interval)
                size = min(batch, docs + 1 - fd)
                body = body_for(reg["fn_number"], fd, size, shapes)
                started = time.perf_counter()
                try:
                    answer = await http.post("/api/v1/documents", content=body,
                                             headers=headers)
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                    return
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    errors.append(f"export {answer.status_code}")
                    return
                acks = answer.json()["acks"]
                acks_bad += sum(1 for a in acks if not a["accepted"] or a["duplicate"])
                acks_bad += abs(len(acks) - size)

    await asyncio.gather(*(bridge(i, code) for i, code in enumerate(codes)))
    return {"latencies": latencies, "errors": errors, "acks_bad": acks_bad,
            "finished": time.time()}


def _client_process(args: tuple[Any, ...], out: Any) -> None:
    started = time.process_time()
    result = asyncio.run(_bridges(*args))
    result["cpu"] = time.process_time() - started  # the clients' share of the machine
    out.send(result)
    out.close()


# --- server and measurement ----------------------------------------------------------------

def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds used so far, by process (its own utime + stime)."""
    used: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return used


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two samples; a process born in between counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found += tree(int(child))
    return found


def start_server(db: str, workers: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "kkt_bridge.cli.main", "backoffice", "serve", "--port", "0",
         "--db", db, "--workers", str(workers), "--seed-demo"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(
        process.stdout.readline() if process.stdout else ""), daemon=True)
    reader.start()
    reader.join(60)
    if not line or not line[0].startswith("http"):
        process.kill()
        raise SystemExit("the back office did not start")
    url = line[0].strip()
    import httpx

    for _ in range(600):  # workers start after the URL is printed
        try:
            children = len(tree(process.pid)) - 1
            if children >= (workers if workers > 1 else 0) and httpx.get(
                    url + "/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return process, url


def measure(name: str, db: str, workers: int, run: int, args: argparse.Namespace,
            shapes: list[dict[str, Any]], db_pids: list[int], batch: int | None = None,
            bridges: int | None = None, interval: float | None = None) -> dict[str, Any]:
    from kkt_bridge.plugins.reference.service import BackOffice

    batch = batch or args.batch
    bridges = bridges or args.bridges
    interval = args.interval if interval is None else interval
    process, url = start_server(db, workers)
    office = BackOffice.open(db)
    try:
        codes = [office.issue_sync_code(SHOP, timedelta(hours=1)).display
                 for _ in range(bridges)]
        parts = max(1, min(args.client_processes, bridges))
        share = [codes[i::parts] for i in range(parts)]
        start_at = time.time() + 2.0 + bridges / 200  # time for every bridge to pair
        server_pids = tree(process.pid)
        pipes, procs, firsts = [], [], 0
        for chunk in share:
            receiver, sender = multiprocessing.Pipe(duplex=False)
            proc = multiprocessing.Process(target=_client_process, args=(
                (url, chunk, run, firsts, args.docs, batch, shapes, start_at, interval),
                sender))
            firsts += len(chunk)
            proc.start()
            pipes.append(receiver)
            procs.append(proc)
        while time.time() < start_at:
            time.sleep(0.01)
        cpu_before = cpu_seconds(server_pids), cpu_seconds(tree(db_pids[0]) if db_pids else [])
        results = [pipe.recv() for pipe in pipes]
        for proc in procs:
            proc.join(60)
        finished = max(r["finished"] for r in results)
        server_pids = tree(process.pid)
        cpu_after = cpu_seconds(server_pids), cpu_seconds(tree(db_pids[0]) if db_pids else [])
        wanted = bridges * args.docs
        per_register = [office.count_documents(identity(run, n)["fn_number"])
                        for n in range(bridges)]
        stored = sum(per_register)
    finally:
        office.close()
        process.terminate()
        process.wait(30)
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    seconds = finished - start_at

    def quantile(q: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    return {
        "config": name, "bridges": bridges, "batch": batch, "documents": wanted,
        "seconds": round(seconds, 3), "documents_per_s": round(stored / seconds, 1),
        "exports": len(latencies), "p50_ms": round(quantile(0.50) * 1000, 1),
        "p99_ms": round(quantile(0.99) * 1000, 1),
        "max_ms": round((latencies[-1] if latencies else float("nan")) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
        "server_cpu_ms_per_doc": round(cpu_delta(cpu_before[0], cpu_after[0]) * 1000 / wanted,
                                       4),
        "db_cpu_ms_per_doc": round(cpu_delta(cpu_before[1], cpu_after[1]) * 1000 / wanted, 4)
        if db_pids else None,
        "client_cpu_ms_per_doc": round(sum(r["cpu"] for r in results) * 1000 / wanted, 4),
        "load_average_1m": os.getloadavg()[0],
        "bad_acks": sum(r["acks_bad"] for r in results),
        "stored": stored, "expected_stored": wanted,
        "no_loss_no_duplicate": stored == wanted and not errors
        and all(r["acks_bad"] == 0 for r in results)
        and all(c == args.docs for c in per_register),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bridges", type=int, default=100)
    parser.add_argument("--docs", type=int, default=200, help="documents per bridge")
    parser.add_argument("--batch", type=int, default=50, help="the bridge's batch size")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.0,
                        help="seconds a bridge waits between its batches (0: back to back, "
                             "a saturation run; e.g. 1.0 for a paced fleet whose latency "
                             "is not queueing)")
    parser.add_argument("--ratio-bridges", type=int, default=20,
                        help="bridges for the batched vs one-per-receipt comparison")
    parser.add_argument("--only", action="append", default=None,
                        help="sqlite:1, postgresql:1 or postgresql:2 (repeatable)")
    parser.add_argument("--pg-url", default=None, help="an existing PostgreSQL database")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configs = args.only or ["sqlite:1", "postgresql:1", "postgresql:2"]
    shapes = templates(50)
    rows: list[dict[str, Any]] = []
    pg = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for run, config in enumerate(configs, start=1):
                engine, workers = config.split(":")
                db_pids: list[int] = []
                if engine == "sqlite":
                    db = str(Path(tmp) / f"fleet{run}.sqlite3")
                elif args.pg_url:
                    db = args.pg_url
                else:
                    if pg is None:
                        from kkt_bridge.testing.postgres import PostgresServer, find_bin

                        bindir = find_bin()
                        if bindir is None:
                            raise SystemExit("PostgreSQL is not installed (apt-get install "
                                             "postgresql), or give --pg-url")
                        pg = PostgresServer(bindir)
                        pg.start()
                    db = pg.new_database()
                    pid = int((pg.data / "postmaster.pid").read_text().split()[0])
                    db_pids = tree(pid)
                rows.append(measure(config, db, int(workers), run, args, shapes, db_pids))
                if config == configs[0]:
                    batched = measure(f"{config} batch {args.batch}", db, int(workers),
                                      100 + run, args, shapes, db_pids,
                                      bridges=args.ratio_bridges, interval=0.0)
                    single = measure(f"{config} one per receipt", db, int(workers),
                                     200 + run, args, shapes, db_pids, batch=1,
                                     bridges=args.ratio_bridges, interval=0.0)
                    rows += [batched, single]
        finally:
            if pg is not None:
                pg.stop()
    ratio = None
    named = {r["config"]: r for r in rows}
    first = configs[0]
    if f"{first} one per receipt" in named:
        ratio = (named[f"{first} batch {args.batch}"]["documents_per_s"]
                 / named[f"{first} one per receipt"]["documents_per_s"])
    scaling = None
    if "postgresql:1" in named and "postgresql:2" in named:
        scaling = (named["postgresql:2"]["documents_per_s"]
                   / named["postgresql:1"]["documents_per_s"])
    if args.json:
        print(json.dumps({"rows": rows, "batched_vs_single": ratio,
                          "pg2_vs_pg1": scaling}, ensure_ascii=False))
        return
    print(f"{'config':34} {'docs':>7} {'docs/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'err':>4} {'srv ms/doc':>10} {'db ms/doc':>9} {'cli ms/doc':>10} "
          f"{'load':>5} ok")
    for r in rows:
        db_cpu = "" if r["db_cpu_ms_per_doc"] is None else f"{r['db_cpu_ms_per_doc']:.3f}"
        print(f"{r['config']:34} {r['documents']:7d} {r['documents_per_s']:9.0f} "
              f"{r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['max_ms']:8.1f} {r['errors']:4d} "
              f"{r['server_cpu_ms_per_doc']:10.3f} {db_cpu:>9} "
              f"{r['client_cpu_ms_per_doc']:10.3f} {r['load_average_1m']:5.1f} "
              f"{r['no_loss_no_duplicate']}")
    if ratio is not None:
        print(f"batched (batch {args.batch}) vs one request per receipt, keep-alive, "
              f"{args.ratio_bridges} bridges: {ratio:.1f}x (target >= 25x)")
    if scaling is not None:
        print(f"PostgreSQL 2 processes vs 1: {scaling:.2f}x (target >= 1.6x)")
    if not all(r["no_loss_no_duplicate"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
