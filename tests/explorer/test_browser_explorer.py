"""The lever explorer in a real browser (headless Debian Chromium driven by Playwright, the
network off, as tests/reports/test_browser.py does): it draws without a console error, a user's
moves of the controls redraw the charts with the numbers `sd-runner run` gives for the
downloaded scenario, a preset gives its bundled scenario's numbers, and Chromium's run of every
preset and of 1 000 random lever mixes matches the native kernel. The timings are
printed, not asserted. Skips, saying why, only where Chromium or Playwright is missing."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from javascript_runs import (
    EXACT,
    RUN_MIXES,
    as_numbers,
    native_outputs,
    random_settings,
    worst_difference,
)

from sd_runner import api
from sd_runner.cli import cli

CHROMIUM = os.environ.get("SD_RUNNER_CHROMIUM") or shutil.which("chromium") \
    or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHARTED = ("Margin", "Total Profit", "Buyer Dependence", "Own Brand Share", "Value Added")
#: Largest difference of a charted value from `sd-runner run`'s, relative to the column's
#: largest magnitude (the page's runs are V8's doubles, the CLI's the compiled kernel's).
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is not installed: pip install playwright")
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); "
                    "the explorer was not checked in a browser")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def _cli(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("explorer") / "explorer.html"
    _cli("explore", "--out", path)
    return path


@pytest.fixture
def opened(browser):
    """Open a page offline (every request but file: refused); yields (page, errors)."""
    contexts = []

    def open_page(path):
        context = browser.new_context(offline=True, accept_downloads=True,
                                      viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
            "file:") else route.abort())
        page = context.new_page()
        errors = []
        page.on("console", lambda message: errors.append(message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        page.wait_for_function("window.sdExplorer && window.sdExplorer.redraws > 0",
                               timeout=30_000)
        return page, errors

    yield open_page
    for context in contexts:
        context.close()


def _redrawn(page, action):
    """Do ``action`` and wait until the page has redrawn since."""
    before = page.evaluate("window.sdExplorer.redraws")
    action()
    # A change that came while drawing is drawn next: wait until none is pending.
    page.wait_for_function(f"window.sdExplorer.redraws > {before} && "
                           "!window.sdExplorer.pending()", timeout=30_000)


def _lines(page, role):
    """Each panel's trace of ``role`` as drawn, in the model's units: {column: values}."""
    return page.evaluate("""(role) => {
        const lines = {};
        for (const trace of window.sdExplorer.chart().data) {
            if (trace.meta.role === role) {
                lines[trace.meta.column] = Array.from(trace.y, (y) => y / trace.meta.scale);
            }
        }
        return lines;
    }""", role)


def _cli_run(scenario, tmp_path) -> pd.DataFrame:
    out = tmp_path / "run.csv"
    _cli("run", scenario, "--out", out)
    return pd.read_csv(out, index_col=0)


def _assert_same(drawn: dict, frame: pd.DataFrame, cluster: str):
    assert sorted(drawn) == sorted(f"{name}[{cluster}]" for name in CHARTED)
    for column, values in drawn.items():
        expected = frame[column].to_numpy()
        scale = max(np.abs(expected).max(), 1e-300)
        assert len(values) == len(expected), column
        error = np.abs(np.array(values) - expected).max() / scale
        print(f"{column}: largest relative difference {error:.1e}")
        assert error <= TOLERANCE, column


def test_the_page_draws_every_chart_offline_without_an_error(opened, page_file):
    page, errors = opened(page_file)
    drawn = page.evaluate("Array.from(document.querySelectorAll('.plotly-graph-div')).filter("
                          "div => div._fullLayout && div.data.length && "
                          "div.querySelector('.main-svg')).length")
    # One figure, a panel (an x and a y axis of its own) per outcome.
    panels = page.evaluate("Object.keys(window.sdExplorer.chart()._fullLayout)"
                           ".filter(key => /^yaxis[0-9]*$/.test(key)).length")
    assert errors == [] and drawn == 1 and panels == len(CHARTED)
    assert page.inner_text("#fit-label") == "the bundled calibration"
    assert page.evaluate("window.sdExplorer.settings()") == {"levers": {}}


def test_moved_controls_give_the_numbers_of_the_downloaded_scenario(opened, page_file,
                                                                    tmp_path):
    page, errors = opened(page_file)
    _redrawn(page, lambda: page.select_option("#cluster", "Apparel"))
    _redrawn(page, lambda: page.locator("#lever-own-brand-level").fill("0.5"))
    _redrawn(page, lambda: page.locator("#lever-own-brand-startYear").fill("2020"))
    timing = page.evaluate("window.sdExplorer.timing")
    print(f"\none control change: {timing}")
    assert page.evaluate("window.sdExplorer.settings()") == {
        "levers": {"own-brand": {"level": 0.5, "startYear": 2020, "rampYears": 5}}}
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "explorer-mix.toml"
    scenario = tmp_path / "explorer-mix.toml"
    download.value.save_as(scenario)
    _assert_same(_lines(page, "mix"), _cli_run(str(scenario), tmp_path), "Apparel")
    _assert_same(_lines(page, "baseline"), _cli_run("baseline", tmp_path), "Apparel")
    # The start year is marked by one line through every panel.
    marks = page.evaluate("window.sdExplorer.chart().layout.shapes.map(shape => "
                          "[shape.x0, shape.yref, shape.y0, shape.y1])")
    assert marks == [[2020, "paper", 0, 1]]
    assert errors == []


def test_a_preset_gives_its_bundled_scenario(opened, page_file, tmp_path):
    page, errors = opened(page_file)
    _redrawn(page, lambda: page.select_option("#preset", "domestic-value-chain"))
    assert page.input_value("#lever-going-out-startYear") == "2022"
    _assert_same(_lines(page, "mix"), _cli_run("domestic-value-chain", tmp_path), "Textile")
    assert errors == []


def test_bands_surround_the_line_and_are_off_without_a_sample(opened, page_file, tmp_path):
    page, errors = opened(page_file)
    _redrawn(page, lambda: page.select_option("#preset", "own-brand"))
    line = _lines(page, "mix")
    _redrawn(page, lambda: page.check("#bands"))
    timing = page.evaluate("window.sdExplorer.timing")
    print(f"\nwith 200-member bands: {timing}")
    assert timing["bandMs"] is not None and _lines(page, "mix") == line
    low, high = _lines(page, "5–95 %"), _lines(page, "95 %")
    assert sorted(low) == sorted(high) == sorted(line)
    for column in line:
        assert np.all(np.array(low[column]) <= np.array(high[column]))
    assert errors == []
    plain = tmp_path / "plain.html"
    _cli("explore", "--out", plain, "--members", "0")
    page, errors = opened(plain)
    assert page.is_disabled("#bands") and "no posterior sample" in page.inner_text("#band-note")
    assert errors == []


def test_every_preset_and_a_thousand_random_mixes_match_the_native_kernel_in_chromium(
        opened, page_file, tmp_path):
    """As tests/engine/test_javascript.py checks in V8 alone, here in the browser the page
    is read in: each mix's scenario file, read back as `sd-runner run` reads it, gives the
    page's outputs on the native kernel."""
    page, errors = opened(page_file)
    levers, outputs = page.evaluate("sdModel.levers"), page.evaluate("sdModel.outputs")
    mixes = page.evaluate("Object.values(sdModel.presets)") + random_settings(levers, 1000,
                                                                              seed=19)
    model = api.bundled_model("fast")
    worst = 0.0
    for first in range(0, len(mixes), 250):
        # As one JSON text (Playwright's own transfer of 900 000 numbers took 35 s).
        answer = json.loads(page.evaluate(
            f"(mixes) => JSON.stringify(({RUN_MIXES})(mixes), {EXACT})",
            mixes[first:first + 250]))
        native = native_outputs(model, [toml for toml, _ in answer], outputs, tmp_path)
        got = np.array([as_numbers(columns).T for _toml, columns in answer])
        worst = max(worst, worst_difference(got, native))
    print(f"\nChromium against the native kernel, {len(mixes)} mixes: {worst:.1e}")
    assert worst <= TOLERANCE and errors == []
