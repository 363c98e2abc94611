"""Browser fixtures: Playwright for Python driving Debian's Chromium, never a downloaded one.

``playwright install`` cannot fetch browsers on these machines, so the tests launch
``/usr/bin/chromium`` (``executable_path``) with a fixed set of flags and a fresh profile
directory. A missing chromium skips the tests locally and fails them under ``.ci/run``
(:mod:`kkt_bridge.testing.system`). When this playwright release cannot speak to this
Chromium (a protocol skew after an upgrade of either), the fixture fails with both versions
in the message rather than with a protocol trace.

Screenshots go to ``test-artifacts/web/`` (ignored by git) unless ``KKT_BRIDGE_ARTIFACTS``
names another directory, so a person can look at every step after the run.
"""

from __future__ import annotations

import importlib.metadata
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from page_helpers import Daemon
from rich.console import Console

from kkt_bridge.demo import Demo
from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.testing.system import require_program

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ROOT = Path(__file__).resolve().parents[2]
LAUNCH_TIMEOUT_MS = 30_000


def chromium_version(path: str) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30,
                             check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return out.strip() or "unknown"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test, so fixtures can tell a failure at teardown."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


def _failed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "report_call", None)
    return report is not None and report.failed


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return require_program(["/usr/bin/chromium", "chromium", "chromium-browser"],
                           "Chromium (Debian's package)", "apt-get install chromium")


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Any]:
    # per module, not per session: while Playwright's sync API runs, its event loop stands
    # as the running loop of the main thread, and a later test of the same worker that
    # calls asyncio.run() (tests/test_i18n.py) would fail with «cannot be called from a
    # running event loop»
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("KKT_BRIDGE_ARTIFACTS", ROOT / "test-artifacts")) / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def launch_browser(playwright_driver: Any, chromium_path: str, tmp_path: Path,
                   artifacts_dir: Path,
                   request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Start Chromiums, each with a fresh user-data-dir; ``options`` go to Playwright's
    ``launch_persistent_context`` (locale, java_script_enabled ...). Yields the context."""
    from playwright.sync_api import Error as PlaywrightError

    contexts: list[Any] = []

    def launch(**options: Any) -> Any:
        profile = tmp_path / f"chromium-profile-{len(contexts)}"
        profile.mkdir()
        options.setdefault("viewport", {"width": 1280, "height": 800})
        options.setdefault("locale", "ru-RU")
        try:
            context = playwright_driver.chromium.launch_persistent_context(
                str(profile), executable_path=chromium_path, args=list(CHROMIUM_FLAGS),
                headless=True, timeout=LAUNCH_TIMEOUT_MS, **options)
        except PlaywrightError as exc:
            pytest.fail(
                f"playwright {importlib.metadata.version('playwright')} could not drive "
                f"{chromium_version(chromium_path)} at {chromium_path}: {exc}. "
                "A protocol skew between the two: pin playwright (pyproject.toml) to a "
                "release whose bundled Chromium is not newer than this one, or upgrade "
                "chromium.")
        contexts.append(context)
        return context

    yield launch
    for number, context in enumerate(contexts):
        if _failed(request):  # what the browser showed when the test failed
            for index, page in enumerate(context.pages):
                name = f"failure-{request.node.name}-{number}-{index}.png"
                try:
                    page.screenshot(path=str(artifacts_dir / name), full_page=True)
                except Exception as exc:  # a page in the middle of a navigation
                    print(f"no screenshot of {page.url}: {exc}")
        context.close()


@pytest.fixture
def browser(launch_browser: Callable[..., Any]) -> Any:
    """A Russian Chromium at 1280x800."""
    return launch_browser()


@pytest.fixture
def office(tmp_path: Path) -> Iterator[ReferenceBackOffice]:
    """The reference back office, seeded with the demo shops' goods and employees."""
    bo = ReferenceBackOffice(tmp_path / "backoffice.sqlite3")
    bo.seed_demo()
    bo.serve_in_thread()
    yield bo
    bo.stop()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """``kkt-bridge demo`` started in this process, its output kept quiet: the emulated
    register with its control URL, the back office, the daemon and the page (its one-time
    link in ``page_url``), not yet paired."""
    running = Demo(tmp_path / "demo", Console(file=io.StringIO(), width=120))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def daemon_for(tmp_path: Path,
               request: pytest.FixtureRequest) -> Iterator[Callable[..., Daemon]]:
    """``kkt-bridge run`` as the service runs it: a child process with no terminal, its
    store in a temporary directory; ``options`` are more of its command line."""
    started: list[Daemon] = []

    def start(device_url: str, *options: str) -> Daemon:
        env = {**os.environ, "KKT_BRIDGE_HOME": str(tmp_path / "bridge-home")}
        env.pop("KKT_BRIDGE_LANG", None)
        args = [sys.executable, "-c", "from kkt_bridge.cli.main import main; main()", "run",
                "--device", device_url, "--poll-interval", "0.3", "--hotplug", "off",
                "--port", "0", "--no-discover", *options]
        daemon = Daemon(args, env)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()
        if _failed(request):
            print("kkt-bridge run said:\n" + "".join(daemon.output)[-6000:])
