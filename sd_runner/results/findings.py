"""Key findings of a scenario comparison, as plain data: the scenarios ranked by their effect
on each headline outcome in the ranking year (with its uncertainty where the comparison has
it), the best single lever against the lever mixes, worse-before-better dips with the loop
shift behind them, and where margin and the money outcomes disagree.

Every number is read from the comparison; :mod:`sd_runner.reports.findings_text` and
:mod:`sd_runner.reports.findings` put it into words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner.results.loop_scores import LoopComparison
from sd_runner.results.outcomes import BETTER, HEADLINE_OUTCOMES, TOTAL
from sd_runner.results.runs import Comparison, ScenarioRun
from sd_runner.results.uncertainty import EFFECT_YEAR

#: A difference from the reference counts (as better, worse, or a dip) only beyond this share
#: of the reference's largest magnitude over the run: smaller ones are the solver's rounding.
NOISE = 1e-6

#: Loops named per dip: those whose mean relative score over the dip moves most.
DIP_LOOPS = 3

#: The outcome whose disagreements with the money outcomes are sought, and those outcomes.
MARGIN = "Margin"
MONEY = ("Total Profit", "Value Added")

#: Columns of :attr:`Findings.effects` and :attr:`Findings.best`.
EFFECT_COLUMNS = ["scenario", "outcome", "cluster", "year", "difference", "rank", "levers",
                  "sign", "p05", "p95", "probability"]
BEST_COLUMNS = ["outcome", "cluster", "best", "best_difference", "best_single",
                "best_single_difference", "best_mix", "best_mix_difference"]


@dataclass(frozen=True)
class LoopShift:
    """A loop whose mean relative score over a dip differs from the reference's.

    ``label`` is the loop's name, or its polarity and stocks when it has none; ``loop`` its
    identifier. ``reference`` and ``value`` are the mean relative scores over the dip in the
    reference's run and the scenario's; ``change`` the second less the first.
    """

    loop: str
    label: str
    polarity: str
    reference: float
    value: float
    change: float


@dataclass(frozen=True)
class Dip:
    """A worse-before-better dip: after its first lever starts, ``scenario`` does worse than
    the reference on ``outcome`` in ``cluster`` from ``start`` to ``end`` (years, where the
    difference crosses zero, interpolated linearly between saved times), then better.

    ``depth`` is the worst difference from the reference (the outcome's units; positive for an
    outcome better lower), reached at ``depth_year`` (a saved time). ``loops``: the loops whose
    relative scores over the dip differ most from the reference's, when loops were scored.
    """

    scenario: str
    outcome: str
    cluster: str
    start: float
    end: float
    depth: float
    depth_year: float
    loops: tuple[LoopShift, ...] = ()

    @property
    def years(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Disagreement:
    """``scenario`` moves the margin one way and ``outcome`` (total profit or value added) the
    other in ``cluster``, in the ranking year: the two differences from the reference."""

    scenario: str
    cluster: str
    margin: float
    outcome: str
    difference: float


@dataclass(frozen=True)
class Findings:
    """What a comparison finds.

    Attributes
    ----------
    reference : str
        The scenario every difference is taken against.
    year : int or None
        The ranking year (:attr:`Comparison.year`, the last table year); None when the
        comparison has no outcome table.
    members : int
        Parameter sets behind the intervals and probabilities (0: the comparison ran none, or
        not in the ranking year).
    effects : pandas.DataFrame
        One row per scenario other than the reference, headline outcome with a direction of
        better, and cluster (and :data:`TOTAL` for outcomes summed over clusters), best first
        within each outcome and cluster: ``difference`` from the reference in ``year``,
        ``rank`` among these scenarios (1 the best; ties share the better rank), ``levers``
        pulled, ``sign`` (+1 better, -1 worse, 0 within :data:`NOISE`), and the effect's 5 and
        95 % quantiles ``p05``, ``p95`` and ``probability`` of doing better over the parameter
        sets (not a number without them).
    best : pandas.DataFrame
        Per outcome and cluster: the best scenario, the best single lever (a scenario pulling
        one lever) and the best mix (more than one), with their differences; empty names
        where the comparison has no such scenario.
    dips : tuple of Dip
    disagreements : tuple of Disagreement
    """

    reference: str
    year: int | None
    members: int
    effects: pd.DataFrame
    best: pd.DataFrame
    dips: tuple[Dip, ...]
    disagreements: tuple[Disagreement, ...]
    noise: float = NOISE

    def as_json(self) -> dict:
        """Plain JSON data; not-a-number (not applicable) as ``None``."""
        return {
            "reference": self.reference, "ranking_year": self.year,
            "parameter_sets": self.members, "noise": self.noise,
            "effects": _records(self.effects), "best": _records(self.best),
            "dips": [{"scenario": d.scenario, "outcome": d.outcome, "cluster": d.cluster,
                      "start": d.start, "end": d.end, "years": d.years, "depth": d.depth,
                      "depth_year": d.depth_year,
                      "loops": [vars(shift) for shift in d.loops]} for d in self.dips],
            "disagreements": [vars(d) for d in self.disagreements],
        }


def key_findings(comparison: Comparison) -> Findings:
    """The findings of ``comparison`` (see :class:`Findings`)."""
    reference = comparison.reference.scenario.name
    if comparison.table.empty:
        return Findings(reference, None, 0, pd.DataFrame(columns=EFFECT_COLUMNS),
                        pd.DataFrame(columns=BEST_COLUMNS), (), ())
    year = comparison.year
    effects, members = _effects(comparison)
    return Findings(reference=reference, year=year, members=members, effects=effects,
                    best=_best(effects), dips=tuple(_dips(comparison)),
                    disagreements=tuple(_disagreements(effects)))


def ranked_outcomes(comparison: Comparison) -> list[str]:
    """The headline outcomes of the comparison that have a direction of better, in order."""
    return [o for o in HEADLINE_OUTCOMES if o in BETTER and o in comparison.outcomes]


def lever_count(run: ScenarioRun) -> int:
    """Levers the scenario pulls (at a level above zero)."""
    return sum(1 for choice in run.scenario.levers if choice.level > 0)


# -------------------------------------------------------------------------------- effects


def _effects(comparison: Comparison) -> tuple[pd.DataFrame, int]:
    """The ranked effects, and the parameter sets behind their intervals."""
    reference = comparison.reference.scenario.name
    outcomes = ranked_outcomes(comparison)
    table = comparison.rankings()
    table = table[(table["scenario"] != reference) & table["outcome"].isin(outcomes)].copy()
    if table.empty:
        return pd.DataFrame(columns=EFFECT_COLUMNS), 0
    better = table["outcome"].map(BETTER)
    table["rank"] = (-(better * table["difference"])).groupby(
        [table["outcome"], table["cluster"]], sort=False).rank(method="min").astype(int)
    levers = {run.scenario.name: lever_count(run) for run in comparison.runs}
    table["levers"] = table["scenario"].map(levers)
    scale = _reference_scale(comparison, table)
    table["sign"] = np.where(better * table["difference"] > scale * NOISE, 1,
                             np.where(better * table["difference"] < -scale * NOISE, -1, 0))
    table, members = _with_intervals(comparison, table)
    order = {outcome: number for number, outcome in enumerate(outcomes)}
    places = {cluster: number for number, cluster in enumerate((*comparison.clusters, TOTAL))}
    table = table.assign(_o=table["outcome"].map(order), _c=table["cluster"].map(places))
    table = table.sort_values(["_o", "_c", "rank"], kind="stable")
    return table[EFFECT_COLUMNS].reset_index(drop=True), members


def _reference_scale(comparison: Comparison, table: pd.DataFrame) -> pd.Series:
    """Per row, the reference's largest magnitude over the run (summed over the clusters for
    :data:`TOTAL`): what :data:`NOISE` is a share of."""
    frame = comparison.reference.frame
    sizes = {}
    for outcome, cluster in set(zip(table["outcome"], table["cluster"], strict=True)):
        clusters = comparison.clusters if cluster == TOTAL else (cluster,)
        summed = sum(frame[f"{outcome}[{c}]"].to_numpy(dtype=float) for c in clusters)
        sizes[outcome, cluster] = float(np.max(np.abs(summed)))
    return pd.Series([sizes[o, c] for o, c in zip(table["outcome"], table["cluster"],
                                                  strict=True)], index=table.index)


def _with_intervals(comparison: Comparison, table: pd.DataFrame
                    ) -> tuple[pd.DataFrame, int]:
    """``table`` with the uncertainty effects' 5-95 % quantiles and probability of doing
    better, when the comparison ran parameter sets and took effects in the ranking year."""
    uncertain = comparison.uncertainty
    if uncertain is None or float(comparison.year) != EFFECT_YEAR:
        return table.assign(p05=np.nan, p95=np.nan, probability=np.nan), 0
    effects = uncertain.effect_table()[["scenario", "outcome", "cluster", "p05", "p95",
                                        "probability"]]
    merged = table.merge(effects, on=["scenario", "outcome", "cluster"], how="left")
    merged.index = table.index
    return merged, int(uncertain.kept.sum())


def _best(effects: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (outcome, cluster), group in effects.groupby(["outcome", "cluster"], sort=False):
        row = {"outcome": outcome, "cluster": cluster}
        for key, chosen in (("best", group), ("best_single", group[group["levers"] == 1]),
                            ("best_mix", group[group["levers"] > 1])):
            first = chosen.iloc[0] if len(chosen) else None  # effects are best first
            row[key] = "" if first is None else first["scenario"]
            row[f"{key}_difference"] = math.nan if first is None else float(first["difference"])
        rows.append(row)
    return pd.DataFrame(rows, columns=BEST_COLUMNS)


def _disagreements(effects: pd.DataFrame) -> list[Disagreement]:
    signs = {(r.scenario, r.outcome, r.cluster): (r.sign, r.difference)
             for r in effects.itertuples()}
    found = []
    for (scenario, outcome, cluster), (sign, margin) in signs.items():
        if outcome != MARGIN or sign == 0:
            continue
        for other in MONEY:
            other_sign, difference = signs.get((scenario, other, cluster), (0, math.nan))
            if other_sign == -sign:
                found.append(Disagreement(scenario, cluster, float(margin), other,
                                          float(difference)))
    return found


# ----------------------------------------------------------------------------------- dips


def _dips(comparison: Comparison) -> list[Dip]:
    reference = comparison.reference.frame
    found = []
    for run in comparison.runs[1:]:
        times = run.frame.index.to_numpy(dtype=float)
        since = _first_lever(run, times)
        for outcome in ranked_outcomes(comparison):
            for cluster in comparison.clusters:
                column = f"{outcome}[{cluster}]"
                if column not in run.frame or column not in reference:
                    continue  # not a finding to make: the report's figures name the gap
                base = reference[column].to_numpy(dtype=float)
                better = BETTER[outcome]
                noise = NOISE * float(np.max(np.abs(base)))
                gain = better * (run.frame[column].to_numpy(dtype=float) - base)
                for start, end, worst, when in find_dips(times, gain, since, noise):
                    loops = _loop_shifts(comparison.loops, run.scenario.name, cluster, start,
                                         end)
                    found.append(Dip(run.scenario.name, outcome, cluster, start, end,
                                     better * worst, when, loops))
    return found


def _first_lever(run: ScenarioRun, times: np.ndarray) -> float:
    """The year the scenario's first lever starts (its initial time if it pulls none)."""
    starts = [choice.start_year for choice in run.scenario.levers if choice.level > 0]
    return float(min(starts)) if starts else float(times[0])


