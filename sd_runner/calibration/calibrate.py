"""Calibrate the model: fit, fit statistics, intervals, identifiability and a posterior sample,
carried by one result object."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sd_runner.calibration.config import CalibrationConfig
from sd_runner.calibration.config_checks import check_effort
from sd_runner.calibration.optimize import Optimum, fit
from sd_runner.calibration.problem import CalibrationProblem, Skipped
from sd_runner.calibration.row_accounting import FITTED, accounting_table
from sd_runner.calibration.statistics import statistics_table
from sd_runner.calibration.uncertainty import (
    Covariance,
    Posterior,
    ProfileInterval,
    covariance,
    profile_intervals,
    sample_posterior,
)
from sd_runner.engine.fast import FastModel
from sd_runner.inputs import limits
from sd_runner.inputs.observations import Observation
from sd_runner.progress import Progress, quiet

#: The stages :func:`calibrate` reports to ``progress``.
STAGES = {"fit": "fitting", "profiles": "profile intervals", "mcmc": "MCMC sample"}

#: Correlation above which two estimates are reported as not separable.
CORRELATION_LIMIT = 0.95
#: Posterior sd over prior sd above which a parameter is reported as prior-dominated.
PRIOR_DOMINATED = 0.7


@dataclass
class Calibration:
    """Everything a calibration produced.

    Attributes
    ----------
    names : list of str
        Estimated parameters (Vensim names, ``Name[Element]`` for one element).
    estimate : numpy.ndarray
        Best values.
    chi_square : float
        Payoff at the best values (weighted squared errors plus prior terms).
    dof : int
        Rows plus priors minus estimated parameters.
    scale : float
        Factor by which intervals are widened: chi-square per degree of freedom when above
        one, else one.
    rows : pandas.DataFrame
        One row per compared observation (``status`` fitted or check): observed, simulated,
        residuals, source.
    statistics : pandas.DataFrame
        Fit statistics per series and overall, over the fitted rows.
    parameters : pandas.DataFrame
        The identifiability table: estimate, bounds, standard error, profile interval,
        posterior quantiles, prior, strongest correlation and a verdict.
    correlation : pandas.DataFrame
        Correlations of the estimates (linearised at the best fit).
    trajectories : pandas.DataFrame
        The compared variables at the best fit, every TIME STEP, in data units (flows per
        year): the rows' ``observed_rate`` and ``simulated_rate`` are on the same footing.
    accounting : pandas.DataFrame
        Every row of every observation file: its status (fitted, check, prior, not
        compared), the reason, and for compared rows the simulated value and error.
    data_path : str
        How the observation files were named, joined by ``", "``.
    data_digest : str
        sha256 of the observation file, or of each file joined by ``", "``.
    """

    config: CalibrationConfig
    method: str
    seed: int
    names: list[str]
    estimate: np.ndarray
    chi_square: float
    dof: int
    scale: float
    optimum: Optimum
    covariance: Covariance
    intervals: list[ProfileInterval] | None
    posterior: Posterior | None
    rows: pd.DataFrame
    statistics: pd.DataFrame
    parameters: pd.DataFrame
    correlation: pd.DataFrame
    skipped: list[Skipped]
    trajectories: pd.DataFrame
    data_path: str
    data_digest: str
    model_digest: str
    seconds: dict[str, float] = field(default_factory=dict)
    config_path: str = ""  # how the settings were named (a path, or a bundled name)
    accounting: pd.DataFrame = field(default_factory=pd.DataFrame)
    data_paths: list[str] = field(default_factory=list)  # each file as named

    def values(self) -> dict[str, float]:
        """The fitted parameter set: Vensim name to value."""
        return {name: float(v) for name, v in zip(self.names, self.estimate, strict=True)}


def calibrate(model: FastModel, config: CalibrationConfig, observations: list[Observation],
              *, data_path: str | Path | list = "",
              data_file: str | Path | list | None = None,
              method: str | None = None,
              seed: int | None = None, uncertainty: str = "full",
              progress: Progress = quiet,
              notice: Callable[[str], None] = lambda line: None) -> Calibration:
    """Fit ``config``'s parameters to ``observations``, then measure their uncertainty.

    Parameters
    ----------
    model : FastModel
        The compiled model; its values fill the constants not estimated and give the first
        start. Use the ``.mdl``'s own values (not an earlier fit) for a reproducible fit.
    config : CalibrationConfig
        Parameters, bounds, priors, series and optimiser settings.
    observations : list of Observation
        The data.
    data_path : str, path-like or list of them
        How the observation files are named in the results (paths, or bundled names).
    data_file : path-like or list of them, optional
        The observation files themselves, whose sha256 the results record; default
        ``data_path``.
    method, seed : optional
        Override the settings file's optimiser and seed.
    uncertainty : str
        What is measured after the fit: ``"full"``, profile-likelihood intervals and the MCMC
        sample (the slow part); ``"profiles"``, the intervals only; ``"none"``, neither.
    progress : callable
        ``progress(stage, done, total)`` (:mod:`sd_runner.progress`) for the stages of
        :data:`STAGES`.
    notice : callable
        ``notice(line)`` for what the user should know before the fit starts (rows after
        ``final_time``, which the fit leaves out and records in ``skipped``).
    """
    method = method or config.method
    seed = config.seed if seed is None else limits.check_seed("seed", seed,
                                                              limits.LEGACY_SEED_MAX)
    seconds = {}
    clock = time.perf_counter()
    problem = CalibrationProblem(model, config, observations)
    check_effort(config, method, problem.run_bytes(), uncertainty == "full")
    _tell_not_compared(problem, notice)
    optimum = fit(problem, method, seed, config.starts, config.max_evaluations,
                  lambda done, total: progress(STAGES["fit"], done, total), config.generations)
    seconds["fit"] = time.perf_counter() - clock
    estimate, best = optimum.estimate, optimum.cost
    dof = problem.n_rows + problem.n_priors - len(estimate)
    scale = max(1.0, best / dof) if dof > 0 else 1.0
    cov = covariance(problem, estimate, scale)
    intervals = posterior = None
    if uncertainty != "none":
        intervals, posterior = _measure_uncertainty(problem, optimum, scale, cov, seed,
                                                    uncertainty == "full", progress, seconds)
    rows = fit_rows(problem, estimate)
    labels, digests = _data_files(data_path, data_file)
    return Calibration(
        config=config, method=method, seed=seed, names=list(problem.names),
        estimate=estimate, chi_square=best, dof=dof, scale=scale, optimum=optimum,
        covariance=cov, intervals=intervals, posterior=posterior, rows=rows,
        statistics=statistics_table(rows[rows["status"] == FITTED]),
        parameters=parameter_table(problem, estimate, cov, intervals, posterior,
                                   config.confidence),
        correlation=pd.DataFrame(cov.correlation, index=problem.names, columns=problem.names),
        skipped=problem.skipped, trajectories=problem.trajectories(estimate),
        data_path=", ".join(labels), data_digest=", ".join(digests),
        model_digest=model.file_sha256, seconds=seconds,
        accounting=row_accounting(problem, rows), data_paths=labels,
    )


def _tell_not_compared(problem: CalibrationProblem, notice: Callable[[str], None]) -> None:
    """Say, before the fit, which rows it leaves out: those after ``final_time``, then the
    others (their reasons are in the row accounting)."""
    late = problem.after_final_time()
    if late:
        notice(f"{len(late)} rows after final_time {problem.config.final_time:g} are not "
               f"compared ({file_lines(late)})")
    others = [s.observation for s in problem.skipped if s.status != "prior"
              and s.observation not in late]
    if others:
        notice(f"{len(others)} more rows are not compared ({file_lines(others)}); "
               "row_accounting.csv gives each one's reason")


def _measure_uncertainty(problem: CalibrationProblem, optimum: Optimum, scale: float, cov,
                         seed: int, mcmc: bool, progress: Progress, seconds: dict[str, float]):
    """Profile-likelihood intervals and, if ``mcmc``, the MCMC sample around ``optimum``
    (else ``None``); each stage's duration goes into ``seconds``."""
    config, estimate, best = problem.config, optimum.estimate, optimum.cost
    clock = time.perf_counter()
    intervals = profile_intervals(problem, estimate, best, scale, config.confidence,
                                  cov.standard_error, config.max_evaluations,
                                  lambda d, t: progress(STAGES["profiles"], d, t))
    seconds["profiles"] = time.perf_counter() - clock
    if not mcmc:
        return intervals, None
    clock = time.perf_counter()
    posterior = sample_posterior(problem, estimate, cov.standard_error, scale,
                                 config.mcmc_walkers, config.mcmc_steps, config.mcmc_burn,
                                 config.mcmc_thin, config.sample_size, seed,
                                 lambda d, t: progress(STAGES["mcmc"], d, t))
    seconds["mcmc"] = time.perf_counter() - clock
    return intervals, posterior


