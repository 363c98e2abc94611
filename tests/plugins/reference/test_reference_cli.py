"""``kkt-bridge backoffice ...`` through click's CliRunner, and ``serve`` as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from click.testing import CliRunner
from reference_support import SHOP, register_identity

from kkt_bridge.cli.main import cli
from kkt_bridge.plugins.reference.plugin import NAME, ReferencePlugin
from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.testing.contract import sample_documents


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_add_register_prints_the_code_last_and_it_pairs(tmp_path: Path) -> None:
    db = tmp_path / "bo.sqlite3"
    code, out = run("backoffice", "add-register", "--db", str(db), "--shop", SHOP)
    assert code == 0, out
    sync_code = out.strip().splitlines()[-1]
    assert len(sync_code) == 9 and sync_code.replace("-", "").isdigit()
    assert "Создан магазин" in out
    _, again = run("backoffice", "add-register", "--db", str(db), "--shop", SHOP)
    assert "Создан магазин" not in again and again.strip().splitlines()[-1] != sync_code
    with ReferenceBackOffice(db) as office:
        assert office.db.pair(sync_code, {"serial": "1", "fn_number": "2", "model": "m"})


def test_add_register_refuses_an_empty_shop(tmp_path: Path) -> None:
    code, out = run("backoffice", "add-register", "--db", str(tmp_path / "bo.sqlite3"),
                    "--shop", " ")
    assert code != 0 and "магазин" in out


def test_seed_is_idempotent(tmp_path: Path) -> None:
    db = str(tmp_path / "bo.sqlite3")
    first = run("backoffice", "seed", "--db", db)
    assert first[0] == 0 and "товаров: 16" in first[1]
    assert run("backoffice", "seed", "--db", db) == first


def test_documents_prints_one_fns_json_per_line(tmp_path: Path) -> None:
    db = tmp_path / "bo.sqlite3"
    register = register_identity(1)
    docs = sample_documents(register, 3)
    with ReferenceBackOffice(db) as office:
        url = office.serve_in_thread()
        plugin = ReferencePlugin()
        try:
            credentials = plugin.backoffice_pair(NAME, url, office.issue_sync_code(SHOP),
                                                 register)
            assert credentials is not None
            plugin.backoffice_export_documents(NAME, credentials, docs)
        finally:
            plugin.close()
    code, out = run("backoffice", "documents", "--db", str(db))
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines == [dict(d.fns) for d in docs]
    assert lines[0]["receiptCode"] == 3 and lines[0]["fiscalDocumentNumber"] == 1
    _, enveloped = run("backoffice", "documents", "--db", str(db), "--envelope", "--after", "1")
    keyed = [json.loads(line) for line in enveloped.splitlines()]
    assert [k["key"] for k in keyed] == [d.key for d in docs[1:]]
    assert "raw_b64" not in keyed[0]


def test_registers_and_admin_token(tmp_path: Path) -> None:
    db = tmp_path / "bo.sqlite3"
    with ReferenceBackOffice(db) as office:
        office.db.pair(office.issue_sync_code(SHOP), {"serial": "77", "fn_number": "88",
                                                      "model": "ШТРИХ"})
        token = office.admin_token
    code, out = run("backoffice", "registers", "--db", str(db))
    assert code == 0 and "77" in out and "88" in out
    assert run("backoffice", "admin-token", "--db", str(db)) == (0, token + "\n")


def test_serve_prints_its_url_first_and_serves(tmp_path: Path) -> None:
    db = tmp_path / "bo.sqlite3"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # prove the flush
    process = subprocess.Popen(
        [sys.executable, "-m", "kkt_bridge.cli.main", "backoffice", "serve", "--port", "0",
         "--db", str(db), "--seed-demo", "--faults", "429:first=1:path=/api/v1/me"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(process.stdout.readline()
                                                              if process.stdout else ""))
        reader.start()
        reader.join(30)  # bounded: a server that never prints fails the test, not CI
        assert first and first[0].startswith("http://127.0.0.1:"), first
        url = first[0].strip()
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.get("/api/v1/health").status_code == 200  # never faulted
            assert http.get("/api/v1/me").status_code == 429  # --faults took effect
            assert http.get("/api/v1/me").status_code == 401
            assert http.get("/openapi.json").json()["openapi"] == "3.1.0"
    finally:
        process.terminate()
        process.wait(30)
    with ReferenceBackOffice(db) as office:
        assert office.db.shops()  # --seed-demo filled it


def test_reading_commands_refuse_a_missing_database(tmp_path: Path) -> None:
    missing = tmp_path / "typo.sqlite3"
    for command in ("documents", "registers", "admin-token"):
        code, out = run("backoffice", command, "--db", str(missing))
        assert code != 0 and "не найдена" in out, command
    assert not missing.exists()


def test_serve_with_a_bad_fault_spec_fails_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "bo.sqlite3"
    code, out = run("backoffice", "serve", "--port", "0", "--db", str(db), "--faults", "418")
    assert code == 2 and "418" in out and "Traceback" not in out
    assert not db.exists()


def test_workers_need_postgresql(tmp_path: Path) -> None:
    db = tmp_path / "bo.sqlite3"
    code, out = run("backoffice", "serve", "--port", "0", "--db", str(db), "--workers", "2")
    assert code != 0 and "PostgreSQL" in out and "Traceback" not in out


def test_a_typo_in_shop_is_not_a_new_shop(tmp_path: Path) -> None:
    db = tmp_path / "bo.sqlite3"
    assert run("backoffice", "seed", "--db", str(db))[0] == 0
    code, out = run("backoffice", "add-register", "--db", str(db), "--shop", "Магазин на Ленна")
    assert code != 0 and "Магазин на Ленина" in out and "--new-shop" in out
    with ReferenceBackOffice(db) as office:
        assert "Магазин на Ленна" not in {s.name for s in office.db.shops()}
    code, out = run("backoffice", "add-register", "--db", str(db), "--shop", "Новый",
                    "--new-shop")
    assert code == 0 and "Создан магазин" in out


def test_openapi_command_prints_the_generated_description() -> None:
    code, out = run("backoffice", "openapi")
    assert code == 0 and json.loads(out)["paths"]["/api/v1/pair"]
