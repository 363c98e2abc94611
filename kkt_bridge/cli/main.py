"""The ``kkt-bridge`` command: a click group whose sub-commands live in sibling modules.

Each module in :data:`COMMAND_MODULES` defines ``register(group)``; adding a command is one
line here. Every :class:`~kkt_bridge.errors.KktBridgeError` is printed as its message and
hint, with the error's exit code, never as a traceback.
"""

from __future__ import annotations

import sys
from importlib import import_module

import click

from kkt_bridge.errors import KktBridgeError
from kkt_bridge.i18n import _, set_language
from kkt_bridge.logs import configure_from_env

COMMAND_MODULES: tuple[str, ...] = (
    "status", "fn", "emulator", "plugins", "backoffice",
    "connect", "settings", "sync", "reset", "run",
    "devices", "doctor", "demo", "ui",
)


class _Group(click.Group):
    """Loads the command modules on first use: after ``--lang`` took effect (their help texts
    are translated when they are defined), and without importing the server stack for a
    command that does not need it."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in COMMAND_MODULES:
                import_module(f"kkt_bridge.cli.{module}").register(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KktBridgeError as exc:
            click.echo(_("Ошибка: ") + str(exc), err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", type=click.Choice(["ru", "en"]), default=None,
              help="Язык интерфейса (по умолчанию русский, или KKT_BRIDGE_LANG).")
@click.version_option(package_name="kkt-bridge")
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
    # before click builds anything: the group's own help text is translated at import too
    set_language(_language_from_argv(sys.argv[1:]))
    configure_from_env()  # one log format for every command; `run` has its own options
    cli.help = _(cli.help or "")
    for param in cli.params:
        if isinstance(param, click.Option) and param.help:
            param.help = _(param.help)
    cli(prog_name="kkt-bridge")


if __name__ == "__main__":
    main()
