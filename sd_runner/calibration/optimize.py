"""Find the parameter set that minimises the weighted squared errors, with scipy.

Two optimisers, chosen by name:

``least-squares``
    Trust-region least squares (``scipy.optimize.least_squares``) from the model's own values
    and from ``starts`` points of a Latin hypercube over the bounds; the best end point wins.
``differential-evolution``
    ``scipy.optimize.differential_evolution`` over the bounds, every generation simulated as
    one batch, then polished by least squares.

Both evaluate the model in batches: a Jacobian is one kernel call over all the perturbed
parameter sets, a generation of differential evolution one call over its population.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from scipy.stats import qmc

from sd_runner.calibration.config_checks import EVOLUTION_POPSIZE
from sd_runner.calibration.problem import CalibrationProblem

Progress = Callable[[int, int], None]  # (done, total)


def _no_progress(_done: int, _total: int) -> None:
    pass


@dataclass
class Optimum:
    """Result of an optimisation.

    Attributes
    ----------
    estimate : numpy.ndarray
        Best parameter values, in the order of ``problem.names``.
    cost : float
        Chi-square (sum of squared weighted residuals, priors included) at ``estimate``.
    evaluations : int
        Model runs made.
    starts : list of (start, end, cost)
        Every local search: where it began, where it ended, its cost.
    message : str
        The optimiser's last message.
    """

    estimate: np.ndarray
    cost: float
    evaluations: int
    starts: list[tuple[np.ndarray, np.ndarray, float]] = field(default_factory=list)
    message: str = ""


class _Counted:
    """The problem's residuals with every model run counted."""

    def __init__(self, problem: CalibrationProblem, fixed: dict[int, float] | None = None):
        self.problem = problem
        self.runs = 0
        self.fixed = fixed or {}
        self.free = [i for i in range(len(problem.names)) if i not in self.fixed]

    def full(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        theta = np.empty((x.shape[0], len(self.problem.names)))
        theta[:, self.free] = x
        for i, value in self.fixed.items():
            theta[:, i] = value
        return theta

    def residuals(self, x: np.ndarray) -> np.ndarray:
        self.runs += 1
        return self.problem.residuals(self.full(x))[0]

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """Forward differences, all perturbed sets simulated in one batch."""
        lower = self.problem.lower[self.free]
        upper = self.problem.upper[self.free]
        step = 1e-7 * np.maximum(np.abs(x), upper - lower)
        step = np.where(x + step > upper, -step, step)
        batch = np.repeat(x[None, :], len(x) + 1, axis=0)
        batch[np.arange(1, len(x) + 1), np.arange(len(x))] += step
        self.runs += len(batch)
        values = self.problem.residuals(self.full(batch))
        return ((values[1:] - values[0]) / step[:, None]).T


def least_squares_from(problem: CalibrationProblem, start: np.ndarray, max_evaluations: int,
                       fixed: dict[int, float] | None = None):
    """One bounded trust-region least-squares search; returns ``(x, cost, runs, message)``.

    ``fixed`` holds parameters (by index) at given values; ``start`` then lists the others.
    """
    counted = _Counted(problem, fixed)
    lower = problem.lower[counted.free]
    upper = problem.upper[counted.free]
    start = np.clip(start, lower, upper)
    result = optimize.least_squares(
        counted.residuals, start, jac=counted.jacobian, bounds=(lower, upper),
        method="trf", x_scale="jac", max_nfev=max_evaluations, ftol=1e-12, xtol=1e-12,
        gtol=1e-10,
    )
    return result.x, float(2 * result.cost), counted.runs, result.message


def fit(problem: CalibrationProblem, method: str, seed: int, starts: int,
        max_evaluations: int, progress: Progress = _no_progress,
        generations: int = 100) -> Optimum:
    """Minimise the chi-square of ``problem`` with ``method`` (one of
    :data:`sd_runner.calibration.config.METHODS`).

    ``starts`` and ``max_evaluations`` (iterations per least-squares search) apply to
    least squares, ``generations`` to differential evolution.
    """
    if method == "least-squares":
        return _multi_start(problem, seed, starts, max_evaluations, progress)
    if method == "differential-evolution":
        return _evolution(problem, seed, generations, max_evaluations, progress)
    raise ValueError(f"unknown method {method!r}")  # the config loader checked it


def _multi_start(problem, seed, starts, max_evaluations, progress) -> Optimum:
    sampler = qmc.LatinHypercube(d=len(problem.names), rng=np.random.default_rng(seed))
    points = qmc.scale(sampler.random(starts), problem.lower, problem.upper)
    points = np.vstack([problem.start[None, :], points])
    best, runs, record, message = None, 0, [], ""
    for number, point in enumerate(points, start=1):
        x, cost, used, text = least_squares_from(problem, point, max_evaluations)
        runs += used
        record.append((point, x, cost))
        if best is None or cost < best[1]:
            best, message = (x, cost), text
        progress(number, len(points))
    return Optimum(best[0], best[1], runs, record, message)


def _evolution(problem, seed, generations, max_evaluations, progress) -> Optimum:
    runs = 0
    popsize = EVOLUTION_POPSIZE

    def cost(x):  # x: [parameter, member]
        nonlocal runs
        runs += x.shape[1]
        return problem.cost(x.T)

    done = 0

    def step(intermediate_result):  # scipy passes the result by this name
        nonlocal done
        done += 1
        progress(done, generations + 1)

    result = optimize.differential_evolution(
        cost, list(zip(problem.lower, problem.upper, strict=True)), maxiter=generations,
        popsize=popsize, rng=np.random.default_rng(seed), polish=False,
        init="latinhypercube", updating="deferred", vectorized=True, callback=step, tol=1e-8,
    )
    x, value, used, message = least_squares_from(problem, result.x, max_evaluations)
    progress(generations + 1, generations + 1)
    return Optimum(x, value, runs + used, [(result.x, x, value)],
                   f"{result.message}; polished: {message}")
