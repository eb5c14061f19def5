"""Calibration: settings, the comparison of periods, statistics, and recovery of known
parameters from synthetic data."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import settings_error

from sd_runner import api as runner
from sd_runner import resources
from sd_runner.calibration.calibrate import line_list
from sd_runner.calibration.config import load_config
from sd_runner.calibration.config_checks import check_against_model
from sd_runner.calibration.optimize import fit
from sd_runner.calibration.problem import CalibrationProblem, _quadrature, _season_factor
from sd_runner.calibration.statistics import fit_statistics
from sd_runner.calibration.uncertainty import covariance, profile_intervals
from sd_runner.errors import InputError
from sd_runner.inputs.observations import Observation, load_observations

#: Parameters the synthetic-data tests estimate, with the true values the data come from
#: (chosen away from the model's own values, which are the optimiser's first start).
TRUTH = {
    "Initial Export Sales[Textile]": 55.0,
    "Reference Export Growth Rate[Textile]": 0.33,
    "First Half Export Share": 0.47,
    "Initial Domestic Sales[Apparel]": 80.0,
    "New Product Capability Effect": 0.8,
    "Other Value Added Share": 0.15,
}
BOUNDS = {
    "Initial Export Sales[Textile]": (38.0, 70.0),
    "Reference Export Growth Rate[Textile]": (0.05, 1.0),
    "First Half Export Share": (0.35, 0.55),
    "Initial Domestic Sales[Apparel]": (30.0, 280.0),
    "New Product Capability Effect": (0.0, 2.0),
    "Other Value Added Share": (0.0, 0.4),
}


@pytest.fixture(scope="module")
def plain_model():
    """The model with the .mdl's own values (no calibration applied)."""
    return runner.bundled_model("fast", runner.UNCALIBRATED)


@pytest.fixture(scope="module")
def observations():
    return load_observations(resources.observations_path())


@pytest.fixture(scope="module")
def config(observations):
    return load_config(resources.calibration_config_path(), observations)


def small_config(config):
    """The bundled settings with only the parameters of TRUTH estimated."""
    bundled = {p.name: p for p in config.parameters}
    chosen = [dataclasses.replace(bundled[name], lower=BOUNDS[name][0], upper=BOUNDS[name][1])
              for name in TRUTH]
    return dataclasses.replace(config, parameters=chosen, starts=3)


def synthetic(problem: CalibrationProblem, truth: np.ndarray, rng, noise: bool):
    """Observations with the bundled rows' periods and values simulated at ``truth``, with
    errors drawn at each series' declared scale."""
    simulated = problem.simulate(truth)[0]
    rows = []
    for target, value in zip(problem.targets, simulated, strict=True):
        if noise:
            draw = rng.standard_normal() * target.series.sigma
            value = value * math.exp(draw) if target.series.scale == "log" else value + draw
        rows.append(dataclasses.replace(target.observation, value=float(value),
                                        source="synthetic"))
    return rows


# ---------------------------------------------------------------------- settings
def test_bundled_settings_map_every_series_and_resolve_priors_from_data(config):
    assert set(config.series) == {"exports", "export_delivery_share", "new_product_rate",
                                  "profit_tax_rate", "rd_intensity_china", "export_unit_price",
                                  "export_delivery_growth_yoy"}
    prior = {p.name: p.prior for p in config.parameters}["Reference R and D Intensity[Textile]"]
    assert prior.mean == pytest.approx(0.0043) and prior.sd == pytest.approx(0.00215)
    assert "rd_intensity_china/textile" in prior.source


@pytest.mark.parametrize("change, expected", [
    (('bounds = [0.0, 0.4]', 'bounds = [0.4, 0.0]'), "lower bound 0.4 must be below"),
    (('bounds = [0.0, 0.4]', 'bounds = [0.0]'), "bounds must be [lower, upper]"),
    (('bounds = [0.0, 0.4]', 'bounds = [0.0, nan]'), "finite number"),
    (('method = "least-squares"', 'method = "simplex"'), "unknown method 'simplex'"),
    (('kind = "flow"', 'kind = "stock"'), "kind 'stock' must be one of"),
    (('sigma = 0.05', 'sigma = -1'), "sigma and factor must be positive"),
    (('mcmc_walkers = 80', 'mcmc_walkers = 7'), "mcmc_walkers 7 must be even"),
    (('cluster = "textile", factor', 'cluster = "silk", factor'),
     "matches 0 rows of the observation file"),
    (('[fit]', '[fit]\ncolour = 1'), "unknown key 'colour'"),
])
def test_bad_settings_name_the_line_and_the_fix(tmp_path, observations, change, expected):
    text = resources.calibration_config_path().read_text(encoding="utf-8")
    assert expected in settings_error(tmp_path, text, change, observations)