def find_dips(times: np.ndarray, gain: np.ndarray, since: float, noise: float
              ) -> list[tuple[float, float, float, float]]:
    """Worse-before-better periods of one series.

    Parameters
    ----------
    times : numpy.ndarray
        Saved times, increasing.
    gain : numpy.ndarray
        How much better the scenario does than the reference at each time (its difference
        from the reference, negated for an outcome better lower).
    since : float
        Only times from this year on count (the scenario's first lever start).
    noise : float
        A gain counts as worse below ``-noise`` and as better above ``noise``.

    Returns
    -------
    list of (start, end, worst, year)
        One per period from a zero crossing into worse (or ``since``, if worse already) to the
        next zero crossing back, followed by a better time: the crossings interpolated
        linearly between saved times, the least gain and the saved time it is reached at.
    """
    keep = times >= since
    t, g = times[keep], gain[keep]
    found = []
    position = 0
    while True:
        worse = np.flatnonzero(g[position:] < -noise)
        if not len(worse):
            return found
        first_worse = position + int(worse[0])
        better = np.flatnonzero(g[first_worse:] > noise)
        if not len(better):
            return found
        first_better = first_worse + int(better[0])
        above = np.flatnonzero(g[position:first_worse] >= 0)
        if len(above):
            j = position + int(above[-1])
            start = _crossing(t[j], t[j + 1], g[j], g[j + 1])
        else:
            j, start = position, float(t[position])
        below = np.flatnonzero(g[first_worse:first_better] < 0)
        k = first_worse + int(below[-1])
        end = _crossing(t[k], t[k + 1], g[k], g[k + 1])
        low = j + int(np.argmin(g[j:k + 1]))
        found.append((start, end, float(g[low]), float(t[low])))
        position = first_better


