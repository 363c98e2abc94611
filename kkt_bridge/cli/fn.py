"""``kkt-bridge fn``: the fiscal storage's archive, read from a register or decoded from a file.

``fn decode FILE`` prints one document's JSON; ``fn read --device URL`` prints the documents of
a range, one JSON per line on stdout (progress goes to stderr, and only to a terminal, so the
output stays clean for pipes).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, Protocol

import click

from kkt_bridge.errors import DocumentError, KktBridgeError
from kkt_bridge.i18n import _
from kkt_bridge.registers import open_register as open_register  # a seam the tests replace
from kkt_bridge.registers import wrong_driver

FORMATS = ("fns", "tree")
READ_FORMATS = ("fns", "tree", "raw")

DECODE_HELP = (
    "Разобрать один документ из FILE: его байты, как их отдаёт ФН (тип, длина, тело).\n\n"
    "FILE может содержать и те же байты в hex (как в выводе «fn read --format raw»).")


def render(data: bytes, fmt: str) -> dict[str, Any]:
    """One document's bytes in the requested JSON shape; DocumentError when corrupt."""
    from kkt_bridge.fiscal import decode_document, to_fns_json, to_tree  # when run

    if fmt == "tree":
        return to_tree(data)
    return to_fns_json(decode_document(data))


_HEX_TEXT = re.compile(rb"[0-9A-Fa-f\s]+")


def from_hex_text(data: bytes) -> bytes:
    """The document's bytes, also when the file holds them as hex text.

    Unambiguous: a document starts with its type as u16 LE, and no FFD document type
    (1..7, 11, 21, 31, 41, 81..84) has a first byte that is an ASCII hex digit.
    """
    if data and _HEX_TEXT.fullmatch(data):
        digits = b"".join(data.split())
        if len(digits) % 2 == 0:
            return bytes.fromhex(digits.decode("ascii"))
    return data


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


@click.group(name="fn", help=_(
    "Архив фискального накопителя (ФН): чтение и разбор документов."))
def fn_group() -> None:
    """Архив фискального накопителя (ФН): чтение и разбор документов."""


@fn_group.command(name="decode", help=_(DECODE_HELP))
@click.argument("file", type=click.File("rb"))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="fns", show_default=True,
              help=_("fns: JSON чека в формате ФНС; tree: дерево тегов."))
@click.option("--indent/--no-indent", default=True, show_default=True,
              help=_("Печатать JSON с отступами."))
def decode_command(file: BinaryIO, fmt: str, indent: bool) -> None:
    """Print the JSON of the one document in FILE (its help text: :data:`DECODE_HELP`)."""
    data = file.read()
    obj = render(from_hex_text(data), fmt)
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2 if indent else None))


class _Progress(Protocol):
    def advance(self) -> None: ...


class _NoProgress:
    def advance(self) -> None:
        pass


class _RichProgress:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self) -> None:
        self._progress.advance(self._task)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def _progress(total: int) -> Iterator[_Progress]:
    """A progress bar on stderr when stderr is a terminal; otherwise nothing at all."""
    if not stderr_is_terminal() or total <= 0:
        yield _NoProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        yield _RichProgress(progress, progress.add_task(_("Чтение документов"), total=total))


@fn_group.command(name="read", help=_(
    "Прочитать документы из архива ФН, по одному JSON на строку."))
@click.option("--device", "url", required=True, metavar="URL",
              help=_("Адрес ККТ: /dev/ttyACM0, COM3, socket://host[:порт] (7778 у Штрих-М, "
                     "5555 у АТОЛ), ..."))
@click.option("--driver", default=None, metavar="NAME",
              help=_("Протокол ККТ: shtrih или atol (по умолчанию определяется опросом)."))
@click.option("--from", "first", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="N",
              help=_("Первый номер ФД."))
@click.option("--to", "last", type=click.IntRange(min=1), default=None, metavar="N",
              help=_("Последний номер ФД (по умолчанию последний документ в ФН)."))
@click.option("--format", "fmt", type=click.Choice(READ_FORMATS), default="fns",
              show_default=True,
              help=_("fns: JSON в формате ФНС; tree: дерево тегов; raw: байты в hex."))
def read_command(url: str, driver: str | None, first: int, last: int | None,
                 fmt: str) -> None:
    """Прочитать документы из архива ФН, по одному JSON на строку."""
    if last is not None and first > last:
        # bad input changes nothing: refused before the register is even opened
        raise click.UsageError(_("--from {first} больше --to {last}: диапазон номеров ФД "
                                 "пуст").format(first=first, last=last))
    try:
        kkt = open_register(url, driver=driver)
    except KktBridgeError as exc:
        raise wrong_driver(url, driver, exc) from None
    failed = 0
    try:
        if last is None:
            try:
                last = kkt.fn_status().last_fd_number
            except KktBridgeError as exc:  # the first command: a wrong --driver shows here
                kkt.close()  # first: a network register takes one connection at a time
                raise wrong_driver(url, driver, exc) from None
        if first > last:
            click.echo(_("В ФН нет документов с номерами {first}..{last}").format(
                first=first, last=last), err=True)
            return
        with _progress(last - first + 1) as progress:
            for fd_number, data in kkt.iter_documents(first, last):
                failed += _emit(fd_number, data, fmt)
                progress.advance()
    finally:
        kkt.close()
    if failed:
        raise DocumentError(
            _("не удалось разобрать документов: {count}").format(count=failed),
            _("Их байты выведены в строках с полем error; прочитайте эти документы снова"))


def _emit(fd_number: int, data: bytes, fmt: str) -> int:
    """Print one document's line; a corrupt one gets an error line and counts as failed."""
    if fmt == "raw":
        click.echo(_dumps({"fiscalDocumentNumber": fd_number, "hex": data.hex()}))
        return 0
    try:
        obj = render(data, fmt)
    except KktBridgeError as exc:
        click.echo(_("ФД {fd}: {error}").format(fd=fd_number, error=exc), err=True)
        click.echo(_dumps({"fiscalDocumentNumber": fd_number, "error": exc.message,
                           "hex": data.hex()}))
        return 1
    click.echo(_dumps(obj))
    return 0


def register(group: click.Group) -> None:
    group.add_command(fn_group)
