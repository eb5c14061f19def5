"""Loop dominance in a scenario comparison: library results, CSV, JSON and the HTML report."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sd_runner import api as runner
from sd_runner.cli import cli
from sd_runner.results.loop_scores import MIN_REPORTED, interval_means

LEVER_START = 2016  # every bundled lever starts then or later (models/levers.toml)


@pytest.fixture(scope="module")
def comparison():
    return runner.compare(["domestic-value-chain"], loops=True)


def test_every_run_is_scored_per_cluster_with_the_inventory(comparison):
    loops = comparison.loops
    assert [e.scenario.name for e in loops.scenarios] == ["baseline", "domestic-value-chain"]
    assert loops.method == "exhaustive" and loops.window == 2.0
    inventory = {loop.id for loop in runner.loop_inventory().loops}
    assert {loop.id for loop in loops.loops} == inventory
    assert set(loops.clusters) == {"Textile", "Apparel", "Footwear", "Furniture", ""}
    for entry in loops.scenarios:
        assert np.abs(entry.scores.relative).max() <= 1 + 1e-12
        assert entry.periods  # some loops dominate somewhere


def test_before_the_levers_start_both_scenarios_have_the_same_loops(comparison):
    baseline, levers = comparison.loops.scenarios
    before = baseline.scores.times <= LEVER_START
    np.testing.assert_array_equal(levers.scores.relative[before],
                                  baseline.scores.relative[before])
    after = baseline.scores.times > LEVER_START + 1
    assert not np.array_equal(levers.scores.relative[after], baseline.scores.relative[after])
    table = comparison.loops.dominance()
    early = table[table["end"] <= LEVER_START]
    base, other = (early[early["scenario"] == name].drop(columns="scenario")
                   .reset_index(drop=True) for name in ("baseline", "domestic-value-chain"))
    assert len(base) > 3
    pd.testing.assert_frame_equal(base, other)


def test_interval_means_average_the_steps_of_each_interval(comparison):
    scores = comparison.loops.scenarios[0].scores
    ends, means = interval_means(scores, 0.5)
    assert ends[0] == 2003.5 and ends[-1] == 2035.0
    # The steps after 2010 up to and including 2010.5, for the instance that varies most.
    column = int(np.argmax(np.abs(scores.relative).std(axis=0)))
    inside = (scores.times > 2010 + 1e-9) & (scores.times <= 2010.5 + 1e-9)
    assert inside.sum() == 16  # TIME STEP 1/32
    row = int(np.flatnonzero(np.isclose(ends, 2010.5))[0])
    assert means[row, column] == pytest.approx(scores.relative[inside, column].mean(), rel=1e-12)


def test_reported_scores_keep_every_loop_that_reaches_the_cutoff(comparison):
    table = comparison.loops.relative_scores()
    sizes = table.assign(size=table["relative"].abs()).groupby(
        ["scenario", "cluster", "loop"])["size"].max()
    assert (sizes >= MIN_REPORTED).all()
    for entry in comparison.loops.scenarios:
        _, means = interval_means(entry.scores, comparison.loops.interval)
        reaching = {(i.element, i.loop.id) for c, i in enumerate(entry.scores.instances)
                    if (np.abs(means[:, c]) >= MIN_REPORTED).any()}
        mine = table[table["scenario"] == entry.scenario.name]
        assert set(zip(mine["cluster"], mine["loop"], strict=True)) == reaching


def test_shifts_are_the_changes_of_mean_relative_scores_from_the_first_lever(comparison):
    shifts = comparison.loops.shifts()
    assert set(shifts["scenario"]) == {"domestic-value-chain"}
    assert (shifts["since"] == LEVER_START).all()
    np.testing.assert_allclose(shifts["change"], shifts["value"] - shifts["reference"])
    baseline, levers = comparison.loops.scenarios
    row = shifts.iloc[0]
    (column,) = [c for c, i in enumerate(levers.scores.instances)
                 if i.loop.id == row["loop"] and i.element == row["cluster"]]
    after = levers.scores.times >= LEVER_START
    assert row["value"] == pytest.approx(levers.scores.relative[after, column].mean())
    assert row["reference"] == pytest.approx(baseline.scores.relative[after, column].mean())
    # Strongest change first within each cluster.
    for _, group in shifts.groupby("cluster"):
        sizes = group["change"].abs().to_numpy()
        assert (np.diff(sizes) <= 0).all()


def test_compare_loops_writes_csvs_report_and_json(tmp_path):
    out, report = tmp_path / "out", tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["compare", "own-brand", "--loops", "--out", str(out),
                                      "--report", str(report), "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert {"loops.csv", "loop_scores.csv", "dominant_loops.csv", "loop_shifts.csv"} <= set(
        os.listdir(out))
    dominance = pd.read_csv(out / "dominant_loops.csv", keep_default_na=False)
    inventory = pd.read_csv(out / "loops.csv", keep_default_na=False)
    assert set(" ".join(dominance["loops"]).split()) <= set(inventory["loop"])
    record = json.loads(result.stdout[result.stdout.index("{"):])
    loops = record["loops"]
    assert record["reference"] == "baseline" and loops["method"] == "exhaustive"
    assert len(loops["dominance"]) == len(dominance)
    assert loops["dominance"][0]["loops"] == dominance["loops"][0].split()
    scores = pd.read_csv(out / "loop_scores.csv", keep_default_na=False)
    assert sum(len(s["times"]) for s in loops["relative_scores"]) == len(scores)
    html = report.read_text(encoding="utf-8")
    assert '<section id="loops">' in html and 'href="#loops"' in html
    assert 'id="fig-loop-dominance"' in html
    for cluster in ("textile", "apparel", "footwear", "furniture"):
        assert f'id="fig-loops-{cluster}"' in html
    # No province-wide loop acts without the platform lever: said in a line, not drawn.
    assert 'id="fig-loops-province-wide"' not in html
    assert "<strong>Province-wide</strong>: no loop reaches" in html
    assert "R1 capture" in html and "stackgroup" in html


def test_without_loops_the_json_has_outcomes_only():
    result = CliRunner().invoke(cli, ["compare", "own-brand", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout[result.stdout.index("{"):])
    assert "loops" not in record and record["outcomes"]


@pytest.mark.parametrize("window", ["0", "-1", "nan", "inf"])
def test_a_bad_loop_window_is_one_line_exit_2(window, tmp_path):
    report = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["compare", "own-brand", "--loops", "--loop-window",
                                      window, "--report", str(report)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [lines[0]] and "--loop-window" in lines[0] and "Traceback" not in lines[0]
    assert not report.exists()


def test_a_last_shorter_interval_ends_with_the_run():
    from sd_runner.results.loop_scores import LoopScores

    times = np.arange(0, 1.01, 0.25)  # scores at 0.25 ... 1.0 cover the steps ending there
    relative = np.array([[0.0], [0.1], [0.3], [0.5], [0.9]])
    scores = LoopScores(times, [], np.zeros_like(relative), relative)
    ends, means = interval_means(scores, 0.4)
    np.testing.assert_allclose(ends, [0.4, 0.8, 1.0])
    np.testing.assert_allclose(means[:, 0], [0.1, 0.4, 0.9])
