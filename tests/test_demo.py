"""The one-command demo: the whole seed flow against the emulator and the reference server."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from kkt_bridge.demo import DEMO_SALES, DemoSummary, run_demo
from kkt_bridge.plugins.reference.server import ReferenceBackOffice

#: driver -> (its title in Russian, in English, the model its emulator reports)
DRIVERS = {"shtrih": ("Штрих-М", "Shtrih-M", "ШТРИХ"), "atol": ("АТОЛ", "ATOL", "АТОЛ")}


@pytest.mark.parametrize("driver", sorted(DRIVERS))
def test_demo_once_pairs_imports_sells_and_exports(tmp_path: Path, driver: str) -> None:
    import httpx

    out = io.StringIO()
    pages: dict[str, str] = {}

    def visit(summary: DemoSummary) -> None:
        base = summary.page_url.split("/login")[0]
        with httpx.Client(base_url=base) as client:
            client.get(summary.page_url[len(base):], follow_redirects=False)
            pages["emulator"] = client.get("/emulator").text

    summary = run_demo(Console(file=out, width=120), once=True, home=tmp_path, driver=driver,
                       on_ready=visit)
    text = out.getvalue()
    title, _english, model = DRIVERS[driver]

    # the register the integrator watches is of the protocol asked for, and says so
    assert summary.driver == driver and summary.protocol == title
    assert summary.model.upper().startswith(model), summary.model
    assert f"ККТ {title} (эмулятор, {summary.model}) слушает" in text
    assert f"{title} (--driver {driver})" in text
    assert f"<dd>{title}</dd>" in pages["emulator"]
    other = {d: t for d, t in DRIVERS.items() if d != driver}
    assert all(t[0] not in text for t in other.values()), text
    assert "Соединение установлено" in text
    # each sale's sum as every other sum is written for people: «387,00 ₽», not «руб.»
    sums = re.findall(r"чек ФД \d+: ([^(]+) \(", text)
    assert len(sums) == DEMO_SALES and "руб." not in text, text
    assert all(re.fullmatch(r"\d{1,3}(\u00a0\d{3})*,\d\d\u00a0₽", found) for found in sums), sums
    assert summary.receipts_sold == DEMO_SALES
    assert summary.goods > 0 and summary.groups > 0 and summary.employees > 0
    # registration report + shift open + the receipts, each exactly once
    assert summary.exported == DEMO_SALES + 2
    assert summary.backoffice_documents == summary.exported
    # the back office's own store is the check, not the bridge's counters
    with ReferenceBackOffice(tmp_path / "backoffice.sqlite3") as backoffice:
        documents = backoffice.documents()
        keys = [(d.fn_number, d.fd_number) for d in documents]
        assert len(keys) == len(set(keys)) == summary.exported
        receipts = [d for d in documents if d.document_type == 3]
        assert len(receipts) == DEMO_SALES
    assert summary.backoffice_url in text


def test_demo_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kkt_bridge.cli.main", "demo", "--interval", "1",
         "--home", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    try:
        for line in proc.stdout:
            seen.append(line)
            if "Ctrl-C" in line or time.monotonic() > deadline:
                break
        assert any("Ctrl-C" in line for line in seen), "".join(seen)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(seen) + rest
    assert "Traceback" not in rest


@pytest.mark.parametrize(("driver", "lang"), [(None, "ru"), ("atol", "en")])
def test_demo_once_command_prints_the_summary_and_exits_0(tmp_path: Path, driver: str | None,
                                                          lang: str) -> None:
    from click.testing import CliRunner

    from kkt_bridge.cli.main import cli

    args = ["--lang", lang, "demo", "--once", "--home", str(tmp_path)]
    result = CliRunner().invoke(cli, args + (["--driver", driver] if driver else []),
                                env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    rows = {"ru": ("Подключение ККТ", "Синхронизация", "Группы товаров / товары",
                   "Документов выгружено", "Посмотреть в бэк-офисе", "Соединение установлено",
                   "ККТ Штрих-М (эмулятор, ", "Штрих-М (--driver shtrih)"),
            "en": ("Connection established", "ATOL register (emulator, ",
                   "ATOL (--driver atol)")}
    for row in rows[lang]:
        assert row in result.output, row
    # Shtrih-M by default; the other protocol is never named
    other = ("Shtrih", "Штрих") if driver == "atol" else ("ATOL", "АТОЛ")
    assert not any(word in result.output for word in other), result.output


def test_demo_refuses_a_driver_without_an_emulator_before_starting(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kkt_bridge.cli.main import cli

    result = CliRunner().invoke(cli, ["demo", "--once", "--driver", "nosuch",
                                      "--home", str(tmp_path)])
    assert result.exit_code != 0
    assert "nosuch" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "backoffice.sqlite3").exists()


def test_demo_prints_its_page_in_words_within_80_columns(tmp_path: Path) -> None:
    import httpx

    out = io.StringIO()
    seen: dict[str, int] = {}

    def visit(summary: DemoSummary) -> None:
        url = summary.page_url
        base = url.split("/login")[0]
        with httpx.Client(base_url=base) as client:
            entered = client.get(url[len(base):], follow_redirects=False)
            seen["login"] = entered.status_code
            seen["page"] = client.get("/").status_code
            seen["api"] = client.get("/api/prompts").status_code

    summary = run_demo(Console(file=out, width=80), once=True, home=tmp_path, on_ready=visit)
    text = out.getvalue()
    assert summary.page_url in text.replace("\n", "")
    assert seen == {"login": 303, "page": 200, "api": 200}
    # «Обновить сейчас» in words: no raw keys like "documents: cursor=1, duplicates=0"
    assert "=" not in text.split("Обновить сейчас")[1].split("kkt-bridge: демонстрация")[0]
    assert "выгружено документов" in text and "cursor" not in text
    progress = [line for line in text.splitlines() if line.startswith("    ")]
    assert progress and all(len(line) <= 80 for line in progress)
    # a message is never cut mid-phrase by the console
    assert "Экспорт чеков настроен автоматически" in text.splitlines()


@pytest.mark.parametrize(("lang", "labels"), [
    ("ru", ("ККТ", "ФН", "Экспорт товаров", "Экспорт сотрудников", "Страница kkt-bridge")),
    ("en", ("Register", "FN", "Goods export", "Employees export", "The kkt-bridge page")),
])
def test_the_summary_table_s_labels_start_with_a_capital(lang: str,
                                                          labels: tuple[str, ...]) -> None:
    from kkt_bridge.demo import summary_table
    from kkt_bridge.i18n import using_language

    summary = DemoSummary(
        device_url="socket://127.0.0.1:5555", driver="atol", protocol="АТОЛ",
        model="АТОЛ 30Ф", serial="00106304", fn_number="9999078900001234",
        backoffice_url="http://127.0.0.1:8000", account="ООО «Ромашка»",
        shop="Магазин на Ленина", groups=7, goods=8, employees=3, receipts_sold=3,
        exported=5, backoffice_documents=5, goods_period=900, employees_period=3600,
        page_url="http://127.0.0.1:8001/login?token=x")
    out = io.StringIO()
    with using_language(lang):
        Console(file=out, width=100, color_system=None).print(summary_table(summary))
    rows = [line.split("│")[1].strip() for line in out.getvalue().splitlines()
            if line.count("│") >= 3]
    assert all(row[:1] == row[:1].upper() for row in rows), rows
    assert "Kkt-bridge" not in out.getvalue()  # the program's name keeps its small letters
    for label in labels:
        assert label in rows, (label, rows)
