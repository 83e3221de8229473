"""The dashboard and the report in a real browser: Playwright driving Debian's Chromium.

``playwright install`` cannot download browsers here, so the tests drive /usr/bin/chromium
(``.ci/run`` installs it with apt). Every page is watched for dialogs (an injected
``alert(1)`` would open one), uncaught errors and console errors (a Content-Security-Policy
violation is one).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import dialed

from .conftest import HOSTILE, SCRIPTY

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium; "
                ".ci/run installs it)", allow_module_level=True)

from dialed.dashboard import DashboardServer  # noqa: E402
from dialed.report import write_report  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PLOTS = ["history", "importance", "contour", "intermediate", "parallel", "slices", "timeline"]
TIMEOUT_MS = 20_000


@dataclass
class Watch:
    """What a page did that it must not: dialogs, uncaught errors, console errors."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        def on_dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                if m.type == "error" else None)

    def check(self) -> None:
        assert self.dialogs == [], self.dialogs
        assert self.errors == [], self.errors


@pytest.fixture(scope="module")
def db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo database that this module may write to (the live test does)."""
    path = tmp_path_factory.mktemp("browser") / "demo.db"
    src, dst = sqlite3.connect(demo_db), sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    return path


@pytest.fixture(scope="module")
def server(db: Path) -> Iterator[DashboardServer]:
    srv = DashboardServer(f"sqlite:///{db}", port=0).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, Watch]]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    watch = Watch()
    watch.attach(pg)
    yield pg, watch
    context.close()
    watch.check()


def _plots_drawn(pg: Any) -> dict[str, int]:
    """Each plot card's key -> how many drawn elements plotly made in it (SVG or canvas)."""
    pg.wait_for_function(
        "keys => keys.every(k => { const d = document.querySelector("
        "'section[data-plot=\"' + k + '\"] .plot'); return d && d.querySelector('.main-svg'); })",
        arg=PLOTS, timeout=TIMEOUT_MS)
    counts: dict[str, int] = pg.eval_on_selector_all(
        "section[data-plot]",
        "cards => Object.fromEntries(cards.map(c => [c.dataset.plot, "
        "c.querySelectorAll('.plot svg *, .plot canvas').length]))")
    return counts


def test_studies_page_lists_the_studies(server: DashboardServer, page: tuple[Any, Watch]) -> None:
    pg, _ = page
    pg.goto(server.url)
    pg.wait_for_selector("#studies tbody tr[data-study='demo']")
    names = pg.locator("#studies tbody a.study-link").all_text_contents()
    assert {"demo", "pareto"} <= set(names)
    row = pg.locator("#studies tbody tr[data-study='demo']")
    assert "36" in row.inner_text() and "complete" in row.inner_text()
    pg.click("a.study-link >> text=demo")
    pg.wait_for_url("**/studies/demo")


def test_study_page_draws_every_plot(server: DashboardServer, page: tuple[Any, Watch]) -> None:
    pg, _ = page
    pg.goto(server.url + "studies/demo")
    drawn = _plots_drawn(pg)
    assert list(drawn) == PLOTS
    assert all(n > 20 for n in drawn.values()), drawn
    assert pg.locator("section[data-plot='history'] .scatterlayer .point").count() > 10
    assert pg.locator("section[data-plot='parallel'] canvas").count() > 0
    pg.wait_for_selector("#trial-table tbody tr[data-number='35']")
    assert pg.locator("#n-trials").inner_text() == "36"
    assert pg.locator("#best-value").inner_text() not in ("", "–")


def test_clicking_a_trial_opens_its_page(server: DashboardServer, page: tuple[Any, Watch]) -> None:
    pg, _ = page
    pg.goto(server.url + "studies/demo")
    pg.click("#trial-table tbody tr[data-number='12']")
    pg.wait_for_url("**/studies/demo/trials/12")
    assert pg.locator("h1").inner_text().startswith("trial 12")
    assert pg.locator("#trial-params").inner_text().count("optimizer") == 2


