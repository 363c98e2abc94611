"""The emulator page's sale form read into the control API's request."""

from __future__ import annotations

from kkt_bridge.web.emulatorpage import _sale


def test_a_card_payment_is_the_receipts_total_as_the_register_rounds_each_line() -> None:
    fields = {"name1": "Яблоки, кг", "price1": "120,00", "quantity1": "1,5",
              "name2": "Гвозди, кг", "price2": "3,33", "quantity2": "0,5",
              "payment": "electronic"}
    data = _sale(fields)
    # 18000 + 166.5 rounded half up per line: 167
    assert data["payments"] == {"electronic": 18167}
    assert [item["quantity"] for item in data["items"]] == ["1.5", "0.5"]
