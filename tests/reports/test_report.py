"""The HTML report, on a small synthetic comparison (no model run)."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from sd_runner import resources
from sd_runner.errors import InputError
from sd_runner.feedback.graph import load_loop_names
from sd_runner.inputs.levers import load_levers
from sd_runner.inputs.scenarios import LeverChoice, Scenario
from sd_runner.reports.comparison import comparison_report
from sd_runner.reports.outcome_info import OUTCOMES
from sd_runner.results.outcomes import KEY_OUTCOMES
from sd_runner.results.runs import ScenarioRun
from sd_runner.simulate.comparison import compare_runs

CLUSTERS = ["Textile", "Apparel", "Footwear", "Furniture"]
TIME = pd.Index(np.arange(2003.0, 2035.0 + 0.25, 0.5), name="time")
HOSTILE = '<script>alert("x")</script>'
BREAKOUT = "</script><script>alert(1)</script>"

# Values in 2035 the tables must show: (scenario, outcome, cluster) -> value.
FIXED_2035 = {
    ("baseline", "Margin", "Apparel"): 0.0512,
    ("own-brand", "Margin", "Apparel"): 0.0931,        # 9.3 %, +4.2 pp
    ("baseline", "Export Sales", "Textile"): 398.05,
    ("own-brand", "Export Sales", "Textile"): 412.37,  # 412.4, +14.3
    ("baseline", "Patent Pool Stock", "Furniture"): 1700.2,
    ("own-brand", "Patent Pool Stock", "Furniture"): 1834.6,  # 1,835, +134
}


def _frame(offset: float) -> pd.DataFrame:
    """Straight lines from a 2003 value to a 2035 value for every outcome and cluster."""
    columns = {}
    for number, outcome in enumerate(KEY_OUTCOMES):
        fraction = OUTCOMES[outcome].fraction
        for position, cluster in enumerate(CLUSTERS):
            start = 0.05 * (position + 1) if fraction else 10.0 * (number + 1) * (position + 1)
            end = start * (1.2 + offset)
            columns[f"{outcome}[{cluster}]"] = np.linspace(start, end, len(TIME))
    return pd.DataFrame(columns, index=TIME)


def _run(scenario: Scenario, offset: float) -> ScenarioRun:
    frame = _frame(offset)
    for (name, outcome, cluster), value in FIXED_2035.items():
        if name == scenario.name:
            frame.loc[2035.0, f"{outcome}[{cluster}]"] = value
    return ScenarioRun(scenario=scenario, frame=frame)


def _comparison():
    lever = load_levers()["own-brand"]
    choice = LeverChoice(
        lever=lever, level=1.0, start_year=2016.0, ramp_years=5.0,
        values={setting.variable: setting.at_level(1.0) for setting in lever.settings},
    )
    baseline = Scenario("baseline", "Baseline: GVC embedding only", "No countermeasure.",
                        "bundled")
    own_brand = Scenario("own-brand", "Lever: own-brand", "Own brands alongside OEM.",
                         "bundled", levers=(choice,))
    hostile = Scenario(
        name=f"evil{HOSTILE}",
        title=f"<b>bold</b> {HOSTILE}",
        description=f"{HOSTILE} & <b>more</b> {BREAKOUT}",
        source=f"/tmp/{HOSTILE}.toml",
        constants={HOSTILE: 0.5, "Buyer Squeeze Strength": 0.4},
    )
    breakout = Scenario(BREAKOUT, "Breakout", "Tries to close the script tag.", "bundled")
    runs = [_run(baseline, 0.0), _run(own_brand, 0.3), _run(hostile, -0.1),
            _run(breakout, 0.1)]
    return dataclasses.replace(compare_runs(runs, CLUSTERS), named_loops=tuple(
        load_loop_names(resources.loop_names_path())))


@pytest.fixture(scope="module")
def comparison():
    return _comparison()


@pytest.fixture(scope="module")
def report(comparison):
    return comparison_report(comparison, title="Check <report>", generated_by="sd-runner 0.1.0, "
                             "model sha256 abc123")


class _Scripts(HTMLParser):
    """Collects every <script> element: its attributes and its text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict, str]] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append((dict(attrs), ""))
            self._inside = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._inside = False

    def handle_data(self, data):
        if self._inside:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


def _scripts(document: str) -> list[tuple[dict, str]]:
    parser = _Scripts()
    parser.feed(document)
    parser.close()
    return parser.scripts


def _figure_data(document: str, div_id: str) -> list[dict]:
    """The traces passed to ``Plotly.newPlot`` for the figure ``div_id``."""
    marker = f'"{div_id}",'
    start = document.index(marker, document.index("Plotly.newPlot")) + len(marker)
    text = document[start:].lstrip()
    data, _ = json.JSONDecoder().raw_decode(text)
    return data


