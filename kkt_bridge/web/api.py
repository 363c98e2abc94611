"""The local JSON API: the same actions as the page and the CLI, for cash software that shows
the dialogues itself. Every route is a thin shell over :class:`kkt_bridge.bridge.actions.Actions`;
its OpenAPI description (``/api/openapi.json``) is generated from the actions' typed results
and the request models below.

Errors are ``{"message": …, "hint": …, "kind": …}`` in the request's language; bad input gets
4xx and changes nothing.
"""

from __future__ import annotations

import contextvars
import os
import threading
import uuid
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from kkt_bridge.bridge.actions import (
    Actions,
    CatalogView,
    Connected,
    ConnectOptions,
    ExchangeResult,
    GoodInput,
    GoodView,
    GroupInput,
    GroupView,
    PromptView,
    RegisterStatus,
    SettingsChange,
    SettingsPlan,
    SettingsSaved,
    SettingsView,
    SyncResult,
)
from kkt_bridge.bridge.events import EventBus
from kkt_bridge.errors import ConfigError, ConfirmationRequiredError
from kkt_bridge.i18n import _
from kkt_bridge.web.context import WebContext
from kkt_bridge.web.errors import ErrorBody
from kkt_bridge.web.events import event_stream
from kkt_bridge.web.security import require_api, require_secret

SYNC_FINISHED = "sync_finished"


def context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.context
    return ctx


def actions(request: Request) -> Actions:
    return context(request).actions


Ctx = Annotated[WebContext, Depends(context)]
Act = Annotated[Actions, Depends(actions)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConnectRequest(Strict):
    device_url: str = Field(min_length=1, max_length=1000)
    code: str = Field(min_length=1, max_length=4096)
    plugin: str | None = Field(default=None, max_length=200)
    endpoint: str | None = Field(default=None, max_length=2000)


class SettingsRequest(Strict):
    goods_period: int | None = Field(default=None, ge=0)
    employees_period: int | None = Field(default=None, ge=0)
    receipts_interval: int | None = Field(default=None, ge=0)
    #: the confirmation token of the list the user saw (a goods-sync change needs it)
    confirmation: str | None = Field(default=None, max_length=64)

    def change(self) -> SettingsChange:
        return SettingsChange(goods_period=self.goods_period,
                              employees_period=self.employees_period,
                              receipts_interval=self.receipts_interval)


class SyncRequest(Strict):
    register_key: str | None = None
    device: str | None = None
    #: return at once with a run id; progress and the result come as events
    background: bool = False


class SyncStarted(Strict):
    run_id: str


class GoodRequest(Strict):
    name: str = Field(min_length=1, max_length=500)
    price: int = Field(ge=0, le=10**12, description="kopecks")
    id: str = Field(default="", max_length=200)
    group_id: str | None = Field(default=None, max_length=200)
    code: str = Field(default="", max_length=100)
    barcodes: tuple[str, ...] = Field(default=(), max_length=100)
    measure: str = Field(default="шт", max_length=50)
    vat: int = Field(default=6, ge=1, le=10)
    weighed: bool = False

    def good(self) -> GoodInput:
        return GoodInput(**self.model_dump())


class GroupRequest(Strict):
    name: str = Field(min_length=1, max_length=500)
    id: str = Field(default="", max_length=200)
    parent_id: str | None = Field(default=None, max_length=200)

    def group(self) -> GroupInput:
        return GroupInput(**self.model_dump())


class WatchRequest(Strict):
    device_url: str = Field(min_length=1, max_length=1000)


class Watched(Strict):
    urls: list[str]


class LoginUrl(Strict):
    url: str


class Health(Strict):
    pid: int
    url: str


class ConfirmationNeeded(Strict):
    message: str
    hint: str | None
    kind: str
    plan: dict[str, Any]


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 403: {"model": ErrorBody},
    404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 421: {"model": ErrorBody},
    422: {"model": ErrorBody}, 502: {"model": ErrorBody}, 503: {"model": ErrorBody},
}

router = APIRouter(prefix="/api", dependencies=[Depends(require_api)], responses=ERRORS)


@router.get("/health", response_model=Health)
def health(ctx: Ctx) -> Health:
    return Health(pid=os.getpid(), url=ctx.base_url)


@router.post("/login-tokens", response_model=LoginUrl, dependencies=[Depends(require_secret)])
def login_token(ctx: Ctx) -> LoginUrl:
    """A fresh one-time address that opens the page (``kkt-bridge ui``); secret only."""
    return LoginUrl(url=ctx.login_url())


@router.post("/registers/watch", response_model=Watched)
def watch(body: WatchRequest, ctx: Ctx) -> Watched:
    """Watch one more register from now on (a register plugged in: udev's instance of
    ``kkt-bridge@.service`` hands it over with ``run --hand-over``)."""
    if ctx.watch is None:
        raise ConfigError(_("этот сервер не следит за ККТ"), _("запустите kkt-bridge run"))
    ctx.watch(body.device_url)
    return Watched(urls=ctx.urls())


@router.get("/backoffices", response_model=ConnectOptions)
def connect_options(act: Act) -> ConnectOptions:
    return act.connect_options()


@router.post("/connect", response_model=Connected)
def connect(body: ConnectRequest, act: Act) -> Connected:
    """«Подключить ККТ»: a wrong, expired or used code is 400 and stores nothing."""
    return act.connect(body.device_url, body.code, plugin=body.plugin, endpoint=body.endpoint)


@router.get("/paired", response_model=list[str])
def paired(act: Act, device: Annotated[str | None, Query(max_length=1000)] = None) -> list[str]:
    """Keys of the paired registers (at ``device`` when given)."""
    return act.paired_registers(device)


