"""«Мои Кассы»: the reference back office's pages for people.

Served only when the server is started with ``open_ui=True`` (``kkt-bridge backoffice serve
--ui``, and the demo): the pages need no token, so they are meant for a back office that
listens on loopback; a form posted from another origin is refused (a web page the user
visits must not revoke their registers). Everything shown is escaped; no token or hash is
ever rendered. Dates have one format everywhere (:func:`when`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from kkt_bridge.errors import KktBridgeError
from kkt_bridge.fiscal.tags import document_type_name
from kkt_bridge.money import format_rubles, parse_rubles
from kkt_bridge.plugins.reference import messages
from kkt_bridge.plugins.reference.messages import _
from kkt_bridge.plugins.reference.storage import Shop, StoredDocument

if TYPE_CHECKING:
    from kkt_bridge.plugins.reference.app import ReferenceApi

#: how many of the newest documents the page lists
RECENT = 50
DATE_FORMAT = "%d.%m.%Y %H:%M"

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;margin-top:.5rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#f3f3f3}.num{text-align:right}.code{font-size:2rem;letter-spacing:.2rem}
form{margin-top:.5rem}form.inline{display:inline;margin:0}pre{background:#f6f6f6;padding:1rem}
"""


def when(value: Any) -> str:
    """A moment as the pages and the CLI show it: ``24.11.2026 09:00`` (UTC). Accepts a
    Unix time or an ISO 8601 text (the FNS JSON's ``dateTime``); anything else as is."""
    if value is None or value == "":
        return ""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            moment = datetime.fromtimestamp(value, UTC)
        else:
            moment = datetime.fromisoformat(str(value))
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return str(value)
    return moment.strftime(DATE_FORMAT)


def _rubles(kopecks: Any) -> str:
    """A sum for the page's reader, as kkt-bridge writes sums everywhere (its language)."""
    if isinstance(kopecks, bool) or not isinstance(kopecks, int):
        return ""
    return format_rubles(kopecks, messages.current())