def _table_rows(document: str, outcome_id: str) -> dict[str, list[str]]:
    """Cells of an outcome table, keyed by the row's first cell (the scenario)."""
    start = document.index(f'id="table-{outcome_id}"')
    table = document[start:document.index("</table>", start)]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.DOTALL):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


def _table_head(document: str, outcome_id: str) -> tuple[list[str], list[str]]:
    """The years and the clusters heading an outcome table's columns."""
    start = document.index(f'id="table-{outcome_id}"')
    head = document[start:document.index("</thead>", start)]
    years = re.findall(r'<th colspan="\d+">(\d+)</th>', head)
    clusters = re.findall(r'<th data-sort="\d+">(.*?)</th>', head)
    return years, clusters


def test_one_self_contained_document_with_plotly_once(report):
    assert report.startswith("<!DOCTYPE html>")
    assert report.count("<html") == 1 and report.count("</html>") == 1
    assert report.count(get_plotlyjs()) == 1
    scripts = _scripts(report)
    assert not [attrs for attrs, _ in scripts if "src" in attrs]
    assert not re.search(r"<script[^>]*\bsrc\s*=", report, re.IGNORECASE)
    # PlotlyConfig, plotly.js, one per figure and the tables' sorting: no name broke out
    # into a script of its own.
    assert len(scripts) == 2 + len(KEY_OUTCOMES) + 1


def test_one_figure_per_outcome_with_a_line_per_scenario_and_cluster(report, comparison):
    assert report.count('class="plotly-graph-div"') == len(KEY_OUTCOMES)
    for outcome in KEY_OUTCOMES:
        div_id = "fig-" + outcome.lower().replace(" ", "-")
        assert report.count(f'id="{div_id}"') == 1
        traces = _figure_data(report, div_id)
        assert len(traces) == len(comparison.runs) * len(CLUSTERS)
        assert OUTCOMES[outcome].description in html.unescape(report)


def test_colours_are_the_same_in_every_figure_and_the_reference_is_dashed(report):
    colours: dict[str, str] = {}
    for outcome in KEY_OUTCOMES:
        for trace in _figure_data(report, "fig-" + outcome.lower().replace(" ", "-")):
            assert colours.setdefault(trace["name"], trace["line"]["color"]) == \
                trace["line"]["color"]
            dashed = trace["line"].get("dash") == "dash"
            assert dashed == trace["name"].endswith("(ref.)")
    assert len(set(colours.values())) == len(colours) == 4


def test_outcome_tables_show_the_years_that_move_with_differences_coloured_by_sign(
        report, comparison):
    # Columns: the years in which any scenario differs from the reference, each cluster
    # under each; the first row holds the reference's values.
    years, clusters = _table_head(report, "margin")
    assert years == ["2013", "2025", "2035"] and clusters == list(CLUSTERS) * 3
    # A year in which nothing differs yet (before the levers start) is left out.
    table = comparison.table.copy()
    table.loc[table["year"] == 2013, "difference"] = 0.0
    quiet = comparison_report(dataclasses.replace(comparison, table=table))
    assert _table_head(quiet, "margin") == (["2025", "2035"], list(CLUSTERS) * 2)
    apparel_2035 = 2 * len(CLUSTERS) + CLUSTERS.index("Apparel")
    margin = _table_rows(report, "margin")
    assert margin["own-brand"][apparel_2035] == "+4.2 pp"
    assert margin["baseline (values)"][apparel_2035] == "5.1 %"
    exports = _table_rows(report, "export-sales")
    assert exports["own-brand"][2 * len(CLUSTERS) + CLUSTERS.index("Textile")] == "+14.3"
    patents = _table_rows(report, "patent-pool-stock")
    assert patents["own-brand"][2 * len(CLUSTERS) + CLUSTERS.index("Furniture")] == "+134"
    # Better (green) where the ranked outcome improves; up/down for a stock, not ranked.
    start = report.index('id="table-margin"')
    first = report.index("<td>own-brand</td>", start)
    row = report[first:report.index("</tr>", first)]
    assert 'class="num better" data-value="0.04' in row
    start = report.index('id="table-patent-pool-stock"')
    assert 'class="num up"' in report[start:report.index("</table>", start)]


