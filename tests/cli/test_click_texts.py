"""click's own texts follow the UI language: Russian from ``locale/ru/LC_MESSAGES/*.po``,
English as click writes them; the y/N question takes «д»/«да»/«н»/«нет» in Russian."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kkt_bridge import i18n
from kkt_bridge.cli.clicktext import install_click_texts
from kkt_bridge.cli.main import cli


@pytest.fixture(autouse=True)
def _routed() -> Iterator[None]:
    install_click_texts()
    yield


@click.command("probe")
@click.option("--mode", type=click.Choice(["fast", "slow"]), required=True)
@click.option("--ask", is_flag=True)
@click.option("--count", type=click.IntRange(1, 10), default=1, show_default=True)
def probe(mode: str, ask: bool, count: int) -> None:
    if ask:
        click.echo(f"answer={click.confirm('Удалить?')}")


def _run(lang: str, args: list[str], stdin: str | None = None) -> click.testing.Result:
    with i18n.using_language(lang):
        return CliRunner().invoke(probe, args, input=stdin)


# what click hands to gettext by value, not as a literal
BY_VALUE = {"required"}


def click_messages() -> set[str]:
    """Every text click's modules hand to gettext (singular forms; plurals by both)."""
    found: set[str] = set(BY_VALUE)
    for path in Path(click.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "ngettext")):
                found |= {arg.value for arg in node.args
                          if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
    return found


def test_every_click_text_has_a_russian_entry() -> None:
    russian = i18n.load_catalog("ru")
    plurals = {msgid for msgid in click_messages() if msgid not in russian}
    # a plural msgid_plural is not a key of its own: it must be the plural of an entry
    catalog_text = "\n".join(p.read_text(encoding="utf-8") for p in i18n.catalog_files("ru"))
    missing = {msgid for msgid in plurals if f'msgid_plural "{msgid}"' not in catalog_text}
    assert len(click_messages()) > 50  # the scan does find click's texts
    assert not missing, f"click texts without a Russian entry: {sorted(missing)}"


@pytest.mark.parametrize(("lang", "expected"), [
    ("ru", ["Использование: probe [OPTIONS]", "Справка: 'probe --help'.",
            "Ошибка: Не указан параметр '--mode'."]),
    ("en", ["Usage: probe [OPTIONS]", "Try 'probe --help' for help.",
            "Error: Missing option '--mode'."]),
])
def test_missing_option(lang: str, expected: list[str]) -> None:
    result = _run(lang, [])
    assert result.exit_code == 2
    for line in expected:
        assert line in result.output


@pytest.mark.parametrize(("lang", "expected"), [
    ("ru", "Недопустимое значение '--mode': 'medium' — не одно из: 'fast', 'slow'."),
    ("en", "Invalid value for '--mode': 'medium' is not one of 'fast', 'slow'."),
])
def test_invalid_choice(lang: str, expected: str) -> None:
    assert expected in _run(lang, ["--mode", "medium"]).output


@pytest.mark.parametrize(("lang", "args", "expected"), [
    ("ru", ["--count", "x"], "Недопустимое значение '--count': 'x' — не число."),
    ("en", ["--count", "x"], "Invalid value for '--count': 'x' is not a valid integer range."),
    ("ru", ["--count", "11"], "Недопустимое значение '--count': 11 вне диапазона 1<=x<=10."),
    ("en", ["--count", "11"], "Invalid value for '--count': 11 is not in the range 1<=x<=10."),
])
def test_invalid_numbers(lang: str, args: list[str], expected: str) -> None:
    assert expected in _run(lang, ["--mode", "fast", *args]).output


@pytest.mark.parametrize(("lang", "expected"), [
    ("ru", "Лишние аргументы (a b)"), ("en", "Got unexpected extra arguments (a b)"),
])
def test_plural_texts(lang: str, expected: str) -> None:
    assert expected in _run(lang, ["--mode", "fast", "a", "b"]).output


@pytest.mark.parametrize(("count", "form"), [(1, "значение"), (3, "значения"), (5, "значений"),
                                             (21, "значение"), (12, "значений")])
def test_russian_plural_forms(count: int, form: str) -> None:
    with i18n.using_language("ru"):
        text = i18n.ngettext_foreign("Option {name!r} requires an argument.",
                                     "Option {name!r} requires {nargs} arguments.", count)
    assert text.endswith(f"{form}.")


def test_the_scan_knows_every_text_click_passes_by_value() -> None:
    by_value = {ast.unparse(node) for path in Path(click.__file__).parent.glob("*.py")
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "ngettext")
                and not isinstance(node.args[0], ast.Constant)}
    # a new one here needs its value in BY_VALUE (and in the Russian catalog)
    assert by_value == {"_(extra['required'])"}


