"""``kkt-bridge fn decode`` and ``fn read`` through click's runner, with a fake register."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fiscal_samples import FISCAL_SIGN, RECEIPT_105, REGISTRATION, SHIFT_OPEN

from kkt_bridge.cli import fn as fn_cli
from kkt_bridge.cli.main import cli
from kkt_bridge.errors import PortNotFoundError
from kkt_bridge.fiscal import encode_document
from kkt_bridge.kkt import FnStatus

RECEIPT_BYTES = encode_document(3, RECEIPT_105)


class FakeKkt:
    """Just enough of the Kkt interface for ``fn read``: an archive of documents."""

    def __init__(self, archive: dict[int, bytes]) -> None:
        self.archive = archive
        self.closed = False
        self.requested: tuple[int, int] | None = None

    def fn_status(self) -> FnStatus:
        return FnStatus(fn_number="9281000100007442", lifecycle=3, shift_open=True,
                        last_fd_number=max(self.archive), last_document_at=None)

    def iter_documents(self, first: int, last: int) -> Iterator[tuple[int, bytes]]:
        self.requested = (first, last)
        for number in range(first, last + 1):
            yield number, self.archive[number]

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeKkt:
    kkt = FakeKkt({1: encode_document(1, REGISTRATION), 2: encode_document(2, SHIFT_OPEN),
                   3: RECEIPT_BYTES})
    opened: list[tuple[str, str | None]] = []

    def open_register(url: str, *, driver: str | None = None) -> FakeKkt:
        opened.append((url, driver))
        return kkt

    monkeypatch.setattr(fn_cli, "open_register", open_register)
    kkt.opened = opened  # type: ignore[attr-defined]
    return kkt


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_decode_prints_fns_json(tmp_path: Path) -> None:
    path = tmp_path / "doc.bin"
    path.write_bytes(RECEIPT_BYTES)
    result = run("fn", "decode", str(path))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["fiscalSign"] == FISCAL_SIGN
    assert out["items"][0]["name"] == "Молоко 3,2% 1 л"


def test_decode_accepts_hex_text(tmp_path: Path) -> None:
    path = tmp_path / "doc.hex"
    hex_text = RECEIPT_BYTES.hex()
    path.write_text(" ".join(hex_text[i:i + 32] for i in range(0, len(hex_text), 32)) + "\n")
    result = run("fn", "decode", str(path))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fiscalSign"] == FISCAL_SIGN


def test_decode_tree_format(tmp_path: Path) -> None:
    path = tmp_path / "doc.bin"
    path.write_bytes(RECEIPT_BYTES)
    result = run("fn", "decode", str(path), "--format", "tree", "--no-indent")
    assert result.exit_code == 0
    tree = json.loads(result.stdout)
    assert tree["tag"] == 3 and tree["children"][0]["tag"] == 1000


@pytest.mark.parametrize("cut", [0, 3, 10, len(RECEIPT_BYTES) - 1])
def test_decode_truncated_file_is_a_clear_error(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "cut.bin"
    path.write_bytes(RECEIPT_BYTES[:cut])
    result = run("fn", "decode", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Ошибка: ")
    assert "смещение" in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_decode_corrupt_file(tmp_path: Path) -> None:
    data = bytearray(RECEIPT_BYTES)
    data[7] = 0xFF  # the first TLV's length now runs past the document
    path = tmp_path / "bad.bin"
    path.write_bytes(bytes(data))
    result = run("fn", "decode", str(path))
    assert result.exit_code == 1
    assert "обрезано значение тега 1000" in result.stderr


def test_read_prints_one_json_per_line(fake: FakeKkt) -> None:
    result = run("fn", "read", "--device", "socket://127.0.0.1:7778")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [json.loads(line)["receiptCode"] for line in lines] == [1, 2, 3]
    assert fake.requested == (1, 3)  # --to defaults to the ФН's last document
    assert fake.closed
    assert fake.opened == [("socket://127.0.0.1:7778", None)]  # type: ignore[attr-defined]
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_read_range_driver_and_raw_format(fake: FakeKkt) -> None:
    result = run("fn", "read", "--device", "/dev/ttyACM0", "--driver", "shtrih",
                 "--from", "2", "--to", "3", "--format", "raw")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [{"fiscalDocumentNumber": 2, "hex": fake.archive[2].hex()},
                     {"fiscalDocumentNumber": 3, "hex": RECEIPT_BYTES.hex()}]
    assert fake.opened == [("/dev/ttyACM0", "shtrih")]  # type: ignore[attr-defined]


def test_read_tree_format(fake: FakeKkt) -> None:
    result = run("fn", "read", "--device", "x", "--from", "3", "--format", "tree")
    assert result.exit_code == 0
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["name"] == "Кассовый чек"


def test_read_shows_progress_only_on_a_terminal(fake: FakeKkt,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fn_cli, "stderr_is_terminal", lambda: True)
    result = run("fn", "read", "--device", "x")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 3  # stdout stays pure JSON lines
    assert all(line.startswith("{") for line in result.stdout.splitlines())


def test_read_corrupt_document_reports_and_continues(fake: FakeKkt) -> None:
    fake.archive[2] = fake.archive[2][:-3]
    result = run("fn", "read", "--device", "x")
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("receiptCode") for line in lines] == [1, None, 3]
    assert lines[1]["fiscalDocumentNumber"] == 2 and "error" in lines[1]
    assert "ФД 2" in result.stderr
    assert "Traceback" not in result.output
    assert fake.closed


@pytest.mark.parametrize(("first", "last"), [("5", "4"), ("5", "2")])
def test_read_a_reversed_range_is_an_error(fake: FakeKkt, first: str, last: str) -> None:
    result = run("fn", "read", "--device", "x", "--from", first, "--to", last)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"--from {first} больше --to {last}" in result.stderr
    assert "Traceback" not in result.output
    assert fake.opened == []  # type: ignore[attr-defined]  # refused before opening


def test_read_past_the_last_document_says_there_is_none(fake: FakeKkt) -> None:
    result = run("fn", "read", "--device", "x", "--from", "5")
    assert result.exit_code == 0 and result.stdout == ""
    assert "нет документов" in result.stderr


def test_read_link_error_is_reported_without_traceback(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    def missing(url: str, *, driver: str | None = None) -> FakeKkt:
        raise PortNotFoundError(f"порт {url} не найден", "проверьте кабель")

    monkeypatch.setattr(fn_cli, "open_register", missing)
    result = run("fn", "read", "--device", "/dev/ttyACM9")
    assert result.exit_code == PortNotFoundError.exit_code
    assert "порт /dev/ttyACM9 не найден" in result.stderr
    assert "Traceback" not in result.output


def _names(node: dict[str, object]) -> list[str]:
    """Every ``name`` in a tree, depth first."""
    children = node.get("children") or []
    assert isinstance(children, list)
    return [str(node["name"]), *(name for child in children for name in _names(child))]


def _without_names(node: dict[str, object]) -> dict[str, object]:
    out = {key: value for key, value in node.items() if key != "name"}
    if "children" in node:
        assert isinstance(node["children"], list)
        out["children"] = [_without_names(child) for child in node["children"]]
    return out


def test_read_tree_names_follow_the_ui_language(fake: FakeKkt) -> None:
    russian = run("fn", "read", "--device", "x", "--from", "3", "--format", "tree")
    english = run("--lang", "en", "fn", "read", "--device", "x", "--from", "3",
                  "--format", "tree")
    assert russian.exit_code == 0 and english.exit_code == 0, english.output
    ru_tree, en_tree = json.loads(russian.stdout), json.loads(english.stdout)
    assert ru_tree["name"] == "Кассовый чек" and en_tree["name"] == "Receipt"
    by_tag = {child["tag"]: child["name"] for child in en_tree["children"]}
    assert by_tag[1020] == "receipt total" and by_tag[1077] == "fiscal sign"
    assert not [name for name in _names(en_tree) if re.search("[а-яё]", name, re.I)]
    assert "фискальный признак документа" in _names(ru_tree)  # Russian unchanged by default
    # only the words for people change: tags, machine keys, offsets and values do not
    assert _without_names(en_tree) == _without_names(ru_tree)


def test_fns_json_is_the_same_in_english(fake: FakeKkt) -> None:
    russian = run("fn", "read", "--device", "x", "--format", "fns")
    english = run("--lang", "en", "fn", "read", "--device", "x", "--format", "fns")
    assert russian.exit_code == 0 and english.exit_code == 0, english.output
    assert english.stdout == russian.stdout
