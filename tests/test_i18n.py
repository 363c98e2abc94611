from __future__ import annotations

from collections.abc import Iterator

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
