"""Sobol indices as SALib computes them (Saltelli's design, SALib's estimators and bootstrap
intervals), to the bit, in a fraction of its time.

SALib builds the design row by row in Python, and ``SALib.analyze.sobol.analyze`` resamples
the base rows (100 times by default) and, for each index of each outcome, gathers copies of
the resampled rows, forms the estimator's products on them and reduces them: for the
second-order indices that is most of the time of a large analysis. An estimator's terms are
products of one base row's outputs, so here they are formed once per base row, and each
resample's mean adds the terms of its rows in SALib's order (a compiled loop, numpy's order
of a sum over the first axis); the design is built with array copies.

Everything else is SALib's own arithmetic: the same Sobol' sequence and scaling, the same
normalisation, the same resample rows from the same seeded Generator, the same guards against
constant outputs, the same variances and spreads. The design, the indices and the intervals
are SALib's to the bit (``tests/uncertainty/test_sensitivity.py``).
"""

from __future__ import annotations

from itertools import combinations
from warnings import warn

import numba
import numpy as np

from sd_runner.errors import InputError

#: Elements of the largest working block (resampled outputs, estimator terms); bounds the
#: memory of the bootstrap whatever the sample size.
BLOCK = 1 << 20

_EPS = np.finfo(float).eps


def saltelli_sample(problem: dict, n: int, second_order: bool, seed: int) -> np.ndarray:
    """``SALib.sample.sobol.sample(problem, n, calc_second_order=second_order, seed=seed)``
    (scrambled, no groups, no skipped points), with the rows copied in blocks.

    Per base sample, SALib's rows are: A; A with factor k from B, for every k; with second
    order, B with factor k from A, for every k; B.
    """
    from SALib.util import scale_samples
    from scipy.stats import qmc

    factors = problem["num_vars"]
    base = qmc.Sobol(d=2 * factors, scramble=True, seed=seed).random(n)
    a, b = base[:, :factors], base[:, factors:]
    crossed = np.arange(factors)
    blocks = [a[:, None, :], np.repeat(a[:, None, :], factors, axis=1)]
    blocks[1][:, crossed, crossed] = b
    if second_order:
        blocks.append(np.repeat(b[:, None, :], factors, axis=1))
        blocks[2][:, crossed, crossed] = a
    blocks.append(b[:, None, :])
    design = np.concatenate(blocks, axis=1).reshape(-1, factors)
    return scale_samples(design, problem)


