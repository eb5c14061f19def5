"""Parameter uncertainty: parameter sets to run, and the model as a function of them.

Parameter sets come from the calibration's posterior sample (``sample.csv`` of a fit) or,
when asked, from the settings file's declared bounds and priors. Every scenario of a
comparison runs the same sets (common random numbers), so a difference between two scenarios
is the lever's effect under the same parameters, not sampling noise.
"""

from __future__ import annotations

import numpy as np

from sd_runner.calibration.config import CalibrationConfig
from sd_runner.engine.ensemble import run_ensemble
from sd_runner.engine.fast import FastModel
from sd_runner.errors import ArgumentError
from sd_runner.inputs import limits
from sd_runner.model.breaches import Breach
from sd_runner.results.sensitivity import Factors
from sd_runner.results.uncertainty import Outcome, ParameterSets

SOURCES = ("posterior", "priors")


def estimated_factors(config: CalibrationConfig) -> Factors:
    """Every estimated parameter of the calibration settings, within its declared bounds."""
    return Factors(tuple(p.name for p in config.parameters),
                   tuple((p.lower, p.upper) for p in config.parameters))


def posterior_sets(sample, n: int, seed: int) -> ParameterSets:
    """``n`` rows of a fit's posterior sample (a DataFrame, one set per row), drawn with
    ``seed``: without replacement when the sample is large enough, with it otherwise."""
    _check_count(n, seed)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(sample), size=n, replace=n > len(sample))
    return ParameterSets(tuple(sample.columns), sample.to_numpy(dtype=float)[rows],
                         "posterior", seed)


def prior_sets(config: CalibrationConfig, n: int, seed: int) -> ParameterSets:
    """``n`` sets drawn from the settings file: each parameter from its prior (a normal
    truncated to its bounds) where it has one, uniform within its bounds otherwise."""
    from scipy.stats import truncnorm

    _check_count(n, seed)
    rng = np.random.default_rng(seed)
    columns = []
    for parameter in config.parameters:
        lower, upper = parameter.lower, parameter.upper
        prior = parameter.prior
        if prior is None:
            columns.append(rng.uniform(lower, upper, size=n))
        else:
            a, b = (lower - prior.mean) / prior.sd, (upper - prior.mean) / prior.sd
            columns.append(truncnorm.rvs(a, b, loc=prior.mean, scale=prior.sd, size=n,
                                         random_state=rng))
    return ParameterSets(tuple(p.name for p in config.parameters), np.column_stack(columns),
                         "priors", seed)


def with_factors(sets: ParameterSets, factors: Factors) -> ParameterSets:
    """``sets`` with each factor drawn uniformly within its bounds (a stream of its own from
    the same seed); a factor ``sets`` already varies is drawn from the file's bounds instead."""
    rng = np.random.default_rng([sets.seed, 1])
    draws = np.column_stack([rng.uniform(low, high, size=len(sets.values))
                             for low, high in factors.bounds])
    keep = [i for i, name in enumerate(sets.names) if name not in factors.names]
    return ParameterSets(tuple(sets.names[i] for i in keep) + factors.names,
                         np.column_stack([sets.values[:, keep], draws]),
                         f"{sets.source} and a factors file", sets.seed)


def _check_count(n: int, seed: int) -> None:
    limits.check_count("n", n, "parameter sets")
    limits.check_seed("seed", seed)


def expand_outcomes(model: FastModel, variables: list[str], year: float) -> list[Outcome]:
    """Each variable (``"Margin"`` for every cluster, or ``"Margin[Textile]"``) in ``year``."""
    initial, final = model.control("INITIAL TIME"), model.control("FINAL TIME")
    if not initial < year <= final:
        raise ArgumentError("year", year, f"give a year after {initial:g} and at most "
                            f"{final:g}", typed=f"{year:g}")
    for variable in variables:
        try:
            model.variable(variable.partition("[")[0].strip())
        except KeyError:
            unknown = str(model.not_a_variable(variable)).removeprefix(repr(variable) + " ")
            raise ArgumentError("outcomes", variable, unknown, joint=" ") from None
    columns = model.expand_columns(list(variables))
    return [Outcome(column, float(year)) for column in columns]


def outcome_function(model: FastModel, names: tuple[str, ...], outcomes: list[Outcome],
                     base_params: dict | None = None, workers: int | None = None,
                     scheduler: str | None = None) -> ModelOutcomes:
    """``evaluate(values) -> [member, outcome]``: the model run with each row of ``values``
    (for the constants ``names``) on top of ``base_params`` (a scenario's levers)."""
    return ModelOutcomes(model, tuple(names), outcomes, base_params, workers, scheduler)


class ModelOutcomes:
    """The model as a function of parameter sets: ``evaluate(values) -> [member, outcome]``.

    A row that drives a variable out of its declared range (or to a value that is not finite)
    gives NaN outcomes, and :meth:`explain` names its first breach; rows are counted over
    every call, so ``explain`` takes the row's number in the whole design.
    """

    def __init__(self, model: FastModel, names: tuple[str, ...], outcomes: list[Outcome],
                 base_params: dict | None, workers: int | None, scheduler: str | None):
        self.model, self.names, self.outcomes = model, names, outcomes
        self.base_params, self.workers, self.scheduler = base_params, workers, scheduler
        years = {o.year for o in outcomes}
        for year in years:
            _saved_index(model.time_axis().times, year)  # refuse a year between saved times
        # One year: run only up to it and save only it, so runs keep two values each.
        self.last = max(years)
        self.saveper = self.last - model.control("INITIAL TIME") if len(years) == 1 else None
        self.rows = 0
        self.breaches: dict[int, Breach] = {}

    def __call__(self, values: np.ndarray) -> np.ndarray:
        variables = list(dict.fromkeys(o.variable for o in self.outcomes))
        result = run_ensemble(self.model, values, list(self.names), variables,
                              base_params=self.base_params, saveper=self.saveper,
                              final_time=self.last, workers=self.workers,
                              scheduler=self.scheduler, breaches="keep")
        out = np.empty((len(values), len(self.outcomes)))
        for column, outcome in enumerate(self.outcomes):
            step = _saved_index(result.times, outcome.year)
            out[:, column] = result.column(outcome.variable)[:, step]
        for breach in result.breaches:
            out[breach.member] = np.nan
            self.breaches[self.rows + breach.member] = breach
        self.rows += len(values)
        return out

    def explain(self, row: int) -> str | None:
        """Why ``row`` has no outcome: its first breach, or ``None``."""
        breach = self.breaches.get(row)
        return breach.describe() if breach else None


def _saved_index(times: np.ndarray, year: float) -> int:
    index = int(np.argmin(np.abs(times - year)))
    if abs(times[index] - year) > 1e-9:
        raise ArgumentError("year", year, f"not a saved time of the model (every "
                            f"{times[1] - times[0]:g} years from {times[0]:g}); give one that is")
    return index
