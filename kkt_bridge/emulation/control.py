"""The emulator's keyboard: a small control API on 127.0.0.1 for a running emulator.

A real register has a keyboard and a service menu beside its port: a cashier opens a shift
and sells there, a service engineer registers it and replaces its ФН. The control API is
that keyboard. It acts on the register itself, not through its line, because

- registration, re-registration and a new ФН are not something the bridge's drivers send
  (and an ATOL client registers with commands the Shtrih one does not have): they belong
  to the register, and every front end can do them the same way;
- the line belongs to the client under test (a pty has one end; a TCP register serves one
  connection at a time): a sale typed at the keyboard must not take it over;
- it still exercises the protocol where the front end says so: the Shtrih front end's
  ``register``/``sell``/``open_shift``/``close_shift`` build real request bodies and run
  them through its command handlers.

``POST {url}/{action}`` with a JSON object; the answer is JSON: ``{"ok": true, ...}``, or
``{"ok": false, "error": ..., "hint": ...}`` with status 400, in the language the request's
``Accept-Language`` asks for (the emulator's own otherwise). The URL carries a random
token (``http://127.0.0.1:PORT/TOKEN``): only who was told it (the emulator's stdout, or
``STATE.control``, a 0600 file beside the state file) can act. Nothing else listens.
A GET of the URL itself, as a browser makes when someone opens the printed URL, reads only:
a page that says what the address is and which commands act on it
(:mod:`kkt_bridge.emulation.controlpage`); other paths and methods get a body that says why
they are refused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kkt_bridge.errors import ConfigError, KktBridgeError, LinkError, os_error_text
from kkt_bridge.fiscal.facts import OPERATIONS, VAT_RATES
from kkt_bridge.fiscal.tags import tag_spec
from kkt_bridge.i18n import _, language, negotiate, using_language

from .archive import StoredDocument
from .emulator import Emulator
from .profile import Profile, inn_is_valid
from .refusal import Reason, Refused, refused_by_register
from .register import Item, KeyboardCashier, SaleResult

log = logging.getLogger(__name__)

#: the largest request body the control API reads
MAX_BODY = 64 * 1024
ACTIONS = ("status", "register", "reregister", "replace-fn", "open-shift", "close-shift",
           "sell")

#: what a refusal of the register means to the person at its keyboard
REFUSALS: dict[Reason, tuple[str, str]] = {
    Reason.BAD_PARAMETERS: ("ККТ отклонила параметры операции", "проверьте значения"),
    Reason.NOT_REGISTERED: ("ККТ не зарегистрирована",
                            "зарегистрируйте её: kkt-bridge emulator register"),
    Reason.FN_BAD_STATE: ("ФН не в том состоянии для этой операции",
                          "для зарегистрированной ККТ: kkt-bridge emulator reregister"),
    Reason.FN_FAILURE: ("ФН не смог сохранить документ", "проверьте место на диске"),
    Reason.FN_NO_DATA: ("в ФН нет такого документа", "проверьте номер документа"),
    Reason.FN_SHIFT_OVER_24H: ("смена длится больше 24 часов",
                               "закройте смену: kkt-bridge emulator close-shift"),
    Reason.SHIFT_OVER_24H: ("смена длится больше 24 часов",
                            "закройте смену: kkt-bridge emulator close-shift"),
    Reason.SHIFT_OPEN: ("смена открыта", "закройте смену: kkt-bridge emulator close-shift"),
    Reason.SHIFT_CLOSED: ("смена закрыта", "откройте смену: kkt-bridge emulator open-shift"),
    Reason.RECEIPT_OPEN: ("открыт чек", "дождитесь, пока кассовая программа закроет чек"),
    Reason.RECEIPT_CLOSED: ("чек не открыт", "начните чек заново"),
    Reason.RECEIPT_OTHER_TYPE: ("открыт чек другого типа",
                                "дождитесь, пока кассовая программа закроет чек"),
    Reason.PAYMENTS_LESS_THAN_TOTAL: ("сумма оплат меньше итога чека",
                                      "добавьте оплату на недостающую сумму"),
    Reason.NON_CASH_ABOVE_TOTAL: ("безналичная оплата {paid} больше итога чека {total}",
                                  "сдачу ККТ даёт только с наличных: безналичными платят не "
                                  "больше итога, остальное — наличными"),
    Reason.NOT_ENOUGH_CASH: ("не хватает наличности в кассе",
                             "уменьшите сумму или внесите наличные"),
    Reason.ZERO_TOTAL: ("нулевой итог чека", "добавьте позиции с суммой"),
    Reason.TOTAL_OVERFLOW: ("переполнение итога чека",
                            "сумма не помещается в денежные поля ККТ: разделите покупку на "
                            "несколько чеков"),
    Reason.NO_PAPER: ("нет чековой ленты", "вставьте бумагу (снимите неисправность paper_out)"),
    Reason.TLV_TOO_LARGE: ("документ не помещается в ФН", "сократите названия и реквизиты"),
}


def refusal_error(refused: Refused) -> ConfigError:
    from kkt_bridge.money import format_rubles

    message, hint = REFUSALS[refused.reason]
    sums = {name: format_rubles(kopecks) for name, kopecks in refused.sums.items()}
    return ConfigError(_(message).format(**sums) if sums else _(message), _(hint))


# --- the actions: JSON in, JSON out -----------------------------------------------------------

def _profile(emu: Emulator, data: Mapping[str, Any]) -> Profile | None:
    raw = data.get("profile")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(_("профиль должен быть JSON-объектом"), _("исправьте файл профиля"))
    return Profile.from_json(raw)


def _document(document: StoredDocument) -> dict[str, Any]:
    return {"fd_number": document.number, "fiscal_sign": document.fiscal_sign,
            "type": document.doc_type, "at": document.created_at.isoformat()}


def _status(emu: Emulator, data: Mapping[str, Any]) -> dict[str, Any]:
    reg = emu.device
    with reg.lock:
        state = reg.state
        last = state.archive.last
        return {"driver": emu.front_end.name, "urls": emu.urls,
                "lines": [{"url": line.url, "bytes_in": line.bytes_in,
                           "bytes_out": line.bytes_out, "wakeups": line.wakeups}
                          for line in (emu.pty, emu.tcp) if line is not None],
                # the emulator process's CPU time: what a benchmark charges to the register
                "cpu_seconds": time.process_time(),
                "serial": state.identity.serial, "fn_number": state.identity.fn_number,
                "registered": state.registered, "shift_open": state.shift.is_open,
                "shift_number": state.shift.number, "receipts": state.shift.receipts,
                "last_fd_number": last.number if last else 0,
                "ofd_queue": len(state.archive.unacknowledged()),
                "cash_in_drawer": state.cash_in_drawer}


def _register(emu: Emulator, data: Mapping[str, Any]) -> dict[str, Any]:
    if emu.device.registered:
        raise ConfigError(_("ККТ уже зарегистрирована"),
                          _("изменить параметры: kkt-bridge emulator reregister; новый ФН: "
                            "kkt-bridge emulator replace-fn"))
    return _document(emu.register(_profile(emu, data)))


def _reregister(emu: Emulator, data: Mapping[str, Any]) -> dict[str, Any]:
    reason = data.get("reason", 4)
    if not isinstance(reason, int) or not 1 <= reason <= 4:
        raise ConfigError(_("причина перерегистрации должна быть от 1 до 4"),
                          _("1 — замена ФН, 2 — смена ОФД, 3 — смена реквизитов, "
                            "4 — смена настроек ККТ"))
    if not emu.device.registered:
        raise ConfigError(_("ККТ ещё не зарегистрирована"),
                          _("сначала: kkt-bridge emulator register"))
    return _document(emu.register(_profile(emu, data), reason=reason))


def _replace_fn(emu: Emulator, data: Mapping[str, Any]) -> dict[str, Any]:
    number = data.get("fn_number")
    if number is not None and (not isinstance(number, str) or len(number) != 16
                               or not number.isdigit()):
        raise ConfigError(_("номер ФН должен состоять из 16 цифр"), _("исправьте --fn-number"))
    document = emu.replace_fn(number, profile=_profile(emu, data))
    return {**_document(document), "fn_number": emu.device.state.identity.fn_number}


def _string_limit(tag: int) -> int:
    """How many characters a string tag holds: the FFD table's bytes, one a character in
    CP866."""
    spec = tag_spec(tag)
    assert spec is not None, tag
    return spec.max_length


#: tag 1021 holds at most 64 characters
CASHIER_NAME_LIMIT = _string_limit(1021)


def keyboard_cashier(data: Mapping[str, Any]) -> KeyboardCashier | None:
    """``cashier`` (tag 1021) and ``cashier_inn`` (1203) of a request, checked; None when
    no cashier is named (the front end's own cashier signs the document)."""
    name, inn = data.get("cashier"), data.get("cashier_inn")
    if name is None:
        if inn is not None:
            raise ConfigError(_("ИНН кассира указан без кассира"),
                              _("укажите и --cashier ФИО"))
        return None
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(_("имя кассира пустое"), _("укажите --cashier, например "
                                                     "«Петрова А.А.»"))
    name = name.strip()
    try:
        name.encode("cp866")
    except UnicodeEncodeError:
        raise ConfigError(
            _("в имени кассира есть знаки, которых нет в кодировке ФН (CP866)"),
            _("пишите кириллицей или латиницей, без эмодзи и редких знаков")) from None
    if len(name) > CASHIER_NAME_LIMIT:
        raise ConfigError(_("имя кассира длиннее {n} знаков (тег 1021)").format(
            n=CASHIER_NAME_LIMIT), _("сократите его, например до фамилии и инициалов"))
    if inn is None or inn == "":
        return KeyboardCashier(name)
    if not isinstance(inn, str) or len(inn.strip()) != 12 or not inn_is_valid(inn):
        raise ConfigError(_("ИНН кассира «{inn}» неверен").format(inn=inn),
                          _("ИНН кассира — 12 цифр с верными контрольными цифрами (тег 1203)"))
    return KeyboardCashier(name, inn.strip())


#: tag 1030 holds at most 128 characters
ITEM_NAME_LIMIT = _string_limit(1030)


def _item_name(name: str) -> str:
    """An item's name (tag 1030) checked as the cashier's is. Not a check the register
    makes for the keyboard: the Shtrih-M one cuts a long name to 128 characters and prints
    «?» for a sign outside CP866 without a word, the ATOL one refuses only as «the document
    does not fit the ФН»."""
    shown = name if len(name) <= 40 else name[:40] + "…"
    if not name.strip():
        raise ConfigError(_("у позиции пустое название"), _("укажите название, например "
                                                            "Хлеб:49.90"))
    try:
        name.encode("cp866")
    except UnicodeEncodeError:
        raise ConfigError(
            _("в названии «{name}» есть знаки, которых нет в кодировке ФН (CP866)").format(
                name=shown),
            _("пишите кириллицей или латиницей, без эмодзи и редких знаков")) from None
    if len(name) > ITEM_NAME_LIMIT:
        raise ConfigError(_("название «{name}» длиннее {n} знаков (тег 1030)").format(
            name=shown, n=ITEM_NAME_LIMIT), _("сократите название позиции"))
    return name


def _open_shift(emu: Emulator, data: Mapping[str, Any]) -> dict[str, Any]:
    cashier = keyboard_cashier(data)
    with emu.device.cashier_at_keyboard(cashier):
        return _document(emu.open_shift())


def _close_shift(emu: Emulator, data: Mapping[str, Any]) -> dict[str, Any]:
    cashier = keyboard_cashier(data)
    with emu.device.cashier_at_keyboard(cashier):
        return _document(emu.close_shift())


def _money(value: Any, what: str) -> int:
    """Kopecks from an integer of kopecks."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(_("{what}: сумма должна быть целым числом копеек").format(what=what),
                          _("например 4990 для 49,90 ₽"))
    return value


def _sell(emu: Emulator, data: Mapping[str, Any]) -> dict[str, Any]:
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise ConfigError(_("в чеке нет позиций"), _("укажите хотя бы одну --item"))
    items = []
    for raw in raw_items:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ConfigError(_("позиция чека задана неверно: {item}").format(item=raw),
                              _("нужны name и price"))
        try:
            quantity = Decimal(str(raw.get("quantity", 1)))
        except InvalidOperation:
            quantity = Decimal(-1)
        vat = raw.get("vat", 6)
        if quantity <= 0 or vat not in VAT_RATES:
            raise ConfigError(_("позиция «{name}»: неверное количество или ставка НДС").format(
                name=raw["name"]), _("количество больше нуля, ставка НДС 1…6 (тег 1199)"))
        items.append(Item(_item_name(raw["name"]), _money(raw.get("price"), raw["name"]),
                          quantity, vat))
    payments = data.get("payments")
    if payments is not None:
        if not isinstance(payments, dict):
            raise ConfigError(_("оплаты заданы неверно"), _("укажите --cash и --electronic"))
        payments = {key: _money(value, key) for key, value in payments.items()}
    operation = data.get("operation", 1)
    if operation not in OPERATIONS:
        raise ConfigError(_("неизвестный признак расчёта {operation}").format(
            operation=operation), _("1 — приход, 2 — возврат прихода, 3 — расход, "
                                    "4 — возврат расхода"))
    with emu.device.cashier_at_keyboard(keyboard_cashier(data)):
        sale: SaleResult = emu.sell(items, payments, operation=operation)
    return {"fd_number": sale.fd_number, "fiscal_sign": sale.fiscal_sign,
            "receipt_number": sale.receipt_number, "shift_number": sale.shift_number,
            "total": sale.total, "change": sale.change}


HANDLERS: dict[str, Callable[[Emulator, Mapping[str, Any]], dict[str, Any]]] = {
    "status": _status, "register": _register, "reregister": _reregister,
    "replace-fn": _replace_fn, "open-shift": _open_shift, "close-shift": _close_shift,
    "sell": _sell,
}


def run_action(emu: Emulator, action: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """One action, as the control API runs it: a user error raises KktBridgeError."""
    handler = HANDLERS.get(action)
    if handler is None:
        raise ConfigError(_("неизвестное действие {action}").format(action=action),
                          _("допустимые: {names}").format(names=", ".join(ACTIONS)))
    try:
        return handler(emu, data)
    except (Refused, KktBridgeError) as error:
        # the register's reason in words, whichever protocol the front end ran it through
        refused = refused_by_register(error)
        if refused is None:
            raise
        raise refusal_error(refused) from None


# --- the server -------------------------------------------------------------------------------

class ControlServer:
    """The control API of one emulator on 127.0.0.1 (a free port unless told otherwise)."""

    def __init__(self, emu: Emulator, *, port: int = 0,
                 state_path: Path | None = None) -> None:
        self.emu = emu
        self.token = secrets.token_urlsafe(18)
        self._control_file = control_file(state_path) if state_path is not None else None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                server._serve(self)

            def do_GET(self) -> None:
                server._serve(self)

            def do_HEAD(self) -> None:
                server._serve(self)

            def send_error(self, code: int, message: str | None = None,
                           explain: str | None = None) -> None:
                # the base class's own refusals (an unknown method, a malformed request
                # line) get the same body as ours, in the caller's language
                server._refuse_in_language(self, HTTPStatus(code))

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("control: " + format, *args)

        try:
            self._http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise LinkError(_("порт управления 127.0.0.1:{port} недоступен: {reason}").format(
                port=port, reason=os_error_text(exc)),
                _("укажите другой --control-port или 0")) from None
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever,
                                        name="kkt-emulator-control", daemon=True)

    #: the demo's «Эмулятор ККТ» page, linked from the page at the control URL
    page_url: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/{self.token}"

    def start(self) -> ControlServer:
        self._thread.start()
        if self._control_file is not None:
            _write_private(self._control_file, self.url + "\n")
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        if self._control_file is not None:
            with contextlib.suppress(OSError):
                if self._control_file.read_text(encoding="utf-8").strip() == self.url:
                    self._control_file.unlink()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        # the caller's language (its Accept-Language): a page in English gets English
        with using_language(_asked_language(request)):
            self._serve_in_language(request)

    def _action_path(self, path: str) -> str | None:
        """What follows the token in ``path`` ("" for the control URL itself, "/sell" for
        an action), None when the path does not start with the token."""
        prefix = f"/{self.token}"
        head, rest = path[:len(prefix)], path[len(prefix):]
        if not secrets.compare_digest(head.encode(), prefix.encode()):
            return None
        return rest if rest in ("", "/") or rest.startswith("/") else None

    def _serve_in_language(self, request: BaseHTTPRequestHandler) -> None:
        rest = self._action_path(urlsplit(request.path).path)
        if rest is None:
            self._refuse(request, HTTPStatus.NOT_FOUND)
            return
        if request.command in ("GET", "HEAD"):
            if rest in ("", "/"):
                self._show_page(request)
            else:
                self._refuse(request, HTTPStatus.METHOD_NOT_ALLOWED
                             if rest[1:] in HANDLERS else HTTPStatus.NOT_FOUND)
            return
        if rest in ("", "/"):  # the URL itself only shows its page: the actions are below it
            self._refuse(request, HTTPStatus.METHOD_NOT_ALLOWED)
            return
        action = rest[1:]
        try:
            length = int(request.headers.get("Content-Length") or 0)
            if not 0 <= length <= MAX_BODY:
                raise ConfigError(_("слишком большой запрос"), _("уменьшите запрос"))
            raw = request.rfile.read(length) if length else b"{}"
            try:
                data = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                data = None
            if not isinstance(data, dict):
                raise ConfigError(_("запрос должен быть JSON-объектом"), _("исправьте запрос"))
            result = run_action(self.emu, action, data)
        except KktBridgeError as exc:
            self._answer(request, HTTPStatus.BAD_REQUEST,
                         {"ok": False, "error": exc.message, "hint": exc.hint})
            return
        except Exception as exc:  # a bug of ours: the keyboard must say so, not hang
            log.exception("control action %s failed", action)
            self._answer(request, HTTPStatus.INTERNAL_SERVER_ERROR,
                         {"ok": False, "error": repr(exc)})
            return
        self._answer(request, HTTPStatus.OK, {"ok": True, **result})

    def _show_page(self, request: BaseHTTPRequestHandler) -> None:
        from .controlpage import HEADERS, control_page, error_page, wants_html

        try:
            status = run_action(self.emu, "status", {})
        except Exception as exc:  # a bug of ours: said, as a POST would say it
            log.exception("control page failed")
            if not wants_html(request.headers.get("Accept")):
                self._answer(request, HTTPStatus.INTERNAL_SERVER_ERROR,
                             {"ok": False, "error": repr(exc)})
                return
            # a browser shows a page, not the API's JSON
            failed = HTTPStatus.INTERNAL_SERVER_ERROR
            _send(request, failed, error_page(
                failed, _("эмулятор не смог показать эту страницу"),
                _("это ошибка kkt-bridge ({error}); подробности — в выводе эмулятора").format(
                    error=repr(exc)), None), "text/html; charset=utf-8", HEADERS)
            return
        page = control_page(self.url, status, _(self.emu.front_end.title), self.page_url)
        _send(request, HTTPStatus.OK, page, "text/html; charset=utf-8", HEADERS)

    def _refuse_in_language(self, request: BaseHTTPRequestHandler,
                            status: HTTPStatus) -> None:
        with using_language(_asked_language(request)):
            self._refuse(request, status)

    def _refuse(self, request: BaseHTTPRequestHandler, status: HTTPStatus) -> None:
        """A request the control API does not serve: a body that says why, HTML for a
        browser, the API's JSON for a program."""
        from .controlpage import HEADERS, error_page, error_text, wants_html

        method = getattr(request, "command", None) or "?"
        path = getattr(request, "path", None)
        rest = self._action_path(urlsplit(path).path) if path is not None else None
        ours = rest is not None
        if status == HTTPStatus.NOT_IMPLEMENTED and method not in ("GET", "HEAD", "POST"):
            # a method no handler is for: on the control URL it is the method that is
            # wrong, elsewhere the address
            status = HTTPStatus.METHOD_NOT_ALLOWED if ours else HTTPStatus.NOT_FOUND
        message, hint = error_text(status, method)
        headers = dict(HEADERS)
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            # the URL itself is read, an action is posted
            headers["Allow"] = "GET, HEAD" if rest in ("", "/") else "POST"
        headers_in = getattr(request, "headers", None)
        if wants_html(headers_in.get("Accept") if headers_in is not None else None):
            # who holds the token may be led back to the page of the control URL
            _send(request, status, error_page(status, message, hint,
                                              self.url if ours else None),
                  "text/html; charset=utf-8", headers)
        else:
            _send(request, status, _json({"ok": False, "error": message, "hint": hint}),
                  "application/json; charset=utf-8", headers)

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: HTTPStatus,
                body: dict[str, Any]) -> None:
        _send(request, status, _json(body), "application/json; charset=utf-8", {})