def working_floats(n: int, factors: int, resamples: int, second_order: bool = True) -> int:
    """Floats held at most by :func:`sobol_indices` for ``n`` base samples (besides its
    input): the resample rows, the normalised outcome split into its blocks, the
    factor-major copies of those blocks, the terms of the first and total order in two
    layouts, the resampled indices in two layouts, and a few working blocks of at most
    ``BLOCK``."""
    runs = n * (2 * factors + 2 if second_order else factors + 2)
    indices = 2 * factors + (factors * (factors - 1) // 2 if second_order else 0)
    return n * resamples + 2 * runs + 4 * n * factors + 2 * resamples * indices + 6 * BLOCK


def sobol_indices(y: np.ndarray, factors: int, second_order: bool, seed: int,
                  resamples: int, level: float) -> list[dict[str, np.ndarray]]:
    """Sobol indices and interval half-widths of every column of ``y``, as SALib computes them.

    Parameters
    ----------
    y : ndarray
        ``(runs, outcomes)``: outputs of a Saltelli design (SALib's row order).
    factors : int
        Factors of the design.
    second_order : bool
        Whether the design holds the rows of the second-order indices.
    seed : int
        Seeds the resampling as ``SALib.analyze.sobol.analyze(..., seed=default_rng(seed))``.
    resamples, level : int, float
        Bootstrap resamples and confidence level (SALib's ``num_resamples``, ``conf_level``).

    Returns
    -------
    list of dict
        Per outcome, SALib's keys: ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (``factors``
        values) and, with second order, ``S2``, ``S2_conf`` (``factors x factors``, NaN on and
        below the diagonal).
    """
    from SALib.analyze.sobol import separate_output_values
    from scipy.stats import norm

    y = np.asarray(y, dtype=float)
    step = 2 * factors + 2 if second_order else factors + 2
    if y.ndim != 2 or len(y) % step:
        raise InputError(f"{len(y)} outputs do not make a Saltelli design of {factors} factors "
                         f"({'with' if second_order else 'without'} second order)")
    n = len(y) // step
    rows = np.random.default_rng(seed).integers(n, size=(n, resamples))
    z = norm.ppf(0.5 + level / 2)
    pairs = np.array(list(combinations(range(factors), 2)), dtype=int).reshape(-1, 2)
    results = []
    for column in range(y.shape[1]):
        outcome = y[:, column]
        # SALib's normalisation (a constant outcome gives NaN, and then zero indices).
        outcome = (outcome - outcome.mean()) / outcome.std()
        a, b, ab, ba = separate_output_values(outcome, factors, n, second_order)
        results.append(_outcome_indices(a, b, ab, ba, rows, pairs, z, second_order))
    return results


def _outcome_indices(a, b, ab, ba, rows, pairs, z, second_order) -> dict:
    n, factors = ab.shape
    constant, variance = _pooled(a, b)
    resampled_constant, spread, variances = _resampled_pooled(a, b, rows)
    ab_t = np.ascontiguousarray(ab.T)  # factor-major: each factor's rows contiguous, so a
    # row's mean is numpy's pairwise sum of that row, as SALib's mean of the 1-D column is

    def estimate(terms, factor=1.0):
        """Point and resampled means of the estimator's ``terms`` (one row per index, one
        column per base row), each times ``factor`` and over the variance, as SALib's."""
        point = _divide(factor * terms.mean(axis=1), variance)
        sums = _resampled_sums(np.ascontiguousarray(terms.T), rows)
        resampled = _divide(factor * (sums / n), variances[:, None])
        return point, resampled

    s1, s1_resampled = estimate(b * (ab_t - a))
    st, st_resampled = estimate((a - ab_t) ** 2, 0.5)
    result = {"S1": s1, "ST": st}
    resampled = {"S1": s1_resampled, "ST": st_resampled}
    if second_order:
        ba_t = np.ascontiguousarray(ba.T)
        s2 = np.empty(len(pairs))
        s2_resampled = np.empty((rows.shape[1], len(pairs)))
        chunk = max(1, BLOCK // n)
        for start in range(0, len(pairs), chunk):
            j, k = pairs[start:start + chunk].T
            joint, joint_resampled = estimate(ba_t[j] * ab_t[k] - a * b)
            s2[start:start + chunk] = joint - s1[j] - s1[k]
            s2_resampled[:, start:start + chunk] = (joint_resampled - s1_resampled[:, j]
                                                    - s1_resampled[:, k])
        result["S2"], resampled["S2"] = s2, s2_resampled
    if constant or resampled_constant:  # SALib's estimators warn, and give zeros
        from SALib.analyze.sobol import CONST_RESULT_MSG

        warn(CONST_RESULT_MSG, stacklevel=3)
    if constant:
        result = {key: np.zeros_like(value) for key, value in result.items()}
    for key, values in resampled.items():
        if resampled_constant:
            values = np.zeros_like(values)
        # One contiguous row per index, so each spread is numpy's sum over that row, as
        # SALib's spread of a 1-D array of resampled indices.
        conf = z * np.ascontiguousarray(values.T).std(axis=1, ddof=1)
        if key != "S2" and spread == 0.0:  # SALib's guard of the first and total order
            conf = np.zeros_like(conf)
        result[f"{key}_conf"] = conf
    if second_order:
        for key in ("S2", "S2_conf"):
            square = np.full((factors, factors), np.nan)
            square[pairs[:, 0], pairs[:, 1]] = result[key]
            result[key] = square
    return result


def _pooled(a, b) -> tuple[bool, float]:
    """SALib's guard (are the base rows constant?) and the variance the point indices divide by."""
    pooled = np.r_[a, b]
    return bool(np.ptp(pooled) <= _EPS), np.var(pooled)


def _resampled_pooled(a, b, rows) -> tuple[bool, float, np.ndarray]:
    """SALib's guard over every resample, the spread it checks, and each resample's variance,
    in blocks of resamples (each resample's variance is computed alone, as in one array)."""
    n, resamples = rows.shape
    variances = np.empty(resamples)
    highest, lowest = [], []
    # Blocks of at least two resamples, in row-major arrays like SALib's: numpy sums the
    # columns of those row by row, but a one-column array pairwise.
    blocks = np.array_split(np.arange(resamples), max(1, resamples // max(2, BLOCK // (2 * n))))
    for block in blocks:
        some = np.ascontiguousarray(rows[:, block[0]:block[-1] + 1])
        pooled = np.ascontiguousarray(np.r_[a[some], b[some]])
        highest.append(np.max(pooled))
        lowest.append(np.min(pooled))
        variances[block] = np.var(pooled, axis=0)
    spread = np.max(highest) - np.min(lowest)
    return bool(spread <= _EPS), spread, variances


@numba.njit(cache=True)
def _resampled_sums(terms, rows):
    """``sums[b, c]``: the sum of ``terms[rows[i, b], c]`` over ``i``, added in the order of
    ``i`` from zero, which is numpy's order for SALib's mean over the first axis."""
    sums = np.zeros((rows.shape[1], terms.shape[1]))
    for b in range(rows.shape[1]):
        total = sums[b]
        for i in range(rows.shape[0]):
            total += terms[rows[i, b]]
    return sums


def _divide(numerator, variance):
    """SALib's division by the variance: zero where the variance is not above rounding."""
    return np.divide(numerator, variance, out=np.zeros(np.shape(numerator)),
                     where=np.asarray(variance > _EPS))
