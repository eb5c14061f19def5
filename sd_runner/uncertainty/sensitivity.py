"""Global sensitivity analysis with SALib: Sobol indices and Morris screening.

The analysis is written against any vectorised function ``evaluate(X) -> Y`` (parameter sets
in rows, outcomes in columns), so the code that analyses the model is the code the tests check
on the Ishigami function, whose indices are known. :func:`model_outcomes` makes such a
function from the model.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from sd_runner.errors import ArgumentError, InputError
from sd_runner.inputs import limits
from sd_runner.progress import Progress, quiet
from sd_runner.results.sensitivity import Factors, SensitivityResult
from sd_runner.uncertainty.sobol_indices import saltelli_sample, sobol_indices, working_floats

METHODS = ("sobol", "morris")

#: Morris grid levels (SALib's default).
MORRIS_LEVELS = 4

#: Morris analyses of at least this many runs compute their outcomes' indices in parallel.
PARALLEL_FROM = 20_000

#: Bootstrap resamples and confidence level of SALib's Sobol intervals (its defaults).
SOBOL_RESAMPLES = 100
SOBOL_LEVEL = 0.95

Evaluate = Callable[[np.ndarray], np.ndarray]
#: The stage :func:`analyse` reports, counted in model runs.
RUNS_STAGE = "model runs"


def analyse(evaluate: Evaluate, factors: Factors, outcomes: list[str], method: str = "sobol",
            n: int = 1024, seed: int = 2003, second_order: bool = True,
            chunk_size: int = 32768, progress: Progress = quiet,
            workers: int | None = None) -> SensitivityResult:
    """Sample ``factors``, evaluate, and compute the indices of every outcome.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(X)`` with ``X`` of shape ``(rows, factors)`` returns ``(rows, outcomes)``.
        A row it cannot give (NaN) refuses the analysis; an ``evaluate.explain(row)`` method,
        if it has one, says why (the model's: the variable that left its declared range).
    n : int
        Sobol: base samples (a power of 2; ``n * (2k + 2)`` evaluations with second order,
        ``n * (k + 2)`` without, for ``k`` factors). Morris: trajectories (``n * (k + 1)``).
    seed : int
        Seeds the sample and the bootstrap of the confidence intervals.
    chunk_size : int
        Rows evaluated per call of ``evaluate``; the indices do not depend on it.
    progress : callable
        ``progress(stage, done, total)`` (:mod:`sd_runner.progress`): the model runs done.
    workers : int, optional
        Processes that compute the outcomes' Morris indices; default one per core when there
        are several outcomes and at least ``PARALLEL_FROM`` runs. Each outcome's bootstrap is
        seeded alike, so the indices do not depend on it. Sobol indices are computed for
        every outcome at once in this process (:mod:`sd_runner.uncertainty.sobol_indices`).
    """
    check_size("n", method, n, len(factors.names), len(outcomes), second_order, workers)
    limits.check_seed("seed", seed)
    if chunk_size < 1:
        raise InputError(f"chunk size {chunk_size} must be at least 1")
    problem = factors.problem()
    if method == "sobol":
        x = saltelli_sample(problem, n, second_order, seed)
    else:
        from SALib.sample import morris as sampler

        x = sampler.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed)
    y = _evaluate_in_chunks(evaluate, x, len(outcomes), chunk_size, progress)
    if method == "sobol":
        parts = [_sobol_rows(problem["names"], outcome, result, second_order)
                 for outcome, result in zip(outcomes, sobol_indices(
                     y, len(factors.names), second_order, seed, SOBOL_RESAMPLES, SOBOL_LEVEL),
                     strict=True)]
    else:
        parts = _morris_parts(problem, x, y, outcomes, seed, workers)
    rows = [row for part in parts for row in part]
    table = pd.DataFrame(rows, columns=["outcome", "factor", "other", "index", "value",
                                        "confidence"])
    return SensitivityResult(method, factors, tuple(outcomes), len(x), table)


def _morris_parts(problem, x, y, outcomes, seed, workers) -> list[list[dict]]:
    if workers is None:
        workers = (os.cpu_count() or 1) if len(x) >= PARALLEL_FROM else 1
    jobs = [(problem, x, y[:, column], outcome, seed) for column, outcome in enumerate(outcomes)]
    if workers > 1 and len(jobs) > 1:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)),
                                 mp_context=context) as pool:
            return list(pool.map(_morris_rows, *zip(*jobs, strict=True)))
    return [_morris_rows(*job) for job in jobs]


def runs_needed(method: str, n: int, factors: int, second_order: bool = True) -> int:
    """Model evaluations of an analysis of ``n`` base samples (Sobol) or trajectories
    (Morris) of ``factors`` factors."""
    if method == "sobol":
        return n * (2 * factors + 2 if second_order else factors + 2)
    return n * (factors + 1)


def check_size(argument: str, method: str, n, factors: int, outcomes: int,
               second_order: bool = True, workers: int | None = None,
               run_bytes: int = 0, chunk_size: int = 32768) -> None:
    """Refuse ``n`` (named ``argument``) unless the method takes it and this machine can hold
    the analysis: the sample, the outcomes, one chunk of runs of ``run_bytes`` each, and the
    bootstrap (Sobol: of all outcomes in this process; Morris: of every process computing
    indices, with a copy of the sample each)."""
    if method not in METHODS:
        raise ArgumentError("method", method, f"use one of {', '.join(METHODS)}")
    limits.check_workers("workers", workers)
    what = "base samples (a power of 2)" if method == "sobol" else "trajectories"
    n = limits.check_count(argument, n, what, minimum=2)
    if method == "sobol" and n & (n - 1):
        raise ArgumentError(argument, n, "give a power of 2 base samples (e.g. 1024): Sobol's "
                            "sequence needs one")
    runs = runs_needed(method, n, factors, second_order)
    if method == "sobol":
        bootstrap = working_floats(n, factors, SOBOL_RESAMPLES, second_order)
    else:
        processes = min(workers or ((os.cpu_count() or 1) if runs >= PARALLEL_FROM else 1),
                        outcomes)
        bootstrap = processes * (4 * runs + (2 * runs * factors if processes > 1 else 0))
    needed = (limits.FLOAT_BYTES * (2 * runs * factors + runs * outcomes + bootstrap)
              + min(runs, chunk_size) * run_bytes)
    limits.check_needs(argument, n, needed, runs, workers or os.cpu_count() or 1,
                       f"give fewer {what.split(' (')[0]}")


def _evaluate_in_chunks(evaluate: Evaluate, x: np.ndarray, outcomes: int, chunk_size: int,
                        progress: Progress) -> np.ndarray:
    parts = []
    for start in range(0, len(x), chunk_size):
        part = np.asarray(evaluate(x[start:start + chunk_size]), dtype=float)
        part = part.reshape(len(x[start:start + chunk_size]), -1)
        if part.shape[1] != outcomes:
            raise InputError(f"the evaluation gave {part.shape[1]} outcomes for "
                             f"{outcomes} named")
        parts.append(part)
        progress(RUNS_STAGE, min(start + chunk_size, len(x)), len(x))
    y = np.concatenate(parts)
    _refuse_missing_rows(evaluate, y)
    return y


def _refuse_missing_rows(evaluate: Evaluate, y: np.ndarray) -> None:
    """Sobol's and Morris's estimators need every row of their design: leaving rows out would
    bias them silently, so a row without a finite outcome refuses the analysis."""
    missing = ~np.isfinite(y).all(axis=1)
    if not missing.any():
        return
    row = int(np.argmax(missing))
    explain = getattr(evaluate, "explain", None)
    why = (explain(row) if explain else None) or \
        f"outcome {int(np.argmax(~np.isfinite(y[row])))} is {y[row][~np.isfinite(y[row])][0]}"
    raise InputError(f"{int(missing.sum())} of {len(y)} samples ({missing.mean():.1%}) give no "
                     "finite outcome within the declared ranges, and the indices need every "
                     f"sample; the first, sample {row}: {why}; narrow the factors' bounds")


def _sobol_rows(names, outcome, result, second_order) -> list[dict]:
    rows = []
    for index in ("S1", "ST"):
        for i, name in enumerate(names):
            rows.append({"outcome": outcome, "factor": name, "other": "", "index": index,
                         "value": float(result[index][i]),
                         "confidence": float(result[f"{index}_conf"][i])})
    if second_order:
        for i, name in enumerate(names):
            for j in range(i + 1, len(names)):
                rows.append({"outcome": outcome, "factor": name, "other": names[j],
                             "index": "S2", "value": float(result["S2"][i, j]),
                             "confidence": float(result["S2_conf"][i, j])})
    return rows


def _morris_rows(problem, x, y, outcome, seed) -> list[dict]:
    from SALib.analyze import morris

    names = problem["names"]
    rows = []
    result = morris.analyze(problem, x, y, num_levels=MORRIS_LEVELS, seed=seed)
    for i, name in enumerate(names):
        for index in ("mu", "mu_star", "sigma"):
            confidence = float(result["mu_star_conf"][i]) if index == "mu_star" else np.nan
            rows.append({"outcome": outcome, "factor": name, "other": "", "index": index,
                         "value": float(result[index][i]), "confidence": confidence})
    return rows
