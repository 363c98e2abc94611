"""What a person sees who opens the emulator's control URL in a browser.

The control API (:mod:`kkt_bridge.emulation.control`) takes POSTs from
``kkt-bridge emulator ...``; its URL is printed on the emulator's last line, and people open
printed URLs. A GET of the URL itself answers with a small page, in the language the browser
asks for: what this address is, the register behind it, the commands that act on it (with
this very URL in ``--at``), and the demo's «Эмулятор ККТ» page when there is one. Any other
path or method gets a body that says what went wrong, HTML for a browser and the API's JSON
for a program, never a bare status line.

The page only reads: nothing a GET does changes the register. It loads nothing from
elsewhere, and its headers keep the URL (which holds the token) out of any Referer.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from html import escape
from http import HTTPStatus
from typing import Any

from kkt_bridge.i18n import _, language

#: the commands that act on a running emulator, as ``kkt-bridge emulator --help`` lists
#: them (the same words as their help), with the arguments an example needs (translated:
#: an English page sells Bread)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("status", "Что сейчас с эмулятором: номера, смена, ФН.", ""),
    ("register", "Зарегистрировать ККТ (как инженер ЦТО).", ""),
    ("open-shift", "Открыть смену.", ""),
    ("sell", "Пробить чек: позиции и оплаты.", "--item Хлеб:49.90:2 --cash 100"),
    ("close-shift", "Закрыть смену (Z-отчёт).", ""),
    ("reregister", "Перерегистрировать ККТ: изменить параметры.", "--reason 4"),
    ("replace-fn", "Заменить ФН на новый и зарегистрировать ККТ с ним.", ""),
)

#: the page's headers: no caching of a page whose address is a secret, no Referer that
#: would carry it to the demo's page, nothing loaded or framed from elsewhere
HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;"
          "padding:0 1rem;line-height:1.45;color:#1b1b1b}"
          "code,pre{font-family:ui-monospace,monospace;font-size:.92em}"
          "pre{background:#f3f3f3;padding:.6rem .8rem;overflow-x:auto;white-space:pre-wrap}"
          "dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}"
          "dt{color:#555}dd{margin:0;overflow-wrap:anywhere}"
          "td{padding:.25rem .8rem .25rem 0;vertical-align:top}"
          # a phone's screen: each name above its value, each command above its words, and
          # a command's URL broken anywhere rather than widening the page past the screen
          "@media (max-width:40rem){dl{display:block}dd{margin:0 0 .4rem}"
          "td{display:block;padding:0}td+td{padding:.2rem 0 .8rem}"
          "pre{overflow-wrap:anywhere}}"
          "td pre{margin:0}"
          ".error{color:#a40000}.nb{white-space:nowrap}")


#: a program's name or an option, kept whole on a line: a browser breaks a line after a
#: hyphen, and «kkt-» / «bridge» or «--» / «state» on two lines read as something else
_UNBROKEN = re.compile(r"kkt-bridge|--[a-z][a-z-]*")


def _words(text: str) -> str:
    """``text`` escaped for HTML, its program names and options unbroken."""
    return _UNBROKEN.sub(lambda found: f'<span class="nb">{found.group()}</span>',
                         escape(text))


def wants_html(accept: str | None) -> bool:
    """A browser asks for text/html first; a program (httpx, curl) does not."""
    return "text/html" in (accept or "")


def _document(title: str, body: str) -> bytes:
    return (f'<!doctype html>\n<html lang="{language()}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>\n").encode()


def status_rows(status: Mapping[str, Any], protocol: str) -> list[tuple[str, str]]:
    """The emulator's ``status`` for people: (name, value) rows in the UI language, the
    same on this page and in ``kkt-bridge emulator status``."""
    from kkt_bridge.money import format_rubles

    shift = _("№{number}, {state}").format(
        number=status.get("shift_number", 0),
        state=_("открыта") if status.get("shift_open") else _("закрыта"))
    return [
        (_("Протокол"), protocol),
        (_("Заводской номер"), str(status.get("serial", ""))),
        (_("ФН"), str(status.get("fn_number") or "—")),
        (_("Регистрация"), _("зарегистрирована") if status.get("registered")
         else _("не зарегистрирована")),
        (_("Смена"), shift),
        (_("Чеков в смене"), str(status.get("receipts", 0))),
        (_("Последний ФД"), str(status.get("last_fd_number", 0))),
        (_("Не передано в ОФД"), str(status.get("ofd_queue", 0))),
        (_("Наличных в кассе"), format_rubles(int(status.get("cash_in_drawer", 0)))),
        (_("Порт ККТ для кассовой программы"), ", ".join(status.get("urls") or ()) or "—"),
    ]


def _facts(status: Mapping[str, Any], protocol: str) -> str:
    return "<dl>" + "".join(f"<dt>{escape(name)}</dt><dd data-fact=\"{index}\">"
                            f"{escape(value)}</dd>"
                            for index, (name, value) in enumerate(status_rows(status,
                                                                              protocol))
                            ) + "</dl>"


def command_line(action: str, url: str, extra: str = "") -> str:
    """``kkt-bridge emulator ACTION --at URL ...`` as a person would type it."""
    return " ".join(part for part in ("kkt-bridge emulator", action, "--at", shlex.quote(url),
                                      extra) if part)


def control_page(url: str, status: Mapping[str, Any], protocol: str,
                 page_url: str | None) -> bytes:
    """The page at the control URL: what it is, the register, the commands, the demo page."""
    title = _("Эмулятор ККТ: адрес управления")
    rows = "".join(
        f"<tr><td><pre>{escape(command_line(action, url, _(extra) if extra else ''))}"
        f"</pre></td>"
        f"<td>{_words(_(words))}</td></tr>" for action, words, extra in COMMANDS)
    if page_url:
        intro = _("То же в браузере: страница «Эмулятор ККТ» демонстрации")
        after = _("Она открывается после входа по ссылке, которую вывела kkt-bridge demo.")
        page = (f'<p>{_words(intro)} <a href="{escape(page_url)}" rel="noreferrer">'
                f"{escape(page_url)}</a>. {_words(after)}</p>")
    else:
        page = "<p>" + _words(_("У отдельно запущенного эмулятора нет своей страницы: "
                                "страница «Эмулятор ККТ» есть у kkt-bridge demo.")) + "</p>"
    what = _("Это адрес управления эмулятора ККТ — его клавиатура: по нему команды "
             "kkt-bridge emulator регистрируют ККТ, открывают и закрывают смену и пробивают "
             "чеки. Браузер здесь ничего не меняет: команды приходят запросами POST.")
    state_file = _("Вместо адреса в --at подойдёт файл --state запущенного эмулятора.")
    # the demo's page first: who opened this in a browser most likely wants a browser's
    body = (f"<h1>{escape(title)}</h1><p>{_words(what)}</p>{_facts(status, protocol)}"
            f"{page}<h2>{escape(_('Команды'))}</h2><p>{_words(state_file)}</p>"
            f"<table>{rows}</table>")
    return _document(title, body)


def error_text(status: HTTPStatus, method: str) -> tuple[str, str]:
    """What went wrong and what to do, for a request the control API does not serve."""
    if status == HTTPStatus.NOT_FOUND:
        return (_("по этому адресу ничего нет"),
                _("адрес управления эмулятор выводит при запуске (строка control), он же "
                  "в файле STATE.control"))
    if status == HTTPStatus.METHOD_NOT_ALLOWED and method == "POST":  # to the URL itself
        return (_("запрос POST здесь не принимается"),
                _("по самому адресу управления браузер открывает страницу; действие "
                  "принимается запросом POST с его именем в конце адреса (/status, "
                  "/sell), так его посылают команды kkt-bridge emulator"))
    if status in (HTTPStatus.METHOD_NOT_ALLOWED, HTTPStatus.NOT_IMPLEMENTED):
        return (_("запрос {method} здесь не принимается").format(method=method[:16]),
                _("откройте адрес управления в браузере или выполните команду "
                  "kkt-bridge emulator (действия принимаются запросом POST)"))
    return (_("запрос не понят ({code})").format(code=int(status)),
            _("проверьте адрес и повторите"))


def error_page(status: HTTPStatus, message: str, hint: str, home: str | None) -> bytes:
    """The error for a browser; ``home`` (the control URL, for who holds its token) is
    linked as the place to go."""
    title = _("Эмулятор ККТ: {message}").format(message=message)
    back = ""
    if home is not None:
        back = (f'<p><a href="{escape(home)}" rel="noreferrer">'
                f"{escape(_('Адрес управления эмулятора: что он умеет'))}</a></p>")
    body = (f"<h1 class=\"error\">{escape(message[:1].upper() + message[1:])}</h1>"
            f"<p>{_words(hint[:1].upper() + hint[1:])}.</p>{back}"
            f"<p><small>HTTP {int(status)}</small></p>")
    return _document(title, body)
