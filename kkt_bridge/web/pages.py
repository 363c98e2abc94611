"""The register page: the help page's windows, server-rendered, over the same actions as the
CLI and the API.

Every screen is a plain HTML form (POST -> 303 -> GET), so the page works without
JavaScript; the little script in ``static/page.js`` makes the window modal, opens it when the
daemon raises a connect prompt (server-sent events from ``/api/events``) and shows
«Обновить сейчас» as it goes. The routes only turn form fields into action arguments and
results into templates: each dialogue exists once, in :mod:`kkt_bridge.bridge.actions`.

The request's language (cookie, else Accept-Language) is active while a handler runs
(:func:`kkt_bridge.i18n.using`), so the actions' messages come out in it too.
"""

from __future__ import annotations

import contextvars
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from kkt_bridge.bridge.actions import (
    Actions,
    ExchangeResult,
    GoodInput,
    GroupInput,
    SettingsChange,
)
from kkt_bridge.bridge.jobs import DOCUMENTS
from kkt_bridge.errors import ConfigError, ConfirmationRequiredError, KktBridgeError
from kkt_bridge.i18n import _, language, using_language
from kkt_bridge.web.context import WebContext
from kkt_bridge.web.pagetext import (
    LANG_COOKIE,
    LANGUAGE_NAMES,
    PageText,
    choose_language,
    money_input,
    parse_money,
)
from kkt_bridge.web.pageviews import (
    RegisterView,
    SyncResults,
    Window,
    confirm_window,
    connect_window,
    registers,
    settings_window,
)
from kkt_bridge.web.security import SESSION_COOKIE

HERE = Path(__file__).parent
STATIC_FILES = {"page.css": "text/css; charset=utf-8",
                "page.js": "text/javascript; charset=utf-8"}
EVENTS_URL = "/api/events"
FORM_LIMIT = 64 * 1024
LANG_COOKIE_AGE = 365 * 24 * 3600
SYNC_FINISHED = "sync_finished"

#: the page's short confirmations after a redirect (?done=…): fixed texts, never echoed input
DONE = {
    "saved": "Настройки сохранены",
    "synced": "Обмен завершён",
    "sync-failed": "Обмен завершён с ошибками: причина указана у каждого обмена",
    "good": "Товар сохранён",
    "good-deleted": "Товар удалён",
    "group": "Группа сохранена",
    "group-deleted": "Группа удалена",
}

router = APIRouter(include_in_schema=False)

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True, lstrip_blocks=True,
)


# --- the request's world ---------------------------------------------------------------------


@dataclass
class Page:
    """One request: its server, its language, what the templates are given."""

    request: Request
    ctx: WebContext
    text: PageText
    results: SyncResults
    flashes: list[dict[str, str]] = field(default_factory=list)

    @property
    def actions(self) -> Actions:
        return self.ctx.actions

    def flash(self, kind: str, text: str) -> None:
        self.flashes.append({"kind": kind, "text": text})

    def error(self, exc: KktBridgeError) -> None:
        self.flash("error", say(exc))


def say(exc: KktBridgeError) -> str:
    """What happened and what to do, as sentences: «Код … не найден. Получите новый …»."""
    parts = [part.strip().rstrip(".") for part in (exc.message, exc.hint or "") if part.strip()]
    return " ".join(part[:1].upper() + part[1:] + "." for part in parts)


def _context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.context
    return ctx


_results_lock = threading.Lock()


def _sync_results(request: Request) -> SyncResults:
    """This server's record of what «Обновить сейчас» did (one per app)."""
    state = request.app.state
    with _results_lock:
        if getattr(state, "page_sync_results", None) is None:
            state.page_sync_results = SyncResults()
        results: SyncResults = state.page_sync_results
    return results


@contextmanager
def _page(request: Request) -> Iterator[Page]:
    language = choose_language(request.cookies.get(LANG_COOKIE),
                               request.headers.get("accept-language"))
    with using_language(language):
        yield Page(request=request, ctx=_context(request), text=PageText(language),
                   results=_sync_results(request))


def _session_ok(page: Page) -> bool:
    return page.ctx.security.session_ok(page.request.cookies.get(SESSION_COOKIE))


