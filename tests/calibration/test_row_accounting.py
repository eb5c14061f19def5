"""Settings for regions, aggregate clusters, check rows and growth rates, and every row of
every observation file accounted for."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from conftest import REPO, settings_error

from sd_runner import api as runner
from sd_runner import resources
from sd_runner.calibration.calibrate import fit_rows
from sd_runner.calibration.config import load_config
from sd_runner.calibration.problem import CalibrationProblem, _quadrature, _year_earlier
from sd_runner.calibration.row_accounting import (
    END,
    START,
    bundled_table,
    markdown_table,
    replace_table,
)
from sd_runner.calibration.validate import validate
from sd_runner.errors import InputError
from sd_runner.inputs.observations import decimal_year, load_observation_files, load_observations

#: Series added to the bundled settings for these tests.
EXTRA = '''
[aggregate_clusters]
textile_apparel = ["textile", "apparel"]

[series.export_growth]
variable = "Export Sales"
kind = "growth"
unit = "percent year on year"
sigma = 5.0
mapping = "test: year-on-year growth of exports"

[series.exports_check]
role = "check"
variable = "Export Sales"
kind = "flow"
unit = "100 million USD"
scale = "log"
sigma = 0.05
mapping = "test: exports as an out-of-sample check"

[series.export_level]
variable = "Export Sales"
kind = "ratio"
unit = "100 million USD a year"
factor = 1
scale = "log"
sigma = 0.1
regions = ["Wenzhou city"]
mapping = "test: a level averaged over the period; a city's level stands for its cluster's"
'''

HEADER = "series,cluster,region,period_start,period_end,value,unit,basis,source\n"
ROWS = (
    "export_growth,textile,Zhejiang,2009-04-01,2009-04-30,-8.3,percent year on year,reported,t\n"
    "exports,textile_apparel,Zhejiang,2008-01-01,2008-12-31,400,100 million USD,reported,t\n"
    "export_delivery_share,textile_apparel,Zhejiang,2013-01-01,2013-12-31,30,percent of "
    "industrial sales,reported,t\n"
    "exports_check,footwear,Zhejiang,2012-01-01,2012-12-31,80,100 million USD,reported,t\n"
    "export_level,footwear,Wenzhou city,2010-01-01,2010-12-31,60,100 million USD a year,"
    "reported,t\n"
    "export_level,footwear,Zhejiang,2010-01-01,2010-12-31,60,100 million USD a year,reported,t\n"
    "exports,textile,China,2010-01-01,2010-12-31,770.5,100 million USD,reported,t\n"
    "exports,textile,Zhejiang,2020-01-01,2020-12-31,500,100 million USD,reported,t\n"
    "exports,silk,Zhejiang,2010-01-01,2010-12-31,5,100 million USD,reported,t\n"
    "imports,textile,Zhejiang,2010-01-01,2010-12-31,5,100 million USD,reported,t\n"
)


@pytest.fixture(scope="module")
def plain_model():
    return runner.bundled_model("fast", runner.UNCALIBRATED)


@pytest.fixture(scope="module")
def extra(tmp_path_factory):
    """Settings with the test series, and the bundled rows plus the test rows."""
    folder = tmp_path_factory.mktemp("extra")
    settings = folder / "config.toml"
    settings.write_text(resources.calibration_config_path().read_text("utf-8") + EXTRA,
                        encoding="utf-8")
    data = folder / "extra.csv"
    data.write_text(HEADER + ROWS, encoding="utf-8")
    observations = load_observation_files([resources.observations_path(), data])
    return load_config(settings, observations), observations, settings, data


@pytest.fixture(scope="module")
def problem(plain_model, extra):
    config, observations, _, _ = extra
    return CalibrationProblem(plain_model, config, observations)


def _test_rows(problem):
    """Targets and skipped rows of the test file, by line."""
    targets = {t.observation.line: t for t in problem.targets
               if t.observation.file.endswith("extra.csv")}
    skipped = {s.observation.line: s for s in problem.skipped
               if s.observation.file.endswith("extra.csv")}
    return targets, skipped


def _mean(path, start, end):
    """Mean of the straight line through a saved path over [start, end], on a fine grid."""
    grid = np.linspace(start, end, 20001)
    return np.trapezoid(np.interp(grid, path.index.to_numpy(), path.to_numpy()),
                        grid) / (end - start)


# ---------------------------------------------------------------------- growth
def test_growth_of_a_toy_path_is_the_ratio_of_the_two_means():
    # A straight line 3 + 2 (t - 2003), saved every 1/32 year: the mean over a period is the
    # line at the period's middle, so the growth rate is known by hand.
    times = np.arange(2003, 2011.0001, 1 / 32)
    path = 3.0 + 2.0 * (times - 2003)
    row = dataclasses.replace(load_observations(resources.observations_path())[0],
                              start=dt.date(2009, 4, 1), end=dt.date(2009, 4, 30))
    start, end = row.start_year, row.end_year
    first, last = _year_earlier(row)  # the same dates in 2008 (a leap year)
    assert (first, last) == (decimal_year(dt.date(2008, 4, 1)), decimal_year(dt.date(2008, 5, 1)))
    now = _quadrature(times, start, end) @ path / (end - start)
    before = _quadrature(times, first, last) @ path / (last - first)
    middle, middle_before = (start + end) / 2, (first + last) / 2
    assert now == pytest.approx(3 + 2 * (middle - 2003), rel=1e-12)
    assert 100 * (now / before - 1) == pytest.approx(
        100 * ((3 + 2 * (middle - 2003)) / (3 + 2 * (middle_before - 2003)) - 1), rel=1e-10)


def test_growth_rows_are_simulated_as_the_hand_computed_mean_ratio(problem):
    targets, _ = _test_rows(problem)
    target = targets[2]
    index = problem.targets.index(target)
    theta = problem.start
    value = problem.simulate(theta)[0, index]
    path = problem.trajectories(theta)["Export Sales[Textile]"]
    row = target.observation
    now = _mean(path, row.start_year, row.end_year)
    before = _mean(path, *_year_earlier(row))
    assert value == pytest.approx(100 * (now / before - 1), rel=1e-6)
    # A month spans about three saved steps (TIME STEP 1/32 year): no SAVEPER coarseness.
    assert np.count_nonzero(target.weights) >= 3


# ---------------------------------------------------------------------- aggregates
def test_a_flow_of_an_aggregate_is_the_sum_of_its_members(problem):
    targets, skipped = _test_rows(problem)
    target = targets[3]
    assert target.columns == ("Export Sales[Textile]", "Export Sales[Apparel]")
    theta = problem.start
    value = problem.simulate(theta)[0, problem.targets.index(target)]
    path = problem.trajectories(theta)
    row = target.observation
    period = row.end_year - row.start_year
    expected = sum(_mean(path[c], row.start_year, row.end_year) * period
                   for c in target.columns)
    assert value == pytest.approx(expected, rel=1e-6)
    assert skipped[4].reason.startswith("an aggregate of a ratio cannot be compared: "
                                        "textile_apparel is textile + apparel")


# ---------------------------------------------------------------------- check rows, levels
def test_check_rows_are_simulated_but_carry_no_weight(plain_model, extra, problem):
    config, observations, _, _ = extra
    targets, _ = _test_rows(problem)
    check = targets[5]
    assert check.status == "check"
    without = CalibrationProblem(plain_model, config, [o for o in observations
                                                       if o is not check.observation])
    theta = problem.start
    assert problem.n_rows == without.n_rows
    np.testing.assert_allclose(problem.residuals(theta), without.residuals(theta), rtol=1e-12)
    rows = fit_rows(problem, theta)
    row = rows[(rows["series"] == "exports_check")].iloc[0]
    assert row["status"] == "check" and np.isnan(row["weighted_residual"])
    assert row["simulated"] > 0 and np.isfinite(row["percent_error"])
    # Doubling the check row's value changes nothing in the payoff.
    moved = [dataclasses.replace(o, value=2 * o.value) if o is check.observation else o
             for o in observations]
    assert CalibrationProblem(plain_model, config, moved).cost(theta) == pytest.approx(
        problem.cost(theta), rel=1e-12)


def test_a_level_ratio_with_factor_one_on_a_log_scale_is_the_period_average(problem):
    targets, skipped = _test_rows(problem)
    level = targets[6]  # Wenzhou city: the series' own region
    assert level.series.scale == "log" and level.series.factor == 1.0
    theta = problem.start
    value = problem.simulate(theta)[0, problem.targets.index(level)]
    path = problem.trajectories(theta)["Export Sales[Footwear]"]
    row = level.observation
    assert value == pytest.approx(_mean(path, row.start_year, row.end_year), rel=1e-6)
    assert "region Zhejiang is outside those series export_level stands for" in \
        skipped[7].reason


def test_every_test_row_has_its_status_and_reason(problem):
    targets, skipped = _test_rows(problem)
    assert sorted(targets) == [2, 3, 5, 6]
    assert {line: s.reason.split(" (")[0] for line, s in skipped.items()} == {
        4: skipped[4].reason.split(" (")[0],
        7: "region Zhejiang is outside those series export_level stands for",
        8: "region China is outside the model's",
        9: "ends after final_time 2014",
        10: "cluster silk is neither a model cluster nor an aggregate",
        11: "series imports has no model counterpart in the settings",
    }


# ---------------------------------------------------------------------- settings errors
@pytest.mark.parametrize("change, expected", [
    (('[fit]', '[fit]\nregions = "Zhejiang"'), "regions in [fit] must be a list"),
    (('[fit]', '[fit]\nregions = ["Zhejiang", "zhejiang"]'), "appears twice in regions"),
    (('textile_apparel = ["textile", "apparel"]', 'textile_apparel = ["textile", "silk"]'),
     "'silk' is not a cluster of [clusters]"),
    (('textile_apparel = ["textile", "apparel"]', 'textile_apparel = ["textile"]'),
     "must list two or more clusters"),
    (('textile_apparel = ', 'textile = '), "is also in [clusters]"),
    (('unit = "percent year on year"', 'unit = "percent year on year"\nscale = "log"'),
     "a growth rate can be negative"),
    (('unit = "percent year on year"', 'unit = "percent year on year"\nfactor = 100'),
     "remove factor"),
    (('role = "check"', 'role = "test"'), "must be one of target, check, prior"),
    (('regions = ["Wenzhou city"]', 'regions = []'), "must be a list of region names"),
])
def test_bad_new_settings_name_the_file_the_line_and_the_fix(tmp_path, extra, change,
                                                             expected):
    _, observations, settings, _ = extra
    text = settings.read_text("utf-8")
    assert expected in settings_error(tmp_path, text, change, observations)


# ---------------------------------------------------------------------- accounting
def test_validate_accounts_for_every_row_of_every_file(plain_model, extra):
    config, observations, _, _ = extra
    result = validate(plain_model, config, observations)
    table = result.accounting
    assert len(table) == len(observations)
    assert list(zip(table["file"], table["line"], strict=True)) == [
        (o.place.rpartition(":")[0], o.line) for o in observations]
    assert set(table["status"]) == {"fitted", "check", "prior", "not compared"}
    compared = table[table["status"].isin(["fitted", "check"])]
    assert compared["simulated"].notna().all() and compared["error"].notna().all()
    assert (compared["reason"] == "").all()
    left_out = table[table["status"] == "not compared"]
    assert left_out["simulated"].isna().all() and (left_out["reason"] != "").all()
    # validate simulates to FINAL TIME, so the 2020 row is compared there.
    late = table[(table["file"] == "extra.csv") & (table["line"] == 9)].iloc[0]
    assert late["status"] == "fitted" and late["simulated"] > 0
    data = result.as_json()
    assert len(data["accounting"]) == len(observations)
    assert len(data["rows"]) + len(data["skipped"]) == len(observations)


def test_the_readme_table_lists_every_bundled_row_and_is_current():
    table = bundled_table()
    rows = load_observation_files(resources.observation_paths())
    assert len(table) == len(rows)
    # The repository's page: an installed wheel ships the data and settings, not the README.
    text = (REPO / "calibration" / "README.md").read_text("utf-8")
    assert replace_table(text, markdown_table(table), "README.md") == text, (
        "rerun: python -m sd_runner.calibration.row_accounting calibration/README.md")
    for row in rows:
        assert f"| {row.place} | {row.series} |" in text


def test_the_table_needs_its_markers():
    assert replace_table(f"a\n{START}\nold\n{END}\nb", "new\n", "R") == f"a\n{START}\nnew\n{END}\nb"
    with pytest.raises(InputError, match="R: needs one"):
        replace_table("no markers", "new\n", "R")