def _asked_language(request: BaseHTTPRequestHandler) -> str | None:
    headers = getattr(request, "headers", None)  # absent when the request line was bad
    asked = headers.get("Accept-Language") if headers is not None else None
    return negotiate(asked) if asked else None


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _send(request: BaseHTTPRequestHandler, status: HTTPStatus, payload: bytes,
          content_type: str, headers: Mapping[str, str]) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(payload)))
    for name, value in headers.items():
        request.send_header(name, value)
    if status >= 400 and getattr(request, "headers", None) is None:
        request.send_header("Connection", "close")  # a request we could not even read
        request.close_connection = True
    request.end_headers()
    if getattr(request, "command", None) != "HEAD":
        request.wfile.write(payload)


def control_file(state_path: Path) -> Path:
    """Where a running emulator with this state file leaves its control URL."""
    return state_path.with_name(state_path.name + ".control")


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


# --- the client -------------------------------------------------------------------------------

def resolve_control_url(at: str) -> str:
    """The control URL from ``--at``: the URL the emulator printed, or its state file."""
    if at.startswith(("http://", "https://")):
        try:
            parts = urlsplit(at)
            # .port raises ValueError for «:abc» or «:99999», as urlsplit does for «[bad»
            valid = bool(parts.hostname) and parts.port != 0
        except ValueError:
            valid = False
        if not valid:
            raise _not_a_control_url(at)
        return at.rstrip("/")
    path = Path(at)
    candidates = [path] if path.name.endswith(".control") else [control_file(path)]
    for candidate in candidates:
        try:
            url = candidate.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if url.startswith("http://"):
            return url
    raise ConfigError(_("у {at} нет запущенного эмулятора").format(at=at),
                      _("укажите URL управления, который эмулятор вывел при запуске, или "
                        "файл --state запущенного эмулятора"))