def test_lever_settings_sit_with_the_scenario_table(report):
    start = report.index('<section id="scenarios">')
    header = report[start:report.index("</section>", start)]
    assert report.index('id="findings"') < start  # the answer before the scenarios
    assert "<td>none</td>" in header  # the reference pulls no lever
    assert "own-brand 1 from 2016 (5-year ramp)" in header
    section = header[header.index('id="levers"'):]
    assert "<td>own-brand</td><td>Extra Brand Investment Intensity</td>" in section
    assert '<td class="num">0.015</td><td>Dmnl</td><td class="num">2016</td>' in section
    assert "<td>Buyer Squeeze Strength</td>" in section


def test_text_from_scenario_files_is_escaped(report):
    assert "<script>alert" not in report.lower()
    assert "<b>" not in report
    assert html.escape(f"evil{HOSTILE}") in report
    assert html.escape(f"<b>bold</b> {HOSTILE}") in report
    assert f"<td>{html.escape(HOSTILE)}</td>" in report  # the constant's name
    names = {trace["name"] for trace in _figure_data(report, "fig-margin")}
    assert html.escape(f"evil{HOSTILE}", quote=False) in names
    assert html.escape(BREAKOUT, quote=False) in names


def test_header_names_the_reference_and_the_caller(report):
    header = report[:report.index("</header>")]
    assert "<h1>Check &lt;report&gt;</h1>" in header
    assert "sd-runner 0.1.0, model sha256 abc123" in header
    assert "reference scenario, <strong>baseline</strong>" in header


def test_same_comparison_gives_the_same_bytes(report):
    again = comparison_report(_comparison(), title="Check <report>",
                              generated_by="sd-runner 0.1.0, model sha256 abc123")
    assert again == report


def test_missing_outcome_column_is_an_input_error(comparison):
    run = comparison.runs[1]
    broken = ScenarioRun(run.scenario, run.frame.drop(columns="Margin[Apparel]"))
    runs = (comparison.runs[0], broken)
    with pytest.raises(InputError, match=r"own-brand.*Margin\[Apparel\]"):
        comparison_report(dataclasses.replace(comparison, runs=runs))


def test_the_model_section_describes_every_named_loop(report):
    """The loops come with the comparison, from models/loops.toml, whose names the loop tests
    check against the model's equations; the report shows each with its code, identifier and
    path."""
    from sd_runner.results.loops import loop_id

    section = report[report.index('<section id="model">'):]
    for entry in load_loop_names(resources.loop_names_path()):
        assert f"{entry.code} {html.escape(entry.name)}" in section
        assert loop_id(entry.variables) in section
        assert " → ".join(html.escape(v) for v in entry.variables) in section


def _closed_details(document: str) -> list[str]:
    """The text of every closed ``<details>`` (none is nested)."""
    return re.findall(r"<details(?![^>]*\bopen)[^>]*>(.*?)</details>", document, re.DOTALL)


def test_headline_outcomes_come_first_and_the_others_are_one_click_away(report, comparison):
    """Figures and tables of HEADLINE_OUTCOMES are in sight; every other key outcome's figure
    and table sit in a closed <details>, and the contents list only those in sight."""
    from sd_runner.reports.html_page import slug
    from sd_runner.results.outcomes import HEADLINE_OUTCOMES

    hidden = "".join(_closed_details(report))
    nav = report[report.index("<nav>"):report.index("</nav>")]
    others = [o for o in comparison.outcomes if o not in HEADLINE_OUTCOMES]
    assert others and set(HEADLINE_OUTCOMES) <= set(comparison.outcomes)
    for outcome in comparison.outcomes:
        for element in (f'id="fig-{slug(outcome)}"', f'id="table-{slug(outcome)}"'):
            assert element in report
            assert (element in hidden) == (outcome in others), (outcome, element)
        assert (f'href="#outcome-{slug(outcome)}"' in nav) == (outcome in HEADLINE_OUTCOMES)
    figures = report[report.index('<section id="figures">'):report.index('<section id="table">')]
    assert figures.index(f'id="fig-{slug(others[0])}"') > max(
        figures.index(f'id="fig-{slug(o)}"') for o in HEADLINE_OUTCOMES)


def test_rankings_show_all_clusters_and_keep_the_rest_behind_details(report):
    section = report[report.index('<section id="rankings">'):]
    section = section[:section.index("</section>")]
    hidden = "".join(_closed_details(section))
    shown = re.sub(r"<details.*?</details>", "", section, flags=re.DOTALL)
    assert "All clusters" in shown and "Apparel" not in shown
    assert "Apparel" in hidden  # the per-cluster gains and ranks
    assert "rank by each outcome in 2035, per cluster" in section


def test_the_model_description_is_behind_details(report):
    section = report[report.index('<section id="model">'):]
    section = section[:section.index("</section>")]
    assert "<h3>Sectors</h3>" in "".join(_closed_details(section))
