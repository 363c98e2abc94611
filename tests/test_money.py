"""The one parser of typed sums: what it prints it reads back, and nothing else is a sum."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.money import format_rubles, parse_rubles, rubles_text


@given(st.integers(min_value=0, max_value=10**13))
def test_printed_sums_read_back(kopecks: int) -> None:
    assert parse_rubles(rubles_text(kopecks)) == kopecks
    assert parse_rubles(rubles_text(kopecks).replace(".", ",")) == kopecks


@pytest.mark.parametrize(("text", "kopecks"), [
    ("45", 4500), ("45,5", 4550), ("45.50", 4550), ("1 200,00", 120000), ("\u00a07", 700)])
def test_as_people_type_them(text: str, kopecks: int) -> None:
    assert parse_rubles(text) == kopecks


@pytest.mark.parametrize("text", ["", "-5", "+5", "1e3", "4.999", "1.2.3", "сто", ".5", "nan"])
def test_anything_else_is_not_a_sum(text: str) -> None:
    assert parse_rubles(text) is None


@given(st.integers(min_value=0, max_value=10**13), st.sampled_from(["ru", "en"]))
def test_sums_for_people_read_back(kopecks: int, lang: str) -> None:
    # what a person reads on a page or in the terminal can be typed (or pasted) back
    assert parse_rubles(format_rubles(kopecks, lang)) == kopecks


@pytest.mark.parametrize(("kopecks", "lang", "text"), [
    (38700, "ru", "387,00\u00a0₽"), (123450, "ru", "1\u00a0234,50\u00a0₽"),
    (5, "ru", "0,05\u00a0₽"), (-4550, "ru", "-45,50\u00a0₽"),
    (123450, "en", "RUB 1,234.50"), (100000000, "en", "RUB 1,000,000.00"),
    (-4550, "en", "RUB -45.50")])
def test_sums_for_people(kopecks: int, lang: str, text: str) -> None:
    assert format_rubles(kopecks, lang) == text


def test_sums_follow_the_ui_language() -> None:
    from kkt_bridge import i18n

    assert format_rubles(4990) == "49,90\u00a0₽"
    with i18n.using_language("en"):
        assert format_rubles(4990) == "RUB 49.90"


@pytest.mark.parametrize("text", ["12,345", "1,234", "1,23.45", "RUB", "₽ 5 ₽"])
def test_english_grouping_needs_a_decimal_point(text: str) -> None:
    # «12,345» is a Russian decimal comma with a digit too many, never twelve thousand
    assert parse_rubles(text) is None
