from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_fakes import FakeBackOffice, FakeKkt, fake_decoder
from click.testing import CliRunner

from kkt_bridge.bridge import app, export
from kkt_bridge.bridge.catalog import Catalog
from kkt_bridge.bridge.settings import WARNING
from kkt_bridge.cli.main import cli
from kkt_bridge.errors import BackOfficeError
from kkt_bridge.exchange import Good, GoodsGroup
from kkt_bridge.i18n import set_language
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.store import ExchangeSettings, open_store


@pytest.fixture
def env(home: Path, monkeypatch: pytest.MonkeyPatch, kkt: FakeKkt,
        backoffice: FakeBackOffice) -> Iterator[FakeKkt]:
    monkeypatch.setattr(app, "open_register", lambda url, **options: kkt)
    monkeypatch.setattr(app, "plugin_manager",
                        lambda: get_plugin_manager(load_entrypoints=False, plugins=[backoffice]))
    monkeypatch.setattr(export, "fns_decoder", fake_decoder)
    monkeypatch.setattr("kkt_bridge.bridge.scheduler.fns_decoder", fake_decoder)
    yield kkt
    set_language("ru")


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


def test_connect_asks_for_the_code(env: FakeKkt, home: Path) -> None:
    code, out = run("connect", "--device", "fake://1", "--plugin", "fake", input="123456\n")
    assert code == 0, out
    assert "Подключить ККТ" in out and "код синхронизации с бэк-офисом" in out
    assert "Соединение установлено" in out and "s3cr3t" not in out
    with open_store(home) as db:
        assert db.get_pairing(env.identity().key) is not None


def test_connect_with_a_wrong_code_stores_nothing(env: FakeKkt, home: Path) -> None:
    code, out = run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "999")
    assert code == 6 and "код синхронизации неверен" in out
    with open_store(home) as db:
        assert db.pairings() == []


def _token(out: str) -> str:
    match = re.search(r"Код подтверждения: ([0-9a-f]{16})", out)
    assert match, out
    return match.group(1)


def test_settings_preview_first_then_confirm(env: FakeKkt, home: Path) -> None:
    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    key = env.identity().key
    with open_store(home) as db:
        Catalog(db, key).add_group(GoodsGroup("", "Своя выпечка"))
        Catalog(db, key).add_good(Good("", "Пирожок", 100, code="77"))
    code, out = run("settings")
    assert code == 0 and "Экспорт товаров: Никогда" in out
    # first run: the preview, the seed's words and a token; nothing changes
    code, out = run("settings", "--goods", "15 мин", "--employees", "1 ч")
    assert code == 7, out
    assert "Подтверждение" in out and "Пирожок" in out and "Своя выпечка" in out
    # the first set-up after pairing: the seed's «Подтверждение» button
    assert WARNING["on"] in out and "[ Подтверждение ]" in out
    shown = _token(out)
    assert f"--confirm {shown}" in out
    with open_store(home) as db:
        assert db.get_settings(key) == ExchangeSettings()
        assert len(db.goods(key)) == 1 and len(db.groups(key)) == 1
    # the goods were edited at the register after the preview: the shown token is stale
    with open_store(home) as db:
        Catalog(db, key).add_good(Good("", "Ватрушка", 300))
    code, out = run("settings", "--goods", "15 мин", "--employees", "1 ч", "--confirm", shown)
    assert code == 7 and "устарело" in out and "Ватрушка" in out
    fresh = _token(out)
    assert fresh != shown
    with open_store(home) as db:
        assert db.get_settings(key) == ExchangeSettings() and len(db.goods(key)) == 2
    # a mistyped code is said to be mistyped, not a changed list; nothing changes
    typo = fresh[:-1] + ("0" if fresh[-1] != "0" else "1")
    code, out = run("settings", "--goods", "15 мин", "--employees", "1 ч", "--confirm", typo)
    assert code == 7 and "с ошибкой" in out and "устарело" not in out, out
    code, out = run("settings", "--goods", "15 мин", "--employees", "1 ч", "--confirm", fresh)
    assert code == 0 and "Настройки сохранены" in out and "«Подтверждение»" in out
    with open_store(home) as db:
        settings = db.get_settings(key)
        assert (settings.goods_period, settings.employees_period) == (900, 3600)
        assert db.goods(key) == [] and db.groups(key) == []
    # turning it off: its own warning and button; the plain flag proceeds
    code, out = run("settings", "--goods", "Никогда")
    assert code == 7 and WARNING["off"] in out and "[ Отключить синхронизацию ]" in out
    with open_store(home) as db:
        assert db.get_settings(key).goods_sync
    code, out = run("settings", "--confirm", "--goods", "Никогда")
    assert code == 0 and "Настройки сохранены" in out
    with open_store(home) as db:
        assert not db.get_settings(key).goods_sync
    # settings changed later: the seed's «Синхронизировать товары» to turn it back on
    code, out = run("settings", "--goods", "15 мин")
    assert code == 7 and "[ Синхронизировать товары ]" in out
    code, out = run("settings", "--goods", "7 мин")
    assert code == 2 and "не из списка" in out


