"""Tests that need a program from the operating system (Debian's chromium, PostgreSQL).

On a developer's machine such a test skips, saying what is missing and how to get it.
``.ci/run`` installs those packages and sets ``KKT_BRIDGE_REQUIRE_SYSTEM=1``: there a
missing program is a failure, so a green CI run cannot hide a skipped browser or database.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable

import pytest

STRICT_ENV = "KKT_BRIDGE_REQUIRE_SYSTEM"


def strict() -> bool:
    return os.environ.get(STRICT_ENV, "") not in ("", "0", "no", "false")


def unavailable(what: str, how: str) -> None:
    """Skip the current test (fail it under ``.ci/run``): ``what`` is missing, ``how`` gets it."""
    message = f"{what} is not available: {how}"
    if strict():
        pytest.fail(f"{message} ({STRICT_ENV}=1 turns this skip into a failure)")
    pytest.skip(message)


def require_program(names: Iterable[str], what: str, how: str) -> str:
    """The path of the first of ``names`` found on PATH (or given as absolute paths)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    unavailable(what, how)
    raise AssertionError("unreachable")  # pytest.skip/fail raise
