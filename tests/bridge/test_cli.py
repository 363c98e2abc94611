from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_fakes import FakeBackOffice, FakeKkt, fake_decoder
from click.testing import CliRunner

from kkt_bridge.bridge import app, export
from kkt_bridge.cli.main import cli
from kkt_bridge.errors import BackOfficeError
from kkt_bridge.exchange import Good
from kkt_bridge.i18n import set_language
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.store import ORIGIN_REGISTER, open_store


@pytest.fixture
def env(home: Path, monkeypatch: pytest.MonkeyPatch, kkt: FakeKkt,
        backoffice: FakeBackOffice) -> Iterator[FakeKkt]:
    monkeypatch.setattr(app, "open_register", lambda url: kkt)
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


def test_settings_need_confirmation_to_change_goods_sync(env: FakeKkt, home: Path) -> None:
    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    with open_store(home) as db:
        db.put_good(env.identity().key, Good("local:1", "Пирожок", 100), ORIGIN_REGISTER)
    code, out = run("settings")
    assert code == 0 and "Экспорт товаров: Никогда" in out
    code, out = run("settings", "--goods", "15 мин", "--employees", "1 ч")
    assert code == 7, out
    assert "Подтверждение" in out and "Пирожок" in out and "Синхронизировать товары" in out
    with open_store(home) as db:
        assert db.get_settings(env.identity().key).goods_period == 0
        assert len(db.goods(env.identity().key)) == 1
    code, out = run("settings", "--goods", "15 мин", "--employees", "1 ч", "--confirm")
    assert code == 0 and "Настройки сохранены" in out
    with open_store(home) as db:
        settings = db.get_settings(env.identity().key)
        assert (settings.goods_period, settings.employees_period) == (900, 3600)
        assert db.goods(env.identity().key) == []
    code, out = run("settings", "--goods", "Никогда")
    assert code == 7 and "Отключить синхронизацию" in out
    code, out = run("settings", "--goods", "7 мин")
    assert code == 2 and "не из списка" in out


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


def test_run_without_registers_says_what_to_do(env: FakeKkt) -> None:
    code, out = run("run")
    assert code == 2 and "kkt-bridge connect" in out


def test_stored_status_needs_no_store(home: Path, env: FakeKkt) -> None:
    from kkt_bridge.bridge.status import stored_status

    assert stored_status("0001:9999000011112222") is None
    assert not (home / "kkt-bridge.sqlite3").exists()
    run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    status = stored_status("0001:9999000011112222", last_fd_number=5)
    assert status is not None and status["export"]["unsent"] == 5


def test_run_shows_the_connect_dialogue_for_a_prompt(
        env: FakeKkt, home: Path, backoffice: FakeBackOffice,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import queue

    from kkt_bridge.bridge.daemon import Daemon
    from kkt_bridge.bridge.watcher import Prompt
    from kkt_bridge.cli.run import show_prompts

    prompts: queue.Queue[Prompt] = queue.Queue()
    with open_store(home) as db:
        daemon = Daemon(db, app.plugin_manager(), ["fake://1"], opener=lambda url: env,
                        on_prompt=prompts.put)
        daemon.tick(daemon.links[0])
        assert prompts.qsize() == 1
        answers = iter(["wrong", "123456"])
        monkeypatch.setattr("click.prompt", lambda *a, **k: next(answers))
        assert show_prompts(daemon, prompts, plugin="fake", endpoint=None) == 1
        assert db.get_pairing(env.identity().key) is not None
    out = capsys.readouterr()
    assert "Подключить ККТ" in out.out and "Соединение установлено" in out.out
    assert "неверен" in out.err
