"""``kkt-bridge goods``: «Товары» and «Группы товаров» added at the register, with no daemon.

Prices go in as roubles and are kept as kopecks; while goods sync with the back office is on
every change is refused with the command that turns it off; wrong input and an unanswered
deletion change nothing and say what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_fakes import FakeBackOffice, FakeKkt
from click.testing import CliRunner

from kkt_bridge.bridge import app
from kkt_bridge.cli.main import cli
from kkt_bridge.i18n import set_language
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.store import ORIGIN_REGISTER, open_store


@pytest.fixture
def paired(home: Path, monkeypatch: pytest.MonkeyPatch, kkt: FakeKkt,
           backoffice: FakeBackOffice) -> Iterator[str]:
    """The key of a register paired with the fake back office; goods sync is off."""
    monkeypatch.setattr(app, "open_register", lambda url, **options: kkt)
    monkeypatch.setattr(app, "plugin_manager",
                        lambda: get_plugin_manager(load_entrypoints=False, plugins=[backoffice]))
    code, out = run("connect", "--device", "fake://1", "--plugin", "fake", "--code", "123456")
    assert code == 0, out
    yield kkt.identity().key
    set_language("ru")


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


def _snapshot(home: Path, key: str) -> tuple[object, ...]:
    with open_store(home) as db:
        return tuple(db.goods(key)), tuple(db.groups(key))


def test_goods_and_groups_added_edited_and_deleted_at_the_register(
        paired: str, home: Path) -> None:
    code, out = run("goods", "groups", "add", "Выпечка")
    assert code == 0 and "Группа товаров добавлена: Выпечка [local:" in out, out
    code, out = run("goods", "add", "Пирожок", "--price", "45,5", "--group", "выпечка",
                    "--code", "77", "--barcode", "4600000000017", "--vat", "10")
    assert code == 0 and "Товар добавлен: Пирожок" in out and "45,50\u00a0₽" in out, out
    with open_store(home) as db:
        (good,) = db.goods(paired, ORIGIN_REGISTER)
        (group,) = db.groups(paired, ORIGIN_REGISTER)
    assert good.good.price == 4550 and good.good.group_id == group.group.id
    assert good.good.barcodes == ("4600000000017",) and good.good.vat == 2

    code, out = run("goods")
    assert code == 0, out
    lines = out.splitlines()
    assert lines.index("Группы товаров") < lines.index("Товары")
    assert any(line.startswith(f"  Пирожок [{good.good.id}]: 45,50\u00a0₽; код 77") and
               "группа «Выпечка»" in line and "откуда: касса" in line for line in lines), out
    assert "выключена" in out

    # edit by name: only the given fields change
    code, out = run("goods", "edit", "Пирожок", "--price", "1 200")
    assert code == 0 and "1\u00a0200,00\u00a0₽" in out, out
    with open_store(home) as db:
        edited = db.get_good(paired, good.good.id)
    assert edited is not None and edited.good.price == 120000
    assert edited.good.code == "77" and edited.good.group_id == group.group.id

    # a group with a good in it is not deleted; the good goes after the question
    code, out = run("goods", "groups", "delete", "Выпечка", "--yes")
    assert code == 2 and "не пуста" in out
    code, out = run("goods", "delete", good.good.id, input="y\n")
    assert code == 0 and "Товар удалён: Пирожок" in out, out
    code, out = run("goods", "groups", "delete", "Выпечка", "--yes")
    assert code == 0 and "Группа товаров удалена" in out, out
    assert _snapshot(home, paired) == ((), ())


@pytest.mark.parametrize(("args", "expected"), [
    (("goods", "add", "Булка", "--price", "12.345"), "не сумма в рублях"),
    (("goods", "add", "Булка", "--price", "-1"), "не сумма в рублях"),
    (("goods", "add", "Булка", "--price", "дорого"), "Пишите рубли с копейками"),
    (("goods", "add", "Булка", "--price", "10000000001"), "не сумма в рублях"),
    (("goods", "add", "  ", "--price", "1"), "Укажите наименование"),
    (("goods", "add", "Булка", "--price", "1", "--vat", "18"), "Допустимые: 20, 10"),
    (("goods", "add", "Булка", "--price", "1", "--group", "Нет такой"),
     "Посмотрите список: kkt-bridge goods"),
    (("goods", "add", "Булка", "--price", "1", "--barcode", "4600000000017"),
     "Укажите другой штрихкод"),
    (("goods", "edit", "Нет такого", "--price", "1"), "товар «Нет такого» не найден"),
    (("goods", "edit", "Сушка", "--name", ""), "Укажите наименование"),
    (("goods", "delete", "Нет такого", "--yes"), "не найден"),
    (("goods", "groups", "add", "Сладкое", "--parent", "Сладкое"), "не найдена"),
    (("goods", "groups", "edit", "Выпечка", "--parent", "Выпечка"),
     "не может входить сама в себя"),
    (("goods", "groups", "delete", "Выпечка", "--yes"), "не пуста"),
])
def test_wrong_input_changes_nothing_and_says_what_to_do(
        paired: str, home: Path, args: tuple[str, ...], expected: str) -> None:
    assert run("goods", "groups", "add", "Выпечка")[0] == 0
    assert run("goods", "add", "Сушка", "--price", "5", "--group", "Выпечка",
               "--barcode", "4600000000017")[0] == 0
    before = _snapshot(home, paired)
    code, out = run(*args)
    assert code == 2, out
    assert out.startswith("Ошибка: ") and expected in out and "Traceback" not in out, out
    assert _snapshot(home, paired) == before


def test_nothing_is_deleted_without_an_answer(paired: str, home: Path) -> None:
    assert run("goods", "add", "Сушка", "--price", "5")[0] == 0
    before = _snapshot(home, paired)
    for answer in ("n\n", ""):  # "no", and no terminal to ask at all
        code, out = run("goods", "delete", "Сушка", input=answer)
        assert code == 7 and "Удалить товар «Сушка»" in out and "--yes" in out, out
        assert _snapshot(home, paired) == before


def test_refused_while_goods_sync_is_on(paired: str, home: Path) -> None:
    assert run("settings", "--goods", "15 мин", "--confirm")[0] == 0
    before = _snapshot(home, paired)
    for args in (("goods", "add", "Булка", "--price", "10"),
                 ("goods", "groups", "add", "Выпечка")):
        code, out = run(*args)
        assert code != 0 and "пока включена синхронизация товаров" in out, out
        assert 'kkt-bridge settings --goods "Никогда"' in out
    assert _snapshot(home, paired) == before
    code, out = run("goods")
    assert code == 0 and "включена" in out


def test_in_english(paired: str, home: Path) -> None:
    code, out = run("--lang", "en", "goods", "add", "Bun", "--price", "abc")
    assert code == 2 and "is not a sum in rubles" in out, out
    code, out = run("--lang", "en", "goods", "add", "Bun", "--price", "25.50")
    assert code == 0 and "Good added: Bun" in out and "RUB 25.50" in out, out
    code, out = run("--lang", "en", "goods")
    assert code == 0 and "Goods groups" in out and "from: register" in out, out
    # turning goods sync on deletes what was added at the register (the seed's warning)
    assert run("settings", "--goods", "15 мин", "--confirm")[0] == 0
    code, out = run("--lang", "en", "goods")
    assert "Bun" not in out and "sync with the back office is on" in out, out
    code, out = run("--lang", "en", "goods", "add", "Bun", "--price", "1")
    assert code != 0 and 'kkt-bridge settings --goods "Never"' in out, out


def test_no_register_paired_says_how_to_pair(home: Path) -> None:
    code, out = run("goods", "add", "Булка", "--price", "10")
    assert code != 0 and "подключите ККТ" in out and "Traceback" not in out, out


def test_a_good_without_vat_is_listed_in_the_uis_words(paired: str) -> None:
    assert run("goods", "add", "Сушка", "--price", "5")[0] == 0
    code, out = run("goods")
    assert code == 0 and "без НДС" in out and "none" not in out, out
    code, out = run("--lang", "en", "goods")
    assert code == 0 and "no VAT" in out and "VAT none" not in out, out