def _from_here(page: Page) -> bool:
    """A form post must come from one of this server's pages (cross-site forms cannot)."""
    headers = page.request.headers
    return page.ctx.security.same_origin(headers.get("origin"), headers.get("referer"))


def _render(page: Page, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    text = page.text
    html = _env.get_template(template).render(
        _=text.gettext, lang=text.language, languages=LANGUAGE_NAMES, flashes=page.flashes,
        events_url=EVENTS_URL, here=_here(page.request),
        emulator_page=page.ctx.emulator_control is not None, **values)
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = text.language
    return response


def _here(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}"


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _path(key: str) -> str:
    return quote(key, safe="")


def _denied(page: Page) -> HTMLResponse:
    return _render(page, "login.html", status=401)


def _forbidden(page: Page) -> HTMLResponse:
    page.flash("error", _("Запрос пришёл не со страницы kkt-bridge: откройте страницу и "
                          "повторите там."))
    return _render(page, "login.html", status=403)


async def _form(request: Request) -> dict[str, str]:
    """The fields of an urlencoded form (the last value of each), bounded in size."""
    body = await request.body()
    if len(body) > FORM_LIMIT:
        return {}
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}


def _int_field(fields: dict[str, str], name: str) -> int | None:
    value = fields.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _registers(page: Page, edit: str | None = None,
               edit_group: str | None = None) -> list[RegisterView]:
    return registers(page.actions, page.ctx.urls(), page.results, edit, edit_group)


def _find(page: Page, key: str) -> RegisterView | None:
    return next((r for r in _registers(page) if r.key == key), None)


def _show(page: Page, window: Window, status: int = 200) -> HTMLResponse:
    if page.request.headers.get("x-fragment") == "window":
        return _render(page, "_window.html", status, window=window)
    return _render(page, "index.html", status, registers=_registers(page), window=window)


# --- routes --------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def index(request: Request, done: str | None = None, edit: str | None = None,
          edit_group: str | None = None) -> Response:
    with _page(request) as page:
        if not _session_ok(page):
            return _denied(page)
        if done in DONE:
            page.flash("error" if done.endswith("failed") else "ok", _(DONE[done]))
        return _render(page, "index.html", registers=_registers(page, edit, edit_group),
                       window=None)


@router.get("/connect/{key}", response_class=HTMLResponse)
def connect_page(request: Request, key: str, step: str = "prompt") -> Response:
    """«Подключить ККТ», then the code: the window (the page with it open, or the fragment)."""
    with _page(request) as page:
        if not _session_ok(page):
            return _denied(page)
        reg = _find(page, key)
        if reg is None:
            return _see("/")
        step = "code" if step == "code" else "prompt"
        return _show(page, connect_window(page.actions, reg, step))


@router.post("/connect/{key}", response_class=HTMLResponse)
async def connect(request: Request, key: str) -> Response:
    fields = await _form(request)
    return await _in_thread(lambda: _connect(request, key, fields))


def _connect(request: Request, key: str, fields: dict[str, str]) -> Response:
    with _page(request) as page:
        if not _session_ok(page):
            return _denied(page)
        if not _from_here(page):
            return _forbidden(page)
        reg = _find(page, key)
        if reg is None or reg.url is None:
            return _see("/")
        plugin = fields.get("plugin", "").strip() or None
        endpoint = fields.get("endpoint", "").strip() or None
        try:
            connected = page.actions.connect(reg.url, fields.get("code", ""), plugin=plugin,
                                             endpoint=endpoint)
        except KktBridgeError as exc:
            # nothing was stored: the field stays for another try
            window = connect_window(page.actions, reg, "code", error=say(exc), plugin=plugin,
                                     endpoint=endpoint)
            return _show(page, window, status=400)
        return _see(f"/settings/{_path(connected.register_key)}?connected=1")


@router.get("/settings/{key}", response_class=HTMLResponse)
def settings_page(request: Request, key: str, connected: int = 0) -> Response:
    """«Экспорт товаров», «Экспорт сотрудников», «Сохранить» (after «Соединение установлено»
    on first set-up; «Изменить настройки обновления» later)."""
    with _page(request) as page:
        if not _session_ok(page):
            return _denied(page)
        reg = _find(page, key)
        if reg is None or reg.pairing is None:
            return _see("/")
        return _show(page, settings_window(page.actions, reg, connected=bool(connected)))


