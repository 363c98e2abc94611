"""An error the CLI prints is two sentences: what happened, then what to do, which starts
with a capital letter after the full stop; a command or an option the user types stays as
it is typed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kkt_bridge.cli.main import cli
from kkt_bridge.errors import ConfigError, sentence_start
from kkt_bridge.i18n import set_language


@pytest.mark.parametrize(("lang", "expected"), [
    ("ru", "Ошибка: у {at} нет запущенного эмулятора. Укажите URL управления, который "
           "эмулятор вывел при запуске, или файл --state запущенного эмулятора\n"),
    ("en", "Error: no emulator is running at {at}. Give the control URL the emulator "
           "printed at start, or the --state file of the running emulator\n"),
])
def test_the_hint_is_a_sentence_of_its_own(tmp_path: Path, lang: str, expected: str) -> None:
    at = str(tmp_path / "kkt.json")
    try:
        result = CliRunner().invoke(cli, ["--lang", lang, "emulator", "status", "--at", at])
    finally:
        set_language("ru")
    assert result.exit_code == ConfigError.exit_code
    assert result.output == expected.format(at=at)


@pytest.mark.parametrize(("hint", "shown"), [
    ("укажите --device", "Укажите --device"),
    ("give --driver atol", "Give --driver atol"),
    ("re-pair the register", "Re-pair the register"),
    ("kkt-bridge emulator register", "kkt-bridge emulator register"),
    ("sudo usermod -aG dialout kassa, затем войдите заново",
     "sudo usermod -aG dialout kassa, затем войдите заново"),
    ("--device /dev/ttyACM0", "--device /dev/ttyACM0"),
    ("work_mode: 0..63", "work_mode: 0..63"),
    ("«Петрова А.А.»", "«Петрова А.А.»"),
    ("Already a sentence", "Already a sentence"),
])
def test_what_is_capitalised(hint: str, shown: str) -> None:
    assert sentence_start(hint) == shown
    assert ConfigError("что-то не так", hint).for_people() == f"что-то не так. {shown}"
    assert str(ConfigError("что-то не так", hint)) == f"что-то не так. {hint}"  # unchanged
