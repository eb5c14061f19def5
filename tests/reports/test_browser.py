"""The HTML reports in a real browser: headless Chromium (Debian's package, driven by
Playwright with its executable path), the network off. No console error, every chart drawn.
Skips, saying why, only where Chromium or Playwright is not installed (.ci/run installs both)."""

from __future__ import annotations

import os
import shutil

import pytest
from click.testing import CliRunner

from sd_runner.cli import cli

CHROMIUM = os.environ.get("SD_RUNNER_CHROMIUM") or shutil.which("chromium") \
    or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is not installed: pip install playwright")
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); "
                    "the reports were not checked in a browser")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def _open(browser, path):
    """Load ``path`` with every network request refused; returns errors and chart counts."""
    context = browser.new_context(offline=True)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        "file:") else route.abort())
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    # plotly draws asynchronously: wait (up to 30 s) until every chart has its SVG.
    drawn_js = ("Array.from(document.querySelectorAll('.plotly-graph-div')).filter(div => "
                "div._fullLayout && div.data.length && div.querySelector('.main-svg')).length")
    charts = page.evaluate("document.querySelectorAll('.plotly-graph-div').length")
    try:
        page.wait_for_function(f"{drawn_js} === {charts}", timeout=30_000)
    except Exception:  # noqa: BLE001 - the count below says how many were drawn
        pass
    drawn = page.evaluate(drawn_js)
    context.close()
    return errors, charts, drawn


