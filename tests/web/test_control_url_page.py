"""The emulator's control URL opened in a browser, as a person who copied it from the demo.

``kkt-bridge demo`` prints ``kkt-bridge emulator sell --at http://127.0.0.1:PORT/TOKEN``;
opened in Chromium, that URL shows what it is (in the browser's language, Russian by
default), the register, the commands that act on it, and a link to the demo's «Эмулятор ККТ»
page, which opens for a browser signed in with the demo's link. An action's URL opened with
a GET says, in words, that it takes a POST and leads back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kkt_bridge.demo import Demo

pytestmark = pytest.mark.slow

STEP_TIMEOUT = 30_000

#: the program's names and options in the page's words that a line break cuts in two
BROKEN_AT_A_HYPHEN = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    if (node.parentElement.closest("pre")) continue;
    for (const found of node.data.matchAll(/kkt-bridge|--[a-z][a-z-]*/g)) {
      const range = document.createRange();
      range.setStart(node, found.index);
      range.setEnd(node, found.index + found[0].length);
      const lines = new Set([...range.getClientRects()].map(rect => Math.round(rect.top)));
      if (lines.size > 1) broken.push(found[0]);
    }
  }
  return broken;
}"""


def test_the_control_url_in_the_browser(launch_browser: Callable[..., Any], demo: Demo,
                                        artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=STEP_TIMEOUT)
    folder = artifacts_dir / "control-url"
    folder.mkdir(parents=True, exist_ok=True)
    url = demo.control.url
    before = len(demo.emulator.archive())
    page = launch_browser().new_page()

    page.goto(demo.page_url)  # signed in with the demo's one-time link
    response = page.goto(url)
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", name="Эмулятор ККТ: адрес управления")).to_be_visible()
    expect(page.locator("body")).to_contain_text(demo.emulator.device.state.identity.serial)
    expect(page.locator("body")).to_contain_text(f"kkt-bridge emulator sell --at {url}")
    expect(page.locator("body")).to_contain_text("Открыть смену.")
    page.screenshot(path=str(folder / "01-ru.png"), full_page=True)

    # the link leads to the demo's page of the same register
    page.get_by_role("link", name=demo.control.page_url or "").click()
    expect(page.get_by_role("heading", name="Эмулятор ККТ")).to_be_visible()
    assert page.url.endswith("/emulator")

    # an action's URL with a GET: said in words, with the way back
    response = page.goto(url + "/open-shift")
    assert response is not None and response.status == 405
    expect(page.get_by_role("heading")).to_contain_text("Запрос GET здесь не принимается")
    page.get_by_role("link", name="Адрес управления эмулятора: что он умеет").click()
    expect(page.get_by_role("heading", name="Эмулятор ККТ: адрес управления")).to_be_visible()

    # someone else's address: nothing is shown but that it is wrong
    response = page.goto(url.rsplit("/", 1)[0] + "/not-the-token")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading")).to_have_text("По этому адресу ничего нет")
    assert demo.control.token not in page.content()
    # a form that posts to the URL itself: a page says where actions go, and leads back
    page.goto("about:blank")
    page.set_content(f'<form method="post" action="{url}"><button>POST</button></form>')
    with page.expect_navigation():
        page.get_by_role("button", name="POST").click()
    expect(page.get_by_role("heading")).to_have_text("Запрос POST здесь не принимается")
    expect(page.locator("body")).to_contain_text("(/status, /sell)")
    page.screenshot(path=str(folder / "03-post-to-the-url.png"), full_page=True)
    page.get_by_role("link", name="Адрес управления эмулятора: что он умеет").click()
    expect(page.get_by_role("heading", name="Эмулятор ККТ: адрес управления")).to_be_visible()
    assert len(demo.emulator.archive()) == before  # nothing a browser did made a document

    # a phone: nothing wider than its screen (the commands' URLs break, names stand above
    # their values)
    phone = launch_browser(viewport={"width": 390, "height": 800}).new_page()
    phone.goto(url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    # nor is a program's name or an option broken at its hyphen («kkt-» / «bridge»)
    assert phone.evaluate(BROKEN_AT_A_HYPHEN) == []
    phone.screenshot(path=str(folder / "04-phone.png"), full_page=True)

    # a browser in English gets English
    english = launch_browser(locale="en-US").new_page()
    english.goto(url)
    expect(english.get_by_role("heading", name="Register emulator: control address")
           ).to_be_visible()
    expect(english.locator("body")).to_contain_text("Open the shift.")
    expect(english.locator("body")).not_to_contain_text("Эмулятор")
    english.screenshot(path=str(folder / "05-en.png"), full_page=True)