def _not_a_control_url(at: str) -> ConfigError:
    return ConfigError(_("«{at}» — не адрес управления эмулятора").format(at=at),
                       _("укажите URL, который эмулятор вывел при запуске (control "
                         "http://127.0.0.1:ПОРТ/…), или файл --state запущенного эмулятора"))


def call(at: str, action: str, data: Mapping[str, Any], timeout: float = 30.0
         ) -> dict[str, Any]:
    """Run ``action`` on the emulator at ``at``; the answer, or the emulator's error."""
    import httpx

    control = resolve_control_url(at)
    url = f"{control}/{action}"
    # where, as a person may read it: the host and port, never the token
    where = "{0.scheme}://{0.netloc}".format(urlsplit(control))
    try:
        response = httpx.post(url, json=dict(data), timeout=timeout,
                              headers={"Accept-Language": language()})
    except httpx.InvalidURL:  # what urlsplit let through and httpx does not take
        raise _not_a_control_url(at) from None
    except httpx.HTTPError as exc:
        raise LinkError(_("эмулятор не отвечает на {url}: {reason}").format(
            url=where, reason=unreachable_reason(exc, timeout)),
            _("проверьте, что эмулятор запущен: адрес управления — последняя строка его "
              "вывода (control http://…), он же в файле STATE.control")) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise LinkError(_("по адресу {url} отвечает не эмулятор").format(url=where),
                        _("проверьте адрес управления"))
    if not body.get("ok"):
        raise ConfigError(str(body.get("error") or response.status_code),
                          with_at(str(body.get("hint") or _("проверьте параметры")), at))
    return body


def unreachable_reason(exc: BaseException, timeout: float) -> str:
    """Why an HTTP request got no answer, in the UI language: the system's and httpx's own
    words are English («[Errno 111] Connection refused») whatever the UI says."""
    import socket

    import httpx

    from kkt_bridge.link.failures import REFUSED, errno_of, in_chain

    if isinstance(exc, httpx.TimeoutException):
        return _("нет ответа за {seconds:g} с").format(seconds=timeout)
    if in_chain(exc, socket.gaierror):
        return _("такого адреса не найти")
    code = errno_of(exc)  # httpx wraps the OSError it got, often twice
    if code in REFUSED:
        return _("на этом порту никто не слушает")
    if code is not None:
        return os_error_text(OSError(code, os.strerror(code)))
    return _("соединение не установлено ({error})").format(error=type(exc).__name__)


def with_at(hint: str, at: str) -> str:
    """A hint's ``kkt-bridge emulator COMMAND`` as the user can run it: with the ``--at``
    they gave (the emulator does not know how its caller names it)."""
    import re
    import shlex

    return re.sub(r"(kkt-bridge emulator [a-z][a-z-]*)(?![a-z-]| --at)",
                  lambda m: f"{m.group(1)} --at {shlex.quote(at)}", hint)
