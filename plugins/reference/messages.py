"""The back office's messages in the language of each request (``Accept-Language``:
Russian by default, English on request), so a bridge run with ``--lang en`` shows the
server's messages in English too. The language is the core's per-context one
(:mod:`kkt_bridge.i18n`): requests served at once in one process do not see each other's."""

from __future__ import annotations

from kkt_bridge.i18n import _ as _
from kkt_bridge.i18n import language as current
from kkt_bridge.i18n import negotiate as choose
from kkt_bridge.i18n import use_language

__all__ = ["_", "choose", "current", "use"]


def use(language: str) -> None:
    use_language(language)
