"""``kkt-bridge sync now``: «Обновить сейчас» for every paired register."""

from __future__ import annotations

from functools import partial

import click

from kkt_bridge.bridge import app
from kkt_bridge.bridge.jobs import JOB_TITLES
from kkt_bridge.bridge.scheduler import JobOutcome, RegisterLink, Scheduler
from kkt_bridge.errors import KktBridgeError, NotPairedError
from kkt_bridge.i18n import _
from kkt_bridge.logs import register_secret
from kkt_bridge.store import Store


def sync_now(db: Store, device: str | None = None, driver: str | None = None,
             ) -> list[JobOutcome]:
    """Run every enabled job of every paired register (at ``device``) once, now."""
    pm = app.plugin_manager()
    scheduler = Scheduler(db, pm)
    outcomes: list[JobOutcome] = []
    for key in app.paired_keys(db, device):
        record = db.get_register(key)
        pairing = db.get_pairing(key)
        if pairing is not None:
            register_secret(pairing.credentials.token)
        url = record.device_url if record else None
        if not url:
            outcomes.append(JobOutcome(key, "documents", False, error=_(
                "адрес ККТ неизвестен: подключите её заново (kkt-bridge connect)")))
            continue
        link = RegisterLink(url, partial(app.open_register, driver=driver or (
            record.driver if record else None)), db.lock_dir)
        try:
            outcomes += scheduler.run_now(link, key)
        except KktBridgeError as exc:
            outcomes.append(JobOutcome(key, "documents", False, error=str(exc)))
        finally:
            link.drop()
    return outcomes


@click.group(name="sync", help=_("Обмен с бэк-офисом."))
def sync_group() -> None:
    """Обмен с бэк-офисом."""


@sync_group.command(name="now", help=_(
    "Обновить сейчас: все задания всех подключённых ККТ; код 0, если все успешны."))
@click.option("--device", default=None, metavar="URL", help=_("Только ККТ на этом порту."))
@click.option("--driver", default=None, metavar="NAME",
              help=_("Протокол ККТ: shtrih или atol (по умолчанию определяется опросом)."))
def now_command(device: str | None, driver: str | None) -> None:
    """Обновить сейчас: все задания всех подключённых ККТ; код 0, если все успешны."""
    db = app.store()
    try:
        outcomes = sync_now(db, device, driver)
    finally:
        db.close()
    if not outcomes:
        raise NotPairedError(_("нет ККТ, подключённой к бэк-офису"),
                             _("сначала выполните «kkt-bridge connect --device URL --plugin ИМЯ»"))
    for outcome in outcomes:
        title = _(JOB_TITLES.get(outcome.job, outcome.job))
        if outcome.ok:
            details = ", ".join(f"{k}={v}" for k, v in outcome.summary.items())
            click.echo(_("{key}: {title}: готово ({details})").format(
                key=outcome.register_key, title=title, details=details))
        else:
            click.echo(_("{key}: {title}: ошибка: {error}").format(
                key=outcome.register_key, title=title, error=outcome.error), err=True)
    if not all(o.ok for o in outcomes):
        raise SystemExit(1)


def register(group: click.Group) -> None:
    group.add_command(sync_group)