def _data_files(data_path, data_file) -> tuple[list[str], list[str]]:
    """How the observation files are named in the results, and each one's sha256 (empty for
    a name that is not a file)."""
    labels = [str(p) for p in _as_list(data_path)]
    files = [Path(p) for p in _as_list(data_file if data_file is not None else data_path)]
    digests = [hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else ""
               for f in files]
    return labels, digests


def _as_list(value) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def row_accounting(problem: CalibrationProblem, rows: pd.DataFrame) -> pd.DataFrame:
    """Every row ``problem`` was given, in file order, with its status and reason, and for
    the compared rows (``rows``, from :func:`fit_rows`) the simulated value."""
    decided = {id(t.observation): (t.status, "") for t in problem.targets}
    decided.update({id(s.observation): (s.status, s.reason) for s in problem.skipped})
    simulated = dict(zip((id(t.observation) for t in problem.targets), rows["simulated"],
                         strict=True))
    observations = problem.observations
    return accounting_table(observations, [decided[id(o)] for o in observations],
                            {i: simulated[id(o)] for i, o in enumerate(observations)
                             if id(o) in simulated})


def file_lines(rows: list[Observation]) -> str:
    """``"a.csv lines 3-5; b.csv lines 2, 9"``: the rows' places, file by file."""
    by_file: dict[str, list[int]] = {}
    for row in rows:
        by_file.setdefault(Path(row.file).name or "the observations", []).append(row.line)
    return "; ".join(f"{name} lines {line_list(lines)}" for name, lines in by_file.items())


