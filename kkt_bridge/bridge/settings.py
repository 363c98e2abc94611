"""«Изменить настройки обновления»: periods per event, and the seed's goods rules.

Turning goods sync on replaces the register's catalog with the back office's, deleting the
goods and groups added at the register; turning it off leaves those invisible to the back
office, to be deleted when sync comes back on. Both changes need a confirmation that saw the
list of what goes: :func:`preview_settings` returns that list and a token derived from it,
and :func:`apply_settings` refuses any other token, so confirming a stale list changes
nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Literal

from kkt_bridge.bridge.periods import PERIODS, period_label
from kkt_bridge.errors import (
    ConfigError,
    ConfirmationMismatchError,
    ConfirmationRequiredError,
    ConfirmationStaleError,
)
from kkt_bridge.exchange import Good, GoodsGroup
from kkt_bridge.i18n import _
from kkt_bridge.store import ORIGIN_REGISTER, ExchangeSettings, Store

GoodsChange = Literal["on", "off"]

RECEIPTS_INTERVAL_MIN = 5
RECEIPTS_INTERVAL_MAX = 24 * 3600

#: the seed's confirmation dialogue: title and the button of each change
CONFIRM_TITLE = "Подтверждение"
CONFIRM_BUTTON: dict[GoodsChange, str] = {
    "on": "Синхронизировать товары",
    "off": "Отключить синхронизацию",
}
WARNING: dict[GoodsChange, str] = {
    "on": "Список товаров (групп товаров) на кассовом ПО будет полностью совпадать со списком "
          "товаров (групп товаров) в бэк-офисе. Все товары и группы товаров, добавленные через "
          "кассовое ПО, удалятся.",
    "off": "Товары (и группы товаров), добавленные через кассовое ПО, не будут отображены "
           "в бэк-офисе и при включении синхронизации удалятся.",
}
RECEIPTS_AUTOMATIC = "Экспорт чеков настроен автоматически"


@dataclass(frozen=True)
class SettingsPreview:
    """What saving ``new`` would do; ``token`` confirms exactly this list."""

    register_key: str
    current: ExchangeSettings
    new: ExchangeSettings
    goods_change: GoodsChange | None
    goods_to_delete: tuple[Good, ...]
    groups_to_delete: tuple[GoodsGroup, ...]
    token: str | None

    @property
    def needs_confirmation(self) -> bool:
        return self.goods_change is not None

    @property
    def changed(self) -> bool:
        return self.current != self.new


def validate(settings: ExchangeSettings) -> None:
    for value in (settings.goods_period, settings.employees_period):
        if value not in PERIODS:
            raise ConfigError(_("период {value} с не из списка").format(value=value),
                              _("выберите один из: {choices}").format(
                                  choices=", ".join(period_label(p) for p in PERIODS)))
    if not RECEIPTS_INTERVAL_MIN <= settings.receipts_interval <= RECEIPTS_INTERVAL_MAX:
        raise ConfigError(
            _("интервал проверки чеков {value} с вне допустимого").format(
                value=settings.receipts_interval),
            _("укажите от {lo} до {hi} секунд").format(lo=RECEIPTS_INTERVAL_MIN,
                                                       hi=RECEIPTS_INTERVAL_MAX))


def _check(digest: str) -> str:
    return hashlib.sha256(b"kkt-bridge confirmation\0" + digest.encode()).hexdigest()[:4]


def _token(register_key: str, change: GoodsChange, goods: tuple[Good, ...],
           groups: tuple[GoodsGroup, ...]) -> str:
    """12 hex digits naming the list, then 4 of a check over them: a code with a wrong
    check was mistyped, a code with a right check was given for another list."""
    digest = hashlib.sha256()
    for part in (register_key, change, *(f"good\0{g.id}\0{g.name}" for g in goods),
                 *(f"group\0{g.id}\0{g.name}" for g in groups)):
        digest.update(part.encode() + b"\n")
    head = digest.hexdigest()[:12]
    return head + _check(head)


def well_formed(token: str) -> bool:
    """True for a code :func:`preview_settings` could have given (whatever its list)."""
    token = token.strip().lower()
    return len(token) == 16 and all(c in "0123456789abcdef" for c in token) and (
        _check(token[:12]) == token[12:])


def preview_settings(store: Store, register_key: str,
                     new: ExchangeSettings) -> SettingsPreview:
    validate(new)
    current = store.get_settings(register_key)
    change: GoodsChange | None = None
    if new.goods_sync != current.goods_sync:
        change = "on" if new.goods_sync else "off"
    goods: tuple[Good, ...] = ()
    groups: tuple[GoodsGroup, ...] = ()
    token = None
    if change is not None:
        # either way, what goes (now, or when sync comes back on) is what the register added
        goods = tuple(s.good for s in store.goods(register_key, ORIGIN_REGISTER))
        groups = tuple(s.group for s in store.groups(register_key, ORIGIN_REGISTER))
        token = _token(register_key, change, goods, groups)
    return SettingsPreview(register_key=register_key, current=current, new=new,
                           goods_change=change, goods_to_delete=goods,
                           groups_to_delete=groups, token=token)


def apply_settings(store: Store, register_key: str, new: ExchangeSettings, *,
                   confirmation: str | None = None, now: float | None = None) -> SettingsPreview:
    """Save ``new``; a goods-sync change needs ``confirmation`` == the preview's token."""
    with store.transaction():
        preview = preview_settings(store, register_key, new)
        given = confirmation.strip().lower() if confirmation is not None else None
        if preview.needs_confirmation and given != preview.token:
            hint = _("просмотрите список товаров и групп, которые будут удалены, и "
                     "подтвердите его")
            if given is None:
                raise ConfirmationRequiredError(
                    _("изменение синхронизации товаров требует подтверждения"), hint)
            if not well_formed(given):
                raise ConfirmationMismatchError(
                    _("код подтверждения «{code}» введён с ошибкой").format(code=given[:32]),
                    _("введите код подтверждения в точности так, как он показан"))
            raise ConfirmationStaleError(
                _("список удаляемых товаров изменился, подтверждение устарело"), hint)
        if preview.goods_change == "on":
            store.delete_catalog(register_key, ORIGIN_REGISTER)
        store.save_settings(register_key, new)
        for job, period, old in (("goods", new.goods_period, preview.current.goods_period),
                                 ("employees", new.employees_period,
                                  preview.current.employees_period)):
            if period and period != old:
                # a newly switched-on or re-timed job runs at once, then on its period
                run = store.get_job_run(register_key, job)
                store.save_job_run(replace(run, next_run_at=now, failures=0))
        if preview.changed:
            store.log_event(register_key, "settings", _("настройки обмена сохранены"),
                            goods=new.goods_period, employees=new.employees_period,
                            receipts_interval=new.receipts_interval,
                            deleted_goods=len(preview.goods_to_delete)
                            if preview.goods_change == "on" else 0)
    return preview

