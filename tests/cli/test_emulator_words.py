"""``kkt-bridge emulator`` given what a new user gives it: a host that does not resolve, an
address of another computer, a missing or broken profile. Each is said in the UI language,
with a hint that fits (another port does not help an address that is not this computer's),
never in the system's or json's English."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from click.testing import CliRunner

from kkt_bridge.cli.main import cli
from kkt_bridge.errors import os_error_text
from kkt_bridge.i18n import set_language, using_language

ENGLISH_LEAKS = ("Errno", "Name or service", "No such file", "Expecting", "Cannot assign",
                 "Traceback")


def run(*args: str, lang: str = "ru") -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--lang", lang, "emulator", "--no-control", *args])
    set_language("ru")
    return result.exit_code, result.output


@pytest.mark.parametrize(("args", "ru", "en"), [
    (["--tcp", "no-such-host.invalid:5555"], "адрес no-such-host.invalid не найден",
     "address no-such-host.invalid not found"),
    # TEST-NET-1: never an address of this computer
    (["--tcp", "192.0.2.1:5555"], "такого адреса нет у этого компьютера",
     "this computer has no such address"),
])
def test_an_address_that_is_not_this_computers(args: list[str], ru: str, en: str) -> None:
    code, out = run(*args)
    assert code != 0 and ru in out and "--tcp 127.0.0.1:5555" in out, out
    assert "другой порт" not in out  # another port would not help
    assert not any(leak in out for leak in ENGLISH_LEAKS), out
    code, out = run(*args, lang="en")
    assert code != 0 and en in out and out.isascii(), out


def test_a_profile_that_is_missing_or_not_json(tmp_path: Path) -> None:
    code, out = run("--profile", str(tmp_path / "missing.json"))
    assert code == 2 and "нет такого файла или каталога" in out, out
    broken = tmp_path / "broken.json"
    broken.write_text('{"inn": "7701234560",\n}', encoding="utf-8")
    code, out = run("--profile", str(broken))
    assert code == 2 and "не является JSON: ошибка в строке 2, позиция 1" in out, out
    code, out = run("--profile", str(broken), lang="en")
    assert "is not JSON: a mistake at line 2, position 1" in out, out
    for text in (out, run("--profile", str(tmp_path / "missing.json"))[1]):
        assert not any(leak in text for leak in ENGLISH_LEAKS), text


@pytest.mark.parametrize("content", [b"garbage\n", b"\xff\xfe"])
def test_a_state_file_that_is_not_json_is_said_in_words(tmp_path: Path,
                                                        content: bytes) -> None:
    state = tmp_path / "kkt.json"
    state.write_bytes(content)
    code, out = run("--tcp", "127.0.0.1:0", "--state", str(state))
    assert code != 0 and "повреждено (не JSON)" in out, out
    assert not any(leak in out for leak in (*ENGLISH_LEAKS, "codec", "char 0")), out
    code, out = run("--tcp", "127.0.0.1:0", "--state", str(state), lang="en")
    assert "is corrupt (not JSON)" in out and out.isascii(), out
    assert state.read_bytes() == content  # nothing written over it


@pytest.mark.parametrize("code", [errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.ENOSPC,
                                  errno.EROFS])
def test_file_errors_are_translated(code: int) -> None:
    error = OSError(code, "English text from the system")
    assert "English" not in os_error_text(error)
    with using_language("en"):
        assert "English" not in os_error_text(error) and os_error_text(error).isascii()


@pytest.mark.parametrize(("made_by", "then"), [("atol", "shtrih"), ("shtrih", "atol")])
def test_a_state_file_of_the_other_protocol_is_refused(tmp_path: Path, made_by: str,
                                                       then: str) -> None:
    from kkt_bridge.driverapi import get_emulator
    from kkt_bridge.emulation import Emulator

    state = tmp_path / "kkt.json"
    Emulator(get_emulator(made_by), pty=False, tcp=None, state_path=state).stop()
    saved = state.read_bytes()
    code, out = run("--driver", then, "--tcp", "127.0.0.1:0", "--state", str(state))
    assert code == 2 and f"ККТ другого протокола ({made_by})" in out, out
    assert f"--driver {made_by}" in out
    assert state.read_bytes() == saved  # nothing written over the other register
    code, out = run("--driver", then, "--tcp", "127.0.0.1:0", "--state", str(state),
                    lang="en")
    assert f"another protocol ({made_by})" in out and out.isascii(), out


def test_a_second_emulator_on_a_running_ones_state_file_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    state = tmp_path / "kkt.json"
    kkt_bridge = str(Path(sys.executable).with_name("kkt-bridge"))
    first = subprocess.Popen([kkt_bridge, "emulator", "--tcp", "127.0.0.1:0", "--state",
                              str(state)], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None
        first.stdout.readline()
        control = first.stdout.readline().split()[1]
        archive = state.with_name("kkt.json.archive").read_bytes()
        code, out = run("--tcp", "127.0.0.1:0", "--state", str(state))
        assert code == 2 and "уже запущен" in out and control in out, out
        assert state.with_name("kkt.json.control").read_text().strip() == control
        assert state.with_name("kkt.json.archive").read_bytes() == archive
    finally:
        first.terminate()
        first.wait(10)
    # once it is gone, its state file is free again (a control file left by a killed
    # emulator would not stand in the way either: nothing answers there)
    state.with_name("kkt.json.control").write_text(control + "\n")
    result = CliRunner().invoke(cli, ["emulator", "status", "--at", str(state)])
    assert result.exit_code != 0
    from kkt_bridge.cli.emulator import _running_on

    assert _running_on(state) is None


def test_a_demo_home_that_cannot_be_made_is_said_not_traced(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    home = blocker / "demo"  # under a file: no one can make it, root included
    for lang, words in (("ru", "не удалось создать каталог"),
                        ("en", "cannot create the directory")):
        result = CliRunner().invoke(cli, ["--lang", lang, "demo", "--once", "--home",
                                          str(home)])
        set_language("ru")
        assert result.exit_code == 2 and words in result.output, result.output
        assert "--home" in result.output and "Traceback" not in result.output
        assert not any(leak in result.output for leak in ENGLISH_LEAKS), result.output


def test_a_busy_page_port_is_said_in_words_with_the_option_to_change(tmp_path: Path) -> None:
    """The demo's page port taken: the system's «Address already in use» and a hint with
    «kkt-bridge run --port» were shown to who ran kkt-bridge demo."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for lang, words in (("ru", f"порт {port} для страницы kkt-bridge недоступен: адрес "
                                   "уже занят другой программой"),
                            ("en", f"port {port} for the kkt-bridge page is unavailable: the "
                                   "address is in use by another program")):
            result = CliRunner().invoke(cli, ["--lang", lang, "demo", "--once", "--home",
                                              str(tmp_path / lang), "--port", str(port)])
            set_language("ru")
            assert result.exit_code == 2 and words in result.output, result.output
            assert "--port" in result.output and "run --port" not in result.output
            assert not any(leak in result.output for leak in (*ENGLISH_LEAKS, "Address")), (
                result.output)


