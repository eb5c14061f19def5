"""How well the data pin the parameters down: covariance, profile likelihood, MCMC sample.

The payoff is a chi-square with declared error scales. When the best fit's chi-square per
degree of freedom exceeds one, the errors were understated and every interval is widened by
that factor (``scale``), as lmfit does; it is never used to narrow them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import expit, logit

from sd_runner.calibration.optimize import least_squares_from
from sd_runner.calibration.problem import CalibrationProblem

Progress = Callable[[int, int], None]


def _no_progress(_done: int, _total: int) -> None:
    pass


@dataclass(frozen=True)
class Covariance:
    """Linearised uncertainty at the best fit (Gauss-Newton: ``scale * inv(J'J)``)."""

    matrix: np.ndarray
    standard_error: np.ndarray
    correlation: np.ndarray
    singular_values: np.ndarray


@dataclass(frozen=True)
class ProfileInterval:
    """A profile-likelihood interval: where the best chi-square with the parameter held fixed
    rises ``threshold * scale`` above the best fit. ``*_open`` when the bound came first."""

    lower: float
    upper: float
    lower_open: bool
    upper_open: bool
    points: tuple[tuple[float, float], ...]  # (value, rise in chi-square / scale)


@dataclass(frozen=True)
class Posterior:
    """An emcee sample of the posterior (flattened after burn-in and thinning)."""

    chain: np.ndarray
    sample: np.ndarray
    acceptance: float
    autocorrelation_time: np.ndarray
    evaluations: int

    @property
    def longest_autocorrelation(self) -> float:
        """The longest integrated autocorrelation time, in steps (NaN if not estimated)."""
        finite = self.autocorrelation_time[np.isfinite(self.autocorrelation_time)]
        return float(finite.max()) if finite.size else float("nan")


def jacobian(problem: CalibrationProblem, estimate: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of the weighted residuals, in one batch."""
    step = 1e-5 * np.maximum(np.abs(estimate), problem.upper - problem.lower)
    low = np.maximum(estimate - step, problem.lower)
    high = np.minimum(estimate + step, problem.upper)
    batch = np.repeat(estimate[None, :], 2 * len(estimate), axis=0)
    index = np.arange(len(estimate))
    batch[2 * index, index] = low
    batch[2 * index + 1, index] = high
    values = problem.residuals(batch)
    return ((values[1::2] - values[0::2]) / (high - low)[:, None]).T


def covariance(problem: CalibrationProblem, estimate: np.ndarray, scale: float) -> Covariance:
    """Covariance, standard errors and correlations from the Jacobian at ``estimate``.

    A parameter the data and priors do not constrain makes ``J'J`` singular; the
    pseudo-inverse then reports an infinite standard error for it.
    """
    matrix_j = jacobian(problem, estimate)
    singular = np.linalg.svd(matrix_j, compute_uv=False)
    information = matrix_j.T @ matrix_j
    cov = np.linalg.pinv(information, rcond=1e-12) * scale
    diagonal = np.diag(cov).copy()
    unconstrained = np.diag(information) <= 1e-300
    diagonal[unconstrained] = np.inf
    se = np.sqrt(np.maximum(diagonal, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(np.sqrt(np.diag(cov)), np.sqrt(np.diag(cov)))
    corr = np.where(np.isfinite(corr), corr, 0.0)
    np.fill_diagonal(corr, 1.0)
    return Covariance(cov, se, np.clip(corr, -1, 1), singular)


def profile_intervals(problem: CalibrationProblem, estimate: np.ndarray, best_cost: float,
                      scale: float, confidence: float, standard_error: np.ndarray,
                      max_evaluations: int, progress: Progress = _no_progress,
                      ) -> list[ProfileInterval]:
    """Profile-likelihood interval of every estimated parameter."""
    threshold = float(stats.chi2.ppf(confidence, 1))
    intervals = []
    for index in range(len(estimate)):
        intervals.append(_profile(problem, estimate, best_cost, scale, threshold, index,
                                  standard_error[index], max_evaluations))
        progress(index + 1, len(estimate))
    return intervals


def _profile(problem, estimate, best_cost, scale, threshold, index, se, max_evaluations):
    lower_bound, upper_bound = problem.lower[index], problem.upper[index]
    width = upper_bound - lower_bound
    first_step = se if np.isfinite(se) and 0 < se < width else 0.05 * width
    free = [i for i in range(len(estimate)) if i != index]
    points = [(float(estimate[index]), 0.0)]
    ends = []
    for direction, bound in ((-1, lower_bound), (1, upper_bound)):
        value, rise, others = estimate[index], 0.0, estimate[free]
        step = first_step
        end, is_open = bound, True
        for _ in range(40):
            if value == bound:
                break
            trial = value + direction * step
            trial = max(trial, bound) if direction < 0 else min(trial, bound)
            x, cost, _, _ = least_squares_from(problem, others, max_evaluations,
                                               fixed={index: trial})
            trial_rise = max(0.0, (cost - best_cost) / scale)
            points.append((float(trial), trial_rise))
            if trial_rise >= threshold:
                end = _crossing(problem, (value, rise, others), (trial, trial_rise, x), index,
                                best_cost, scale, threshold, max_evaluations, points)
                is_open = False
                break
            value, rise, others = trial, trial_rise, x
            # Grow the step while the rise is well short of the threshold.
            step *= 2.0 if trial_rise < threshold / 4 else 1.2
        ends.append((end, is_open))
    points.sort()
    (low, low_open), (high, high_open) = ends
    return ProfileInterval(float(low), float(high), low_open, high_open, tuple(points))


def _crossing(problem, inside, outside, index, best_cost, scale, threshold, max_evaluations,
              points):
    """Where the rise crosses ``threshold``, by secant steps on its square root (nearly
    linear in the parameter near the optimum)."""
    target = np.sqrt(threshold)
    for _ in range(4):
        (v0, r0, x0), (v1, r1, _) = inside, outside
        s0, s1 = np.sqrt(r0), np.sqrt(r1)
        guess = v0 + (target - s0) * (v1 - v0) / (s1 - s0) if s1 > s0 else v1
        if abs(r1 - threshold) < 0.05 * threshold:
            return v1
        x, cost, _, _ = least_squares_from(problem, x0, max_evaluations,
                                           fixed={index: guess})
        rise = max(0.0, (cost - best_cost) / scale)
        points.append((float(guess), rise))
        if abs(rise - threshold) < 0.05 * threshold:
            return guess
        if rise < threshold:
            inside = (guess, rise, x)
        else:
            outside = (guess, rise, x)
    return outside[0]


def sample_posterior(problem: CalibrationProblem, estimate: np.ndarray, standard_error,
                     scale: float, walkers: int, steps: int, burn: int, thin: int,
                     sample_size: int, seed: int, progress: Progress = _no_progress,
                     ) -> Posterior:
    """Sample the posterior with emcee: likelihood ``exp(-chi2 / (2 scale))``, uniform within
    the bounds times the declared normal priors (already in the chi-square).

    The walkers move in logit coordinates of the bounds, ``z = logit((x - lower) / width)``,
    where the uniform prior becomes a smooth density on the whole line (the log-Jacobian
    below). Where the posterior piles up against a bound, as the export potentials' does,
    this mixes several times faster than moving in the parameters themselves, where most
    proposals land outside the bounds.
    """
    import emcee

    lower, width = problem.lower, problem.upper - problem.lower
    evaluations = 0

    def to_parameters(z):
        return lower + width * expit(z)

    def log_probability(z):
        nonlocal evaluations
        z = np.atleast_2d(z)
        evaluations += z.shape[0]
        log_jacobian = np.sum(np.log(width) - np.logaddexp(0, -z) - np.logaddexp(0, z), axis=1)
        return -0.5 * problem.cost(to_parameters(z)) / scale + log_jacobian

    rng = np.random.default_rng(seed)
    spread = np.where(np.isfinite(standard_error), standard_error, width)
    spread = np.minimum(spread, width) * 0.1
    start = estimate + rng.standard_normal((walkers, len(estimate))) * spread
    inside = np.clip((start - lower) / width, 1e-6, 1 - 1e-6)
    # Differential-evolution moves follow the strong correlations (growth rates against
    # potentials) better than emcee's default stretch move.
    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(walkers, len(estimate), log_probability, moves=moves,
                                    vectorize=True)
    sampler.random_state = np.random.RandomState(seed).get_state()
    every = max(1, steps // 100)
    for number, _ in enumerate(sampler.sample(logit(inside), iterations=steps), start=1):
        if number % every == 0 or number == steps:
            progress(number, steps)
    chain = to_parameters(sampler.get_chain(discard=burn, thin=thin, flat=True))
    chosen = rng.choice(len(chain), size=min(sample_size, len(chain)), replace=False)
    # The chain's length relative to its autocorrelation time is reported with the result;
    # emcee's own log warning about it would only repeat that on the terminal.
    logger = logging.getLogger("emcee.autocorr")
    was_disabled, logger.disabled = logger.disabled, True
    try:
        tau = sampler.get_autocorr_time(quiet=True, discard=burn) if _enough(steps - burn) \
            else np.full(len(estimate), np.nan)
    finally:
        logger.disabled = was_disabled
    return Posterior(chain=chain, sample=chain[np.sort(chosen)],
                     acceptance=float(np.mean(sampler.acceptance_fraction)),
                     autocorrelation_time=np.asarray(tau), evaluations=evaluations)


def _enough(kept_steps: int) -> bool:
    return kept_steps >= 50