@router.post("/settings/{key}", response_class=HTMLResponse)
async def save_settings(request: Request, key: str) -> Response:
    fields = await _form(request)
    return await _in_thread(lambda: _save_settings(request, key, fields))


def _save_settings(request: Request, key: str, fields: dict[str, str]) -> Response:
    with _page(request) as page:
        if not _session_ok(page):
            return _denied(page)
        if not _from_here(page):
            return _forbidden(page)
        reg = _find(page, key)
        if reg is None or reg.pairing is None:
            return _see("/")
        goods, employees = _int_field(fields, "goods"), _int_field(fields, "employees")
        change = SettingsChange(goods_period=goods, employees_period=employees)
        token = fields.get("token", "").strip() or None
        try:
            if token is None:
                plan = page.actions.preview_settings(key, change)
                if plan.confirmation is not None:  # nothing changes until it is confirmed
                    return _show(page, confirm_window(page.actions, reg, plan.goods_period,
                                                       plan.employees_period, plan.confirmation))
            page.actions.apply_settings(key, change, token)
        except ConfirmationRequiredError:
            # the list changed since it was shown: show the new one, change nothing
            plan = page.actions.preview_settings(key, change)
            if plan.confirmation is None:
                return _see(f"/settings/{_path(key)}")
            return _show(page, confirm_window(page.actions, reg, plan.goods_period,
                                               plan.employees_period, plan.confirmation,
                                               stale=True), status=409)
        except KktBridgeError as exc:
            return _show(page, settings_window(page.actions, reg, goods=goods, employees=employees,
                                                error=say(exc)), status=400)
        return _see("/?done=saved")


@router.post("/sync/{key}")
async def sync_now(request: Request, key: str) -> Response:
    """«Обновить сейчас» (and «Повторить» a failed export). From the script: started in the
    background, progress on the event stream; from a plain form: run, then the page."""
    fields = await _form(request)
    return await _in_thread(lambda: _sync_now(request, key, fields))


def _sync_now(request: Request, key: str, fields: dict[str, str]) -> Response:
    with _page(request) as page:
        if not _session_ok(page):
            return _denied(page)
        if not _from_here(page):
            return _forbidden(page)
        jobs = [DOCUMENTS] if fields.get("job") == DOCUMENTS else None
        try:
            page.actions.settings(key)  # not paired: said before anything runs
        except KktBridgeError as exc:
            if request.headers.get("x-requested-with") == "fetch":
                return JSONResponse({"message": exc.message, "hint": exc.hint}, 404)
            page.error(exc)
            return _render(page, "index.html", 404, registers=_registers(page), window=None)
        runner = _sync_runner(page.ctx, page.results, key, jobs)
        if request.headers.get("x-requested-with") == "fetch":
            run_id = uuid.uuid4().hex[:12]
            thread_context = contextvars.copy_context()  # the request's language goes along
            threading.Thread(target=thread_context.run, args=(runner, run_id), daemon=True,
                             name=f"kkt-bridge page sync {run_id}").start()
            return JSONResponse({"run_id": run_id}, status_code=202)
        return _see("/?done=synced" if runner("") else "/?done=sync-failed")


def _sync_runner(ctx: WebContext, results: SyncResults, key: str,
                 jobs: list[str] | None) -> Callable[[str], bool]:
    def run(run_id: str) -> bool:
        try:
            result = ctx.actions.sync_now(key, jobs=jobs, run_id=run_id)
            results.put(key, result.results)
            ok = result.ok
        except KktBridgeError as exc:
            failed = ExchangeResult(register_key=key, job="", title=_("Обновить сейчас"),
                                    ok=False, summary={}, text=say(exc), error=say(exc),
                                    next_run=None)
            results.put(key, (failed,))
            ok = False
        ctx.bus.publish(SYNC_FINISHED, {"run_id": run_id, "register_key": key, "ok": ok,
                                        "source": "page"})
        return ok
    return run


# --- the catalog at the register ---------------------------------------------------------


