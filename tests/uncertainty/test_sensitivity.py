"""Global sensitivity: the code path reproduces known indices, and the numbers do not depend on
how the runs are split."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from SALib.test_functions import Ishigami

from sd_runner.errors import InputError
from sd_runner.results.sensitivity import Factors
from sd_runner.uncertainty import sobol_indices
from sd_runner.uncertainty.sensitivity import analyse

ISHIGAMI = Factors(("x1", "x2", "x3"), ((-np.pi, np.pi),) * 3)
# Analytic indices of the Ishigami function with a = 7, b = 0.1 (Saltelli et al. 2008).
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
ISHIGAMI_S2 = {("x1", "x2"): 0.0, ("x1", "x3"): 0.2437, ("x2", "x3"): 0.0}


def _value(table, index, factor, other=""):
    row = table[(table["index"] == index) & (table["factor"] == factor)
                & (table["other"] == other)]
    return float(row["value"].iloc[0]), float(row["confidence"].iloc[0])


def test_sobol_reproduces_the_ishigami_indices_within_their_intervals():
    result = analyse(Ishigami.evaluate, ISHIGAMI, ["y"], "sobol", n=4096, seed=2003)
    assert result.samples == 4096 * (2 * 3 + 2)
    table = result.indices
    for index, truth in (("S1", ISHIGAMI_S1), ("ST", ISHIGAMI_ST)):
        for factor, expected in truth.items():
            value, confidence = _value(table, index, factor)
            assert abs(value - expected) <= confidence, (index, factor, value, expected)
            assert confidence < 0.05  # and the intervals are tight enough to mean something
    for (factor, other), expected in ISHIGAMI_S2.items():
        value, confidence = _value(table, "S2", factor, other)
        assert abs(value - expected) <= confidence, (factor, other, value, expected)


# ------------------------------------------------------- the same numbers as SALib's own
def _design(factors, n, second_order, seed):
    problem = {"num_vars": factors, "names": [f"x{i + 1}" for i in range(factors)],
               "bounds": [[-np.pi, np.pi]] * factors}
    return problem, sobol_indices.saltelli_sample(problem, n, second_order, seed)


@pytest.mark.parametrize("second_order", [True, False])
@pytest.mark.parametrize("seed", [2003, 0])
def test_the_design_is_salibs(second_order, seed):
    from SALib.sample import sobol as sampler

    for factors in (3, 5):
        problem, x = _design(factors, 64, second_order, seed)
        expected = sampler.sample(dict(problem), 64, calc_second_order=second_order, seed=seed)
        assert np.array_equal(x, expected)


@pytest.mark.parametrize("second_order", [True, False])
@pytest.mark.parametrize("seed", [2003, 0])
@pytest.mark.parametrize("block", [sobol_indices.BLOCK, 1000])  # 1000: chunks of pairs, resamples
def test_the_indices_and_intervals_are_salibs(second_order, seed, block, monkeypatch):
    from SALib.analyze import sobol

    monkeypatch.setattr(sobol_indices, "BLOCK", block)
    # Four factors, x4 moving nothing (its indices are exact zeros); outcomes: two Ishigami
    # functions, one of x1 alone, and a constant (SALib gives it zero indices).
    problem, x = _design(4, 512, second_order, seed)
    y = np.column_stack([Ishigami.evaluate(x[:, :3]), Ishigami.evaluate(x[:, :3], A=3, B=0.5),
                         x[:, 0] ** 2, np.full(len(x), 2.5)])
    with warnings.catch_warnings():  # the constant outcome's 0/0, in SALib as here
        warnings.simplefilter("ignore")
        ours = sobol_indices.sobol_indices(y, 4, second_order, seed, 100, 0.95)
        theirs = [sobol.analyze(problem, y[:, column], calc_second_order=second_order,
                                seed=np.random.default_rng(seed))
                  for column in range(y.shape[1])]
    keys = ("S1", "ST", "S2") if second_order else ("S1", "ST")
    for mine, salib in zip(ours, theirs, strict=True):
        assert set(mine) == {k for key in keys for k in (key, f"{key}_conf")}
        # SALib's arithmetic in SALib's order, so no tolerance: equal to the bit, and the
        # sign of zero too (the CSV writes -0.0 and 0.0 differently).
        for key in (*keys, *(f"{key}_conf" for key in keys)):
            assert np.array_equal(mine[key], salib[key], equal_nan=True), key
            assert np.array_equal(np.signbit(mine[key]), np.signbit(salib[key])), key
    assert (ours[0]["S1_conf"][:3] > 0.01).all() and ours[0]["S1"][3] == 0.0
    assert all((ours[3][key] == 0).all() for key in ("S1", "ST", "S1_conf", "ST_conf"))


def test_seed_0_seeds_the_intervals_too():
    # SALib leaves its bootstrap unseeded for seed 0; here 0 is a seed like any other.
    one = analyse(Ishigami.evaluate, ISHIGAMI, ["y"], "sobol", n=256, seed=0).indices
    again = analyse(Ishigami.evaluate, ISHIGAMI, ["y"], "sobol", n=256, seed=0).indices
    pd.testing.assert_frame_equal(one, again, check_exact=True)


def test_the_memory_estimate_holds_the_bootstrap(monkeypatch):
    import tracemalloc

    monkeypatch.setattr(sobol_indices, "BLOCK", 1 << 14)
    factors, n = 6, 1024
    y = np.random.default_rng(1).normal(size=(n * (2 * factors + 2), 3))
    tracemalloc.start()
    try:
        sobol_indices.sobol_indices(y, factors, True, 1, 100, 0.95)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = 8 * sobol_indices.working_floats(n, factors, 100)
    assert estimate / 2 < peak <= estimate, (peak, estimate)


def test_morris_gives_the_exact_effects_of_a_linear_function():
    factors = Factors(("a", "b", "c"), ((0.0, 1.0), (0.0, 2.0), (-1.0, 1.0)))

    def linear(x):
        return 3 * x[:, 0] - x[:, 1] + 0 * x[:, 2]

    table = analyse(linear, factors, ["y"], "morris", n=20, seed=1).indices
    # An elementary effect is the change of y per step in units of the factor's range:
    # coefficient x range, the same at every point of a linear function.
    for factor, effect in (("a", 3.0), ("b", -2.0), ("c", 0.0)):
        assert _value(table, "mu", factor)[0] == pytest.approx(effect, abs=1e-9)
        assert _value(table, "mu_star", factor)[0] == pytest.approx(abs(effect), abs=1e-9)
        assert _value(table, "sigma", factor)[0] == pytest.approx(0.0, abs=1e-9)


def test_same_seed_same_numbers_however_the_runs_are_chunked():
    one = analyse(Ishigami.evaluate, ISHIGAMI, ["y"], "sobol", n=512, seed=7).indices
    again = analyse(Ishigami.evaluate, ISHIGAMI, ["y"], "sobol", n=512, seed=7,
                    chunk_size=97).indices
    pd.testing.assert_frame_equal(one, again)
    other = analyse(Ishigami.evaluate, ISHIGAMI, ["y"], "sobol", n=512, seed=8).indices
    assert not one["value"].equals(other["value"])


@pytest.mark.parametrize("method, n, match", [
    ("sobol", 1000, "power of 2"), ("morris", 1, "at least 2"), ("fast", 64, "sobol, morris")])
def test_bad_settings_are_refused(method, n, match):
    with pytest.raises(InputError, match=match):
        analyse(Ishigami.evaluate, ISHIGAMI, ["y"], method, n=n)


def test_reversed_or_infinite_bounds_are_refused():
    with pytest.raises(InputError, match="x: bounds"):
        Factors(("x",), ((1.0, 0.0),))
    with pytest.raises(InputError, match="x: bounds"):
        Factors(("x",), ((0.0, np.inf),))


# ---------------------------------------------------------------------- on the model
@pytest.fixture(scope="module")
def model_indices():
    from sd_runner import api as runner

    return runner.sensitivity("sobol", 64, [], 2035, seed=11, workers=1)


def test_the_model_analysis_covers_every_estimated_parameter_and_outcome(model_indices):
    from sd_runner import api as runner

    config = runner._calibration_config()
    assert model_indices.factors.names == tuple(p.name for p in config.parameters)
    assert model_indices.samples == 64 * (2 * len(config.parameters) + 2)
    assert len(model_indices.outcomes) == 8  # margin and dependence in 4 clusters
    assert model_indices.outcomes[0] == "Margin[Textile] 2035"
    totals = model_indices.indices[model_indices.indices["index"] == "ST"]
    assert np.isfinite(totals["value"]).all() and (totals["value"] > -0.1).all()
    # A cluster's parameters move its own outcomes, not another cluster's.
    furniture = totals[totals["outcome"] == "Margin[Furniture] 2035"].set_index("factor")
    assert furniture.loc["Initial Domestic Sales[Furniture]", "value"] > 0.01
    assert abs(furniture.loc["Initial Domestic Sales[Textile]", "value"]) < 1e-9


def test_chunked_parallel_and_local_runs_of_the_model_give_the_same_indices(model_indices):
    from sd_runner import api as runner

    chunked = runner.sensitivity("sobol", 64, [], 2035, seed=11, workers=2, chunk_size=1000)
    pd.testing.assert_frame_equal(model_indices.indices, chunked.indices)


def test_a_dask_cluster_gives_the_same_indices(model_indices):
    distributed = pytest.importorskip("distributed")
    from sd_runner import api as runner

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        remote = runner.sensitivity("sobol", 64, [], 2035, seed=11,
                                    scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(model_indices.indices, remote.indices)


def test_sensitivity_command_writes_indices_and_report(tmp_path):
    from click.testing import CliRunner

    from sd_runner.cli import cli

    out, report = tmp_path / "indices.csv", tmp_path / "sensitivity.html"
    result = CliRunner().invoke(cli, ["sensitivity", "--method", "morris", "--n", "4",
                                      "--outcome", "Margin[Apparel]", "--outcome",
                                      "Own Brand Share", "--year", "2025", "--out", str(out),
                                      "--report", str(report)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, keep_default_na=False)
    assert set(table["outcome"]) == {"Margin[Apparel] 2025", "Own Brand Share[Textile] 2025",
                                     "Own Brand Share[Apparel] 2025",
                                     "Own Brand Share[Footwear] 2025",
                                     "Own Brand Share[Furniture] 2025"}
    assert set(table["index"]) == {"mu", "mu_star", "sigma"}
    html = report.read_text(encoding="utf-8")
    assert 'id="fig-overview"' in html and "mu*" in html
    # The overview first; the parameters' bounds after it, behind a closed <details>.
    bounds = html.index("<th>Lower</th>")
    assert html.index('id="fig-overview"') < html.rindex("<details>", 0, bounds)
    assert "</details>" not in html[html.rindex("<details>", 0, bounds):bounds]


@pytest.mark.parametrize("args, text", [
    (["--n", "100"], "power of 2"),
    (["--outcome", "Warp Factor"], "Warp Factor"),
    (["--year", "1990"], "--year 1990"),
    (["--year", "2030.3"], "not a saved time"),
    (["--scenario", "no-such"], "unknown scenario"),
    (["--seed", "-2"], "--seed -2"),
])
def test_bad_sensitivity_options_are_one_line_exit_2(args, text, tmp_path):
    from click.testing import CliRunner

    from sd_runner.cli import cli

    out = tmp_path / "indices.csv"
    result = CliRunner().invoke(cli, ["sensitivity", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and text in lines[0] and "Traceback" not in result.output
    assert not out.exists()


def test_a_factors_file_chooses_what_the_analysis_varies(write_file):
    from sd_runner import api as runner

    path = write_file('[factors."Buyer Squeeze Strength"]\nbounds = [0.3, 0.9]\nbasis = "a"\n'
                      '[factors."Brand Premium"]\nbounds = [0.05, 0.25]\nbasis = "b"\n',
                      name="factors.toml")
    result = runner.sensitivity("morris", 10, ["Margin[Apparel]"], 2035, factors_path=str(path))
    assert result.factors.names == ("Buyer Squeeze Strength", "Brand Premium")
    assert result.samples == 10 * 3
    mu_star = result.indices[result.indices["index"] == "mu_star"].set_index("factor")["value"]
    assert (mu_star > 0).all()  # both move the apparel margin


def test_without_second_order_the_sobol_analysis_needs_fewer_runs():
    from sd_runner import api as runner

    result = runner.sensitivity("sobol", 64, ["Margin[Apparel]"], 2035, second_order=False,
                                workers=1)
    assert result.samples == 64 * (36 + 2)
    assert set(result.indices["index"]) == {"S1", "ST"}
