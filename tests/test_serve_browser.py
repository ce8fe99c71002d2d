"""The dashboard in Debian's Chromium (Playwright): start a benchmark on scripted models from the
leaderboard, watch it finish, open a failing cell and read its reason. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.serve.app import create_app
from evals.serve.cli import bind_socket
from tests.dashboard_fixtures import scripted_builder
from tools.browser.chromium import LAUNCH_ARGS, browser_available


@pytest.fixture
def dashboard(private_history: Path, tmp_path: Path) -> Iterator[str]:
    import uvicorn

    app = create_app(reports_dir=tmp_path / "reports", builder=scripted_builder)
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.skipif(browser_available() is None, reason="chromium is not installed")
def test_start_a_benchmark_watch_it_finish_and_open_a_failing_cell(dashboard: str) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_available(), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.on("pageerror", lambda e: errors.append(str(e)))

            def only_local(route: object) -> None:
                url = route.request.url  # type: ignore[attr-defined]
                if url.startswith(dashboard):
                    route.continue_()  # type: ignore[attr-defined]
                else:
                    outside.append(url)
                    route.abort()  # type: ignore[attr-defined]

            page.route("**/*", only_local)
            page.goto(dashboard + "/")
            assert page.locator("h1").inner_text() == "Leaderboard"
            page.select_option("select[name=suite]", "humaneval")
            page.fill("input[name=models]", "openai:good, openai:bad")
            page.fill("input[name=limit]", "2")
            page.click("button[type=submit]")
            page.wait_for_url("**/runs/bench-*", timeout=10_000)
            # the page polls /api/runs/{id} and reloads itself when the run is done
            page.wait_for_selector("#matrix", timeout=90_000)
            assert page.locator("#run-status").inner_text() == "done"
            assert page.locator("#run-count").inner_text() == "4/4"
            assert page.locator("td.cell.pass").count() == 2
            assert page.locator("td.cell.fail").count() == 2
            page.locator("td.cell.fail a").first.click()
            page.wait_for_selector("#reason")
            assert "failed: check_failed" in page.locator("#verdict").inner_text()
            assert "check() failed" in page.locator("#reason").inner_text()
            assert "return None" in page.locator("pre.answer").inner_text()
            page.go_back()
            page.goto(dashboard + "/")
            assert page.locator("#leaderboard").count() == 1  # the run is on the board now
            header = page.locator("#leaderboard th").first
            header.click()  # sortable: the first click sorts ascending
            assert header.get_attribute("aria-sort") == "ascending"
        finally:
            browser.close()
    assert errors == []
    assert outside == []  # no CDN, nothing but the dashboard itself