@pytest.mark.parametrize(("lang", "words"), [
    ("ru", ["Использование:", "Параметры:", "Команды:", "Показать эту справку и выйти.",
            "Показать версию и выйти.", "мост между ККТ и бэк-офисом", "Найти подключённые ККТ."]),
    ("en", ["Usage:", "Options:", "Commands:", "Show this message and exit.",
            "Show the version and exit.", "a bridge between", "Find connected registers."]),
])
def test_the_main_help(lang: str, words: list[str]) -> None:
    # twice in one process, the other language in between: nothing sticks from before
    for first in ("ru", "en"):
        with i18n.using_language(first):
            CliRunner().invoke(cli, ["--help"])
        with i18n.using_language(lang):
            output = CliRunner().invoke(cli, ["--help"]).output
        for word in words:
            assert word in output


@pytest.mark.parametrize(("lang", "expected"), [("ru", "kkt-bridge, версия "),
                                                ("en", "kkt-bridge, version ")])
def test_version(lang: str, expected: str) -> None:
    with i18n.using_language(lang):
        assert CliRunner().invoke(cli, ["--version"], prog_name="kkt-bridge").output.startswith(
            expected)


@pytest.mark.parametrize(("answer", "expected"), [
    ("д", True), ("да", True), ("Да", True), ("y", True), ("yes", True),
    ("н", False), ("нет", False), ("n", False), ("", False),
])
def test_russian_confirmation(answer: str, expected: bool) -> None:
    result = _run("ru", ["--mode", "fast", "--ask"], f"{answer}\n")
    assert "Удалить? [д/Н]: " in result.output
    assert f"answer={expected}" in result.output


@pytest.mark.parametrize(("answer", "expected"), [("y", True), ("yes", True), ("no", False)])
def test_english_confirmation(answer: str, expected: bool) -> None:
    result = _run("en", ["--mode", "fast", "--ask"], f"{answer}\n")
    assert "[y/N]: " in result.output
    assert f"answer={expected}" in result.output


@pytest.mark.parametrize(("lang", "complaint", "answer"), [
    ("ru", "Ошибка: ответьте «да» или «нет»", "д"),
    ("en", "Error: answer yes or no", "y"),
])
def test_an_answer_not_understood_is_asked_again(lang: str, complaint: str, answer: str) -> None:
    # «да» is not an English answer; «maybe» is no answer at all
    result = _run(lang, ["--mode", "fast", "--ask"], f"maybe\n{answer}\n")
    assert complaint in result.output
    assert "answer=True" in result.output


@pytest.mark.parametrize(("lang", "expected"), [("ru", "Прервано."), ("en", "Aborted!")])
def test_aborted(lang: str, expected: str) -> None:
    result = _run(lang, ["--mode", "fast", "--ask"], "")  # Ctrl-D at the question
    assert result.exit_code == 1
    assert expected in result.output


def test_a_yes_or_no_default_of_none_asks_until_answered() -> None:
    with i18n.using_language("ru"):
        result = CliRunner().invoke(
            click.command()(lambda: click.echo(f"answer={click.confirm('Ок?', default=None)}")),
            input="\nнет\n")
    assert result.output.count("Ок? [д/н]: ") == 2
    assert "answer=False" in result.output


@pytest.mark.parametrize(("answer", "reset"), [("да", True), ("д", True), ("нет", False),
                                               ("н", False), ("", False)])
def test_reset_asks_in_russian(answer: str, reset: bool) -> None:
    # the real command, through the real group: click.confirm is the Russian one there too
    result = CliRunner().invoke(cli, ["reset"], input=f"{answer}\n")
    assert "Сбросить? [д/Н]: " in result.output
    assert (result.exit_code, "Сброшено." in result.output) == ((0, True) if reset else (1, False))


@pytest.mark.parametrize(("lang", "words"), [
    ("ru", ["[обязательный]", "[по умолчанию: 1; 1<=x<=10]"]),
    ("en", ["[required]", "[default: 1; 1<=x<=10]"]),
])
def test_a_commands_help(lang: str, words: list[str]) -> None:
    output = _run(lang, ["--help"]).output
    for word in words:
        assert word in output
