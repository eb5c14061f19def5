"""Profit, value added and lever cost in comparisons: all-cluster totals, rankings by each
outcome and where they disagree, and gains per unit of lever cost."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from sd_runner.inputs.scenarios import Scenario
from sd_runner.reports import formats
from sd_runner.reports.comparison import comparison_report
from sd_runner.results.outcomes import BETTER, KEY_OUTCOMES, TOTAL, TOTALLED
from sd_runner.results.runs import EQUAL_COST_COLUMNS, ScenarioRun, disagreements, per_cost
from sd_runner.simulate.comparison import compare_runs

CLUSTERS = ["Textile", "Apparel", "Footwear", "Furniture"]
TIME = pd.Index(np.arange(2003.0, 2035.0 + 0.25, 0.5), name="time")
NEW = ("Total Profit", "Value Added", "Own Brand Share", "Lever Cost", "Firm Lever Cost",
       "Government Lever Cost", "Cumulative Lever Cost")
SLOPE = {"cheap": 0.0, "dear": 2.0}  # growth of the added cumulative cost, per year from 2016


def _run(name: str, seed: int, profit_slope: float = 0.0) -> ScenarioRun:
    """Random outcomes (the same for every scenario but ``profit_slope``), and for the lever
    scenarios a profit difference rising by ``profit_slope`` a year from 2016 and a
    cumulative cost rising by ``SLOPE[name]`` a year from 2016."""
    rng = np.random.default_rng(seed)
    since = np.clip(TIME.to_numpy() - 2016.0, 0, None)
    columns = {}
    for outcome in KEY_OUTCOMES:
        for cluster in CLUSTERS:
            columns[f"{outcome}[{cluster}]"] = rng.uniform(0.1, 0.9, len(TIME))
    frame = pd.DataFrame(columns, index=TIME)
    for cluster in CLUSTERS:
        frame[f"Total Profit[{cluster}]"] += profit_slope * since
        frame[f"Cumulative Lever Cost[{cluster}]"] += SLOPE.get(name, 0.0) * since
    return ScenarioRun(Scenario(name, name, "", "test"), frame)


@pytest.fixture(scope="module")
def comparison():
    runs = [_run("baseline", 1), _run("cheap", 1, 1.0), _run("dear", 1, 3.0)]
    return compare_runs(runs, CLUSTERS)


def test_key_outcomes_hold_the_new_outcomes_and_costs_are_not_ranked():
    assert set(NEW) <= set(KEY_OUTCOMES)
    assert BETTER["Total Profit"] == BETTER["Value Added"] == BETTER["Own Brand Share"] == 1
    assert not any("Cost" in outcome for outcome in BETTER)
    assert "Margin" not in TOTALLED and "Own Brand Share" not in TOTALLED


def test_totals_are_the_sums_over_the_clusters(comparison):
    totals = comparison.totals()
    assert set(totals["outcome"]) == set(TOTALLED)
    table = comparison.table
    for row in totals.itertuples():
        mine = table[(table.scenario == row.scenario) & (table.outcome == row.outcome)
                     & (table.year == row.year)]
        assert len(mine) == len(CLUSTERS)
        assert row.value == pytest.approx(mine["value"].sum(), rel=1e-12)
        assert row.difference == pytest.approx(mine["difference"].sum(), rel=1e-12, abs=1e-12)


def test_rankings_follow_the_direction_of_better(comparison):
    rankings = comparison.rankings()
    assert set(rankings["outcome"]) == set(BETTER)
    assert (rankings["year"] == 2035).all()
    # Over all clusters only what sums: profit and value added.
    assert set(rankings.loc[rankings.cluster == TOTAL, "outcome"]) == {"Total Profit",
                                                                       "Value Added"}
    profit = rankings[(rankings.outcome == "Total Profit") & (rankings.cluster == TOTAL)]
    assert dict(zip(profit.scenario, profit["rank"], strict=True)) == {
        "dear": 1, "cheap": 2, "baseline": 3}
    # Same random values everywhere else: every scenario ties for first.
    margin = rankings[rankings.outcome == "Margin"]
    assert (margin["rank"] == 1).all()


def _ranking(ranks: dict[str, dict[str, int]]) -> pd.DataFrame:
    """A rankings table for one cluster: outcome -> scenario -> rank."""
    return pd.DataFrame([{"outcome": outcome, "cluster": "Apparel", "scenario": scenario,
                          "year": 2035, "difference": 0.0, "rank": rank}
                         for outcome, by in ranks.items() for scenario, rank in by.items()])


def test_disagreements_name_the_best_and_worst_outcome():
    table = disagreements(_ranking({
        "Total Profit": {"own-brand": 1, "patent-pool": 2, "baseline": 3},
        "Margin": {"own-brand": 3, "patent-pool": 1, "baseline": 2},
        "Value Added": {"own-brand": 2, "patent-pool": 2, "baseline": 3}}))
    assert list(table["scenario"]) == ["own-brand", "patent-pool", "baseline"]  # largest gap
    first = table.iloc[0]
    assert (first.best_outcome, first.best_rank, first.worst_outcome, first.worst_rank) == (
        "Total Profit", 1, "Margin", 3)
    assert first.statement == ("own-brand ranks 1st of 3 by Total Profit but 3rd by Margin "
                               "in Apparel (2035)")


def test_rankings_that_agree_give_no_disagreement():
    same = {"own-brand": 1, "patent-pool": 2, "baseline": 3}
    assert disagreements(_ranking({"Total Profit": same, "Margin": same})).empty
    assert disagreements(_ranking({"Total Profit": same})).empty  # one outcome: nothing to say


def test_equal_cost_divides_the_gains_and_leaves_zero_cost_not_applicable(comparison):
    table = comparison.equal_cost()
    assert list(table.columns) == EQUAL_COST_COLUMNS
    assert set(table["scenario"]) == {"cheap", "dear"}  # the reference is its own baseline
    dear = table[(table.scenario == "dear") & (table.cluster == "Apparel")].iloc[0]
    # The profit difference rises by 3 a year from 2016, the added cost by 2 a year.
    assert dear.cumulative_profit_change == pytest.approx(3.0 * 19 ** 2 / 2)
    assert dear.added_lever_cost == pytest.approx(2.0 * 19)
    assert dear.profit_per_cost == pytest.approx(3.0 * 19 ** 2 / 2 / (2.0 * 19))
    assert dear.value_added_per_cost == pytest.approx(0.0, abs=1e-12)
    total = table[(table.scenario == "dear") & (table.cluster == TOTAL)].iloc[0]
    assert total.added_lever_cost == pytest.approx(4 * 2.0 * 19)
    cheap = table[table.scenario == "cheap"]
    assert (cheap["added_lever_cost"] == 0).all()
    assert cheap["profit_per_cost"].isna().all() and cheap["value_added_per_cost"].isna().all()
    assert math.isnan(per_cost(5.0, 0.0)) and math.isnan(per_cost(5.0, -1.0))
    assert per_cost(5.0, 2.0) == 2.5


def test_csv_json_and_report_carry_every_new_outcome(comparison):
    files = formats.comparison_csvs(comparison)
    for name in ("outcomes.csv", "outcome_totals.csv", "rankings.csv",
                 "ranking_disagreements.csv", "equal_cost.csv"):
        assert name in files
    outcomes = files["outcomes.csv"]
    assert all(f",{outcome}," in outcomes for outcome in NEW)
    assert all(f",{outcome}," in files["outcome_totals.csv"]
               for outcome in NEW if outcome in TOTALLED)
    record = json.loads(formats.comparison_json(comparison))
    assert set(NEW) <= {row["outcome"] for row in record["outcomes"]}
    assert {row["outcome"] for row in record["totals"]} == set(TOTALLED)
    assert record["ranking_year"] == 2035
    cheap = [row for row in record["equal_cost"] if row["scenario"] == "cheap"]
    assert cheap and all(row["profit_per_cost"] is None for row in cheap)
    report = comparison_report(comparison)
    assert report == comparison_report(comparison)  # a pure function of its input
    for outcome in NEW:
        assert f'id="table-{outcome.lower().replace(" ", "-")}"' in report
    section = report[report.index('<section id="rankings">'):]
    section = section[:section.index("</section>")]
    assert "All clusters together" in section and "n/a" in section
    assert "Gains per unit of lever cost" in section


def test_plain_summary_shows_profit_value_added_and_cost(comparison):
    text = formats.outcome_summary(comparison)
    for outcome in ("Margin", "Total Profit", "Value Added", "Cumulative Lever Cost"):
        assert outcome in text
    assert TOTAL in text and "n/a" in text
    # Margin in % of sales, as every report shows it: the baseline's in 2035, times 100.
    lines = text[text.index("Margin (% of sales)"):].splitlines()
    clusters = lines[1].split()[1:]
    row = next(line for line in lines if line.startswith("baseline")).split()[1:]
    table = comparison.table
    for cluster, shown in zip(clusters, row, strict=True):
        value = table[(table["outcome"] == "Margin") & (table["year"] == 2035)
                      & (table["scenario"] == "baseline")
                      & (table["cluster"] == cluster)]["value"].iloc[0]
        assert float(shown) == pytest.approx(100 * value, abs=0.005)


@pytest.mark.slow
def test_lever_cost_starts_with_each_lever_and_the_baseline_costs_nothing(bundled_runs,
                                                                          model):
    clusters = model.subscripts["Cluster"]
    baseline = bundled_runs["baseline"].frame
    for outcome in ("Lever Cost", "Cumulative Lever Cost"):
        assert (baseline[[f"{outcome}[{c}]" for c in clusters]] == 0).all().all()
    single = [run for run in bundled_runs.values() if len(run.scenario.levers) == 1]
    assert len(single) == 7
    for run in single:
        start = run.scenario.levers[0].start_year
        cost = run.frame[[f"Lever Cost[{c}]" for c in clusters]]
        before, after = cost[cost.index <= start], cost[cost.index > start]
        assert (before == 0).all().all(), run.scenario.name
        assert (after > 0).all().all(), run.scenario.name
