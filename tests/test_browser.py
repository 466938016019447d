"""The study site as a reader opens it: headless Chromium at 1280×900 on the landing page, the
build status and three rendered reports.

A page fails on a broken link or image, a console error, a request that leaves the machine (no
CDN), or horizontal scrolling at 1280 px. Screenshots go to build/screenshots/ (git-ignored) for
a person to look at. Needs Debian's chromium (``.ci/run`` installs it); in CI (``CI`` set) a
missing browser fails instead of skipping.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import matplotlib
import pytest
from conftest import ROOT

matplotlib.use("Agg")

from analysis import figures, reporting
from analysis.runner import RunOptions, run

SCREENSHOTS = ROOT / "build" / "screenshots"
FIXTURE = ROOT / "tests" / "data" / "headline.json"
REPORTS = ("00_data_audit", "01_incident_patterns-KGZ-TJK", "30_global_panel-onset-country")
WIDTH, HEIGHT = 1280, 900
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
    pytest.skip("chromium is not installed (apt-get install chromium) to run the browser test")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A reports folder: three real reports built by `analysis run`, and the landing page over
    the headline fixture with its forest plot, as the summary report will write them."""
    reports = tmp_path_factory.mktemp("site") / "reports"
    options = RunOptions(plan=ROOT / "reports.toml", reports_dir=reports, only=REPORTS, jobs=2)
    assert run(options, io.StringIO()) == 0
    summary = reports / "90_summary"
    summary.mkdir()
    shutil.copy(FIXTURE, summary / "headline.json")
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))["rows"]
    reporting.ReportOutputs(summary, report="90_summary").figure(
        figures.headline_forest(rows),
        "forest",
        caption="Every registered claim: effect with its 95% interval, by verdict (fixture data)",
    )
    out = io.StringIO()
    assert run(options, out) == 0  # every report fresh: only the site is rewritten
    assert out.getvalue().splitlines()[-1] == f"landing page: {reports / 'index.html'}"
    return reports


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield launched
        launched.close()


PAGES = [
    ("landing", "index.html"),
    ("status", "status.html"),
    *[(name, f"{name}/{name}.html") for name in REPORTS],
]


@pytest.mark.parametrize("shot, page_path", PAGES, ids=[p[0] for p in PAGES])
def test_page_reads_in_a_browser(site, browser, shot, page_path):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda r: errors.append(f"failed to load {r.url}"))

    def only_local(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    url = (site / page_path).as_uri()
    page.goto(url, wait_until="load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{shot}.png")
    page.screenshot(path=SCREENSHOTS / f"{shot}-full.png", full_page=True)

    assert not outside, f"{page_path} fetches from the network: {outside}"
    assert not errors, f"{page_path}: console errors {errors}"
    width, client = page.evaluate(
        "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
    )
    assert width <= client, f"{page_path} scrolls horizontally at {WIDTH} px ({width} > {client})"
    broken_images = page.evaluate(
        "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.getAttribute('src').slice(0, 80))"
    )
    assert not broken_images, f"{page_path}: images that do not load: {broken_images}"
    no_alt = page.evaluate("Array.from(document.images).filter(i => !i.alt).length")
    assert no_alt == 0, f"{page_path}: {no_alt} image(s) without alt text"
    for href in page.evaluate(
        "Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))"
    ):
        target = urlparse(urljoin(url, href))
        if target.scheme != "file":
            continue
        path = Path(unquote(target.path))
        assert path.exists(), f"{page_path}: broken link {href}"
        if target.fragment and path == site / page_path:
            assert page.evaluate(f"!!document.getElementById({json.dumps(target.fragment)})"), (
                f"{page_path}: link to a missing anchor {href}"
            )
    context.close()


def test_the_first_screen_shows_the_question_and_the_headline_table(site, browser):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto((site / "index.html").as_uri())
    question = page.locator(".question").bounding_box()
    table = page.locator("table.headline").bounding_box()
    first_row = page.locator("table.headline tbody tr").first.bounding_box()
    assert question["y"] + question["height"] < HEIGHT
    assert table["y"] < HEIGHT and first_row["y"] + first_row["height"] < HEIGHT
    page.close()
