"""Several server processes on one PostgreSQL database (``serve --workers 2``): concurrent
repeats of a batch from several client processes store one copy and acknowledge all, one
sync code redeemed by two registers at once pairs one, and a worker killed in the middle of
a request loses and duplicates nothing."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from reference_support import SHOP, register_json

from kkt_bridge.plugins.reference.service import BackOffice
from kkt_bridge.testing.contract import sample_receipt

WORKERS = 2


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


@pytest.fixture
def fleet(postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """``kkt-bridge backoffice serve --workers 2`` on a fresh database: (url, db, process)."""
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "kkt_bridge.cli.main", "backoffice", "serve", "--port", "0",
         "--db", postgres_url, "--seed-demo", "--workers", str(WORKERS),
         "--faults", "slow:delay=3:first=1:path=/api/v1/documents"],
        stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(
            process.stdout.readline() if process.stdout else ""))
        reader.start()
        reader.join(60)
        assert first and first[0].startswith("http://"), (first, _tail(tmp_path))
        url = first[0].strip()
        deadline = time.monotonic() + 60
        while len(_children(process.pid)) < WORKERS or not _healthy(url):
            assert time.monotonic() < deadline, _tail(tmp_path)
            time.sleep(0.2)
        yield url, postgres_url, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def _tail(tmp_path: Path) -> str:
    return (tmp_path / "serve.log").read_text()[-3000:]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/api/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _pair(url: str, db: str, n: int = 1) -> str:
    office = BackOffice.open(db)
    try:
        code = office.issue_sync_code(SHOP, _day()).display
    finally:
        office.close()
    answer = httpx.post(url + "/api/v1/pair", json={"code": code, "register": register_json(n)})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def _day() -> Any:
    from datetime import timedelta

    return timedelta(days=1)


def _batch(fn_number: str, count: int) -> list[dict[str, Any]]:
    docs = [sample_receipt(fn_number, fd) for fd in range(1, count + 1)]
    return [{"key": d.key, "fn_number": d.fn_number, "fd_number": d.fd_number,
             "document_type": d.document_type, "fns": dict(d.fns),
             "raw_b64": base64.b64encode(d.raw).decode()} for d in docs]


_POSTER = """
import json, sys, httpx
url, token, path = sys.argv[1:4]
body = open(path, encoding="utf-8").read()
answer = httpx.post(url + "/api/v1/documents", content=body, timeout=60,
                    headers={"Authorization": "Bearer " + token,
                             "Content-Type": "application/json"})
print(json.dumps({"status": answer.status_code, "acks": answer.json().get("acks")}))
"""


def test_the_same_batch_from_several_processes_is_stored_once(
        fleet: tuple[str, str, subprocess.Popen[str]], tmp_path: Path) -> None:
    url, db, _process = fleet
    token = _pair(url, db)
    fn_number = register_json(1)["fn_number"]
    assert fn_number
    # the first documents request of each worker is slowed by 3 s (--faults): get past it
    for _ in range(WORKERS * 2):
        httpx.post(url + "/api/v1/documents", json=[], timeout=30,
                   headers={"Authorization": f"Bearer {token}"})
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(_batch(fn_number, 50)), encoding="utf-8")
    posters = [subprocess.Popen([sys.executable, "-c", _POSTER, url, token, str(batch)],
                                stdout=subprocess.PIPE, text=True) for _ in range(6)]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in posters]
    assert all(r["status"] == 200 for r in results), results
    for index in range(50):
        acks = [r["acks"][index] for r in results]
        assert all(a["accepted"] for a in acks)
        assert sum(not a["duplicate"] for a in acks) == 1, acks  # one stored, all acked
    office = BackOffice.open(db)
    try:
        assert office.count_documents() == 50
    finally:
        office.close()


def test_one_code_redeemed_by_two_registers_at_once_pairs_one(
        fleet: tuple[str, str, subprocess.Popen[str]]) -> None:
    url, db, _process = fleet
    office = BackOffice.open(db)
    try:
        for round_ in range(5):
            code = office.issue_sync_code(SHOP, _day()).display
            barrier = threading.Barrier(2)
            statuses: list[int] = []

            def redeem(n: int, code: str = code, barrier: threading.Barrier = barrier,
                       statuses: list[int] = statuses) -> None:
                with httpx.Client(timeout=30) as http:
                    barrier.wait(10)
                    answer = http.post(url + "/api/v1/pair",
                                       json={"code": code, "register": register_json(n)})
                statuses.append(answer.status_code)

            threads = [threading.Thread(target=redeem, args=(10 * round_ + n,))
                       for n in (1, 2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert sorted(statuses) == [200, 409], statuses
        assert len(office.registers()) == 5
    finally:
        office.close()


def test_a_worker_killed_mid_request_loses_and_duplicates_nothing(
        fleet: tuple[str, str, subprocess.Popen[str]]) -> None:
    url, db, process = fleet
    token = _pair(url, db)
    fn_number = register_json(1)["fn_number"]
    assert fn_number
    body = _batch(fn_number, 20)
    headers = {"Authorization": f"Bearer {token}"}
    outcome: list[Any] = []

    def post() -> None:
        try:
            outcome.append(httpx.post(url + "/api/v1/documents", json=body, headers=headers,
                                      timeout=30))
        except httpx.HTTPError as exc:
            outcome.append(exc)

    sender = threading.Thread(target=post)
    sender.start()
    time.sleep(1.0)  # the request sits in a worker (slowed 3 s by --faults) ...
    victims = _children(process.pid)
    for pid in victims:  # ... and that worker, whichever it is, is killed
        os.kill(pid, signal.SIGKILL)
    sender.join(60)
    assert outcome and not isinstance(outcome[0], httpx.Response), outcome
    deadline = time.monotonic() + 60
    acks = None
    while acks is None and time.monotonic() < deadline:  # the supervisor starts new workers
        try:
            answer = httpx.post(url + "/api/v1/documents", json=body, headers=headers,
                                timeout=30)
            if answer.status_code == 200:
                acks = answer.json()["acks"]
        except httpx.HTTPError:
            time.sleep(0.5)
    assert acks is not None and all(a["accepted"] for a in acks)
    assert set(_children(process.pid)).isdisjoint(victims)
    office = BackOffice.open(db)
    try:
        stored = office.documents()
        assert sorted(d.fd_number for d in stored) == list(range(1, 21))
    finally:
        office.close()
