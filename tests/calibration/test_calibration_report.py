"""The calibration fit report, on one short real calibration of the bundled model."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from sd_runner.calibration.calibrate import calibrate
from sd_runner.calibration.config import load_config
from sd_runner.calibration.report import fit_report
from sd_runner.engine import FastModel
from sd_runner.inputs.observations import decimal_year, load_observations

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "calibration" / "data" / "zhejiang_observations.csv"
MORE = REPO / "calibration" / "data" / "more_observations.csv"
HOSTILE = "<script>alert(1)</script>"
BREAKOUT = "</script><script>alert(2)</script>"


@pytest.fixture(scope="module")
def calibration():
    """A real calibration with a short MCMC run, so intervals and a posterior exist (~10 s)."""
    observations = load_observations(DATA) + load_observations(MORE)
    config = load_config(REPO / "calibration" / "config.toml", observations)
    config = dataclasses.replace(config, mcmc_steps=200, mcmc_burn=50, mcmc_thin=5,
                                 sample_size=50)
    return calibrate(FastModel(), config, observations, data_path=DATA)


@pytest.fixture(scope="module")
def report(calibration):
    return fit_report(calibration, "sd-runner test <build>")


class _Scripts(HTMLParser):
    """Collects the attributes of every <script> element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))


def _scripts(document: str) -> list[dict]:
    parser = _Scripts()
    parser.feed(document)
    parser.close()
    return parser.scripts


def _figure(document: str, div_id: str) -> tuple[list[dict], dict]:
    """The traces and layout passed to ``Plotly.newPlot`` for the figure ``div_id``."""
    marker = f'"{div_id}",'
    start = document.index(marker, document.index("Plotly.newPlot")) + len(marker)
    decoder = json.JSONDecoder()
    text = document[start:].lstrip()
    data, end = decoder.raw_decode(text)
    layout, _ = decoder.raw_decode(text[end:].lstrip().lstrip(",").lstrip())
    return data, layout


def _series_ids(document: str) -> dict[str, str]:
    """Series name -> id of its figure, from the figure wrappers."""
    found = re.findall(r'data-series="([^"]*)" data-figure="([^"]+)"', document)
    return {html.unescape(name): div_id for name, div_id in found}


def _segments(traces: list[dict], role: str) -> list[tuple[int, float, float, float]]:
    """``(row position, start, end, level)`` of every segment drawn by traces of ``role``."""
    segments = []
    for trace in traces:
        if (trace.get("meta") or {}).get("role") != role:
            continue
        points = zip(trace["x"], trace["y"], trace["customdata"], strict=True)
        run: list[tuple[float, float, int]] = []
        for x, y, row in [*points, (None, None, None)]:
            if x is None:
                if run:
                    assert len({r for _, _, r in run}) == 1
                    assert len({v for _, v, _ in run}) == 1  # horizontal
                    segments.append((run[0][2], run[0][0], run[-1][0], run[0][1]))
                run = []
            else:
                run.append((x, y, row))
    return segments


def test_one_self_contained_document(report):
    assert report.startswith("<!DOCTYPE html>")
    assert report.count("<html") == 1 and report.count("</html>") == 1
    assert report.count(get_plotlyjs()) == 1
    scripts = _scripts(report)
    assert not [attrs for attrs in scripts if "src" in attrs]
    assert not re.search(r"<script[^>]*\bsrc\s*=", report, re.IGNORECASE)
    assert not re.search(r"<link\b", report, re.IGNORECASE)
    style = report[report.index("<style>"):report.index("</style>")]
    assert "http" not in style and "@import" not in style and "url(" not in style
    figures = report.count('class="plotly-graph-div"')
    # One figure per series, the estimates, the correlations and the profiles.
    assert figures == report.count("data-observation-segments=") + 3
    assert len(scripts) == 2 + figures  # PlotlyConfig, plotly.js and one per figure


def test_header_summarises_the_fit(report, calibration):
    header = report[:report.index("</header>")]
    assert "<h1>Calibration fit report</h1>" in header
    assert "sd-runner test &lt;build&gt;" in header
    assert f"<td>{calibration.method}</td>" in header
    assert f"<td>{calibration.seed}</td>" in header
    assert f"<td>{len(calibration.rows)} ({len(calibration.skipped)} not compared)</td>" \
        in header
    assert f"{calibration.dof} (rows plus priors minus parameters)" in header
    assert "How to read it" in header


def test_every_series_and_cluster_appears(report, calibration):
    rows = calibration.rows
    ids = _series_ids(report)
    assert set(ids) == set(rows["series"])
    for series, div_id in ids.items():
        _, layout = _figure(report, div_id)
        titles = {annotation["text"] for annotation in layout["annotations"]}
        assert titles == set(rows.loc[rows["series"] == series, "cluster"])
    table = report[report.index('id="rows"'):]
    for row in rows.itertuples():
        assert f"<td>{row.series}</td><td>{row.cluster}</td>" in table


