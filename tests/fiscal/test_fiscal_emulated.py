"""``fn read`` and ``fn decode`` against the emulated register, through the real driver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from kkt_bridge.cli.main import cli
from kkt_bridge.fiscal import Receipt, decode_document, to_fns_json


def test_fn_read_over_tcp_matches_the_archive(kkt_emulator: Any) -> None:
    kkt_emulator.open_shift()
    sale = kkt_emulator.sell([("Хлеб", 4990, 2)], {"cash": 10000})
    archive = kkt_emulator.archive()

    result = CliRunner().invoke(cli, ["fn", "read", "--device", kkt_emulator.tcp_url])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [to_fns_json(decode_document(raw)) for raw in archive]
    receipt = lines[-1]
    assert receipt["receiptCode"] == 3
    assert receipt["fiscalDocumentNumber"] == sale.fd_number
    assert receipt["fiscalSign"] == sale.fiscal_sign  # 1077 bytes [2..5] == the u32 answer
    assert receipt["items"][0]["name"] == "Хлеб"
    assert receipt["totalSum"] == 9980


def test_fn_decode_of_an_emulated_receipt(kkt_emulator: Any, tmp_path: Path) -> None:
    kkt_emulator.open_shift()
    kkt_emulator.sell([("Молоко", 8990)])
    raw = kkt_emulator.archive()[-1]
    doc = decode_document(raw)
    assert isinstance(doc, Receipt)
    assert doc.items[0].price == 8990
    path = tmp_path / "receipt.bin"
    path.write_bytes(raw)
    result = CliRunner().invoke(cli, ["fn", "decode", str(path), "--format", "tree"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["tag"] == 3
