"""Key findings: computed from a real small comparison (its ranking agrees with the outcome
table and the uncertainty effects), and from synthetic runs built to have a worse-before-better
dip, none, or a disagreement of margin with the money outcomes; their JSON, the report's first
section and the summary `compare` prints."""

from __future__ import annotations

import dataclasses
import html
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sd_runner import api as runner
from sd_runner.cli import cli
from sd_runner.inputs.levers import load_levers
from sd_runner.inputs.scenarios import LeverChoice, Scenario
from sd_runner.reports import formats
from sd_runner.reports.comparison import comparison_report
from sd_runner.reports.findings_text import findings_summary
from sd_runner.results.findings import NOISE, find_dips, key_findings
from sd_runner.results.loop_scores import LoopComparison, LoopInstance, LoopScores, ScenarioLoops
from sd_runner.results.loops import Link, Loop
from sd_runner.results.outcomes import BETTER, TOTAL
from sd_runner.results.runs import ScenarioRun
from sd_runner.results.uncertainty import EFFECT_YEAR
from sd_runner.simulate.comparison import compare_runs

MEMBERS = 10


def _strict(text: str) -> dict:
    """``text`` parsed as JSON, refusing NaN and infinities (not JSON)."""
    def refuse(constant):
        raise ValueError(f"{constant} in JSON")

    return json.loads(text, parse_constant=refuse)


# ------------------------------------------------------------------- a real comparison


@pytest.fixture(scope="module")
def comparison():
    return runner.compare(["own-brand", "domestic-value-chain", "patent-pool"],
                          uncertainty=MEMBERS, seed=7)


@pytest.fixture(scope="module")
def findings(comparison):
    return key_findings(comparison)


def test_the_ranking_year_is_the_comparisons_and_the_uncertainty_effects(comparison, findings):
    assert findings.year == comparison.year == EFFECT_YEAR == 2035
    assert findings.reference == "baseline"
    assert findings.members == int(comparison.uncertainty.kept.sum()) > 0


def test_effects_are_the_outcome_tables_differences_ranked_best_first(comparison, findings):
    table = comparison.table[comparison.table["year"] == findings.year]
    effects = findings.effects
    assert set(effects["outcome"]) == {"Margin", "Total Profit", "Value Added",
                                       "Buyer Dependence", "Own Brand Share"}
    assert "baseline" not in set(effects["scenario"])
    for (outcome, cluster), group in effects.groupby(["outcome", "cluster"]):
        rows = table[table["outcome"] == outcome]
        if cluster == TOTAL:
            expected = rows.groupby("scenario")["difference"].sum()
        else:
            expected = rows[rows["cluster"] == cluster].set_index("scenario")["difference"]
        expected = expected.drop("baseline")
        assert dict(zip(group["scenario"], group["difference"], strict=True)) == \
            pytest.approx(expected.to_dict(), rel=1e-12)
        # Best first: by the difference in the direction of better, ranks 1, 2, 3.
        gains = BETTER[outcome] * group["difference"].to_numpy()
        assert list(gains) == sorted(gains, reverse=True)
        assert list(group["rank"]) == [1, 2, 3]
    # Fractions are ranked per cluster only; profit and value added over all clusters too.
    totals = set(effects.loc[effects["cluster"] == TOTAL, "outcome"])
    assert totals == {"Total Profit", "Value Added"}


def test_intervals_and_probabilities_are_the_uncertainty_effect_tables(comparison, findings):
    effects = comparison.uncertainty.effect_table().set_index(["scenario", "outcome", "cluster"])
    for row in findings.effects.itertuples():
        expected = effects.loc[(row.scenario, row.outcome, row.cluster)]
        assert (row.p05, row.p95, row.probability) == pytest.approx(
            (expected["p05"], expected["p95"], expected["probability"]), rel=1e-12)
    plain = key_findings(dataclasses.replace(comparison, uncertainty=None))
    assert plain.members == 0
    assert plain.effects[["p05", "p95", "probability"]].isna().all().all()
    pd.testing.assert_frame_equal(plain.effects.drop(columns=["p05", "p95", "probability"]),
                                  findings.effects.drop(columns=["p05", "p95", "probability"]))


