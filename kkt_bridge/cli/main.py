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

COMMAND_MODULES: tuple[str, ...] = (
    "status", "fn", "emulator", "plugins", "backoffice",
    "connect", "settings", "sync", "reset", "run",
    "devices", "doctor", "demo",
)


class _Group(click.Group):
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


for _module in COMMAND_MODULES:
    import_module(f"kkt_bridge.cli.{_module}").register(cli)


def main() -> None:
    # --lang must take effect before any sub-command formats its help text
    if "--lang" in sys.argv:
        idx = sys.argv.index("--lang")
        if idx + 1 < len(sys.argv):
            set_language(sys.argv[idx + 1])
    cli(prog_name="kkt-bridge")


if __name__ == "__main__":
    main()
