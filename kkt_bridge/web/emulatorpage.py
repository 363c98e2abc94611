"""«Эмулятор ККТ»: the demo's emulated register at a glance, and its keyboard.

Only ``kkt-bridge demo`` gives the server an emulator (:attr:`WebContext.emulator_control`,
the control URL of :mod:`kkt_bridge.emulation.control`); a real ``kkt-bridge run`` has
none, and every route here answers 404 there. The page shows what the emulator says of
itself (serial, ФН, shift, documents) and lets a person open a shift, sell a receipt of a
line or two, and close the shift, as a cashier at the register's keyboard would: through
the emulator's control API, never through the bridge's link to the register. The same
rules as the register page hold: a session, forms only from this server's pages (the
Host/Origin guard of :mod:`kkt_bridge.web.app` before that), POST -> 303 -> GET, bad input
changes nothing and says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kkt_bridge.errors import ConfigError, KktBridgeError
from kkt_bridge.i18n import _
from kkt_bridge.web.pages import (
    Page,
    _denied,
    _forbidden,
    _form,
    _from_here,
    _in_thread,
    _page,
    _render,
    _see,
    _session_ok,
    say,
)
from kkt_bridge.web.pagetext import parse_money

router = APIRouter(include_in_schema=False)

#: the page's short confirmations after a redirect (?done=…): fixed texts, never echoed input
DONE = {
    "shift-opened": "Смена открыта",
    "shift-closed": "Смена закрыта",
    "sold": "Чек пробит",
}
#: how the sale form names the payment, -> the control API's payment
PAYMENTS = {"cash": "Наличными", "electronic": "Безналичными"}
#: lines of the sale form
LINES = 2


@dataclass(frozen=True)
class EmulatorState:
    """What the emulator says of itself (its control API's ``status``)."""

    driver: str
    serial: str
    fn_number: str
    registered: bool
    shift_open: bool
    shift_number: int
    receipts: int
    last_fd_number: int
    ofd_queue: int
    cash_in_drawer: int

    @property
    def protocol(self) -> str:
        """The driver's title in the UI language («Штрих-М», "ATOL"), its name when the
        driver is not installed here."""
        from kkt_bridge.driverapi import load_drivers

        driver = load_drivers().get(self.driver)
        return _(driver.title) if driver is not None else self.driver

    @classmethod
    def of(cls, answer: dict[str, Any]) -> EmulatorState:
        return cls(driver=str(answer.get("driver", "")), serial=str(answer.get("serial", "")),
                   fn_number=str(answer.get("fn_number") or ""),
                   registered=bool(answer.get("registered")),
                   shift_open=bool(answer.get("shift_open")),
                   shift_number=int(answer.get("shift_number", 0)),
                   receipts=int(answer.get("receipts", 0)),
                   last_fd_number=int(answer.get("last_fd_number", 0)),
                   ofd_queue=int(answer.get("ofd_queue", 0)),
                   cash_in_drawer=int(answer.get("cash_in_drawer", 0)))


def _call(page: Page, action: str, data: dict[str, Any]) -> dict[str, Any]:
    from kkt_bridge.emulation.control import call

    url = page.ctx.emulator_control
    assert url is not None
    return call(url, action, data, timeout=30.0)


def _show(page: Page, status: int = 200, fields: dict[str, str] | None = None) -> Response:
    state: EmulatorState | None = None
    try:
        state = EmulatorState.of(_call(page, "status", {}))
    except KktBridgeError as exc:
        page.error(exc)
    # no event stream here: the connect window belongs to the register page, which opens it
    # for every prompt still raised when it is visited
    return _render(page, "emulator.html", status, state=state, fields=fields or {},
                   lines=range(1, LINES + 1), payments=PAYMENTS, no_events=True)


def _not_here() -> Response:
    return Response(status_code=404)


@router.get("/emulator", response_class=HTMLResponse)
def emulator_page(request: Request, done: str | None = None) -> Response:
    with _page(request) as page:
        if page.ctx.emulator_control is None:
            return _not_here()
        if not _session_ok(page):
            return _denied(page)
        if done in DONE:
            page.flash("ok", _(DONE[done]))
        return _show(page)


def _sale(fields: dict[str, str]) -> dict[str, Any]:
    """The control API's ``sell`` request from the form: each filled line, one payment."""
    items = []
    for number in range(1, LINES + 1):
        name = fields.get(f"name{number}", "").strip()
        price_text = fields.get(f"price{number}", "").strip()
        quantity_text = fields.get(f"quantity{number}", "").strip() or "1"
        if not name and not price_text:
            continue
        if not name:
            raise ConfigError(_("у позиции {n} нет наименования").format(n=number),
                              _("впишите наименование или очистите цену"))
        price = parse_money(price_text)
        if price is None:
            raise ConfigError(_("цена «{value}» не похожа на сумму").format(
                value=price_text[:32]), _("введите цену в рублях, например 45,90"))
        quantity = quantity_text.replace(",", ".")
        if not quantity.replace(".", "", 1).isdigit() or float(quantity) <= 0:
            raise ConfigError(_("количество «{value}» у позиции {n} неверно").format(
                value=quantity_text[:16], n=number), _("введите число больше нуля, например 2 "
                                                       "или 0,5"))
        items.append({"name": name, "price": price, "quantity": quantity})
    if not items:
        raise ConfigError(_("в чеке нет позиций"), _("заполните хотя бы одну позицию"))
    data: dict[str, Any] = {"items": items}
    kind = fields.get("payment", "cash")
    if kind not in PAYMENTS:
        kind = "cash"
    paid_text = fields.get("paid", "").strip()
    if paid_text:
        paid = parse_money(paid_text)
        if paid is None:
            raise ConfigError(_("сумма оплаты «{value}» не похожа на сумму").format(
                value=paid_text[:32]), _("введите сумму в рублях или оставьте поле пустым: "
                                         "оплата без сдачи"))
        data["payments"] = {kind: paid}
    elif kind == "electronic":
        data["payments"] = {"electronic": _total(items)}
    cashier = fields.get("cashier", "").strip()
    if cashier:
        data["cashier"] = cashier
    return data


def _total(items: list[dict[str, Any]]) -> int:
    """The receipt's total as the register makes it (:attr:`Item.amount`, line by line)."""
    from kkt_bridge.emulation.register import Item

    return sum(Item(item["name"], item["price"], item["quantity"]).amount for item in items)


def _action(request: Request, work: Callable[[Page, dict[str, str]], str],
            fields: dict[str, str]) -> Response:
    with _page(request) as page:
        if page.ctx.emulator_control is None:
            return _not_here()
        if not _session_ok(page):
            return _denied(page)
        if not _from_here(page):
            return _forbidden(page)
        try:
            done = work(page, fields)
        except KktBridgeError as exc:  # refused by the form or by the register: nothing made
            page.flash("error", say(exc))
            return _show(page, 400, fields)
        return _see(f"/emulator?done={done}")


def _open_shift(page: Page, fields: dict[str, str]) -> str:
    _call(page, "open-shift", {})
    return "shift-opened"


def _close_shift(page: Page, fields: dict[str, str]) -> str:
    _call(page, "close-shift", {})
    return "shift-closed"


def _sell(page: Page, fields: dict[str, str]) -> str:
    _call(page, "sell", _sale(fields))
    return "sold"


ACTIONS: dict[str, Callable[[Page, dict[str, str]], str]] = {
    "open-shift": _open_shift, "close-shift": _close_shift, "sell": _sell}


@router.post("/emulator/{action}", response_class=HTMLResponse)
async def emulator_action(request: Request, action: str) -> Response:
    fields = await _form(request)
    work = ACTIONS.get(action)
    if work is None:
        return _not_here()
    return await _in_thread(lambda: _action(request, work, fields))