def test_the_best_single_lever_and_the_best_mix(findings):
    effects = findings.effects
    assert set(effects.loc[effects["scenario"] == "domestic-value-chain", "levers"]) == {7}
    for row in findings.best.itertuples():
        group = effects[(effects["outcome"] == row.outcome) & (effects["cluster"] == row.cluster)]
        singles = group[group["levers"] == 1]
        gain = BETTER[row.outcome] * singles["difference"]
        assert row.best_single == singles.loc[gain.idxmax(), "scenario"]
        assert row.best_mix == "domestic-value-chain"
        assert row.best == group.loc[group["rank"] == 1, "scenario"].iloc[0]


def test_the_json_holds_the_findings_and_is_strict(comparison, findings):
    record = _strict(formats.comparison_json(comparison))
    assert next(iter(record)) == "findings"
    found = record["findings"]
    assert found["ranking_year"] == 2035 and found["parameter_sets"] == findings.members
    assert len(found["effects"]) == len(findings.effects)
    assert len(found["dips"]) == len(findings.dips)
    assert found["headlines"]["effects"][0].startswith("Margin")
    # Without parameter sets the intervals are null, not NaN.
    plain = _strict(formats.comparison_json(dataclasses.replace(comparison, uncertainty=None)))
    assert plain["findings"]["effects"][0]["p05"] is None


def test_the_summary_is_short_and_carries_the_numbers(comparison, findings):
    summary = findings_summary(findings)
    lines = summary.splitlines()
    assert lines[0].startswith("Key findings: effects in 2035 against baseline")
    assert len(lines) <= 26 and max(len(line) for line in lines) <= 100
    best = findings.effects[(findings.effects["outcome"] == "Total Profit")
                            & (findings.effects["cluster"] == TOTAL)].iloc[0]
    assert f"{best['scenario']} raises it most (+{best['difference']:.1f}, in 100 million " \
        "USD/year" in summary.replace("\n  ", " ")
    assert f"over {findings.members} parameter sets" in lines[0]


