"""The one parser of typed sums: what it prints it reads back, and nothing else is a sum."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.money import parse_rubles, rubles_text


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
