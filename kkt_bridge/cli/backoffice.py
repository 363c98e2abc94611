"""``kkt-bridge backoffice``: the reference back office's commands are the plugin's own
(:mod:`kkt_bridge.plugins.reference.cli`); this module only hands them to the CLI."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from kkt_bridge.plugins.reference.cli import register as contribute

    contribute(group)
