"""The page's language: choice per request, every template message translated, dates, sums."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest

from kkt_bridge.i18n import load_catalog
from kkt_bridge.web.pagetext import (
    PageText,
    accepted_language,
    choose_language,
    money_input,
    parse_money,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "kkt_bridge" / "web" / "templates"
# _("...") or _('...') in a template: the page's messages that Python's scan cannot see
TEMPLATE_MESSAGE = re.compile(r"""_\(\s*(?:"([^"]+)"|'([^']+)')\s*\)""")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def template_messages() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(TEMPLATES.glob("*.html")):
        for match in TEMPLATE_MESSAGE.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match.group(1) or match.group(2), []).append(path.name)
    return found


def test_the_template_scan_finds_messages() -> None:
    messages = template_messages()
    for seed_word in ("Подключить ККТ", "Код синхронизации", "Подключить", "Сохранить",
                      "Экспорт товаров", "Экспорт сотрудников", "Обновить сейчас",
                      "Экспорт чеков настроен автоматически", "Соединение установлено",
                      "Изменить настройки обновления", "Настроить подключение",
                      "Настройки – Подключение к кабинету"):
        assert seed_word in messages, seed_word


def test_every_template_message_has_an_english_entry() -> None:
    catalog = load_catalog("en")
    missing = {m: files for m, files in template_messages().items()
               if not catalog.get(m, "").strip()}
    assert not missing, f"no English translation for: {missing}"


def test_no_russian_outside_messages_in_templates() -> None:
    """Every Russian word a template shows goes through _(); comments are for developers."""
    for path in sorted(TEMPLATES.glob("*.html")):
        text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)
        text = TEMPLATE_MESSAGE.sub("", text)
        bare = CYRILLIC.findall(text)
        assert not bare, f"{path.name}: Russian outside _(): {''.join(bare)[:80]}"


@pytest.mark.parametrize(("cookie", "header", "expected"), [
    (None, None, "ru"),
    (None, "en-US,en;q=0.9", "en"),
    (None, "de-DE,de;q=0.9,en;q=0.5,ru;q=0.7", "ru"),
    (None, "de-DE", "ru"),
    (None, "ru;q=0, en", "en"),
    ("en", "ru-RU", "en"),
    ("ru", "en", "ru"),
    ("fr", "en", "en"),
    (None, "en;q=abc, ru;q=0.1", "ru"),
])
def test_language_choice(cookie: str | None, header: str | None, expected: str) -> None:
    assert choose_language(cookie, header) == expected


def test_accept_language_without_a_supported_one() -> None:
    assert accepted_language("zh-CN, ja") is None


def test_messages_per_language_without_global_state() -> None:
    assert PageText("ru")("Подключить ККТ") == "Подключить ККТ"
    assert PageText("en")("Подключить ККТ") == "Connect the register"
    assert PageText("en")("нет такого сообщения") == "нет такого сообщения"


def test_dates_and_sums() -> None:
    moment = datetime(2026, 12, 6, 17, 40)
    assert PageText("ru").when(moment) == "06.12.2026 17:40"
    assert PageText("en").when(moment) == "6 Dec 2026, 17:40"
    assert PageText("ru").day(date(2027, 3, 1)) == "01.03.2027"
    assert PageText("en").day("2027-03-01") == "1 Mar 2027"
    assert PageText("ru").when(None) == PageText("en").day(None) == "—"
    assert PageText("ru").money(123456) == "1\u00a0234,56\u00a0₽"
    assert PageText("en").money(123456) == "RUB 1,234.56"


@pytest.mark.parametrize(("text", "kopecks"), [
    ("45", 4500), ("45,5", 4550), ("45.50", 4550), ("1 200,00", 120000), ("0.07", 7),
    ("", None), ("abc", None), ("1.2.3", None), ("-5", None), ("4.555", None), (",5", None),
])
def test_parse_money(text: str, kopecks: int | None) -> None:
    assert parse_money(text) == kopecks
    if kopecks is not None:
        assert parse_money(money_input(kopecks)) == kopecks