def test_settings_without_a_goods_change_need_no_confirmation(env: FakeKkt,
                                                             home: Path) -> None:
    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    code, out = run("settings", "--employees", "30 мин", "--receipts-interval", "30")
    assert code == 0 and "Подтверждение" not in out
    with open_store(home) as db:
        assert db.get_settings(env.identity().key) == ExchangeSettings(0, 1800, 30)


def test_sync_now_runs_every_job(env: FakeKkt, home: Path, backoffice: FakeBackOffice) -> None:
    code, out = run("sync", "now")
    assert code != 0  # nothing paired yet
    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    run("settings", "--goods", "5 мин", "--employees", "5 мин", "--confirm")
    env.sell()
    code, out = run("sync", "now")
    assert code == 0, out
    assert len(backoffice.stored) == 2
    assert "экспорт товаров: готово" in out
    backoffice.export_failures = [BackOfficeError("сервер ответил 500", "позже", retryable=True)]
    env.sell()
    code, out = run("sync", "now")
    assert code == 1 and "500" in out


def test_reset_asks_and_forgets(env: FakeKkt, home: Path) -> None:
    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    with open_store(home) as db:
        old_id = db.installation_id
    code, _ = run("reset", input="n\n")
    assert code == 1
    with open_store(home) as db:
        assert db.pairings() and db.installation_id == old_id
    code, out = run("reset", input="y\n")
    assert code == 0 and "kkt-bridge connect" in out
    with open_store(home) as db:
        assert db.pairings() == [] and db.installation_id != old_id


def test_english_ui(env: FakeKkt) -> None:
    code, out = run("--lang", "en", "connect", "--device", "fake://1", "--plugin", "fake",
                    "--code", "123456")
    assert code == 0 and "Connection established" in out


def test_status_of_an_unknown_register_creates_no_store(home: Path, env: FakeKkt) -> None:
    code, out = run("status", "--device", "fake://1")
    assert code == 0 and "0001" in out and "Бэк-офис" not in out
    assert not home.exists()


def test_stored_status_needs_no_store(home: Path, env: FakeKkt) -> None:
    from kkt_bridge.bridge.status import stored_status

    assert stored_status("0001:9999000011112222") is None
    assert not (home / "kkt-bridge.sqlite3").exists()
    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    status = stored_status("0001:9999000011112222", last_fd_number=5)
    assert status is not None and status["export"]["unsent"] == 5


@pytest.mark.parametrize(("answers", "paired", "stopped"), [
    (["wrong", "123456"], True, False),  # a mistyped code is asked again
    ([""], False, False),  # an empty line: later; the prompt stays for the page
    ([KeyboardInterrupt()], False, True),  # Ctrl+C leaves the dialogue and stops the daemon
])
def test_run_shows_the_connect_dialogue_for_a_prompt(
        env: FakeKkt, home: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], answers: list[object], paired: bool,
        stopped: bool) -> None:
    from kkt_bridge.bridge.actions import BackOfficePreset
    from kkt_bridge.bridge.daemon import Daemon
    from kkt_bridge.cli.run import TerminalPrompts

    typed = iter(answers)

    def answer(prompt: str = "") -> str:
        value = next(typed)
        if isinstance(value, BaseException):
            raise value
        return str(value)

    monkeypatch.setattr("builtins.input", answer)
    with open_store(home) as db:
        daemon = Daemon(db, app.plugin_manager(), ["fake://1"], opener=lambda url: env,
                        hotplug="off", preset=BackOfficePreset("fake"))
        daemon.tick(daemon.links[0])
        assert len(daemon.board.current()) == 1
        terminal = TerminalPrompts(daemon, interactive=True, page="http://127.0.0.1:1/")
        terminal.show()
        terminal.show()  # each prompt is shown once: nothing more is asked
        assert (db.get_pairing(env.identity().key) is not None) is paired
        assert (daemon.board.current() == []) is paired
        assert daemon.stop_event.is_set() is stopped
    out = capsys.readouterr()
    assert "Подключить ККТ" in out.out
    if paired:
        assert "Соединение установлено" in out.out and "неверен" in out.err
    else:
        assert "ничего не сохранено" in out.out
        # later: where to pair then (a daemon stopping says nothing more)
        assert ("http://127.0.0.1:1/" in out.out) is not stopped