def _crossing(t0: float, t1: float, g0: float, g1: float) -> float:
    """Where the line through ``(t0, g0)`` and ``(t1, g1)`` crosses zero (their signs
    differ, or one is zero)."""
    if g0 == g1:
        return float(t0)
    return float(t0 + (t1 - t0) * g0 / (g0 - g1))


def _loop_shifts(loops: LoopComparison | None, scenario: str, cluster: str, start: float,
                 end: float) -> tuple[LoopShift, ...]:
    """The loops whose mean relative score over the dip differs most from the reference's
    over the same years."""
    if loops is None:
        return ()
    theirs, ours = loops.window_means(scenario, cluster, start, end)
    changes = {loop: ours.get(loop, 0.0) - theirs.get(loop, 0.0)
               for loop in ours.keys() | theirs.keys()}
    ranked = sorted((loop for loop in changes if changes[loop] != 0),
                    key=lambda loop: (-abs(changes[loop]), loop))
    by_id = {loop.id: loop for loop in loops.loops}
    return tuple(LoopShift(loop, loop_label(by_id[loop]), by_id[loop].polarity,
                           theirs.get(loop, 0.0), ours.get(loop, 0.0), changes[loop])
                 for loop in ranked[:DIP_LOOPS])


def loop_label(loop) -> str:
    """A loop's name, or its polarity and the stocks it runs through (its id if neither)."""
    if loop.name:
        return loop.name
    kind = {"R": "reinforcing loop", "B": "balancing loop"}.get(loop.polarity, "loop")
    stocks = list(dict.fromkeys(loop.stocks))
    if not stocks:
        return loop.id
    through = stocks[0] if len(stocks) == 1 else ", ".join(stocks[:-1]) + " and " + stocks[-1]
    return f"{kind} through {through}"


def _records(table: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values, not-a-number as ``None``."""
    rows = []
    for row in table.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            clean[key] = None if isinstance(value, float) and math.isnan(value) else value
        rows.append(clean)
    return rows
