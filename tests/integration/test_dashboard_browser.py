"""The dashboard in headless Chromium (Playwright): lists, resource pages, live updates, Chinese.

A real serve app (memory provider, real Git remote, real HTTP) and Debian's
Chromium driven by Playwright for Python (never ``playwright install``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from reconciler.model.common import Kind, ResourceRef
from tests.gitrepo import Repo
from tests.integration.test_status_memory import ROUTE, repository, stack
from tests.serving import wait_for
from tests.statusserving import Served, serve_status

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, Repo]]:
    repo = Repo(tmp_path / "repo")
    repo.commit({"bosun.yaml": repository(f"db{uuid.uuid4().hex[:8]}"),
                 "web.yaml": stack("web", "1"), "api.yaml": stack("api", "1"),
                 "route.yaml": ROUTE})
    with serve_status(tmp_path / "state", str(repo.remote)) as server:
        wait_for(lambda: server.runtime.results(), what="the start-up reconcile")
        server.settle()
        yield server, repo


def _suspend_and_reconcile(server: Served, name: str) -> None:
    """A status change: suspending a stack makes its health Suspended."""
    server.store.suspend(ResourceRef(kind=Kind.STACK, name=name), "maintenance window")
    answer = httpx.post(f"{server.url}/api/v1/reconcile",
                        headers={"Authorization": "Bearer api-token"})
    assert answer.status_code == 202


def _wait_live(page: Page) -> None:
    page.wait_for_function("document.body.classList.contains('live')", timeout=10_000)


@pytest.mark.parametrize(("lang", "words"), [
    ("en", {"title": "Overview", "healthy": "Healthy", "suspended": "Suspended",
            "conditions": "Conditions", "services": "Services", "hosts": "Hosts"}),
    ("zh", {"title": "总览", "healthy": "健康", "suspended": "已暂停",
            "conditions": "条件", "services": "服务", "hosts": "主机名"}),
])
def test_dashboard_lists_shows_and_updates_live(browser: Browser,
                                                served: tuple[Served, Repo], lang: str,
                                                words: dict[str, str]) -> None:
    server, _ = served
    accept = "zh-CN,zh;q=0.9,en;q=0.5" if lang == "zh" else "en-US,en;q=0.9"
    context = browser.new_context(extra_http_headers={"Accept-Language": accept})
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        expect(page.locator("h1")).to_have_text(words["title"])
        rows = page.locator("table.resources tbody tr")
        expect(rows).to_have_count(4)
        web_row = page.locator("tr[data-resource='Stack/web']")
        expect(web_row.locator("[data-health]")).to_have_text(words["healthy"])
        assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")

        # A resource page: conditions, services; the route's hosts.
        page.click("tr[data-resource='Stack/web'] a")
        expect(page.locator("h1 .name")).to_have_text("web")
        expect(page.locator("main")).to_contain_text(words["conditions"])
        expect(page.locator("main")).to_contain_text(words["services"])
        expect(page.locator("table.conditions tr[data-condition='Ready']")).to_have_count(1)
        page.goto(server.url + "/resources/Route/web")
        expect(page.locator("main")).to_contain_text(words["hosts"])
        expect(page.locator("main")).to_contain_text("web.example.test")

        # A status change reaches an open page without a reload.
        page.goto(server.url + "/resources/Stack/api")
        _wait_live(page)
        marker = page.evaluate("() => { window.__kept = 42; return window.__kept; }")
        assert marker == 42
        _suspend_and_reconcile(server, "api")
        expect(page.locator("#state [data-health]")).to_have_text(words["suspended"],
                                                                   timeout=15_000)
        assert page.evaluate("() => window.__kept") == 42  # the same document: no reload

        # ... and the overview too.
        page.goto(server.url + "/")
        _wait_live(page)
        page.evaluate("() => { window.__kept = 7; }")
        _suspend_and_reconcile(server, "web")
        expect(page.locator("tr[data-resource='Stack/web'] [data-health]")).to_have_text(
            words["suspended"], timeout=15_000)
        assert page.evaluate("() => window.__kept") == 7
    finally:
        context.close()


def test_pages_work_without_javascript(browser: Browser, served: tuple[Served, Repo]) -> None:
    server, _ = served
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server.url + "/?lang=zh")
        expect(page.locator("h1")).to_have_text("总览")
        expect(page.locator("table.resources tbody tr")).to_have_count(4)
        page.click("tr[data-resource='Route/web'] a")
        expect(page.locator("main")).to_contain_text("web.example.test")
        assert "lang=zh" in page.url  # an explicit choice is kept by the links
        page.goto(server.url + "/events")
        expect(page.locator("table.events tbody tr").first).to_be_visible()
        missing = page.goto(server.url + "/resources/Stack/nope")
        assert missing is not None and missing.status == 404
    finally:
        context.close()