@router.get("/prompts", response_model=list[PromptView])
def prompts(act: Act) -> list[PromptView]:
    return act.prompts()


@router.get("/registers", response_model=list[RegisterStatus])
def registers(ctx: Ctx) -> list[RegisterStatus]:
    return ctx.actions.statuses(ctx.urls())


@router.get("/status", response_model=RegisterStatus)
def status(act: Act, device: Annotated[str | None, Query(max_length=1000)] = None,
           fresh: bool = False) -> RegisterStatus:
    """The register at ``device``, or the only paired one."""
    return act.status(act.choose_device(device), fresh=fresh)


@router.get("/registers/{key}/status", response_model=RegisterStatus)
def register_status(key: str, act: Act, fresh: bool = False) -> RegisterStatus:
    act.settings(key)  # 404 for a register that is not paired
    return act.status(register_key=key, fresh=fresh)


@router.get("/registers/{key}/settings", response_model=SettingsView)
def settings(key: str, act: Act) -> SettingsView:
    return act.settings(key)


@router.post("/registers/{key}/settings/preview", response_model=SettingsPlan)
def preview_settings(key: str, body: SettingsRequest, act: Act) -> SettingsPlan:
    return act.preview_settings(key, body.change())


@router.post("/registers/{key}/settings", response_model=SettingsSaved,
             responses={409: {"model": ConfirmationNeeded}})
def apply_settings(key: str, body: SettingsRequest, act: Act) -> Any:
    """«Сохранить». A goods-sync change without the token of the current list is 409 with
    the list to confirm (``plan``); nothing changes."""
    try:
        return act.apply_settings(key, body.change(), body.confirmation)
    except ConfirmationRequiredError as exc:
        plan = act.preview_settings(key, body.change())  # the list as it is now
        return JSONResponse(status_code=409, content={
            **ErrorBody.of(exc).model_dump(), "plan": jsonable_encoder(asdict(plan))})


@router.post("/sync", response_model=SyncResult | SyncStarted)
def sync(body: SyncRequest, ctx: Ctx) -> Any:
    """«Обновить сейчас»: every exchange of the register (of every paired one). Progress is
    published as ``sync_progress`` events; with ``background`` the call returns a run id at
    once and the result comes as a ``sync_finished`` event."""
    act = ctx.actions
    key = body.register_key
    if key is not None:
        act.settings(key)  # 404 before anything runs
    elif not act.paired_registers(body.device):
        act.choose_register(body.device)  # says why there is nothing to run
    if not body.background:
        return act.sync_now(key, device=body.device)
    run_id = uuid.uuid4().hex[:12]
    start_background_sync(act, ctx.bus, run_id, key, body.device)
    return JSONResponse(status_code=202, content={"run_id": run_id})


def start_background_sync(act: Actions, bus: EventBus, run_id: str, key: str | None,
                          device: str | None) -> None:
    def run() -> None:
        try:
            result = act.sync_now(key, device=device, run_id=run_id)
            bus.publish(SYNC_FINISHED, {"run_id": run_id, "ok": result.ok,
                                        "results": jsonable_encoder(
                                            [asdict(r) for r in result.results])})
        except Exception as exc:  # reported to the page, which waits for this run
            bus.publish(SYNC_FINISHED, {"run_id": run_id, "ok": False,
                                        "error": ErrorBody.of(exc).model_dump()})

    # the request's language goes with it
    thread_context = contextvars.copy_context()
    threading.Thread(target=thread_context.run, args=(run,), daemon=True,
                     name=f"kkt-bridge sync {run_id}").start()


@router.post("/registers/{key}/exports/retry", response_model=ExchangeResult)
def retry_export(key: str, act: Act) -> ExchangeResult:
    """«Повторить» a failed export: the receipts exchange, now."""
    return act.retry_export(key)


@router.get("/registers/{key}/catalog", response_model=CatalogView)
def catalog(key: str, act: Act) -> CatalogView:
    act.settings(key)
    return act.catalog(key)


@router.post("/registers/{key}/catalog/goods", response_model=GoodView, status_code=201)
def add_good(key: str, body: GoodRequest, act: Act) -> GoodView:
    return act.add_good(key, body.good())


@router.put("/registers/{key}/catalog/goods/{good_id}", response_model=GoodView)
def edit_good(key: str, good_id: str, body: GoodRequest, act: Act) -> GoodView:
    return act.edit_good(key, good_id, body.good())


@router.delete("/registers/{key}/catalog/goods/{good_id}", status_code=204)
def delete_good(key: str, good_id: str, act: Act) -> None:
    act.delete_good(key, good_id)


@router.post("/registers/{key}/catalog/groups", response_model=GroupView, status_code=201)
def add_group(key: str, body: GroupRequest, act: Act) -> GroupView:
    return act.add_group(key, body.group())


@router.put("/registers/{key}/catalog/groups/{group_id}", response_model=GroupView)
def edit_group(key: str, group_id: str, body: GroupRequest, act: Act) -> GroupView:
    return act.edit_group(key, group_id, body.group())


@router.delete("/registers/{key}/catalog/groups/{group_id}", status_code=204)
def delete_group(key: str, group_id: str, act: Act) -> None:
    act.delete_group(key, group_id)


@router.get("/events", response_class=JSONResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "server-sent events"}})
async def events(request: Request, ctx: Ctx) -> Any:
    """Server-sent events: ``prompts`` (the current list, first), ``prompt``,
    ``prompt_resolved``, ``sync_progress``, ``sync_finished``, ``resync`` (read the state
    again)."""
    return event_stream(request, ctx)

