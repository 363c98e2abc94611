from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kkt_bridge import i18n


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    i18n.set_language("ru")


def test_russian_is_default_and_needs_no_catalog() -> None:
    assert i18n.set_language("ru") == "ru"
    assert i18n._("Соединение установлено") == "Соединение установлено"


def test_english_catalog() -> None:
    i18n.set_language("en")
    assert i18n._("Соединение установлено") == "Connection established"
    assert i18n._("Подключить ККТ") == "Connect the register"
    # an untranslated message falls back to the Russian source, never to an empty string
    assert i18n._("нет такого сообщения") == "нет такого сообщения"


def test_unknown_language_falls_back_to_russian() -> None:
    assert i18n.set_language("de_DE") == "ru"


def test_every_english_entry_is_translated() -> None:
    catalog = i18n.load_catalog("en")
    assert catalog, "the English catalog is empty"
    assert all(value.strip() for value in catalog.values())


def test_po_parser_joins_continuation_lines() -> None:
    text = 'msgid ""\nmsgstr "h"\n\nmsgid "а"\n"б"\nmsgstr "a"\n"b"\n'
    assert i18n.parse_po(text) == {"аб": "ab"}


def test_the_po_reader_takes_plurals_comments_and_escapes() -> None:
    text = ('# a comment\nmsgid ""\nmsgstr ""\n"Language: en\\n"\n\n'
            '#: somewhere.py:1\nmsgid "кавычка \\" и\\nперевод"\nmsgstr "quote \\" and\\nbreak"\n\n'
            'msgid "файл"\nmsgid_plural "файлы"\nmsgstr[0] "file"\nmsgstr[1] "files"\n\n'
            'msgid "пусто"\nmsgstr ""\n\n#, fuzzy\nmsgid "черновик"\nmsgstr "draft"\n')
    assert i18n.parse_po(text) == {'кавычка " и\nперевод': 'quote " and\nbreak', "файл": "file"}


def test_area_files_are_merged_main_catalog_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    for name, msgid in (("web.po", "Страница"), ("kkt_bridge.po", "Касса"), ("atol.po", "Атол")):
        (folder / name).write_text(f'msgid "{msgid}"\nmsgstr "{msgid} en"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    assert [path.name for path in i18n.catalog_files("en")] == ["kkt_bridge.po", "atol.po",
                                                                "web.po"]
    assert i18n.load_catalog("en") == {"Касса": "Касса en", "Атол": "Атол en",
                                       "Страница": "Страница en"}
    i18n.set_language("en")
    assert [i18n._(word) for word in ("Касса", "Атол", "Страница")] == [
        "Касса en", "Атол en", "Страница en"]


def test_set_language_is_the_default_and_a_scope_overrides_it() -> None:
    i18n.set_language("en")
    assert i18n.language() == "en"
    with i18n.using_language("ru") as chosen:
        assert chosen == "ru"
        assert i18n._("Соединение установлено") == "Соединение установлено"
        with i18n.using_language("en-GB"):
            assert i18n._("Соединение установлено") == "Connection established"
        assert i18n.language() == "ru"
    assert i18n._("Соединение установлено") == "Connection established"


def test_threads_answer_in_their_own_language_at_the_same_time() -> None:
    # both threads hold their scope open at once: each must still read its own language
    barrier = threading.Barrier(2, timeout=10)
    seen: dict[str, list[str]] = {}

    def answer(lang: str) -> None:
        with i18n.using_language(lang):
            words = []
            for _round in range(3):
                barrier.wait()
                words.append(i18n._("Соединение установлено"))
            seen[lang] = words

    threads = [threading.Thread(target=answer, args=(lang,)) for lang in ("ru", "en")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert seen == {"ru": ["Соединение установлено"] * 3,
                    "en": ["Connection established"] * 3}


def test_async_tasks_answer_in_their_own_language() -> None:
    async def answer(lang: str) -> list[str]:
        words = []
        with i18n.using_language(lang):
            for _round in range(3):
                await asyncio.sleep(0)  # the other task runs in between
                words.append(i18n._("Подключить ККТ"))
        return words

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(answer("en"), answer("ru")))

    assert asyncio.run(both()) == [["Connect the register"] * 3, ["Подключить ККТ"] * 3]


@pytest.mark.parametrize(("header", "expected"), [
    ("en-US,en;q=0.9", "en"),
    ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
    ("de-DE,de;q=0.9,en;q=0.5", "en"),
    ("en;q=0.4, ru;q=0.6", "ru"),
    ("fr;q=1, en;q=0.1", "en"),
    ("EN", "en"),
    ("en_US", "en"),
    ("en, ru", "en"),
    ("ru, en", "ru"),
    ("en;q=0, ru;q=0.1", "ru"),
    ("en;q=0", "ru"),
    ("en;q=abc", "ru"),
    ("en;q=1.5", "ru"),
    ("de", "ru"),
    ("*", "ru"),
    ("", "ru"),
    (None, "ru"),
    (",,;;=", "ru"),
])
def test_negotiate(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_a_fuzzy_entry_is_not_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "kkt_bridge.po").write_text(
        '#, fuzzy\nmsgid "Черновик"\nmsgstr "Draft"\n\nmsgid "Готово"\nmsgstr "Done"\n',
        encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.set_language("en")
    assert (i18n._("Черновик"), i18n._("Готово")) == ("Черновик", "Done")
