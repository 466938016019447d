"""The study site as a reader opens it: headless Chromium at 1280×900 on the landing page, the
build status and four rendered reports (one of them a claim's, built with few draws).

A page fails on a broken link or image, a console error, a request that leaves the machine (no
CDN), horizontal scrolling at 1280 px, or a table with a header and no rows. The landing page's
first screen must hold the answer: a findings sentence and the forest plot. Screenshots go to
build/screenshots/ (git-ignored) for a person to look at. Needs Debian's chromium (``.ci/run``
installs it); in CI (``CI`` set) a missing browser fails instead of skipping.
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

from analysis.report import figures, reporting
from analysis.runner import RunOptions, run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = ROOT / "build" / "screenshots"
FIXTURE = ROOT / "tests" / "data" / "headline.json"
INPUTS = '["incidents", "incident_claims", "incident_coverage", "milestones", "indicators", "conflict_years", "states", "countries", "contiguity"]'
#: The reports built, as in reports.toml; the claim's report with few draws (a quick build).
PLAN = """
[[report]]
name = "00_data_audit"
notebook = "{root}/notebooks/00_data_audit.ipynb"
inputs = {inputs}

[[report]]
name = "01_incident_patterns-KGZ-TJK"
notebook = "{root}/notebooks/01_incident_patterns.ipynb"
parameters = {{ dyad = "KGZ-TJK" }}
inputs = ["incidents"]

[[report]]
name = "10_hypothesis-H1a"
notebook = "{root}/notebooks/10_hypothesis.ipynb"
parameters = {{ hypothesis = "H1a", n_perm = 99, n_size = 30, n_power = 20 }}
inputs = {inputs}

[[report]]
name = "30_global_panel-onset-country"
notebook = "{root}/notebooks/30_global_panel.ipynb"
parameters = {{ outcome = "onset", unit = "country" }}
inputs = {inputs}
"""
REPORTS = (
    "00_data_audit",
    "01_incident_patterns-KGZ-TJK",
    "10_hypothesis-H1a",
    "30_global_panel-onset-country",
)
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
    """A reports folder: four real reports built by `analysis run`, and the landing page over
    the headline fixture with its forest plot, as the summary report will write them."""
    folder = tmp_path_factory.mktemp("site")
    plan = folder / "reports.toml"
    plan.write_text(PLAN.format(root=ROOT.as_posix(), inputs=INPUTS), encoding="utf-8")
    reports = folder / "reports"
    options = RunOptions(plan=plan, reports_dir=reports, jobs=2)
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
    assert out.getvalue().splitlines()[-1] == "landing page: reports/index.html"
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
    empty = page.evaluate(
        "Array.from(document.querySelectorAll('table'))"
        ".filter(t => t.querySelectorAll('td').length === 0)"
        ".map(t => t.innerText.slice(0, 120))"
    )
    assert not empty, f"{page_path}: table(s) with a header and no rows: {empty}"
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


def test_the_first_screen_answers_with_the_findings_and_the_forest_plot(site, browser):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto((site / "index.html").as_uri(), wait_until="load")
    question = page.locator(".question").bounding_box()
    findings = page.locator("#findings li")
    assert findings.count() >= 3
    first = findings.first.bounding_box()
    forest = page.locator("figure.forest img").bounding_box()
    assert question["y"] + question["height"] < HEIGHT
    assert first["y"] + first["height"] < HEIGHT, "no findings sentence above the fold"
    assert "registered tests" in findings.first.inner_text()
    assert forest["height"] > 300 and forest["y"] < HEIGHT - 200, (
        f"the forest plot starts at {forest['y']:.0f} px: not on the first screen ({HEIGHT} px)"
    )
    page.close()