def test_one_segment_per_row_over_its_period(report, calibration):
    rows = calibration.rows.reset_index(drop=True)
    ids = _series_ids(report)
    observed, simulated = [], []
    for series, div_id in ids.items():
        traces, _ = _figure(report, div_id)
        drawn = _segments(traces, "observed")
        count = re.search(rf'data-figure="{div_id}" data-observation-segments="(\d+)"', report)
        assert int(count.group(1)) == len(drawn) == (rows["series"] == series).sum()
        observed += drawn
        simulated += _segments(traces, "simulated")
    assert sorted(s[0] for s in observed) == list(range(len(rows)))
    assert sorted(s[0] for s in simulated) == list(range(len(rows)))
    for position, start, end, level in observed:
        row = rows.loc[position]
        first = dt.date.fromisoformat(row["period_start"])
        after = dt.date.fromisoformat(row["period_end"]) + dt.timedelta(days=1)
        assert start == pytest.approx(decimal_year(first))
        assert end == pytest.approx(decimal_year(after))
        assert level == pytest.approx(row["observed_rate"])
    for position, _, _, level in simulated:
        assert level == pytest.approx(rows.loc[position, "simulated_rate"])
    half_years = [end - start for position, start, end, _ in observed
                  if end - start < 0.9 and rows.loc[position, "series"] == "exports"]
    assert half_years and all(length > 0.45 for length in half_years)
    months = [end - start for position, start, end, _ in observed
              if rows.loc[position, "series"] == "export_delivery_growth_yoy"]
    assert months and all(0.07 < length < 0.09 for length in months)  # April 2009


def test_derived_rows_are_drawn_apart(report, calibration):
    traces, _ = _figure(report, _series_ids(report)["exports"])
    styles = {trace["name"]: (trace["line"]["dash"], trace["marker"]["symbol"])
              for trace in traces if (trace.get("meta") or {}).get("role") == "observed"}
    assert styles["observed (reported)"] == ("solid", "circle")
    assert styles["observed (derived)"] == ("dot", "circle-open")
    assert "model (best fit)" in {trace["name"] for trace in traces}


def test_every_parameter_appears(report, calibration):
    section = report[report.index('id="parameters"'):report.index('id="correlation"')]
    for name in calibration.names:
        assert f"<td>{html.escape(name)}</td>" in section
    flagged = (calibration.parameters["verdict"] != "identified").sum()
    assert section.count('<tr class="flagged">') == flagged > 0
    traces, _ = _figure(report, "fig-estimates")
    estimated = {y for trace in traces if trace["name"].startswith("estimate")
                 for y in trace["y"]}
    assert estimated == set(calibration.names)
    for trace in traces:
        assert all(x is None or -1e-9 <= x <= 1 + 1e-9 for x in trace["x"])
    heatmap, _ = _figure(report, "fig-correlation")
    assert heatmap[0]["x"] == heatmap[0]["y"] == calibration.names
    profiles, layout = _figure(report, "fig-profiles")
    assert [a["text"] for a in layout["annotations"]] == calibration.names


def test_statistics_table_has_every_series_and_overall(report, calibration):
    section = report[report.index('id="statistics"'):report.index('id="parameters"')]
    for row in calibration.statistics.itertuples():
        name = "<strong>overall</strong>" if row.series == "overall" else row.series
        assert f'<tr><td>{name}</td><td class="num">{row.n}</td>' in section
    for term in ("R²", "MAPE", "RMSE", "U<sup>M</sup>", "U<sup>S</sup>", "U<sup>C</sup>"):
        assert f"<dt>{term}</dt>" in section


def test_skipped_rows_and_mappings_are_listed(report, calibration):
    section = report[report.index('id="not-compared"'):report.index('id="rows"')]
    for item in calibration.skipped:
        assert html.escape(item.observation.label()) in section
        assert html.escape(item.reason) in section
    for mapping in calibration.config.series.values():
        assert html.escape(mapping.mapping) in section


def test_text_from_data_files_is_escaped(calibration, report):
    rows = calibration.rows.copy()
    rows["source"] = HOSTILE
    rows.loc[0, "cluster"] = BREAKOUT
    parameters = calibration.parameters.copy()
    parameters.loc[0, "verdict"] = HOSTILE
    config = calibration.config
    series = {**config.series,
              "exports": dataclasses.replace(config.series["exports"], mapping=BREAKOUT)}
    hostile = dataclasses.replace(calibration, rows=rows, parameters=parameters,
                                  config=dataclasses.replace(config, series=series))
    page = fit_report(hostile, f"built by {HOSTILE}")
    assert "<script>alert" not in page
    assert html.escape(HOSTILE) in page
    assert f'<td class="wide">{html.escape(HOSTILE)}</td>' in page  # a source
    assert html.escape(BREAKOUT) in page
    assert len(_scripts(page)) == len(_scripts(report))  # nothing broke out into a script
    traces, layout = _figure(page, _series_ids(page)["exports"])
    assert html.escape(BREAKOUT, quote=False) in {a["text"] for a in layout["annotations"]}
    hover = next(t["hovertext"][0] for t in traces if t.get("meta"))
    assert "<script>" not in hover and "&lt;script&gt;" in hover


def test_report_without_intervals_or_posterior(calibration):
    parameters = calibration.parameters.copy()
    uncertain = [c for c in parameters if c.startswith(("profile_", "posterior_"))]
    parameters[uncertain] = np.nan
    parameters["interval_reaches_bound"] = ""
    bare = dataclasses.replace(calibration, intervals=None, posterior=None,
                               parameters=parameters)
    page = fit_report(bare, "")
    assert 'id="fig-profiles"' not in page
    assert "Not computed: the calibration ran without uncertainty." in page
    assert "not computed (calibration run without uncertainty)" in page
    assert "Generated by" not in page
    traces, _ = _figure(page, "fig-estimates")
    assert {trace["name"] for trace in traces} <= {"estimate (identified)",
                                                   "estimate (not identified)", "prior mean"}


def test_same_calibration_gives_the_same_bytes(calibration, report):
    assert fit_report(calibration, "sd-runner test <build>") == report
