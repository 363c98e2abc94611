"""The ``kkt-bridge`` command: a click group whose sub-commands are imported on demand.

:data:`COMMANDS` maps each command name to where it lives and to the one-line summary that
``kkt-bridge --help`` lists, so listing the commands imports none of them and running one
imports only its own module: adding a command is one line there. The target is either a
click command or a ``register(group)`` function that adds it. Every
:class:`~kkt_bridge.errors.KktBridgeError` is printed as its message and hint, with the
error's exit code, never as a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module

import click

from kkt_bridge.cli.clicktext import install_click_texts
from kkt_bridge.errors import KktBridgeError
from kkt_bridge.i18n import _, gettext_foreign, set_language

install_click_texts()

#: name -> ("module:attribute", summary shown by ``kkt-bridge --help``, in Russian)
COMMANDS: dict[str, tuple[str, str]] = {
    "backoffice": ("kkt_bridge.plugins.reference.cli:backoffice_group",
                   "Эталонный бэк-офис: сервер, кассы, коды, документы."),
    "connect": ("kkt_bridge.cli.connect:connect_command",
                "Подключить ККТ к бэк-офису по коду синхронизации."),
    "demo": ("kkt_bridge.cli.demo:register",
             "Демонстрация: эмулятор ККТ и эталонный бэк-офис."),
    "devices": ("kkt_bridge.cli.devices:devices_command",
                "Найти подключённые ККТ."),
    "doctor": ("kkt_bridge.cli.doctor:doctor_command",
               "Проверить доступ к ККТ, ФН, ОФД и бэк-офис."),
    "emulator": ("kkt_bridge.cli.emulator:emulator",
                 "Эмулятор ККТ (Штрих-М, АТОЛ)."),
    "fn": ("kkt_bridge.cli.fn:fn_group",
           "Архив ФН: чтение и разбор документов."),
    "goods": ("kkt_bridge.cli.goods:register",
              "Товары и группы товаров, добавленные на кассе."),
    "plugins": ("kkt_bridge.cli.plugins:plugins_command",
                "Установленные модули бэк-офисов."),
    "reset": ("kkt_bridge.cli.reset:reset_command",
              "Сбросить всё, как при переустановке."),
    "run": ("kkt_bridge.cli.run:run_command",
            "Работать постоянно: следить за ККТ и обмениваться."),
    "settings": ("kkt_bridge.cli.settings:settings_command",
                 "Изменить настройки обновления."),
    "status": ("kkt_bridge.cli.status:status_command",
               "Состояние ККТ, ФН и очереди в ОФД."),
    "sync": ("kkt_bridge.cli.sync:sync_group",
             "Обмен с бэк-офисом."),
    "ui": ("kkt_bridge.cli.ui:ui_command",
           "Ссылка для входа на страницу работающего kkt-bridge run."),
}

# click's own texts, so that click's catalog has them
VERSION_HELP = "Show the version and exit."
HELP_HELP = "Show this message and exit."


def load_command(name: str, target: str) -> click.Command:
    """Import the command behind ``module:attribute``; a ``register(group)`` function is
    run against a scratch group and the command it added under ``name`` is taken."""
    module_name, _sep, attribute = target.partition(":")
    found: click.Command | Callable[[click.Group], None] = getattr(
        import_module(module_name), attribute)
    if isinstance(found, click.Command):
        return found
    scratch = click.Group()
    found(scratch)
    return scratch.commands[name]


class LazyGroup(click.Group):
    """The commands of :data:`COMMANDS`, each imported the first time it is asked for: after
    ``--lang`` took effect (their help texts are translated when they are defined), and
    without importing what the other commands need."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(load_command(cmd_name, COMMANDS[cmd_name][0]), cmd_name)
        return self.commands.get(cmd_name)

    _sources: dict[str, str] | None = None

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # the group's own texts are defined at import, before the language is known: they
        # keep their source and are translated each time they are shown
        if self._sources is None:
            self._sources = {param.name or "": param.help for param in self.params
                             if isinstance(param, click.Option) and param.help}
            self._sources[""] = self.help or ""
        self.help = _(self._sources[""])
        for param in self.params:
            if isinstance(param, click.Option) and param.name in self._sources:
                source = self._sources[param.name]
                param.help = gettext_foreign(source) if param.name == "version" else _(source)
        super().format_help(ctx, formatter)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:  # click keeps the first one, in the language of that moment
            option.help = gettext_foreign(HELP_HELP)
        return option

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows: list[tuple[str, str]] = []
        for name in names:
            if name in COMMANDS:
                # a stand-in carries the summary, shortened exactly as click shortens help
                summary = click.Command(name, help=_(COMMANDS[name][1])).get_short_help_str(limit)
            elif self.commands[name].hidden:
                continue
            else:
                summary = self.commands[name].get_short_help_str(limit)
            rows.append((name, summary))
        with formatter.section(gettext_foreign("Commands")):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KktBridgeError as exc:
            click.echo(_("Ошибка: ") + exc.for_people(), err=True)
            ctx.exit(exc.exit_code)




def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    # click.version_option translates its texts when it is applied, before --lang is known
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    click.echo(gettext_foreign("%(prog)s, version %(version)s")
               % {"prog": ctx.find_root().info_name, "version": version("kkt-bridge")})
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", type=click.Choice(["ru", "en"]), default=None,
              help="Язык интерфейса (по умолчанию русский, или KKT_BRIDGE_LANG).")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_show_version, help=VERSION_HELP)
def cli(lang: str | None) -> None:
    """kkt-bridge: мост между ККТ и бэк-офисом."""
    set_language(lang)


def _language_from_argv(argv: list[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
    return None


def main() -> None:
    # before a command module is imported: their help texts are translated when defined
    set_language(_language_from_argv(sys.argv[1:]))
    from kkt_bridge.logs import configure_from_env

    configure_from_env()  # one log format for every command; `run` has its own options
    cli(prog_name="kkt-bridge")


if __name__ == "__main__":
    main()
