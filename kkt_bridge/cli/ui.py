"""``kkt-bridge ui``: a fresh one-time address of the running daemon's page."""

from __future__ import annotations

import click

from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _


@click.command(name="ui", help=_(
    "Напечатать новую ссылку для входа на страницу работающего kkt-bridge run."))
def ui_command() -> None:
    """Напечатать новую ссылку для входа на страницу работающего kkt-bridge run."""
    from kkt_bridge.store.paths import data_dir
    from kkt_bridge.web.client import DaemonClient
    from kkt_bridge.web.instance import running_daemon

    daemon = running_daemon(data_dir())
    if daemon is None:
        raise ConfigError(
            _("kkt-bridge run не запущен с этим хранилищем ({path})").format(path=data_dir()),
            _("запустите его (kkt-bridge run или systemctl start kkt-bridge); для службы "
              "выполните команду от её пользователя с KKT_BRIDGE_HOME=/var/lib/kkt-bridge"))
    with DaemonClient(daemon) as client:
        click.echo(client.login_url())


def register(group: click.Group) -> None:
    group.add_command(ui_command)
