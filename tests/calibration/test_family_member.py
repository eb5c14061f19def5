"""The family-member test (calibration/family/): the export sector calibrated to China's
national exports. The committed fit must be in step with the model, its settings, the data and
the Zhejiang fit its priors come from, and its headline claims must hold in its files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from sd_runner import api as runner
from sd_runner import resources
from sd_runner.calibration.config import load_config
from sd_runner.calibration.fitfile import read_fit, read_sample
from sd_runner.calibration.optimize import fit
from sd_runner.calibration.problem import CalibrationProblem, _quadrature
from sd_runner.inputs.observations import load_observation_files

# The family-member test lives in the repository, not in the installed package.
FAMILY = REPO / "calibration" / "family"
FIT = FAMILY / "fit"
CLUSTERS = ("Textile", "Apparel", "Footwear", "Furniture")
#: The parameters whose priors carry the Zhejiang fit: the dynamics, not the levels.
DYNAMICS = ("Reference Export Growth Rate", "Global Shock Exposure")


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def observations():
    return load_observation_files([resources.more_observations_path()])


@pytest.fixture(scope="module")
def config(observations):
    return load_config(FAMILY / "config.toml", observations)


@pytest.fixture(scope="module")
def problem(config, observations):
    """The family fit's comparison, from the .mdl's own values as run.sh calibrates."""
    return CalibrationProblem(runner.bundled_model("fast", runner.UNCALIBRATED), config,
                              observations)


@pytest.fixture(scope="module")
def made():
    return tomllib.loads((FIT / "parameters.toml").read_text("utf-8"))


@pytest.fixture(scope="module")
def theta(problem, made):
    return np.array([made["parameters"][name] for name in problem.names])


@pytest.fixture(scope="module")
def rows():
    return pd.read_csv(FIT / "rows.csv")


def annual_exports(problem, theta, years) -> np.ndarray:
    """Export Sales of each cluster integrated over each calendar year: ``[set, year,
    cluster]`` for the parameter sets ``theta`` (one per row)."""
    model = problem.model
    slots = np.asarray(model._column_slots([f"Export Sales[{c}]" for c in CLUSTERS]),
                       dtype=np.int64)
    out = model.kernel.run(problem.space.constants(np.atleast_2d(theta), problem.base),
                           problem.axis, slots)
    weights = np.stack([_quadrature(problem.axis.times, y, y + 1) for y in years])
    return np.einsum("stc,yt->syc", out, weights)


# ---------------------------------------------------------------------- in step
def test_family_fit_was_made_from_the_current_model_settings_and_data(made):
    """Editing the model, the family settings or the data without rerunning
    calibration/family/run.sh fails here."""
    assert made["fit"]["model_sha256"] == digest(resources.model_path()), \
        "rerun calibration/family/run.sh"
    assert made["fit"]["settings_sha256"] == digest(FAMILY / "config.toml")
    assert made["fit"]["data_sha256"] == digest(resources.more_observations_path())
    words = (FAMILY / "run.sh").read_text().replace("\\\n", " ").split()
    options = {words[i]: words[i + 1] for i in range(len(words) - 1)
               if words[i].startswith("--")}
    assert made["fit"]["method"] == options["--method"]
    assert made["fit"]["seed"] == int(options["--seed"])
    settings = json.loads((FIT / "manifest.json").read_text("utf-8"))["settings"]
    assert settings["config_path"] == options["--config"]
    assert settings["data_path"] == options["--data"]


def test_priors_carry_the_committed_zhejiang_fit(config, observations):
    """Each growth rate and shock exposure has a prior centred on the Zhejiang fit's value
    (the .mdl's where that fit does not estimate it), sd half of it: rerunning the main fit
    fails here until the family settings and fit follow."""
    zhejiang = CalibrationProblem(runner.bundled_model("fast"), config, observations).current
    with_prior = [p for p in config.parameters if p.prior is not None]
    assert {p.name for p in with_prior} == {f"{d}[{c}]" for d in DYNAMICS for c in CLUSTERS}
    for i, parameter in enumerate(config.parameters):
        if parameter.prior is not None:
            assert parameter.prior.mean == pytest.approx(zhejiang[i], rel=5e-4), parameter.name
            assert parameter.prior.sd == pytest.approx(parameter.prior.mean / 2, rel=1e-3)


def test_committed_rows_and_payoff_are_what_the_model_gives(problem, theta, rows, made):
    """The fit's files agree with a simulation of its parameters now (the optimiser's
    tolerance covers other CPUs' last bits)."""
    assert problem.n_rows == made["fit"]["rows_compared"] == len(rows)
    np.testing.assert_allclose(problem.simulate(theta)[0], rows["simulated"], rtol=1e-9)
    assert problem.cost(theta)[0] == pytest.approx(made["fit"]["chi_square"], rel=1e-9)
    dof = problem.n_rows + problem.n_priors - len(theta)
    assert made["fit"]["degrees_of_freedom"] == dof


def test_committed_fit_is_the_optimum_its_settings_find(problem, config, made, rows):
    """A new search from the settings (the fit without the intervals and the sample) ends at
    the committed payoff and rows; flat directions (footwear's level and potential) may
    differ in their last digits, so the parameters themselves are not compared."""
    optimum = fit(problem, config.method, config.seed, config.starts, config.max_evaluations,
                  lambda done, total: None, config.generations)
    assert optimum.cost == pytest.approx(made["fit"]["chi_square"], rel=1e-9)
    np.testing.assert_allclose(problem.simulate(optimum.estimate)[0], rows["simulated"],
                               rtol=1e-5)


def test_the_export_sector_depends_on_nothing_else_before_the_levers(config, observations,
                                                                     theta):
    """Only the export sector is re-estimated: with every other constant at the Zhejiang
    fit's values instead of the .mdl's, every compared row is the same."""
    plain, calibrated = (CalibrationProblem(runner.bundled_model("fast", fit), config,
                                            observations)
                         for fit in (runner.UNCALIBRATED, runner.CALIBRATED))
    assert not np.allclose(plain.base, calibrated.base)  # the other constants do differ
    np.testing.assert_allclose(calibrated.simulate(theta), plain.simulate(theta), rtol=1e-12)


# ---------------------------------------------------------------------- which rows
def test_every_national_export_row_is_fitted_and_every_other_row_has_a_reason():
    table = pd.read_csv(FIT / "row_accounting.csv", keep_default_na=False)
    national = (table["region"] == "China") & (table["series"] == "exports")
    assert (table.loc[national, "status"] == "fitted").all()
    assert national.sum() == 18
    others = table[~national]
    assert (others["status"] == "not compared").all()
    assert (others["reason"].str.len() > 0).all()


# ---------------------------------------------------------------------- headline claims
def test_every_row_is_within_five_percent_and_the_errors_within_their_scale(rows, made):
    assert rows["percent_error"].abs().max() < 5.0
    assert made["fit"]["chi_square"] < made["fit"]["degrees_of_freedom"]


def test_the_2009_fall_and_the_2010_recovery_are_reproduced(rows, config):
    """Where the rows fall from 2008 to 2009 (textiles and apparel together), the fit falls
    too, though less deeply; where they rise from 2009 to 2010, so does the fit. An
    aggregate's 2010 is the sum of its members' rows."""
    whole = rows[(rows["period_start"].str[5:] == "01-01")
                 & (rows["period_end"].str[5:] == "12-31")]
    year = whole["period_start"].str[:4].astype(int)
    table = {(c, y): (o, s) for c, y, o, s in zip(whole["cluster"], year, whole["observed"],
                                                 whole["simulated"], strict=True)}
    for name, members in config.aggregates.items():
        for y in {y for c, y in table if c in members}:
            if all((m, y) in table for m in members) and (name, y) not in table:
                table[name, y] = tuple(sum(table[m, y][k] for m in members) for k in (0, 1))
    falls = rises = 0
    for (cluster, y), (observed, simulated) in table.items():
        if y == 2009 and (cluster, 2008) in table and observed < table[cluster, 2008][0]:
            falls += 1
            before = table[cluster, 2008]
            assert simulated < before[1], f"{cluster}: the fit does not fall in 2009"
            assert simulated / before[1] > observed / before[0]  # less deeply, as stated
        if y == 2010 and (cluster, 2009) in table and observed > table[cluster, 2009][0]:
            rises += 1
            assert simulated > table[cluster, 2009][1], f"{cluster}: no recovery in 2010"
    assert falls == 1 and rises == 2  # textile_apparel falls; it and furniture recover


def test_the_fall_holds_across_the_posterior_sample(problem):
    sample = read_sample(FIT)[problem.names].to_numpy()
    exports = annual_exports(problem, sample, (2008, 2009, 2010))
    both = exports[:, :, 0] + exports[:, :, 1]  # textile + apparel
    assert np.mean(both[:, 1] < both[:, 0]) > 0.9
    assert (both[:, 2] > both[:, 1]).all()


def test_zhejiang_dynamics_alone_miss_the_2009_fall(config, observations, made, rows):
    """What had to be re-estimated: with the Zhejiang fit's growth rates and exposures held
    and only the levels and the seasonal share fitted, the 2009 row is missed by more than
    8 % and the rows' chi-square is more than twice the family fit's."""
    levels = dataclasses.replace(config, parameters=[p for p in config.parameters
                                                     if p.prior is None])
    problem = CalibrationProblem(runner.bundled_model("fast"), levels, observations)
    optimum = fit(problem, "least-squares", config.seed, config.starts,
                  config.max_evaluations, lambda done, total: None, config.generations)
    simulated = problem.simulate(optimum.estimate)[0]
    row = [i for i, t in enumerate(problem.targets)
           if t.observation.cluster == "textile_apparel" and t.observation.start.year == 2009]
    assert simulated[row[0]] / problem.observed[row[0]] - 1 > 0.08
    assert optimum.cost > 2 * (rows["weighted_residual"] ** 2).sum()


def test_readme_quotes_the_committed_rows():
    """The per-row table of calibration/family/README.md agrees with fit/rows.csv."""
    rows = pd.read_csv(FIT / "rows.csv").set_index("line")
    text = (FAMILY / "README.md").read_text("utf-8")
    quoted = re.findall(r"^\| more_observations\.csv:(\d+) \|(.*)\|$", text, re.M)
    assert sorted(int(line) for line, _ in quoted) == sorted(rows.index)
    for line, cells in quoted:
        observed, simulated, error = (float(c) for c in cells.split("|")[-3:])
        row = rows.loc[int(line)]
        assert observed == pytest.approx(row["observed"], abs=0.01)
        assert simulated == pytest.approx(row["simulated"], abs=0.051)
        assert error == pytest.approx(row["percent_error"], abs=0.051)
    estimates = read_fit(FIT)
    for name, value in re.findall(r"^\| `([^`]+)` \| [^|]+ \| ([0-9.]+) \|", text, re.M):
        assert float(value) == pytest.approx(estimates[name], rel=5e-3), name
