"""Arrays packed by hand (plugins/reference/storage/pgarrays.py) reach PostgreSQL as the
values they were made of, empty ones and awkward elements included."""

from __future__ import annotations

from typing import Any

import psycopg

from kkt_bridge.plugins.reference.storage import pgarrays

CASES: list[tuple[Any, str, list[Any]]] = [
    (pgarrays.int8_array, "bigint[]", [1, -1, 0, 2**63 - 1, -(2**63)]),
    (pgarrays.int8_array, "bigint[]", []),
    (pgarrays.text_array, "text[]", ["", "Товар «1»", '{"a": "\\"q\\""}', "x,y", "NULL"]),
    (pgarrays.text_array, "text[]", []),
    (pgarrays.bytea_array, "bytea[]", [b"", b"\x00\xff\x00", bytes(range(256))]),
    (pgarrays.float8_array, "float8[]", [0.0, -1.5, 1.0e300, 1.7e9]),
]


def test_packed_arrays_arrive_as_their_values(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, client_encoding="UTF8") as conn:
        pgarrays.register_dumpers(conn.adapters)
        for pack, kind, values in CASES:
            row = conn.execute(f"SELECT %b::{kind}, cardinality(%b::{kind})",
                               (pack(values), pack(values))).fetchone()
            assert row is not None
            assert (row[0] or [], row[1]) == (values, len(values)), kind
