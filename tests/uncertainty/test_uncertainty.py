"""Scenario comparison over many parameter sets: draws, common random numbers, summaries."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sd_runner import api as runner
from sd_runner.calibration.fitfile import read_sample
from sd_runner.cli import cli
from sd_runner.engine.ensemble import run_ensemble
from sd_runner.errors import InputError
from sd_runner.inputs.scenarios import scenario_params
from sd_runner.results.outcomes import TOTALLED
from sd_runner.results.uncertainty import EFFECT_YEAR
from sd_runner.uncertainty.parameter_sets import posterior_sets, prior_sets

MEMBERS = 200


@pytest.fixture(scope="module")
def comparison():
    return runner.compare(["own-brand", "patent-pool"], uncertainty=MEMBERS, seed=5)


def test_posterior_draws_are_rows_of_the_sample_and_follow_the_seed():
    sample = read_sample(runner.resources.fit_dir())
    sets = posterior_sets(sample, 50, seed=3)
    rows = {tuple(row) for row in sample.to_numpy(dtype=float)}
    assert all(tuple(row) in rows for row in sets.values)
    assert len({tuple(row) for row in sets.values}) == 50  # without replacement
    np.testing.assert_array_equal(sets.values, posterior_sets(sample, 50, seed=3).values)
    assert not np.array_equal(sets.values, posterior_sets(sample, 50, seed=4).values)
    assert len(posterior_sets(sample, len(sample) + 5, seed=3).values) == len(sample) + 5


def test_prior_draws_stay_in_bounds_and_follow_the_priors():
    config = runner._calibration_config()
    sets = prior_sets(config, 4000, seed=1)
    for column, parameter in enumerate(config.parameters):
        values = sets.values[:, column]
        assert values.min() >= parameter.lower and values.max() <= parameter.upper
        if parameter.prior is None:  # uniform: the mean sits mid-range
            middle = (parameter.lower + parameter.upper) / 2
            assert values.mean() == pytest.approx(middle, rel=0.05)
    with_prior = [i for i, p in enumerate(config.parameters) if p.prior is not None]
    assert with_prior  # the national R&D rows
    for column in with_prior:
        prior = config.parameters[column].prior
        inside = (config.parameters[column].lower < prior.mean < config.parameters[column].upper)
        assert inside
        assert np.median(sets.values[:, column]) == pytest.approx(prior.mean, rel=0.2)


def test_bands_are_the_quantiles_of_the_members_runs(comparison):
    model = runner.bundled_model("fast")
    summary = comparison.uncertainty
    own_brand = summary.scenarios[1]
    result = run_ensemble(model, summary.sets.values, list(summary.sets.names),
                          ["Margin"], base_params=scenario_params(own_brand, model))
    margin = result.column("Margin[Apparel]")
    band = summary.bands["own-brand"][:, :, summary.outcomes.index("Margin"),
                                      summary.clusters.index("Apparel")]
    np.testing.assert_allclose(band, np.quantile(margin, [0.05, 0.5, 0.95], axis=0),
                               rtol=0, atol=0)
    assert (band[0] <= band[1]).all() and (band[1] <= band[2]).all()


def test_effects_and_probabilities_are_taken_member_by_member(comparison):
    summary = comparison.uncertainty
    effects = summary.effect_table()
    assert set(effects["scenario"]) == {"own-brand", "patent-pool"}
    row = effects[(effects["scenario"] == "patent-pool") & (effects["outcome"] == "Margin")
                  & (effects["cluster"] == "Textile")].iloc[0]
    o, c = summary.outcomes.index("Margin"), summary.clusters.index("Textile")
    effect = summary.final["patent-pool"][:, o, c] - summary.final["baseline"][:, o, c]
    assert row["probability"] == pytest.approx(np.mean(effect > 0))
    assert row["p50"] == pytest.approx(np.median(effect))
    assert row["year"] == EFFECT_YEAR
    dependence = effects[effects["outcome"] == "Buyer Dependence"]
    assert dependence["probability"].between(0, 1).all()
    # Outcomes without a direction of "better" get no probability.
    assert effects[effects["outcome"] == "Export Sales"]["probability"].isna().all()


def test_profit_and_value_added_have_probabilities_and_costs_a_distribution(comparison):
    summary = comparison.uncertainty
    effects = summary.effect_table()
    for outcome in ("Total Profit", "Value Added", "Own Brand Share"):
        assert effects[effects["outcome"] == outcome]["probability"].between(0, 1).all()
    cost = effects[effects["outcome"] == "Cumulative Lever Cost"]
    assert cost["probability"].isna().all()
    assert (cost["p05"] > 0).all()  # both levers add cost in every kept set
    # All-cluster rows sum the clusters member by member: only for outcomes that add up.
    assert set(effects.loc[effects["cluster"] == "All clusters", "outcome"]) == set(TOTALLED)
    row = effects[(effects["scenario"] == "patent-pool") & (effects["outcome"] == "Total Profit")
                  & (effects["cluster"] == "All clusters")].iloc[0]
    o = summary.outcomes.index("Total Profit")
    total = (summary.final["patent-pool"][:, o, :] - summary.final["baseline"][:, o, :]).sum(1)
    assert row["probability"] == pytest.approx(np.mean(total > 0))
    assert row["p50"] == pytest.approx(np.median(total))


def test_common_random_numbers_make_a_copy_of_the_reference_have_no_effect(write_file):
    copy = write_file('name = "baseline-copy"\ntitle = "The baseline again"\n')
    comparison = runner.compare([str(copy)], uncertainty=30, seed=9)
    effects = comparison.uncertainty.effect_table()
    assert (effects[["mean", "p05", "p50", "p95"]] == 0).all().all()
    assert (effects["probability"].dropna() == 0).all()  # ties do not count as better


def test_same_seed_same_numbers_and_workers_do_not_matter(comparison):
    again = runner.compare(["own-brand", "patent-pool"], uncertainty=MEMBERS, seed=5,
                           workers=2)
    pd.testing.assert_frame_equal(comparison.uncertainty.effect_table(),
                                  again.uncertainty.effect_table())
    other = runner.compare(["own-brand"], uncertainty=MEMBERS, seed=6)
    assert not np.array_equal(other.uncertainty.sets.values, comparison.uncertainty.sets.values)


def test_priors_need_no_fit_and_the_posterior_does(tmp_path):
    comparison = runner.compare(["own-brand"], uncertainty=20, sample="priors",
                                fit=runner.UNCALIBRATED)
    assert comparison.uncertainty.sets.source == "priors"
    with pytest.raises(InputError, match="no posterior sample"):
        runner.compare(["own-brand"], uncertainty=20, fit=runner.UNCALIBRATED)


def test_compare_uncertainty_writes_csvs_json_and_report(tmp_path):
    out, report = tmp_path / "out", tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["compare", "patent-pool", "--uncertainty", "40",
                                      "--out", str(out), "--report", str(report), "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert {"uncertainty_bands.csv", "uncertainty_effects.csv"} <= set(os.listdir(out))
    record = json.loads(result.stdout[result.stdout.index("{"):])
    assert record["uncertainty"]["members"] == 40 and record["uncertainty"]["seed"] == 2003
    effects = pd.read_csv(out / "uncertainty_effects.csv")
    assert len(record["uncertainty"]["effects"]) == len(effects)
    html = report.read_text(encoding="utf-8")
    assert '<section id="uncertainty">' in html
    assert 'id="fig-band-margin"' in html and 'id="fig-effect-buyer-dependence"' in html
    for outcome in ("total-profit", "value-added", "cumulative-lever-cost"):
        assert f'id="fig-band-{outcome}"' in html and f'id="fig-effect-{outcome}"' in html
    assert "All clusters: higher total profit" in html


@pytest.mark.parametrize("args, text", [
    (["--uncertainty", "-3"], "--uncertainty -3"),
    (["--uncertainty", "10", "--uncalibrated"], "no posterior sample"),
    (["--uncertainty", "10", "--seed", "-1"], "--seed -1"),
    (["--uncertainty", "10", "--workers", "0"], "--workers 0"),
])
def test_bad_uncertainty_options_are_one_line_exit_2(args, text, tmp_path):
    report = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["compare", "own-brand", *args, "--report", str(report)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and text in lines[0] and "Traceback" not in result.output
    assert not report.exists()


# ---------------------------------------------------------------------- factors files
def test_the_bundled_assumed_factors_are_constants_of_the_model():
    from sd_runner.inputs.factors import load_factors

    factors = load_factors(runner.resources.model_path().parent / "assumed_factors.toml",
                           runner.bundled_model("fast"))
    assert len(factors.names) > 30 and "Cost Pass Through" in factors.names
    config = runner._calibration_config()
    estimated = {p.name.partition("[")[0] for p in config.parameters}
    assert not estimated & set(factors.names)  # assumptions only, not what the data estimate


def test_factors_are_drawn_within_their_bounds_beside_the_posterior(write_file):
    path = write_file('[factors."Cost Pass Through"]\nbounds = [0.3, 0.9]\n'
                      'basis = "assumed"\n\n[factors."Learning Elasticity"]\n'
                      'bounds = [0.5, 1.5]\nbasis = "test: replaces the estimated one"\n',
                      name="factors.toml")
    sets = runner.parameter_sets(300, "posterior", 4, factors_path=str(path))
    assert sets.names[-2:] == ("Cost Pass Through", "Learning Elasticity")
    assert sets.names.count("Learning Elasticity") == 1
    squeeze = sets.values[:, -2]
    assert squeeze.min() >= 0.3 and squeeze.max() <= 0.9 and squeeze.std() > 0.1
    plain = runner.parameter_sets(300, "posterior", 4)
    estimated = [i for i, n in enumerate(plain.names) if n != "Learning Elasticity"]
    np.testing.assert_array_equal(sets.values[:, :len(estimated)], plain.values[:, estimated])
    comparison = runner.compare(["own-brand"], uncertainty=40, factors_path=str(path))
    effects = comparison.uncertainty.effect_table()
    margin = effects[(effects["outcome"] == "Margin") & (effects["cluster"] == "Apparel")]
    assert float(margin["p95"].iloc[0] - margin["p05"].iloc[0]) > 0


@pytest.mark.parametrize("text, message", [
    ('[factors."Warp Factor"]\nbounds = [0, 1]\nbasis = "x"\n', ":1: 'Warp Factor' is not"),
    ('[factors."Patent Yield"]\nbounds = [90, 10]\nbasis = "x"\n', "swap or fix"),
    ('[factors."Patent Yield"]\nbounds = [10]\nbasis = "x"\n', "bounds must be [lower, upper]"),
    ('[factors."Patent Yield"]\nbounds = [10, nan]\nbasis = "x"\n', "finite number"),
    ('[factors."Patent Yield"]\nbounds = [10, 90]\n', "give a basis"),
    ('[factors."Patent Yield"]\nbounds = [10, 90]\nbasis = "x"\nmean = 3\n', "unknown key"),
    ('[factor."Patent Yield"]\nbounds = [10, 90]\n', "unknown key 'factor'"),
    ("[factors]\n", "is empty"),
])
def test_bad_factors_files_name_the_line_and_the_fix(write_file, text, message):
    from sd_runner.inputs.factors import load_factors

    path = write_file(text, name="factors.toml")
    with pytest.raises(InputError) as caught:
        load_factors(path, runner.bundled_model("fast"))
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_factors_need_uncertainty(write_file):
    path = write_file('[factors."Patent Yield"]\nbounds = [10, 90]\nbasis = "x"\n',
                      name="factors.toml")
    result = CliRunner().invoke(cli, ["compare", "own-brand", "--factors", str(path)])
    assert result.exit_code == 2 and "--factors needs --uncertainty" in result.output


def test_the_reference_alone_gives_bands_and_no_effects(tmp_path):
    report = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["compare", "baseline", "--uncertainty", "10",
                                      "--report", str(report)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    html = report.read_text(encoding="utf-8")
    assert 'id="fig-band-margin"' in html


def test_a_dask_cluster_gives_the_same_comparison(comparison):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        remote = runner.compare(["own-brand", "patent-pool"], uncertainty=MEMBERS, seed=5,
                                scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(comparison.uncertainty.effect_table(),
                                  remote.uncertainty.effect_table())
    for name, band in comparison.uncertainty.bands.items():
        np.testing.assert_array_equal(band, remote.uncertainty.bands[name])
