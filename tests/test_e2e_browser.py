"""End to end in a real browser: `streamlit run dashboard.py` driven by Debian's Chromium.

Screenshots of each step go to tests/artifacts/ (gitignored) for a human look. Skipped when
/usr/bin/chromium or Playwright is missing; the browser is never downloaded.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import pytest

from monitor.bench import CHROMIUM_FLAGS, dashboard_server
from tests.test_analytics import ROWS, build_fixture_db

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT_HEIGHT = 2700

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = build_fixture_db(tmp_path_factory.mktemp("e2e") / "fixture.db")
    try:
        with dashboard_server(db, env={"MONITOR_MODEL": "hashing-512"}) as url:
            yield url
    except RuntimeError as exc:  # the server's log is in the message
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def page(server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        # 1280 px wide, tall enough for every page: screenshots need no resize (each resize
        # makes every plotly chart lay itself out again).
        tab = browser.new_page(viewport={"width": 1280, "height": VIEWPORT_HEIGHT})
        # Generous: the first run imports pandas and plotly, slow on a busy CI machine.
        tab.set_default_timeout(300_000)
        yield tab
        browser.close()


def settle(tab, quiet: float = 0.6, limit: float = 300) -> None:
    """Wait until Streamlit has finished running and the page stopped changing."""
    tab.wait_for_selector('[data-testid="stApp"]')
    last, since, start = None, time.time(), time.time()
    while time.time() - start < limit:
        running = tab.locator('[data-testid="stStatusWidget"]').count()
        state = (tab.locator(".js-plotly-plot").count(), tab.locator('[data-testid="stElementContainer"]').count(),
                 running)
        if state != last:
            last, since = state, time.time()
        elif not running and time.time() - since > quiet:
            return
        time.sleep(0.25)


@contextlib.contextmanager
def screenshot_on_failure(tab, name: str):
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            tab.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True)
        raise


def shot(tab, name: str) -> None:
    """Screenshot of the page down to the end of its content (the main area scrolls inside the app)."""
    height = tab.evaluate("() => document.querySelector('[data-testid=\"stMainBlockContainer\"]')"
                          "?.getBoundingClientRect().bottom || 900")
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"),
                   clip={"x": 0, "y": 0, "width": 1280, "height": min(int(height) + 20, VIEWPORT_HEIGHT)})


def pick_first_row(tab) -> None:
    """The table is a canvas: click the first row's selection cell (under a ~35 px header)."""
    bounds = tab.locator('[data-testid="stDataFrame"]').first.bounding_box()
    tab.mouse.click(bounds["x"] + 18, bounds["y"] + 35 + 17)


def go(tab, link: str, url: str) -> None:
    """Change page through the sidebar: same session, so filters and caches carry over."""
    tab.get_by_role("link", name=link).click()
    tab.wait_for_url(re.compile(url))
    settle(tab)


def test_dashboard_in_a_browser(server, page):
    """One session, as an analyst would use it; a screenshot after each step."""
    with screenshot_on_failure(page, "dashboard"):
        _walk_through(server, page)


def _walk_through(server, page):
    page.goto(server)
    page.wait_for_selector(".js-plotly-plot")
    settle(page)
    assert page.locator('[data-testid="stMetricValue"]').nth(1).inner_text() == str(len(ROWS))
    assert page.locator(".js-plotly-plot").count() == 2
    shot(page, "01-overview")

    # A filter: French articles only. The URL follows and the headline changes.
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="Languages").click()
    page.get_by_role("option", name="French").click()
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"lang=fr"))
    french = sum(r[1] == "fr" for r in ROWS)
    page.wait_for_function(
        f"() => document.querySelectorAll('[data-testid=\"stMetricValue\"]')[1]?.innerText === '{french}'")
    settle(page)
    shot(page, "02-overview-french")

    # Click a point of the timeline: its articles are listed under the chart.
    page.locator(".js-plotly-plot").first.locator(".scatterlayer .trace .points path").first.click(force=True)
    page.get_by_text(re.compile(r"articles? behind")).wait_for()
    settle(page)
    shot(page, "03-overview-clicked-point")

    # Other pages keep the filter (sidebar state and URL).
    go(page, "Tone", r"/tone\?.*lang=fr")
    assert page.locator(".js-plotly-plot").count() == 3
    shot(page, "04-tone")
    go(page, "Topics", r"/topics\?.*lang=fr")
    assert page.locator(".js-plotly-plot").count() == 3
    shot(page, "05-topics")

    # Articles: search, open the first result.
    go(page, "Articles", r"/articles")
    box = page.get_by_label("Search titles and text")
    box.fill("autonomie")
    box.press("Enter")
    page.wait_for_url(re.compile(r"q=autonomie"))
    settle(page)
    pick_first_row(page)
    page.wait_for_url(re.compile(r"article=\d+"))
    page.locator('div[dir="ltr"]', has_text="Sahara : Paris soutient le plan d'autonomie").first.wait_for()
    settle(page)
    assert page.get_by_text("Evidence: the sentences that weigh most on the tone").count() == 1
    shot(page, "06-article")

    # An Arabic article reads right to left (all languages again).
    page.get_by_role("button", name="Reset filters").click()
    settle(page)
    box = page.get_by_label("Search titles and text")
    box.fill("الصحراء")
    box.press("Enter")
    settle(page)
    pick_first_row(page)
    rtl = page.locator('div[dir="rtl"]', has_text="الصحراء").first
    rtl.wait_for()
    settle(page)
    assert page.locator("script:has-text('alert')").count() == 0
    shot(page, "07-article-arabic")

    # (The Methodology page is static text, checked by its AppTest.)
    go(page, "Data", r"/data")
    assert page.locator(".js-plotly-plot").count() == 4
    assert page.locator('[data-testid="stDataFrame"]').count() >= 2  # failure reasons, then failures
    shot(page, "09-data")
    assert page.locator('[data-testid="stException"]').count() == 0
