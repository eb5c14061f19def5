"""PRIM, the Patient Rule Induction Method (Friedman and Fisher 1999), as scenario discovery
uses it (Bryant and Lempert 2010) and EMA Workbench implements it: peel, choose a box on the
trajectory, paste, then the quasi-p-value of each restriction and its recurrence over
bootstrap resamples.

Written with numpy rather than taken from the ``prim`` package (PyPI), which took 17.4 s for
one box on 10 000 members of 70 factors, more than this project's budget for the box and its
bootstraps together, and pulls in matplotlib. Here every candidate peel of every factor is
scored at once, each factor's members kept sorted, so a step reads its quantiles at their
ranks instead of sorting again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Share of the box's members one peel removes, and one paste adds back (EMA's defaults).
PEEL_ALPHA, PASTE_ALPHA = 0.05, 0.05

#: Smallest share of all members a box may hold.
MASS_MIN = 0.05

#: The box chosen on the peeling trajectory: the densest that still covers this share of the
#: cases of interest (PRIM's trade-off, read at one point, as analysts read it by eye).
MIN_COVERAGE = 0.8

#: Bootstrap resamples over which the recurrence of each restriction is counted.
BOOTSTRAPS = 20


@dataclass(frozen=True)
class Limits:
    """A box: ``lower`` and ``upper`` limit of every factor, and which members it holds."""

    lower: np.ndarray
    upper: np.ndarray
    inside: np.ndarray
    stage: str = "peel"


@dataclass(frozen=True)
class PrimResult:
    """The trajectory (peeling, then pasting the chosen box), the index of the chosen box,
    the data's own range (the box before any peel) and each factor's quasi-p-value in the
    chosen box (NaN where unrestricted)."""

    trajectory: list[Limits]
    chosen: int
    low: np.ndarray
    high: np.ndarray
    quasi_p: np.ndarray

    @property
    def box(self) -> Limits:
        return self.trajectory[self.chosen]

    def restricted(self, box: Limits | None = None) -> np.ndarray:
        """Whether each factor is restricted (a limit inside the data's range)."""
        box = box or self.box
        return (box.lower > self.low) | (box.upper < self.high)


def prim(x: np.ndarray, y: np.ndarray, mass_min: float = MASS_MIN,
         min_coverage: float = MIN_COVERAGE) -> PrimResult:
    """One PRIM box for the cases of interest ``y`` (bool per member) in ``x[member, factor]``:
    the densest box of the peeling trajectory with at least ``min_coverage``, pasted."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=bool)
    low, high = x.min(axis=0), x.max(axis=0)
    trajectory = _peel(x, y, mass_min, low, high)
    chosen = _choose(trajectory, y, min_coverage)
    pasted = _paste(x, y, trajectory[chosen], mass_min)
    trajectory = trajectory + pasted
    chosen = len(trajectory) - 1 if pasted else chosen
    result = PrimResult(trajectory, chosen, low, high, np.full(x.shape[1], np.nan))
    return PrimResult(trajectory, chosen, low, high, quasi_p(x, y, result))


def _lenient1(hits_old, n_old, hits_new, n_new):
    """EMA Workbench's default objective: the gain in density per member removed or added."""
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(n_new > 0, hits_new / np.maximum(n_new, 1), 0.0) - hits_old / n_old
        return np.where(n_new != n_old, gain / np.abs(n_old - n_new), -np.inf)


def _peel(x, y, mass_min, low, high) -> list[Limits]:
    """The peeling trajectory, from the whole data to the smallest box worth peeling to.

    Each factor's members in the box are kept sorted (``order``, ``values``: ``[factor,
    rank]``), so a peel's quantiles are read at their ranks and the members it would remove
    are found among the few ranks beyond them, without sorting again."""
    n = len(y)
    order = np.argsort(x, axis=0, kind="stable").T
    values = np.take_along_axis(x, order.T, axis=0).T
    box = Limits(low.copy(), high.copy(), np.ones(n, dtype=bool))
    trajectory = [box]
    while True:
        size, hits_old = order.shape[1], int(y[order[0]].sum())
        cuts, gone, windows = [], [], []
        for alpha, lower in ((PEEL_ALPHA, True), (1 - PEEL_ALPHA, False)):
            place = (size - 1) * alpha  # numpy's linear quantile rule
            below, above = int(np.floor(place)), int(np.ceil(place))
            cut = values[:, below] + (values[:, above] - values[:, below]) * (place - below)
            window = slice(0, above + 1) if lower else slice(below, size)
            beyond = (values[:, window] < cut[:, None]) if lower \
                else (values[:, window] > cut[:, None])
            cuts.append(cut)
            gone.append(beyond)
            windows.append(window)
        removed = np.concatenate([np.count_nonzero(g, axis=1) for g in gone])
        removed_hits = np.concatenate([np.count_nonzero(g & y[order[:, w]], axis=1)
                                       for g, w in zip(gone, windows, strict=True)])
        counts = size - removed
        score = _lenient1(hits_old, size, hits_old - removed_hits, counts)
        score[(counts < mass_min * n) | (counts >= size)] = -np.inf
        # Ties go to a factor already restricted, as EMA's do: boxes stay simple.
        restricted = np.tile((box.lower > low) | (box.upper < high), 2)
        best = int(np.lexsort((np.arange(len(score)), ~restricted, -score))[0])
        if not score[best] > 0:
            return trajectory
        side, factor = divmod(best, x.shape[1])
        limits = [box.lower.copy(), box.upper.copy()]
        limits[side][factor] = cuts[side][factor]
        inside = box.inside.copy()
        inside[order[factor, windows[side]][gone[side][factor]]] = False
        box = Limits(limits[0], limits[1], inside)
        trajectory.append(box)
        keep = inside[order]
        order = order[keep].reshape(len(order), -1)
        values = values[keep].reshape(len(order), -1)


def _choose(trajectory: list[Limits], y: np.ndarray, min_coverage: float) -> int:
    cases = y.sum()
    coverage = np.array([(y & b.inside).sum() / cases for b in trajectory])
    density = np.array([y[b.inside].mean() for b in trajectory])
    return int(np.argmax(np.where(coverage >= min_coverage - 1e-12, density, -1.0)))


def _within(x, box: Limits) -> np.ndarray:
    """``[member, factor]``: whether each value lies within its factor's limits."""
    return (x >= box.lower) & (x <= box.upper)


def _without_each(within: np.ndarray) -> np.ndarray:
    """``[member, factor]``: whether the member is in the box once that factor's limits are
    lifted (within every other factor's)."""
    outside = (~within).sum(axis=1, keepdims=True)
    return (outside - ~within) == 0


def _paste(x, y, box: Limits, mass_min) -> list[Limits]:
    """Widen ``box`` one limit at a time while that raises its density (EMA's pasting)."""
    pasted = []
    yf = y.astype(float)
    while True:
        within = _within(x, box)
        others = _without_each(within)
        n_old, hits_old = box.inside.sum(), yf[box.inside].sum()
        candidates = []
        for factor in range(x.shape[1]):
            column, beyond_others = x[:, factor], others[:, factor]
            for side in ("lower", "upper"):
                outside = beyond_others & ((column < box.lower[factor]) if side == "lower"
                                           else (column > box.upper[factor]))
                if not outside.any():
                    continue
                lower, upper = box.lower.copy(), box.upper.copy()
                if side == "lower":
                    lower[factor] = np.quantile(column[outside], 1 - PASTE_ALPHA)
                else:
                    upper[factor] = np.quantile(column[outside], PASTE_ALPHA)
                inside = beyond_others & (column >= lower[factor]) & (column <= upper[factor])
                candidates.append((inside, lower, upper))
        if not candidates:
            return pasted
        counts = np.array([c[0].sum() for c in candidates])
        hits = np.array([yf[c[0]].sum() for c in candidates])
        score = _lenient1(hits_old, n_old, hits, counts)
        score[(counts < mass_min * len(y)) | (counts <= n_old)] = -np.inf
        best = int(np.argmax(score))
        if not score[best] > 0:
            return pasted
        inside, lower, upper = candidates[best]
        box = Limits(lower, upper, inside, "paste")
        pasted.append(box)


def quasi_p(x: np.ndarray, y: np.ndarray, result: PrimResult) -> np.ndarray:
    """Each restricted factor's quasi-p-value in the chosen box (NaN elsewhere): the one-sided
    binomial probability of at least the box's cases of interest among its members, were
    their density that of the box with that factor's restriction lifted (Bryant and
    Lempert 2010; EMA Workbench lifts each side in turn, the ``prim`` package the factor)."""
    from scipy.stats import binomtest

    box = result.box
    others = _without_each(_within(x, box))
    members, hits = int(box.inside.sum()), int(y[box.inside].sum())
    values = np.full(x.shape[1], np.nan)
    for factor in np.flatnonzero(result.restricted()):
        wider = others[:, factor]
        density = y[wider].sum() / wider.sum()
        values[factor] = binomtest(hits, members, density, alternative="greater").pvalue
    return values


def stability(x: np.ndarray, y: np.ndarray, bootstraps: int, seed: int,
              mass_min: float = MASS_MIN, min_coverage: float = MIN_COVERAGE) -> np.ndarray:
    """Share of ``bootstraps`` resamples (members drawn with replacement, from ``seed``) in
    whose PRIM box each factor is restricted."""
    rng = np.random.default_rng([seed, 2])
    counts = np.zeros(x.shape[1])
    for _ in range(bootstraps):
        rows = rng.integers(0, len(y), size=len(y))
        xr, yr = x[rows], y[rows]
        if yr.all() or not yr.any():
            continue  # nothing to tell apart: counts as no restriction
        low, high = xr.min(axis=0), xr.max(axis=0)
        trajectory = _peel(xr, yr, mass_min, low, high)
        box = trajectory[_choose(trajectory, yr, min_coverage)]
        box = (_paste(xr, yr, box, mass_min) or [box])[-1]
        counts += (box.lower > low) | (box.upper < high)
    return counts / max(bootstraps, 1)