@router.post("/catalog/{key}/goods", response_class=HTMLResponse)
@router.post("/catalog/{key}/goods/{good_id}", response_class=HTMLResponse)
async def save_good(request: Request, key: str, good_id: str | None = None) -> Response:
    fields = await _form(request)

    def work(page: Page) -> str:
        price = parse_money(fields.get("price", ""))
        if price is None:
            raise ConfigError(_("цена «{value}» не похожа на сумму").format(
                value=fields.get("price", "")[:32]), _("введите цену в рублях, например 45,90"))
        good = GoodInput(name=fields.get("name", "").strip(), price=price,
                         code=fields.get("code", "").strip(),
                         group_id=fields.get("group", "").strip() or None)
        if good_id is None:
            page.actions.add_good(key, good)
        else:
            page.actions.edit_good(key, good_id, good)
        return "good"

    return await _in_thread(lambda: _catalog_change(request, work))


@router.post("/catalog/{key}/goods/{good_id}/delete", response_class=HTMLResponse)
async def delete_good(request: Request, key: str, good_id: str) -> Response:
    await _form(request)

    def work(page: Page) -> str:
        page.actions.delete_good(key, good_id)
        return "good-deleted"

    return await _in_thread(lambda: _catalog_change(request, work))


@router.post("/catalog/{key}/groups", response_class=HTMLResponse)
@router.post("/catalog/{key}/groups/{group_id}", response_class=HTMLResponse)
async def save_group(request: Request, key: str, group_id: str | None = None) -> Response:
    fields = await _form(request)

    def work(page: Page) -> str:
        group = GroupInput(name=fields.get("name", "").strip())
        if group_id is None:
            page.actions.add_group(key, group)
        else:
            page.actions.edit_group(key, group_id, group)
        return "group"

    return await _in_thread(lambda: _catalog_change(request, work))


@router.post("/catalog/{key}/groups/{group_id}/delete", response_class=HTMLResponse)
async def delete_group(request: Request, key: str, group_id: str) -> Response:
    await _form(request)

    def work(page: Page) -> str:
        page.actions.delete_group(key, group_id)
        return "group-deleted"

    return await _in_thread(lambda: _catalog_change(request, work))


def _catalog_change(request: Request, work: Callable[[Page], str]) -> Response:
    with _page(request) as page:
        if not _session_ok(page):
            return _denied(page)
        if not _from_here(page):
            return _forbidden(page)
        try:
            done = work(page)
        except KktBridgeError as exc:  # refused (sync on, bad input): nothing changed
            page.error(exc)
            return _render(page, "index.html", 400, registers=_registers(page), window=None)
        return _see(f"/?done={done}")


# --- language and files --------------------------------------------------------------------


@router.get("/lang")
def switch_language(request: Request, to: str = "ru", next: str = "/") -> Response:
    """The language switch: remembered in a cookie, then back to the same place."""
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = _see(target)
    if to in dict(LANGUAGE_NAMES):
        response.set_cookie(LANG_COOKIE, to, max_age=LANG_COOKIE_AGE, httponly=True,
                            samesite="strict", path="/")
    return response


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC_FILES:
        return Response(status_code=404)
    return FileResponse(HERE / "static" / name, media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "no-cache"})


async def _in_thread(work: Callable[[], Response]) -> Response:
    """Actions block (a register, a back office): off the event loop, with the caller's
    context."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(work)


def _capitalize_first(text: str | None) -> str | None:
    return text[:1].upper() + text[1:] if text else text


_env.filters.update({"money_input": money_input, "capitalize_first": _capitalize_first})


def _text() -> PageText:
    """Dates, sums and cached texts in the language of the request being rendered."""
    return PageText(language())


def _translated(value: str | None) -> str | None:
    """A text the daemon made in its own language (its last look at the register, a
    plugin's title), in the request's language where the catalog knows it."""
    return _text().gettext(value) if value else value


_filters: dict[str, Callable[[Any], Any]] = {
    "when": lambda value: _text().when(value),
    "day": lambda value: _text().day(value),
    "money": lambda value: _text().money(value),
    "tr": _translated,
}
_env.filters.update(_filters)
