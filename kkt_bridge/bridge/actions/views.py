"""Turning what the register and the store hold into :mod:`.models`, in the UI language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from kkt_bridge.bridge.actions.models import (
    ExchangeResult,
    GoodView,
    GroupView,
    LinkHealth,
    LinkState,
    PromptView,
    RegisterFacts,
    RegistrationView,
)
from kkt_bridge.bridge.jobs import DOCUMENTS, JOB_TITLES
from kkt_bridge.bridge.prompts import ConnectPrompt
from kkt_bridge.bridge.scheduler import JobOutcome
from kkt_bridge.bridge.watcher import REASON_TEXT
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt, ShiftState
from kkt_bridge.store import StoredGood, StoredGroup

# --- plain functions the shells and the daemon share ---------------------------------------


def when(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


_SHIFT_WORDS = {
    ShiftState.OPEN.value: "открыта",
    ShiftState.CLOSED.value: "закрыта",
    ShiftState.EXPIRED.value: "открыта больше 24 часов",
}


def read_facts(kkt: Kkt) -> RegisterFacts:
    """Identity, registration, ФН, shift and OFD queue of the register, read now.

    The register's own times (registration, last document) are its clock's, naive."""
    ident = kkt.identity()
    state = kkt.status()
    fn = kkt.fn_status() if ident.fn_number else None
    reg = kkt.registration()
    shift = kkt.shift()
    queue = kkt.ofd_queue()
    shift_state = state.shift
    if shift_state is ShiftState.CLOSED and shift.open:
        shift_state = ShiftState.OPEN  # the ФН knows better than a mode byte
    return RegisterFacts(
        driver=ident.protocol, model=ident.model, model_code=ident.model_code,
        serial=ident.serial, firmware=ident.firmware, fn_number=ident.fn_number,
        fn_valid_until=fn.valid_until.date() if fn and fn.valid_until else None,
        mode=state.mode, mode_text=state.mode_text,
        registration=None if reg is None else RegistrationView(
            inn=reg.inn, rnm=reg.rnm, tax_systems=tuple(reg.tax_system_names),
            tax_systems_mask=reg.tax_systems, work_mode=reg.work_mode,
            ffd_version=reg.ffd_version, registered_at=(reg.registered_at),
            fd_number=reg.fd_number),
        shift_state=shift_state.value, shift_text=_(_SHIFT_WORDS[shift_state.value]),
        shift_number=shift.number, receipt_number=shift.receipt_number,
        last_fd_number=fn.last_fd_number if fn else None,
        last_document_at=(fn.last_document_at) if fn else None,
        ofd_unsent=queue.unsent, ofd_first_unsent_fd=queue.first_unsent_fd,
        ofd_first_unsent_at=(queue.first_unsent_at), read_at=datetime.now(UTC))


_SUMMARY_WORDS: dict[str, str] = {
    "goods": "товаров: {n}",
    "groups": "групп: {n}",
    "employees": "сотрудников: {n}",
    "cashiers_written": "записано кассиров в ККТ: {n}",
    "cashiers_kept_in_bridge": "у ККТ нет таблицы кассиров, список хранится в kkt-bridge: {n}",
    "exported": "выгружено документов: {n}",
    "duplicates": "уже были в бэк-офисе: {n}",
    "undecoded": "не разобрано: {n}",
    "unsent": "ещё не выгружено: {n}",
    "replaced_fn_exported": "выгружено с прежнего ФН: {n}",
}


def describe_summary(job: str, summary: dict[str, int]) -> str:
    """What an exchange did, in words (no raw keys reach a user)."""
    if summary.get("skipped"):
        return _("выключен («Никогда»)")
    parts = [_(_SUMMARY_WORDS[key]).format(n=value) for key, value in summary.items()
             if key in _SUMMARY_WORDS and (value or key in ("exported", "goods", "employees"))]
    if job == DOCUMENTS and summary.get("cursor") is not None:
        parts.append(_("выгружено до ФД {n}").format(n=summary["cursor"]))
    if summary.get("fn_replaced"):
        parts.append(_("ФН заменён"))
    return ", ".join(parts) or _("готово")


def exchange_result(outcome: JobOutcome) -> ExchangeResult:
    return ExchangeResult(
        register_key=outcome.register_key, job=outcome.job,
        title=_(JOB_TITLES.get(outcome.job, outcome.job)), ok=outcome.ok,
        summary=dict(outcome.summary),
        text=describe_summary(outcome.job, outcome.summary) if outcome.ok
        else (outcome.error or ""),
        error=outcome.error, next_run=when(outcome.next_run_at))


def good_view(stored: StoredGood) -> GoodView:
    g = stored.good
    return GoodView(id=g.id, name=g.name, price=g.price, group_id=g.group_id, code=g.code,
                    barcodes=tuple(g.barcodes), measure=g.measure, vat=g.vat,
                    weighed=g.weighed, origin=stored.origin)


def group_view(stored: StoredGroup) -> GroupView:
    g = stored.group
    return GroupView(id=g.id, name=g.name, parent_id=g.parent_id, origin=stored.origin)


def prompt_view(prompt: ConnectPrompt) -> PromptView:
    return PromptView(id=prompt.id, url=prompt.url, register_key=prompt.register_key,
                      serial=prompt.serial, fn_number=prompt.fn_number, model=prompt.model,
                      reason=prompt.reason, reason_text=_(REASON_TEXT[prompt.reason]),
                      raised_at=when(prompt.raised_at) or datetime.now(UTC))


def in_language(facts: RegisterFacts | None, health: LinkHealth) -> tuple[
        RegisterFacts | None, LinkHealth]:
    """Facts and health made earlier (the daemon's cache) with their words in the language
    of the current request."""
    if facts is not None:
        facts = replace(facts, shift_text=_(_SHIFT_WORDS[facts.shift_state]))
    return facts, link_health(health.state, health.error, health.checked_at)


HEALTH_TEXT: dict[str, str] = {
    "ok": "на связи",
    "unreachable": "нет связи",
    "unplugged": "отключена",
    "unknown": "не проверялась",
}


def _health_text(state: LinkState) -> str:
    return _(HEALTH_TEXT[state])


def link_health(state: LinkState, error: str | None = None,
                checked_at: datetime | None = None) -> LinkHealth:
    return LinkHealth(state=state, text=_health_text(state), error=error,
                      checked_at=checked_at)


FactsSource = Callable[[str], tuple[RegisterFacts | None, LinkHealth] | None]


