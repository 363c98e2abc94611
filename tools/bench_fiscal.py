#!/usr/bin/env python3
"""CPU time to decode a ~600-byte FFD receipt, as a share of its wire time at 115200 baud.

Usage: ``python tools/bench_fiscal.py [--rounds N]``. The target is below 2 %: reading a
document over the link must stay the bottleneck, not decoding it. Figures are CPU time
(``time.process_time``) per document, best of several rounds so a busy machine skews less.

Measured paths:
  decode + to_fns_json  the hot path (hand-written parser, typed document, FNS JSON)
  decode (typed only)   decode_document alone
  to_tree               the tag-level tree
  construct parse       the construct declarations parsing the same bytes (the reference)
  encode                encode_document (what the emulator does per document)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from kkt_bridge.fiscal import (
    Tags,
    decode_document,
    encode_document,
    parse_document,
    to_fns_json,
    to_tree,
)
from kkt_bridge.fiscal.wire import parse_with_construct

BAUD = 115200
BITS_PER_BYTE = 10  # start + 8 data + stop


def _item(name: str, price: int, quantity: str, vat: int) -> Tags:
    amount = int(price * Decimal(quantity))
    return ((1214, 4), (1212, 1), (1030, name), (1079, price), (1023, Decimal(quantity)),
            (1199, vat), (1043, amount), (1197, "шт"))


def sample_receipt() -> tuple[int, Tags]:
    """An FFD 1.05 receipt of about 600 bytes: header requisites, five items, payments."""
    items = [
        _item("Молоко 3,2% 1 л", 8990, "2.000", 2),
        _item("Хлеб бородинский", 4590, "1.000", 2),
        _item("Сыр российский весовой", 69900, "0.354", 2),
        _item("Кофе молотый 250 г", 45900, "1.000", 1),
        _item("Пакет-майка", 500, "1.000", 1),
    ]
    tags: Tags = (
        (1000, "КАССОВЫЙ ЧЕК"), (1209, 2), (1048, 'ООО "Ромашка"'), (1018, "7701234567  "),
        (1042, 82), (1012, datetime(2024, 3, 17, 20, 53)), (1038, 17), (1054, 1), (1055, 1),
        (1021, "Иванова А. А."), (1037, "0000000221017090    "),
        (1009, "г. Москва, ул. Тверская, д. 1"), (1187, "Магазин №1"),
        *((1059, item) for item in items),
        (1020, 141862), (1031, 41862), (1081, 100000), (1215, 0), (1216, 0), (1217, 0),
        (1102, 7733), (1103, 4999), (1060, "www.nalog.gov.ru"), (1040, 82),
        (1041, "9281000100007442"), (1077, bytes.fromhex("31043E0BBFF2")),
    )
    return 3, tags


def cpu_per_call(function: Callable[[], object], rounds: int, number: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(number):
            function()
        best = min(best, (time.process_time() - start) / number)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=500, help="calls per round")
    args = parser.parse_args()

    doc_type, tags = sample_receipt()
    data = encode_document(doc_type, tags)
    assert parse_document(data) == parse_with_construct(data)
    wire = len(data) * BITS_PER_BYTE / BAUD
    print(f"receipt: {len(data)} bytes, wire time at {BAUD} baud: {wire * 1e3:.2f} ms")
    cases: list[tuple[str, Callable[[], object]]] = [
        ("decode + to_fns_json", lambda: to_fns_json(decode_document(data))),
        ("decode (typed only)", lambda: decode_document(data)),
        ("to_tree", lambda: to_tree(data)),
        ("construct parse", lambda: parse_with_construct(data)),
        ("encode", lambda: encode_document(doc_type, tags)),
    ]
    for name, function in cases:
        per_call = cpu_per_call(function, args.rounds, args.number)
        print(f"{name:22} {per_call * 1e6:8.1f} us   {per_call / wire * 100:6.3f} % of wire time")


if __name__ == "__main__":
    main()