def test_the_sample_may_take_every_draw_the_mcmc_keeps_and_no_more(tmp_path, config,
                                                                   observations):
    kept = (config.mcmc_steps - config.mcmc_burn) // config.mcmc_thin * config.mcmc_walkers
    text = resources.calibration_config_path().read_text(encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(text.replace("sample_size = 1000", f"sample_size = {kept}"), encoding="utf-8")
    assert load_config(path, observations).sample_size == kept
    path.write_text(text.replace("sample_size = 1000", f"sample_size = {kept + 1}"),
                    encoding="utf-8")
    with pytest.raises(InputError, match=rf"config.toml:\d+: sample_size {kept + 1} is more "
                                         rf"than the {kept} draws .*; give at most {kept}$"):
        load_config(path, observations)


#: final_time outside (INITIAL TIME, FINAL TIME], from the model's two times.
OUTSIDE_THE_MODELS_TIME = {
    "before INITIAL TIME": lambda first, last: first - 1,
    "at INITIAL TIME": lambda first, last: first,
    "after FINAL TIME": lambda first, last: last + 65,
}


@pytest.mark.parametrize("year", OUTSIDE_THE_MODELS_TIME.values(),
                         ids=list(OUTSIDE_THE_MODELS_TIME))
def test_final_time_outside_the_models_time_is_refused(plain_model, config, year):
    first, last = plain_model.control("INITIAL TIME"), plain_model.control("FINAL TIME")
    final_time = year(first, last)
    with pytest.raises(InputError, match=rf"config.toml:\d+: final_time {final_time:g}\b.* "
                                         r"INITIAL TIME \(?2003"):
        check_against_model(dataclasses.replace(config, final_time=final_time), plain_model)
    check_against_model(dataclasses.replace(config, final_time=last), plain_model)


def test_line_numbers_are_listed_as_runs():
    assert line_list([12, 3, 5, 4, 9]) == "3-5, 9, 12"
    assert line_list(list(range(1, 40, 2)), shown=3) == "1, 3, 5 and 17 more"


def test_final_time_before_every_row_ends_names_final_time(plain_model, config, observations):
    with pytest.raises(InputError, match=r"config.toml:\d+: final_time 2003.25 leaves no "
                                         "observation row to compare"):
        CalibrationProblem(plain_model, dataclasses.replace(config, final_time=2003.25),
                           observations)


def test_rows_after_final_time_are_left_out_with_the_reason(plain_model, config,
                                                            observations):
    every = CalibrationProblem(plain_model, config, observations)
    earlier = CalibrationProblem(plain_model, dataclasses.replace(config, final_time=2010),
                                 observations)
    late = [t.observation for t in every.targets if t.observation.end_year > 2010]
    assert late and earlier.after_final_time() == late
    assert earlier.n_rows == every.n_rows - len(late)
    assert all(s.reason.startswith("ends after final_time 2010") for s in earlier.skipped
               if s.observation in late)


def test_rows_of_unmapped_series_or_clusters_are_left_out_with_reasons(plain_model, config,
                                                                        observations):
    row = observations[0]
    rows = [row, dataclasses.replace(row, series="imports"),
            dataclasses.replace(row, cluster="silk")]
    problem = CalibrationProblem(plain_model, config, rows)
    assert [t.observation for t in problem.targets] == [row]
    reasons = [s.reason for s in problem.skipped]
    assert "series imports has no model counterpart" in reasons[0]
    assert "cluster silk is neither a model cluster nor an aggregate" in reasons[1]
    with pytest.raises(InputError, match="unit 'USD' of exports must be"):
        CalibrationProblem(plain_model, config, [dataclasses.replace(row, unit="USD")])


def test_aggregate_and_prior_rows_are_left_out_with_reasons(plain_model, config, observations):
    problem = CalibrationProblem(plain_model, config, observations)
    reasons = {(s.observation.series, s.observation.cluster): s.reason for s in problem.skipped}
    assert "wider than the model's four clusters" in reasons[("new_product_rate", "all")]
    assert "feeds priors" in reasons[("rd_intensity_china", "textile")]
    assert problem.n_rows == 34


# ---------------------------------------------------------------------- periods
def test_quadrature_integrates_straight_lines_exactly_over_any_period():
    times = np.arange(2003, 2006.0001, 0.0625)
    line = 3.0 + 2.0 * (times - 2003)
    for start, end in [(2003.0, 2004.0), (2003.1, 2003.37), (2004.4959, 2005.9)]:
        exact = 3.0 * (end - start) + (end - start) * (start + end - 2 * 2003)
        assert _quadrature(times, start, end) @ line == pytest.approx(exact, rel=1e-12)


def _row(start, end):
    return Observation("exports", "textile", start, end, 1.0, "u", "reported", "", "s", "", 7)


def test_seasonal_factor_is_one_for_whole_years_and_the_share_for_half_years():
    import datetime as dt

    assert _season_factor(_row(dt.date(2013, 1, 1), dt.date(2013, 12, 31))) == (1.0, 0.0)
    assert _season_factor(_row(dt.date(2003, 1, 1), dt.date(2004, 12, 31))) == (1.0, 0.0)
    base, slope = _season_factor(_row(dt.date(2008, 1, 1), dt.date(2008, 6, 30)))
    # A first half holding 46 % of a flat year's flow, over 182 of 366 days:
    assert base + slope * 0.46 == pytest.approx(0.46 / (182 / 366))
    # January-August: all of the first half and a third of the second.
    base, slope = _season_factor(_row(dt.date(2013, 1, 1), dt.date(2013, 8, 31)))
    covered = 243 / 365
    expected = (0.46 + 0.54 * 62 / 184) / covered
    assert base + slope * 0.46 == pytest.approx(expected)
    with pytest.raises(InputError, match="crosses a year boundary"):
        _season_factor(_row(dt.date(2008, 7, 1), dt.date(2009, 6, 30)))


def test_flows_are_compared_with_integrals_and_ratios_with_averages(plain_model, config,
                                                                     observations):
    problem = CalibrationProblem(plain_model, config, observations)
    theta = problem.start
    simulated = problem.simulate(theta)[0]
    path = problem.trajectories(theta)
    for target, value in zip(problem.targets, simulated, strict=True):
        row = target.observation
        inside = path[target.column][(path.index >= row.start_year - 1e-9)
                                     & (path.index <= row.end_year + 1e-9)]
        mean = np.trapezoid(inside.to_numpy(), inside.index.to_numpy()) / (
            row.end_year - row.start_year)
        if target.series.kind == "ratio":
            # Periods here start and end on saved times, so the trapezoid agrees exactly.
            assert value == pytest.approx(mean, rel=1e-9)
        elif row.end.month == 12:
            assert value == pytest.approx(mean * (row.end_year - row.start_year), rel=1e-3)


# ---------------------------------------------------------------------- statistics
def test_theil_statistics_split_the_error_and_sum_to_one():
    observed = np.array([1.0, 2.0, 3.0, 4.0])
    biased = fit_statistics(observed, observed + 0.5)
    assert biased["theil_um"] == pytest.approx(1.0) and biased["r2"] == pytest.approx(0.8)
    assert biased["mape_percent"] == pytest.approx(100 * np.mean(0.5 / observed))
    stretched = fit_statistics(observed, 2 * observed - observed.mean())
    assert stretched["theil_us"] == pytest.approx(1.0)
    noisy = fit_statistics(observed, np.array([1.3, 1.8, 3.4, 3.9]))
    parts = noisy["theil_um"] + noisy["theil_us"] + noisy["theil_uc"]
    assert parts == pytest.approx(1.0) and noisy["theil_uc"] > 0.5
    assert noisy["rmse"] == pytest.approx(np.sqrt(np.mean([0.09, 0.04, 0.16, 0.01])))


def test_statistics_of_values_beyond_a_float_are_inf_without_warnings():
    # (warnings are errors in the tests) 1e200 squared overflows; 1e200 / 1e-200 too.
    stats = fit_statistics(np.array([1e200, 1e-200]), np.array([1e-200, 1e200]))
    assert stats["rmse"] == math.inf and stats["mape_percent"] == math.inf


# ---------------------------------------------------------------------- recovery
def test_exact_synthetic_data_give_back_the_true_parameters(plain_model, config):
    small = small_config(config)
    truth = np.array(list(TRUTH.values()))
    template = CalibrationProblem(plain_model, small, load_observations(
        resources.observations_path()))
    rows = synthetic(template, truth, None, noise=False)
    problem = CalibrationProblem(plain_model, small, rows)
    optimum = fit(problem, "least-squares", seed=1, starts=3, max_evaluations=400)
    assert optimum.cost < 1e-12
    np.testing.assert_allclose(optimum.estimate, truth, rtol=1e-5)


def test_intervals_cover_the_truth_on_noisy_synthetic_data(plain_model, config):
    """Twenty data sets with errors at the declared scales: the 95 % profile intervals must
    hold the true value in at least 85 of the 120 cases (expected 114; fewer than 85 has a
    probability below 1e-9 if the intervals are right), and never miss by far."""
    small = small_config(config)
    truth = np.array(list(TRUTH.values()))
    template = CalibrationProblem(plain_model, small, load_observations(
        resources.observations_path()))
    rng = np.random.default_rng(20260101)
    covered = 0
    for _ in range(20):
        problem = CalibrationProblem(plain_model, small, synthetic(template, truth, rng, True))
        optimum = fit(problem, "least-squares", seed=1, starts=1, max_evaluations=400)
        dof = problem.n_rows + problem.n_priors - len(truth)
        scale = max(1.0, optimum.cost / dof)
        cov = covariance(problem, optimum.estimate, scale)
        intervals = profile_intervals(problem, optimum.estimate, optimum.cost, scale, 0.95,
                                      cov.standard_error, 400)
        for value, interval, se in zip(truth, intervals, cov.standard_error, strict=True):
            covered += interval.lower <= value <= interval.upper
            assert abs(value - (interval.lower + interval.upper) / 2) < 6 * se
    print(f"{covered} of 120 intervals hold the true value")
    assert covered >= 85, f"only {covered} of 120 intervals hold the true value"


# ---------------------------------------------------------------------- defaults
def test_committed_fit_is_what_runs_start_from(plain_model):
    from sd_runner.calibration.fitfile import read_fit

    fitted = read_fit(resources.fit_dir())
    calibrated = runner.bundled_model("fast")
    for name, value in fitted.items():
        base, _, element = name.partition("[")
        current = calibrated.default_value(base)
        if element:
            current = float(current.sel({current.dims[0]: element.rstrip("]")}))
        elif not isinstance(current, float):
            current = float(current.max())
        assert current == pytest.approx(value, rel=1e-12)
    run = calibrated.run(return_columns=["Export Sales[Textile]"], final_time=2004)
    assert run.iloc[0, 0] == pytest.approx(fitted["Initial Export Sales[Textile]"])
    plain = plain_model.run(return_columns=["Export Sales[Textile]"], final_time=2004)
    assert plain.iloc[0, 0] == pytest.approx(63.86)


# ---------------------------------------------------------------------- reproducibility
# A refit on another CPU takes other SIMD paths through numpy (numerics.py), so it is compared
# at the optimiser's tolerance, not bit for bit. least_squares works in Jacobian-scaled
# coordinates (x_scale="jac"), where one unit is about one standard error, and stops once the
# payoff falls by less than ftol = 1e-12 of itself: with a payoff of about 19 that leaves the
# parameters within sqrt(2 * 19 * 1e-12), about 6e-6 standard errors, of the minimum. The
# bounds below follow from that, with room for rounding in the residuals themselves.
PARAMETER_TOL_IN_STANDARD_ERRORS = 1e-5
PAYOFF_RTOL = 1e-9
# 36 parameters each within 1e-5 standard errors move a weighted residual by at most about
# sqrt(36) * 1e-5 = 6e-5 standard deviations of its row's error.
RESIDUAL_ATOL = 1e-4
# Statistics, correlations, standard errors and profile limits come from finite differences
# of the residuals (steps of 1e-5 of each parameter's scale), which turn rounding in the
# residuals (1e-12) into about 1e-7 relative, and from refits that move as the parameters do.
DERIVED_RTOL, DERIVED_ATOL = 1e-4, 1e-6


@pytest.mark.slow
def test_committed_fit_is_reproduced_from_its_settings_data_and_seed(tmp_path):
    """What calibration/run.sh does, compared with the committed calibration/fit/ (about
    75 s: the MCMC sample is 640 000 runs)."""
    import tomllib

    import pandas as pd

    from sd_runner.calibration.fitfile import fit_files, read_fit

    result = runner.calibrate(str(resources.calibration_config_path()),
                              [str(p) for p in resources.observation_paths()],
                              "least-squares", 2003)
    files = fit_files(result)
    committed = resources.fit_dir()
    fresh = tmp_path / "parameters.toml"
    fresh.write_text(files["parameters.toml"], encoding="utf-8")
    new_fit = tomllib.loads(files["parameters.toml"])["fit"]
    old_fit = tomllib.loads((committed / "parameters.toml").read_text(encoding="utf-8"))["fit"]
    assert new_fit["chi_square"] == pytest.approx(old_fit["chi_square"], rel=PAYOFF_RTOL)
    expected = read_fit(committed)
    assert list(read_fit(fresh)) == list(expected)
    old = pd.read_csv(committed / "identifiability.csv").set_index("parameter")
    for name, value in read_fit(fresh).items():
        error = old.loc[name, "standard_error"]
        assert abs(value - expected[name]) <= PARAMETER_TOL_IN_STANDARD_ERRORS * error, name
    for name in ("rows.csv", "statistics.csv", "correlation.csv"):
        (tmp_path / name).write_text(files[name], encoding="utf-8")
    rows_new, rows_old = (pd.read_csv(folder / "rows.csv") for folder in (tmp_path, committed))
    np.testing.assert_allclose(rows_new["weighted_residual"], rows_old["weighted_residual"],
                               rtol=0, atol=RESIDUAL_ATOL)
    pd.testing.assert_frame_equal(rows_new.drop(columns="weighted_residual"),
                                  rows_old.drop(columns="weighted_residual"),
                                  rtol=DERIVED_RTOL, atol=DERIVED_ATOL)
    for name in ("statistics.csv", "correlation.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / name),
                                      pd.read_csv(committed / name),
                                      rtol=DERIVED_RTOL, atol=DERIVED_ATOL)
    (tmp_path / "identifiability.csv").write_text(files["identifiability.csv"],
                                                  encoding="utf-8")
    new = pd.read_csv(tmp_path / "identifiability.csv")
    old = old.reset_index()
    fixed = [c for c in old.columns if not c.startswith("posterior") and c != "verdict"]
    pd.testing.assert_frame_equal(new[fixed], old[fixed], rtol=DERIVED_RTOL, atol=DERIVED_ATOL)
    # The MCMC sample is bit-identical on the same kind of machine; elsewhere its
    # summaries must still agree within Monte Carlo error.
    width = old["posterior_97.5"] - old["posterior_2.5"]
    for column in ("posterior_2.5", "posterior_50", "posterior_97.5"):
        assert ((new[column] - old[column]).abs() <= 0.1 * width).all(), column
    (tmp_path / "sample.csv").write_text(files["sample.csv"], encoding="utf-8")
    sample_new = pd.read_csv(tmp_path / "sample.csv")
    sample_old = pd.read_csv(committed / "sample.csv")
    assert sample_new.shape == sample_old.shape == (1000, len(expected))
    assert ((sample_new.mean() - sample_old.mean()).abs() <= 0.1 * width.to_numpy()).all()


def test_committed_fit_was_made_from_the_current_model_settings_and_data():
    """Editing the model, the settings or the data without rerunning calibration/run.sh
    fails here, not silently in every run."""
    import hashlib
    import tomllib

    made = tomllib.loads((resources.fit_dir() / "parameters.toml").read_text("utf-8"))["fit"]

    def digest(path):
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert made["model_sha256"] == digest(resources.model_path()), "rerun calibration/run.sh"
    assert made["settings_sha256"] == digest(resources.calibration_config_path())
    assert made["data_sha256"] == [digest(p) for p in resources.observation_paths()]
    assert made["method"] == "least-squares" and made["seed"] == 2003  # as run.sh says
