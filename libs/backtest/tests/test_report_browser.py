"""A real run's report opened in headless Chromium: every plot draws, and nothing errs.

The browser is Debian's Chromium (``make browser`` installs it; ``JULES_CHROMIUM`` names it),
driven by Playwright. Without it the test fails and says so: a report nobody opened is untested.
A screenshot of the page is kept in the test's temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jules_backtest.config import BacktestConfig
from jules_backtest.examples import small_config
from jules_backtest.run import run_backtest

from .sample_data import DATA_DIR

CHROMIUM = os.environ.get("JULES_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FIXED_PLOTS = 9
"""Plots every report has besides one price plot per instrument."""


def test_a_run_s_report_renders_every_plot_in_chromium_without_errors(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make browser` (or set JULES_CHROMIUM)")
    run_dir = tmp_path / "run"
    run_backtest(BacktestConfig.model_validate(small_config(DATA_DIR, run_dir)))
    report = run_dir / "report.html"
    instruments = 2  # small_config's

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on(
                "console",
                lambda message: (
                    errors.append(f"console: {message.text}") if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(report.as_uri())
            expected = FIXED_PLOTS + instruments
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {expected}",
                timeout=30_000,
            )
            plots = page.locator(".js-plotly-plot")
            assert plots.count() == expected
            for i in range(expected):
                assert plots.nth(i).locator("svg.main-svg").count() >= 1, plots.nth(
                    i
                ).get_attribute("id")
            rows = page.locator("table.sortable tbody tr")
            assert rows.count() > 0
            page.locator("table.sortable th", has_text="net PnL").click()  # sorts ascending
            net = page.eval_on_selector_all(
                "table.sortable tbody tr td:last-child", "cells => cells.map(c => +c.dataset.v)"
            )
            assert len(net) == rows.count()
            assert net == sorted(net)
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()

    assert errors == []
    assert [url for url in requests if not url.startswith("file:")] == []  # offline
    assert (tmp_path / "report.png").stat().st_size > 10_000