def test_compare_prints_the_findings_first_when_no_output_is_asked(tmp_path):
    result = CliRunner().invoke(cli, ["compare", "patent-pool"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Key findings: effects in 2035 against baseline")
    assert "patent-pool" in out.split("Outcomes in 2035:")[0]
    assert out.index("Outcomes in 2035:") > out.index("Key findings")  # the rest follows
    report = tmp_path / "r.html"
    written = CliRunner().invoke(cli, ["compare", "patent-pool", "--report", str(report)],
                                 catch_exceptions=False)
    assert written.exit_code == 0 and "Key findings" not in written.stdout
    as_json = CliRunner().invoke(cli, ["compare", "patent-pool", "--json"],
                                 catch_exceptions=False)
    assert "findings" in _strict(as_json.stdout)
    assert "Key findings:" not in as_json.stdout


# ----------------------------------------------------------------------- synthetic runs


CLUSTERS = ["Textile", "Apparel"]
TIMES = pd.Index(np.arange(2003.0, 2035.0 + 0.25, 0.5), name="time")
OUTCOMES = ("Margin", "Total Profit", "Value Added", "Buyer Dependence")
BASE = {"Margin": 0.05, "Total Profit": 100.0, "Value Added": 500.0, "Buyer Dependence": 0.6}

#: A dip: nothing until 2016, down to -2 in 2020, back up through zero at 2026 2/3 (between
#: the saved times 2026.5 and 2027), +1 from 2030.
DIP = np.interp(TIMES, [2003, 2016, 2020, 2030, 2035], [0, 0, -2, 1, 1])
DIP_END = 2020 + 2 / 0.3
#: Better from 2016 on, never worse.
RISE = np.interp(TIMES, [2003, 2016, 2030, 2035], [0, 0, 1, 1])


def _scenario(name: str, levers=("own-brand",), start: float = 2016.0) -> Scenario:
    known = load_levers()
    choices = tuple(LeverChoice(known[lever], 1.0, start, 5.0, {}) for lever in levers)
    return Scenario(name, name, "", "test", levers=choices)


def _run(scenario: Scenario, changes: dict[str, np.ndarray] | None = None) -> ScenarioRun:
    """Constant outcomes, plus ``changes`` by column."""
    columns = {f"{o}[{c}]": np.full(len(TIMES), BASE[o]) for o in OUTCOMES for c in CLUSTERS}
    for column, change in (changes or {}).items():
        columns[column] = columns[column] + change
    return ScenarioRun(scenario, pd.DataFrame(columns, index=TIMES))


def _comparison(*runs: ScenarioRun):
    return compare_runs([_run(Scenario("baseline", "Baseline", "", "test")), *runs], CLUSTERS,
                        OUTCOMES)


def test_a_dip_is_found_with_its_start_end_and_depth():
    dips = find_dips(TIMES.to_numpy(), DIP, 2016.0, 1e-9)
    assert len(dips) == 1
    start, end, worst, year = dips[0]
    assert start == 2016.0  # the last time it is not worse, as it turns worse at once
    assert end == pytest.approx(DIP_END, abs=1e-9)  # 2026.5 + 0.5 * 0.05 / 0.15
    assert (worst, year) == (-2.0, 2020.0)
    # A crossing into worse between saved times is interpolated too.
    later = np.interp(TIMES, [2003, 2016.2, 2020, 2030, 2035], [0.2, 0.2, -2, 1, 1])
    assert find_dips(TIMES.to_numpy(), later, 2010.0, 1e-9)[0][0] == pytest.approx(
        2016.2 + 3.8 * 0.2 / 2.2, abs=1e-9)


def test_no_dip_when_never_worse_never_better_again_or_within_the_noise():
    times = TIMES.to_numpy()
    assert find_dips(times, RISE, 2016.0, 1e-9) == []
    assert find_dips(times, -RISE, 2016.0, 1e-9) == []  # worse and never better: no dip
    wobble = RISE - 1e-10 * (times > 2016) * (times < 2018)
    assert find_dips(times, wobble, 2016.0, 1e-9) == []
    # Only the years from the first lever on count.
    assert find_dips(times, DIP, 2027.0, 1e-9) == []


def test_dips_per_scenario_cluster_and_outcome_in_the_direction_of_better():
    dipping = _scenario("dipping")
    late = _scenario("late", start=2027.0)
    comparison = _comparison(
        _run(dipping, {"Margin[Textile]": 0.01 * DIP, "Margin[Apparel]": 0.01 * RISE,
                       # Higher dependence is worse: up, then down.
                       "Buyer Dependence[Apparel]": -0.01 * DIP}),
        _run(late, {"Margin[Textile]": 0.01 * DIP}))
    found = key_findings(comparison)
    assert [(d.scenario, d.outcome, d.cluster) for d in found.dips] == [
        ("dipping", "Margin", "Textile"), ("dipping", "Buyer Dependence", "Apparel")]
    margin, dependence = found.dips
    assert (margin.start, margin.depth, margin.depth_year) == (2016.0, pytest.approx(-0.02),
                                                               2020.0)
    assert margin.end == pytest.approx(DIP_END, abs=1e-9)
    assert margin.years == pytest.approx(DIP_END - 2016)
    assert dependence.depth == pytest.approx(0.02) and margin.loops == ()
    assert found.noise == NOISE


def test_disagreements_are_opposite_signs_of_margin_and_money():
    mixed = _scenario("mixed")
    comparison = _comparison(
        _run(mixed, {"Margin[Textile]": -0.005 * RISE, "Total Profit[Textile]": 10 * RISE,
                     "Value Added[Textile]": 20 * RISE,
                     "Margin[Apparel]": 0.005 * RISE, "Total Profit[Apparel]": 10 * RISE}),
        _run(_scenario("aligned"), {f"{o}[{c}]": BASE[o] * 0.1 * RISE * BETTER[o]
                                    for o in OUTCOMES for c in CLUSTERS}))
    found = key_findings(comparison)
    assert [(d.scenario, d.cluster, d.outcome) for d in found.disagreements] == [
        ("mixed", "Textile", "Total Profit"), ("mixed", "Textile", "Value Added")]
    first = found.disagreements[0]
    assert (first.margin, first.difference) == (pytest.approx(-0.005), pytest.approx(10.0))
    summary = findings_summary(found)
    assert "mixed lowers margin but raises total profit in Textile" in summary
    # Value added in Apparel does not move: no disagreement there.
    assert not any(d.cluster == "Apparel" for d in found.disagreements)


def test_loops_behind_a_dip_are_those_moving_most_over_it_named():
    named = Loop("L00000001", ("Margin", "Profit"), "R", (), name="R1 capture")
    unnamed = Loop("L00000002", ("Stock A", "Outflow A"), "B",
                   (Link("Stock A", "Outflow A", "aux", 1),
                    Link("Outflow A", "Stock A", "flow", -1)))
    still = Loop("L00000003", ("X", "Y"), "B", (Link("Y", "X", "flow", -1),), name="B9 still")
    loops = (named, unnamed, still)
    times = np.arange(2003.0, 2035.0 + 1 / 64, 1 / 32)
    inside = (times > 2016.0) & (times <= DIP_END)

    def entry(scenario, moved):
        relative = np.tile([0.4, -0.3, 0.3], (len(times), 1))
        if moved:
            relative[inside] = [0.1, -0.5, 0.3]
        instances = [LoopInstance(loop, "Textile", 0, ()) for loop in loops]
        return ScenarioLoops(scenario, LoopScores(times, instances, relative, relative), ())

    dipping = _scenario("dip <b>ping</b>")
    base = Scenario("baseline", "Baseline", "", "test")
    comparison = dataclasses.replace(
        _comparison(_run(dipping, {"Margin[Textile]": 0.01 * DIP})),
        loops=LoopComparison(loops, "exhaustive", 2.0, 0.5,
                             (entry(base, False), entry(dipping, True))))
    (dip,) = key_findings(comparison).dips
    assert [(s.loop, s.label) for s in dip.loops] == [
        ("L00000001", "R1 capture"), ("L00000002", "balancing loop through Stock A")]
    assert (dip.loops[0].reference, dip.loops[0].value) == (pytest.approx(0.4),
                                                            pytest.approx(0.1))
    assert dip.loops[1].change == pytest.approx(-0.2)
    summary = findings_summary(key_findings(comparison))
    assert "R1 capture 40 % -> 10 %" in summary.replace("\n  ", " ")


def test_the_json_is_strict_where_a_kind_of_scenario_is_missing():
    """Only mixes: the best single lever is empty and its difference null."""
    comparison = _comparison(_run(_scenario("mix", ("own-brand", "patent-pool")),
                                  {"Margin[Textile]": 0.01 * DIP}))
    record = _strict(formats.comparison_json(comparison))["findings"]
    assert {row["best_single"] for row in record["best"]} == {""}
    assert {row["best_single_difference"] for row in record["best"]} == {None}
    assert record["dips"][0]["end"] == pytest.approx(DIP_END)


def test_the_report_opens_with_the_findings_and_escapes_names():
    hostile = _scenario('<script>alert("x")</script>')
    comparison = _comparison(_run(hostile, {"Margin[Textile]": 0.01 * DIP,
                                            "Total Profit[Textile]": 5 * RISE}),
                             _run(_scenario("plain"), {"Margin[Apparel]": 0.02 * RISE}))
    report = comparison_report(comparison)
    start = report.index('<section id="findings">')
    assert report.index("</header>") < start < report.index("<nav>")
    assert start == min(report.index(f'<section id="{name}"') for name in
                        ("findings", "figures", "table", "rankings", "model"))
    nav = report[report.index("<nav>"):report.index("</nav>")]
    assert nav.split('href="')[1].startswith("#findings")  # the first link
    section = report[start:report.index("</section>", start)]
    assert "<script>" not in section
    assert html.escape(hostile.name) in section
    assert "Worse before better." in section and "<table>" in section
    # Every scenario but the reference has a row of the table.
    assert section.count("<tr><td>") == 2


def test_a_comparison_of_the_reference_alone_finds_nothing():
    comparison = _comparison()
    found = key_findings(comparison)
    assert found.effects.empty and found.dips == () and found.disagreements == ()
    assert "no scenario besides the reference" in findings_summary(found)
    assert 'id="findings"' in comparison_report(comparison)
    _strict(formats.comparison_json(comparison))
