"""A sum typed wrong is refused with its own reason: what to do about that value, not a
rule the user may already follow (``12,345`` does use a comma, as the README allows)."""

from __future__ import annotations

import pytest

from kkt_bridge.cli.emulator import parse_item
from kkt_bridge.cli.money import rubles
from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import using_language


def refusal(call: object, *args: str) -> str:
    with pytest.raises(ConfigError) as caught:
        call(*args)  # type: ignore[operator]
    return str(caught.value)


@pytest.mark.parametrize(("text", "reason"), [
    ("12,345", "не больше двух знаков"),
    ("12.345", "не больше двух знаков"),
    ("-1", "не может быть отрицательной"),
    ("-0,50", "не может быть отрицательной"),
    ("99999999999", "наибольшей"),
    ("дорого", "через точку или запятую"),
])
def test_each_wrong_sum_says_why(text: str, reason: str) -> None:
    message = refusal(rubles, text, "--cash")
    assert "не сумма в рублях" in message and reason in message, message


def test_the_reasons_are_english_under_lang_en() -> None:
    with using_language("en"):
        message = refusal(rubles, "12,345", "--cash")
    assert "two digits" in message and not any("а" <= ch <= "я" for ch in message), message


@pytest.mark.parametrize(("text", "reason"), [
    ("Хлеб:-1", "не может быть отрицательной"),  # was «позиция задана неверно»
    ("Хлеб:12,345", "не больше двух знаков"),
    ("Хлеб:10:-2", "больше нуля"),  # was the API's «ставка НДС 1…6 (тег 1199)»
    ("Хлеб:10:0", "больше нуля"),
])
def test_an_items_fields_say_what_is_wrong_with_them(text: str, reason: str) -> None:
    message = refusal(parse_item, text)
    assert reason in message and "задана неверно" not in message, message


def test_spaces_around_fields_are_fine() -> None:
    assert parse_item("Хлеб: 5: 2") == {"name": "Хлеб", "price": 500, "quantity": "2"}