def _page(title: str, body: str) -> HTMLResponse:
    html = (f"<!doctype html><html lang=\"{messages.current()}\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>")
    return HTMLResponse(html)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int],
           raw: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    number = ' class="num"'
    body = "".join(
        "<tr>" + "".join(
            f"<td{number if i in numeric else ''}>{cell if i in raw else escape(cell)}</td>"
            for i, cell in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _button(action: str, label: str) -> str:
    return (f"<form class=\"inline\" method=\"post\" action=\"{escape(action)}\">"
            f"<button type=\"submit\">{escape(label)}</button></form>")


def _field(name: str, label: str, value: str = "") -> str:
    return (f"<label>{escape(label)} <input name=\"{name}\" value=\"{escape(value)}\">"
            "</label> ")


async def _form(request: Request) -> dict[str, str]:
    # A page's form posted from another site would act for the user: refuse it.
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise _Refused(403, _("форма отправлена с чужого сайта"))
    body = await request.body()
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0].strip() for key, values in fields.items()}


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def add_pages(app: FastAPI, api: ReferenceApi) -> None:
    office = api.office

    def error_page(status: int, message: str) -> Response:
        page = _page(_("Мои Кассы"), f"<h1>{escape(_('Мои Кассы'))}</h1>"
                     f"<p>{escape(message)}</p><p><a href=\"/\">{escape(_('Назад'))}</a></p>")
        page.status_code = status
        return page

    def guarded(handler: Any) -> Any:
        """The form is read here (on the event loop); the page's own work, which queries the
        database, runs in the thread pool like the API's, so a page never stalls the API."""
        async def endpoint(request: Request) -> Response:
            try:
                form = await _form(request) if request.method == "POST" else {}
                return await run_in_threadpool(handler, request, form)
            except _Refused as exc:
                return error_page(exc.status, exc.message)
            except KktBridgeError as exc:
                return error_page(400, str(exc))
        endpoint.__name__ = handler.__name__
        return endpoint

    def shop_or_404(request: Request) -> Shop:
        try:
            shop_id = int(request.path_params["shop_id"])
        except ValueError:
            shop_id = -1
        for shop in office.shops():
            if shop.id == shop_id:
                return shop
        raise _Refused(404, _("магазин не найден"))

    def registers_page(request: Request, form: dict[str, str]) -> Response:
        now = office.now()
        counts = office.document_counts()
        rows = []
        for r in office.registers():
            actions = ""
            if r.revoked_at is None:
                actions += _button(f"/registers/{r.id}/revoke", _("Отключить"))
            if r.repair_until is None or r.repair_until <= now:
                actions += _button(f"/registers/{r.id}/allow-repair",
                                   _("Разрешить переподключение"))
            state = _("отключена") if r.revoked_at else _("подключена")
            if r.repair_until and r.repair_until > now:
                state += _(", переподключение разрешено до {time}").format(
                    time=when(r.repair_until))
            rows.append((escape(r.shop), escape(r.model), escape(r.serial),
                         escape(r.fn_number), escape(r.inn or ""), escape((r.rnm or "").strip()),
                         when(r.paired_at), str(counts.get(r.id, 0)), escape(state), actions))
        docs = office.recent_documents(RECENT)
        total = office.count_documents()
        shops = office.shops()
        options = "".join(f"<option>{escape(s.name)}</option>" for s in shops)
        catalogs = " ".join(f"<a href=\"/shops/{s.id}\">{escape(s.name)}</a>" for s in shops)
        body = (
            f"<h1>{escape(_('Мои Кассы'))}</h1><p>{escape(office.account())}</p>"
            + _table((_("Магазин"), _("Модель"), _("Заводской номер"), _("ФН"), _("ИНН"),
                      _("РН ККТ"), _("Подключена"), _("Документов"), _("Состояние"), ""),
                     rows, {7}, raw=set(range(10)))
            + f"<h2>{escape(_('Добавить ККТ'))}</h2>"
            + "<form method=\"post\" action=\"/sync-codes\"><label>"
            + f"{escape(_('Магазин'))} <select name=\"shop\">{options}</select></label> "
            + f"<button type=\"submit\">{escape(_('Получить код синхронизации'))}</button>"
            + "</form>"
            + f"<h2>{escape(_('Товары и сотрудники'))}</h2><p>{catalogs}</p>"
            + f"<h2>{escape(_('Документы (последние {shown} из {total})').format(shown=min(total, RECENT), total=total))}</h2>"  # noqa: E501
            + _documents_table(list(reversed(docs)))
        )
        return _page(_("Мои Кассы"), body)

    def issue_code(request: Request, form: dict[str, str]) -> Response:
        shop = form.get("shop", "")
        if office.shop(shop) is None:  # the page offers existing shops only
            raise _Refused(400, _("магазин не найден"))
        code = office.issue_sync_code(shop, api.code_ttl)
        body = (
            f"<h1>{escape(_('Подключение ККТ'))}</h1>"
            f"<p>{escape(_('Магазин'))}: {escape(shop)}</p>"
            f"<p>{escape(_('Код синхронизации:'))}</p><p class=\"code\">"
            f"{escape(code.display)}</p>"
            f"<p>{escape(_('Введите его на кассе в окне «Подключить ККТ». Код действует до {time} и только один раз.').format(time=when(code.expires_at)))}</p>"  # noqa: E501
            f"<p><a href=\"/\">{escape(_('Мои Кассы'))}</a></p>"
        )
        return _page(_("Подключение ККТ"), body)

    def register_action(action: str) -> Any:
        def handler(request: Request, form: dict[str, str]) -> Response:
            try:
                register_id = int(request.path_params["register_id"])
            except ValueError:
                register_id = -1
            done = (office.revoke(register_id) if action == "revoke"
                    else office.allow_repair(register_id))
            if not done and office.register_by_id(register_id) is None:
                raise _Refused(404, _("касса не найдена"))
            return RedirectResponse("/", status_code=303)
        handler.__name__ = f"register_{action.replace('-', '_')}"
        return handler

    def document_page(request: Request, form: dict[str, str]) -> Response:
        try:
            doc = office.document_by_id(int(request.path_params["document_id"]))
        except ValueError:
            doc = None
        if doc is None:
            raise _Refused(404, _("документ не найден"))
        fns = doc.fns
        facts = [
            (_("Документ"), document_type_name(doc.document_type)),
            (_("ФД"), str(doc.fd_number)), (_("ФН"), doc.fn_number),
            (_("Магазин"), doc.shop), (_("Заводской номер"), doc.serial),
            (_("Дата и время"), when(fns.get("dateTime"))),
            (_("Итог"), _rubles(fns.get("totalSum"))),
            (_("Получен"), when(doc.received_at)),
        ]
        body = (f"<h1>{escape(_('Документ'))} {doc.fd_number}</h1>"
                + _table((_("Поле"), _("Значение")), facts, set())
                + f"<h2>{escape(_('JSON ФНС'))}</h2><pre>"
                + escape(json.dumps(fns, ensure_ascii=False, indent=2)) + "</pre>"
                + f"<p><a href=\"/\">{escape(_('Мои Кассы'))}</a></p>")
        return _page(_("Документ"), body)

    def shop_page(request: Request, form: dict[str, str]) -> Response:
        shop = shop_or_404(request)
        catalog = office.catalog(shop.id, None)
        base = f"/shops/{shop.id}"
        groups = [(escape(g["id"]), escape(g["name"]), escape(g["parent_id"] or ""),
                   _button(f"{base}/groups/{g['id']}/archive", _("Удалить")))
                  for g in catalog["groups"]]
        goods = [(escape(g["id"]), escape(g["name"]), _rubles(g["price"]),
                  escape(g["group_id"] or ""), escape(", ".join(g["barcodes"])),
                  escape(g["measure"]),
                  _button(f"{base}/goods/{g['id']}/archive", _("Удалить")))
                 for g in catalog["goods"]]
        people = [(escape(e["id"]), escape(e["name"]), escape(e["role"]), escape(e["inn"]),
                   _button(f"{base}/employees/{e['id']}/delete", _("Удалить")))
                  for e in office.employees(shop.id)]
        body = (
            f"<h1>{escape(shop.name)}</h1><p><a href=\"/\">{escape(_('Мои Кассы'))}</a></p>"
            f"<h2>{escape(_('Группы товаров'))}</h2>"
            + _table(("id", _("Название"), _("Родитель"), ""), groups, set(), raw={0, 1, 2, 3})
            + f"<form method=\"post\" action=\"{base}/groups\">" + _field("id", "id")
            + _field("name", _("Название")) + _field("parent_id", _("Родитель"))
            + f"<button type=\"submit\">{escape(_('Сохранить'))}</button></form>"
            + f"<h2>{escape(_('Товары'))}</h2>"
            + _table(("id", _("Название"), _("Цена"), _("Группа"), _("Штрихкоды"),
                      _("Ед."), ""), goods, {2}, raw=set(range(7)))
            + f"<form method=\"post\" action=\"{base}/goods\">" + _field("id", "id")
            + _field("name", _("Название")) + _field("price", _("Цена, руб."))
            + _field("group_id", _("Группа")) + _field("barcode", _("Штрихкод"))
            + f"<button type=\"submit\">{escape(_('Сохранить'))}</button></form>"
            + f"<h2>{escape(_('Сотрудники'))}</h2>"
            + _table(("id", _("ФИО"), _("Роль"), _("ИНН"), ""), people, set(),
                     raw=set(range(5)))
            + f"<form method=\"post\" action=\"{base}/employees\">" + _field("id", "id")
            + _field("name", _("ФИО")) + _field("role", _("Роль"), "cashier")
            + _field("inn", _("ИНН"))
            + f"<button type=\"submit\">{escape(_('Сохранить'))}</button></form>"
        )
        return _page(shop.name, body)

    def required(form: dict[str, str], *names: str) -> list[str]:
        values = [form.get(name, "") for name in names]
        if not all(values) or any("\x00" in v or len(v) > 200 for v in form.values()):
            raise _Refused(400, _("заполните поля: {names}").format(names=", ".join(names)))
        return values

    def save_group(request: Request, form: dict[str, str]) -> Response:
        shop = shop_or_404(request)
        gid, name = required(form, "id", "name")
        office.upsert_group(shop.name, gid, name, form.get("parent_id") or None)
        return RedirectResponse(f"/shops/{shop.id}", status_code=303)

    def save_good(request: Request, form: dict[str, str]) -> Response:
        shop = shop_or_404(request)
        gid, name, price_text = required(form, "id", "name", "price")
        # the core's one parser of typed sums: exact kopecks, no float ("0,285", "1e3" and
        # "nan" are refused, not rounded or read as a thousand)
        price = parse_rubles(price_text)
        if price is None or price >= 2**53:
            raise _Refused(400, _("цена: число рублей, например 89,90"))
        barcode = form.get("barcode", "")
        office.upsert_good(shop.name, gid, name, price, group_id=form.get("group_id") or None,
                           barcodes=(barcode,) if barcode else ())
        return RedirectResponse(f"/shops/{shop.id}", status_code=303)

    def save_employee(request: Request, form: dict[str, str]) -> Response:
        shop = shop_or_404(request)
        eid, name = required(form, "id", "name")
        office.upsert_employee(shop.name, eid, name, form.get("role") or "cashier",
                               form.get("inn", ""))
        return RedirectResponse(f"/shops/{shop.id}", status_code=303)

    def remove(kind: str) -> Any:
        def handler(request: Request, form: dict[str, str]) -> Response:
            shop = shop_or_404(request)
            item = request.path_params["item_id"]
            if kind == "goods":
                office.archive_good(shop.name, item)
            elif kind == "groups":
                office.archive_group(shop.name, item)
            else:
                office.delete_employee(shop.name, item)
            return RedirectResponse(f"/shops/{shop.id}", status_code=303)
        handler.__name__ = f"remove_{kind}"
        return handler

    pages: list[tuple[str, str, Any]] = [
        ("GET", "/", registers_page),
        ("POST", "/sync-codes", issue_code),
        ("POST", "/registers/{register_id}/revoke", register_action("revoke")),
        ("POST", "/registers/{register_id}/allow-repair", register_action("allow-repair")),
        ("GET", "/documents/{document_id}", document_page),
        ("GET", "/shops/{shop_id}", shop_page),
        ("POST", "/shops/{shop_id}/groups", save_group),
        ("POST", "/shops/{shop_id}/goods", save_good),
        ("POST", "/shops/{shop_id}/employees", save_employee),
        ("POST", "/shops/{shop_id}/groups/{item_id}/archive", remove("groups")),
        ("POST", "/shops/{shop_id}/goods/{item_id}/archive", remove("goods")),
        ("POST", "/shops/{shop_id}/employees/{item_id}/delete", remove("employees")),
    ]
    for method, path, handler in pages:
        app.router.add_route(path, guarded(handler), methods=[method], include_in_schema=False)


def _documents_table(docs: Sequence[StoredDocument]) -> str:
    rows = []
    for d in docs:
        fns = d.fns
        rows.append((
            f"<a href=\"/documents/{d.id}\">{d.fd_number}</a>",
            escape(document_type_name(d.document_type)),
            when(fns.get("dateTime")), _rubles(fns.get("totalSum")),
            _rubles(fns.get("cashTotalSum")), _rubles(fns.get("ecashTotalSum")),
            escape(d.shop), escape(d.fn_number),
        ))
    return _table((_("ФД"), _("Документ"), _("Дата и время"), _("Итог"), _("Наличными"),
                   _("Безналичными"), _("Магазин"), _("ФН")), rows, {0, 3, 4, 5},
                  raw=set(range(8)))