def test_hostile_strings_are_text_and_run_nothing(server: DashboardServer,
                                                  page: tuple[Any, Watch]) -> None:
    pg, watch = page
    pg.goto(server.url + "studies/demo")
    _plots_drawn(pg)
    pg.wait_for_selector("#trial-table tbody tr")
    assert pg.locator("#notes td").inner_text() == HOSTILE  # the note, as text
    # the categorical choice: in the table, the space, the best trial, the plots' labels
    pg.fill("#text-filter", "act ~ onerror")
    pg.click("#filters button")
    pg.wait_for_function("() => [...document.querySelectorAll('#trial-table tbody td')]"
                         ".some(td => td.textContent === '<img src=x onerror=alert(1)>')")
    assert HOSTILE in pg.locator("#space").inner_text()
    labels = pg.eval_on_selector_all("section[data-plot] svg text", "ts => ts.map(t => "
                                     "t.textContent)")
    assert HOSTILE in labels  # plotly shows it literally (slices axis, parcoords ticks)
    assert not any("&lt;" in t for t in labels)  # and never as visible entities
    assert pg.locator("img").count() == 0
    # a failed trial's error text (with <script> and <img>) on its page
    failed = pg.evaluate("fetch('/api/studies/demo/trials?state=failed').then(r => r.json())"
                         ".then(d => d.rows[0][0])")
    pg.goto(server.url + f"studies/demo/trials/{failed}")
    assert SCRIPTY in pg.locator("#trial-error").inner_text()
    assert pg.locator("img").count() == 0
    pg.wait_for_timeout(300)
    assert watch.dialogs == []


def test_a_finished_trial_appears_without_a_reload(server: DashboardServer, db: Path,
                                                   page: tuple[Any, Watch]) -> None:
    url = f"sqlite:///{db}"
    study = dialed.create_study("live", storage=url, metrics={"loss": "minimize"}, seed=5)
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0) + 1.0, n_trials=2)
    pg, _ = page
    pg.goto(server.url + "studies/live")
    pg.wait_for_selector("#trial-table tbody tr[data-number='1']")
    pg.evaluate("window.__sameDocument = true")
    assert pg.locator("#trial-table tbody tr[data-number='2']").count() == 0

    def write() -> None:  # another thread writes to the same SQLite file, as a worker would
        handle = dialed.load_study("live", storage=url)
        trial = handle.ask()
        time.sleep(0.5)
        handle.tell(trial, 0.25)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=30)
    pg.wait_for_selector("#trial-table tbody tr[data-number='2']", timeout=TIMEOUT_MS)
    pg.wait_for_function("() => document.getElementById('best-value').textContent === '0.25'")
    # the summary is drawn before the table's next page arrives: wait for the row too
    pg.wait_for_function("() => { const r = document.querySelector("
                         "\"#trial-table tbody tr[data-number='2']\");"
                         " return r !== null && r.innerText.includes('complete'); }",
                         timeout=TIMEOUT_MS)
    assert pg.locator("#n-trials").inner_text() == "3"
    pg.wait_for_function("() => { const t = document.querySelector('section[data-plot=history]"
                         " .scatterlayer'); return t && t.querySelectorAll('.point').length >= 3 }")
    assert pg.evaluate("window.__sameDocument") is True  # no reload happened


def test_without_the_token_a_public_server_refuses(db: Path, browser: Any) -> None:
    srv = DashboardServer(f"sqlite:///{db}", host="0.0.0.0", port=0).start()
    try:
        assert srv.token is not None and len(srv.token) >= 16  # generated
        context = browser.new_context()
        pg = context.new_page()
        base = f"http://127.0.0.1:{srv.port}/"
        for path in ("", "api/studies", "studies/demo", "static/dialed.js"):
            response = pg.goto(base + path)
            assert response is not None and response.status in (401, 403), path
        assert "token" in pg.content()
        response = pg.goto(base + "studies/demo?token=" + srv.token)
        assert response is not None and response.status == 200
        assert pg.url == base + "studies/demo"  # the token does not stay in the address bar
        _plots_drawn(pg)  # the pages' API calls carry the cookie
        cookie = next(c for c in context.cookies() if c["name"] == "dialed_token")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        context.close()
    finally:
        srv.stop()


def test_report_opens_offline_with_the_same_plots(db: Path, tmp_path: Path,
                                                  page: tuple[Any, Watch]) -> None:
    path = write_report(f"sqlite:///{db}", "demo", tmp_path / "report.html")
    pg, _ = page
    requested: list[str] = []

    def offline(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            requested.append(route.request.url)
            route.abort()

    pg.context.route("**/*", offline)
    pg.goto(path.as_uri())
    drawn = _plots_drawn(pg)
    assert list(drawn) == PLOTS and all(n > 20 for n in drawn.values()), drawn
    assert requested == []  # it asked for nothing over the network
    assert pg.locator("#notes td").inner_text() == HOSTILE
    assert pg.locator("#n-trials").inner_text() == "36"
    pg.click("#trial-table tbody tr[data-number='12']")
    pg.wait_for_selector("#detail-panel:not([hidden])")
    assert pg.locator("#detail-title").inner_text().startswith("trial 12")
    assert pg.locator("img").count() == 0
