"""``python -m kkt_bridge.drivers.shtrih.emulator``: the same as ``kkt-bridge emulator``."""

from __future__ import annotations

import sys

import click

from kkt_bridge.cli.emulator import emulator
from kkt_bridge.errors import KktBridgeError
from kkt_bridge.i18n import _


def main() -> None:
    try:
        emulator.main(args=sys.argv[1:], prog_name="python -m kkt_bridge.drivers.shtrih.emulator",
                      standalone_mode=False)
    except KktBridgeError as exc:
        click.echo(_("Ошибка: ") + str(exc), err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(1)


if __name__ == "__main__":
    main()