@pytest.mark.parametrize(("text", "vat"), [("Хлеб:49.90:1:20%", 1), ("Хлеб:49.90:2:10 %", 2),
                                           ("Хлеб:49.90:1:0%", 5)])
def test_a_vat_rate_with_its_percent_sign(text: str, vat: int) -> None:
    from kkt_bridge.cli.emulator import parse_item
    from kkt_bridge.cli.money import vat_code

    assert parse_item(text)["vat"] == vat and parse_item(text)["name"] == "Хлеб"
    assert vat_code("20%") == 1  # goods add --vat 20% as well
    code, out = run("sell", "--at", "http://127.0.0.1:9/x", "--item", "Хлеб:49.90:1:15%")
    assert code == 2 and "ставка НДС «15%» неизвестна" in out, out


@pytest.mark.parametrize(("lang", "words"), [("ru", "адрес управления"),
                                             ("en", "the control address")])
def test_the_emulators_help_says_what_it_prints_and_what_takes_it(lang: str,
                                                                  words: str) -> None:
    # a fresh process: this one defined the command's help in the language of its import
    import subprocess
    import sys

    done = subprocess.run([str(Path(sys.executable).with_name("kkt-bridge")), "--lang", lang,
                           "emulator", "--help"], capture_output=True, text=True, timeout=60,
                          check=True)
    text = " ".join(done.stdout.split())  # as click wraps it
    assert words in text and "control http://" in text and "--at" in text, text