def _screen(browser, path):
    """``path`` loaded offline in a 1280 x 720 window: its context (to close) and page."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return context, page


def _write(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output


#: Height in CSS pixels, at 1280 x 720, of the comparison report below as the report code
#: wrote it before the report was reorganised (answer first, evidence behind <details>):
#: measured in this Chromium with ``document.documentElement.scrollHeight``.
EARLIER_HEIGHT = 46_319


#: Height in CSS pixels, at 1280 x 720, the loop section may take: its timeline in sight, the
#: rest behind closed <details> (it took 12 465 px when it showed every list and chart).
LOOP_SECTION_HEIGHT = 3_000


@pytest.fixture(scope="module")
def comparison_report(tmp_path_factory):
    """The report, beside the CSVs of its comparison (``--out``) that the tests count from."""
    folder = tmp_path_factory.mktemp("comparison")
    report = folder / "comparison.html"
    _write("compare", "own-brand", "domestic-value-chain", "--loops", "--uncertainty", "20",
           "--out", str(folder / "out"), "--report", str(report))
    return report


def _loop_charts(report) -> int:
    """The loop section's charts: the dominance timeline, and a chart of relative scores for
    each cluster whose loops act both ways (where all act one way, their scores always sum
    to +-100 %: the section says so in a line instead)."""
    import pandas as pd

    scores = pd.read_csv(report.parent / "out" / "loop_scores.csv", keep_default_na=False)
    signs = scores.groupby("cluster")["relative"].agg(["min", "max"])
    return 1 + int(((signs["min"] < 0) & (signs["max"] > 0)).sum())


def test_the_comparison_report_renders_every_chart_offline(browser, comparison_report):
    errors, charts, drawn = _open(browser, comparison_report)
    assert errors == []
    # One chart per key outcome, the loop section's charts, and for each outcome the
    # uncertainty section shows, its bands and its ranking of effects.
    from sd_runner.reports.uncertainty import SHOWN
    from sd_runner.results.outcomes import KEY_OUTCOMES

    # Here 5: the timeline and the 4 clusters (all the province's loops balance).
    loop_charts = _loop_charts(comparison_report)
    assert loop_charts > 1
    assert charts == len(KEY_OUTCOMES) + loop_charts + 2 * len(SHOWN) and drawn == charts


def test_the_comparison_report_is_at_most_half_as_tall_as_before(browser, comparison_report):
    context, page = _screen(browser, comparison_report)
    height = page.evaluate("document.documentElement.scrollHeight")
    loops = page.evaluate("document.getElementById('loops').getBoundingClientRect().height")
    context.close()
    print(f"\ncomparison report: {height} px tall, {EARLIER_HEIGHT} px before; "
          f"its loop section {loops:.0f} px")
    assert height <= EARLIER_HEIGHT / 2
    assert loops <= LOOP_SECTION_HEIGHT


def test_the_key_findings_come_first_and_in_sight(browser, comparison_report):
    """The answer before the evidence: #findings is the page's first section, it starts in
    the first screen (1280 x 720), names the lever mix that leads and holds no NaN."""
    context, page = _screen(browser, comparison_report)
    first = page.evaluate("document.querySelector('section').id")
    top = page.evaluate("document.getElementById('findings').getBoundingClientRect().top")
    shown = page.inner_text("#findings")
    context.close()
    assert first == "findings"
    assert top < 720
    assert "domestic-value-chain" in shown and "nan" not in shown.lower()


def test_a_chart_in_closed_details_fits_the_page_when_opened(browser, comparison_report):
    """A chart drawn in a closed <details> has no width to fit; opening the <details> must
    fit it to the section's width, as the charts in sight are (plotly's responsive charts
    watch their own size)."""
    context, page = _screen(browser, comparison_report)
    page.wait_for_function("document.querySelector('#figures details .plotly-graph-div')"
                           "._fullLayout !== undefined")
    shown = page.evaluate("document.querySelector("
                          "'#figures > div > .plotly-graph-div').getBoundingClientRect().width")
    page.click("#figures details > summary")
    page.wait_for_timeout(500)
    widths = page.evaluate("Array.from(document.querySelectorAll('#figures details "
                           ".plotly-graph-div')).map(div => div._fullLayout.width)")
    context.close()
    assert widths and all(abs(width - shown) <= 2 for width in widths), (widths, shown)


def test_the_sensitivity_report_renders_every_chart_offline(browser, tmp_path):
    report = tmp_path / "sensitivity.html"
    _write("sensitivity", "--method", "sobol", "--n", "16", "--outcome", "Margin[Apparel]",
           "--report", str(report))
    errors, charts, drawn = _open(browser, report)
    assert errors == [] and charts == 2 and drawn == charts


def test_markup_in_a_scenario_is_shown_as_text_in_every_section(browser, tmp_path):
    """A scenario whose title and description hold markup and script (a name cannot: it is
    an identifier): the browser runs no script from it (no dialog opens) and shows the text
    as written."""
    scenario = tmp_path / "hostile.toml"
    scenario.write_text('name = "hostile"\ntitle = "<script>alert(1)</script>"\n'
                        'description = "<img src=x onerror=alert(2)> & more"\n'
                        "[levers.own-brand]\nlevel = 1\n", encoding="utf-8")
    report = tmp_path / "hostile.html"
    _write("compare", str(scenario), "--loops", "--uncertainty", "10", "--report", str(report))
    html = report.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    context = browser.new_context(offline=True)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert dialogs == []
    assert "<script>alert(1)</script>" in page.inner_text("#scenarios")
    context.close()


def test_the_fit_report_renders_every_chart_offline(browser, tmp_path):
    from conftest import QUICK

    from sd_runner import resources

    text = resources.calibration_config_path().read_text(encoding="utf-8")
    for old, new in QUICK.items():
        text = text.replace(old, new)
    config = tmp_path / "quick.toml"
    config.write_text(text, encoding="utf-8")
    _write("calibrate", "--config", str(config), "--out", str(tmp_path / "fit"))
    errors, charts, drawn = _open(browser, tmp_path / "fit" / "report.html")
    assert errors == [] and charts > 5 and drawn == charts


def test_the_policy_design_reports_render_every_chart_offline(browser, tmp_path):
    """optimize's page (parallel coordinates, objectives, convergence) and discover's."""
    problem = tmp_path / "problem.toml"
    problem.write_text('[objectives]\nlist = [{ outcome = "Margin" }, { outcome = "Cumulative '
                       'Lever Cost" }]\n[budget]\nlimit = 600.0\n[uncertainty]\nsample = "none"'
                       '\n[search]\nevaluations = 60\npopulation = 12\n'
                       'epsilons = [0.0005, 50.0]\n', encoding="utf-8")
    optimized = tmp_path / "optimize.html"
    _write("optimize", str(problem), "--out", str(tmp_path / "mixes"), "--report",
           str(optimized))
    errors, charts, drawn = _open(browser, optimized)
    assert errors == [] and charts == 3 and drawn == charts
    discovered = tmp_path / "discover.html"
    _write("discover", "domestic-value-chain", "--members", "200", "--report", str(discovered))
    errors, charts, drawn = _open(browser, discovered)
    assert errors == [] and charts >= 1 and drawn == charts