def line_list(lines: list[int], shown: int = 12) -> str:
    """``"3-5, 9, 12"``: line numbers as runs, the first ``shown`` runs only."""
    runs: list[list[int]] = []
    for line in sorted(lines):
        if runs and line == runs[-1][1] + 1:
            runs[-1][1] = line
        else:
            runs.append([line, line])
    text = [f"{a}-{b}" if b > a else f"{a}" for a, b in runs]
    more = f" and {len(text) - shown} more" if len(text) > shown else ""
    return ", ".join(text[:shown]) + more


@np.errstate(all="ignore")  # an error too large for a float is inf, not a warning
def fit_rows(problem: CalibrationProblem, theta: np.ndarray) -> pd.DataFrame:
    """Every compared row with its observed and simulated value and residuals (a ``check``
    row has no weighted residual: it is not in the payoff)."""
    simulated = problem.simulate(theta)[0]
    observed = problem.observed
    observed_rate = problem.as_rates(observed, theta)
    simulated_rate = problem.as_rates(simulated, theta)
    residual = np.full(len(problem.targets), np.nan)
    residual[problem.fitted] = problem.residuals(theta)[0][:problem.n_rows]
    records = []
    for target, sim, obs, res, o_s, s_s, o_r, s_r in zip(
            problem.targets, simulated, observed, residual, problem.scaled(observed),
            problem.scaled(simulated), observed_rate, simulated_rate, strict=True):
        row = target.observation
        records.append({
            "series": row.series, "cluster": row.cluster, "region": row.region,
            "period_start": row.start.isoformat(), "period_end": row.end.isoformat(),
            "unit": row.unit, "observed": obs, "simulated": float(sim),
            "error": float(sim - obs),
            "percent_error": float((sim / obs - 1) * 100) if obs else math.nan,  # undefined at 0
            "weighted_residual": float(res), "observed_scaled": float(o_s),
            "simulated_scaled": float(s_s), "observed_rate": float(o_r),
            "simulated_rate": float(s_r), "variable": target.column, "basis": row.basis,
            "line": row.line, "source": row.source, "status": target.status,
            "file": Path(row.file).name,
        })
    return pd.DataFrame.from_records(records)


def parameter_table(problem, estimate, cov, intervals, posterior, confidence) -> pd.DataFrame:
    """The identifiability table: one row per estimated parameter."""
    records = []
    names = problem.names
    level = int(round(confidence * 100))
    for i, name in enumerate(names):
        prior = problem.config.parameters[i].prior
        corr = np.abs(cov.correlation[i]).copy()
        corr[i] = 0
        partner = int(np.argmax(corr)) if len(names) > 1 else i
        record = {
            "parameter": name, "estimate": float(estimate[i]),
            "lower_bound": float(problem.lower[i]), "upper_bound": float(problem.upper[i]),
            "standard_error": float(cov.standard_error[i]),
            f"profile_{level}_lower": np.nan, f"profile_{level}_upper": np.nan,
            "interval_reaches_bound": "",
            "posterior_2.5": np.nan, "posterior_50": np.nan, "posterior_97.5": np.nan,
            "posterior_sd": np.nan,
            "prior_mean": prior.mean if prior else np.nan,
            "prior_sd": prior.sd if prior else np.nan,
            "most_correlated_with": names[partner] if partner != i else "",
            "correlation": float(cov.correlation[i, partner]) if partner != i else np.nan,
        }
        reasons = []
        if intervals is not None:
            interval = intervals[i]
            record[f"profile_{level}_lower"] = interval.lower
            record[f"profile_{level}_upper"] = interval.upper
            sides = [s for s, o in (("lower", interval.lower_open),
                                    ("upper", interval.upper_open)) if o]
            record["interval_reaches_bound"] = " and ".join(sides)
            if sides:
                reasons.append(f"not pinned down: the {level} % interval reaches the "
                               f"{' and '.join(sides)} bound")
        elif not np.isfinite(cov.standard_error[i]):
            reasons.append("not pinned down: no information in the data")
        if posterior is not None:
            column = posterior.chain[:, i]
            record["posterior_2.5"], record["posterior_50"], record["posterior_97.5"] = (
                float(q) for q in np.percentile(column, [2.5, 50, 97.5]))
            record["posterior_sd"] = float(column.std())
            if prior and record["posterior_sd"] > PRIOR_DOMINATED * prior.sd:
                reasons.append("prior-dominated: the data add little to the prior")
        if partner != i and abs(cov.correlation[i, partner]) > CORRELATION_LIMIT:
            reasons.append(f"confounded with {names[partner]} "
                           f"(correlation {cov.correlation[i, partner]:+.2f})")
        record["verdict"] = "; ".join(reasons) or "identified"
        records.append(record)
    return pd.DataFrame.from_records(records)