def _hold_in_child(code: str, home: Path) -> subprocess.Popen[str]:
    """A child process that runs ``code`` (which takes a lock), prints "ready" and waits."""
    child = subprocess.Popen(
        [sys.executable, "-c", code + "\nprint('ready', flush=True)\nsys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "KKT_BRIDGE_HOME": str(home)})
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def _end(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.close()
    child.wait(timeout=30)


def test_reset_is_refused_while_another_process_has_the_store(env: FakeKkt,
                                                              home: Path) -> None:
    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    with open_store(home) as db:
        old_id = db.installation_id
    # what a running `kkt-bridge run` (or `sync now`) does: keeps the store open
    child = _hold_in_child("import sys\nfrom kkt_bridge.store import open_store\n"
                           "db = open_store()", home)
    try:
        code, out = run("reset", "--yes")
        assert code != 0 and "сейчас открыто" in out and f"{child.pid} (" in out
        assert "kkt-bridge run" in out  # what to stop
        with open_store(home) as db:
            assert db.pairings() and db.installation_id == old_id
    finally:
        _end(child)
    code, out = run("reset", "--yes")  # the holder is gone: the kernel dropped its lock
    assert code == 0, out
    with open_store(home) as db:
        assert db.pairings() == [] and db.installation_id != old_id


def test_reset_is_refused_while_the_store_is_open_in_this_process(env: FakeKkt,
                                                                  home: Path) -> None:
    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    db = open_store(home)
    try:
        code, out = run("reset", "--yes")
        assert code != 0 and f"{os.getpid()} (" in out
        assert db.pairings()
    finally:
        db.close()


def test_after_reset_the_watcher_asks_for_pairing_again(env: FakeKkt, home: Path,
                                                        backoffice: FakeBackOffice) -> None:
    from kkt_bridge.bridge.scheduler import RegisterLink
    from kkt_bridge.bridge.watcher import NOT_PAIRED, Prompt, Watcher

    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    pm = get_plugin_manager(load_entrypoints=False, plugins=[backoffice])
    link = RegisterLink("fake://1", lambda url: env, home / "locks")
    with open_store(home) as db:
        seen: list[Prompt] = []
        Watcher(db, pm, on_prompt=seen.append).poll(link)
        assert seen == []  # paired: no prompt
    assert run("reset", "--yes")[0] == 0
    with open_store(home) as db:
        seen = []
        Watcher(db, pm, on_prompt=seen.append).poll(link)
        assert [p.reason for p in seen] == [NOT_PAIRED]  # «Подключить ККТ» again


def test_one_job_per_link_across_processes(env: FakeKkt, home: Path) -> None:
    """A daemon in another process mid-job holds the link: `sync now` and this process's
    daemon round leave the register alone."""
    from kkt_bridge.bridge.daemon import Daemon

    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    env.sell()
    child = _hold_in_child(
        "import sys\nfrom pathlib import Path\nfrom kkt_bridge.bridge.locks import LinkLock\n"
        f"lock = LinkLock(Path({str(home / 'locks')!r}), 'fake://1')\n"
        "assert lock.acquire(blocking=False)", home)
    try:
        code, out = run("sync", "now")
        assert code == 1 and "занята другим заданием" in out
        with open_store(home) as db:
            daemon = Daemon(db, app.plugin_manager(), ["fake://1"], opener=lambda url: env,
                            decoder=fake_decoder)
            assert daemon.tick(daemon.links[0]) == []
            assert db.get_cursor(env.fn_number or "") == 0
        assert env.reads == 0
    finally:
        _end(child)
    code, out = run("sync", "now")
    assert code == 0, out


def test_status_shows_pairing_periods_runs_and_unsent(env: FakeKkt, home: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    run("settings", "--employees", "15 мин")
    assert run("sync", "now")[0] == 0
    env.sell()
    env.sell()
    code, out = run("status", "--device", "fake://1")
    assert code == 0, out
    assert "Бэк-офис: fake (ООО Ромашка / shop-1)" in out
    assert "Экспорт товаров: Никогда; экспорт сотрудников: 15 мин" in out
    assert "Экспорт чеков настроен автоматически" in out
    runs = [line for line in out.splitlines() if "последний" in line]
    assert len(runs) == 2 and all("—" not in line for line in runs)  # last and next known
    assert "Не выгружено документов: 2" in out
    assert "s3cr3t" not in out
    code, out = run("status", "--device", "fake://1", "--json")
    report = json.loads(out)
    assert report["backlog"]["unsent"] == 2 and report["serial"] == "0001"
    employees = next(e for e in report["exchanges"] if e["job"] == "employees")
    assert employees["next_run"] and employees["period_label"] == "15 мин"
    # exactly one register paired: --device is not needed
    code, plain = run("status")
    assert code == 0 and "Не выгружено документов: 2" in plain


def test_commands_ask_the_driver_the_store_recorded_first(
        env: FakeKkt, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[tuple[str, dict[str, object]]] = []

    def open_register(url: str, **options: object) -> FakeKkt:
        opened.append((url, options))
        return env

    monkeypatch.setattr(app, "open_register", open_register)
    code, out = run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    assert code == 0, out
    assert opened and opened[0] == ("fake://1", {})  # nothing recorded yet: a plain probe
    opened.clear()
    assert run("sync", "now")[0] == 0
    assert run("status", "--device", "fake://1")[0] == 0
    # the pairing recorded the register's driver: each later open asks it first
    assert opened and {url for url, _ in opened} == {"fake://1"}
    assert all(options == {"likely": "fake"} for _, options in opened), opened
    opened.clear()
    assert run("sync", "now", "--driver", "shtrih")[0] == 0
    assert opened and all(options == {"driver": "shtrih"} for _, options in opened)
