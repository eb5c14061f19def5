"""Scenario runs and their comparison against a reference scenario: values and differences
per cluster, all-cluster totals, rankings by each outcome and where they disagree, and the
gains per unit of lever cost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner.inputs.scenarios import Scenario
from sd_runner.results.loop_scores import LoopComparison
from sd_runner.results.loops import LoopName
from sd_runner.results.outcomes import BETTER, TOTAL, TOTALLED
from sd_runner.results.uncertainty import UncertainComparison

#: Columns of :meth:`Comparison.equal_cost`.
EQUAL_COST_COLUMNS = ["scenario", "cluster", "year", "added_lever_cost",
                      "cumulative_profit_change", "cumulative_value_added_change",
                      "profit_per_cost", "value_added_per_cost"]


@dataclass(frozen=True)
class ScenarioRun:
    """One scenario's simulation.

    Attributes
    ----------
    scenario : Scenario
        What was run.
    frame : pandas.DataFrame
        Wide results: index ``time`` (years), one column per variable and element, named as
        Vensim names them (``"Buyer Dependence[Apparel]"``).
    """

    scenario: Scenario
    frame: pd.DataFrame

    def series(self, variable: str, element: str | None = None) -> pd.Series:
        """One column, by variable name and (for subscripted variables) element."""
        column = f"{variable}[{element}]" if element else variable
        return self.frame[column]

    def tidy(self) -> pd.DataFrame:
        """Long results with columns ``time``, ``variable``, ``element``, ``value``.

        ``element`` is empty for variables without a subscript.
        """
        long = self.frame.reset_index().melt(id_vars="time", var_name="column")
        parts = long["column"].str.extract(r"^(?P<variable>[^\[]+?)(?:\[(?P<element>.*)\])?$")
        long = long.assign(variable=parts["variable"], element=parts["element"].fillna(""))
        return long[["time", "variable", "element", "value"]]


@dataclass(frozen=True)
class Comparison:
    """Runs of several scenarios, the first being the reference.

    Attributes
    ----------
    runs : tuple of ScenarioRun
        The reference run first, then the others in the order asked for.
    clusters : tuple of str
        Elements of the Cluster subscript.
    outcomes : tuple of str
        Variables compared, each subscripted by Cluster.
    table : pandas.DataFrame
        Columns ``scenario``, ``outcome``, ``cluster``, ``year``, ``value``,
        ``difference`` (value minus the reference's), one row per combination.
    loops : LoopComparison, optional
        Feedback-loop dominance per scenario and cluster, when asked for.
    uncertainty : UncertainComparison, optional
        Bands, probabilities and effects over many parameter sets, when asked for.
    named_loops : tuple of LoopName
        The model's named feedback loops (its loop names file), which the report describes.
    observed : pandas.DataFrame, optional
        Observations of the outcomes the calibration compares with the model, as points
        (:func:`sd_runner.calibration.observed.observed_points`), drawn on the time charts.
    """

    runs: tuple[ScenarioRun, ...]
    clusters: tuple[str, ...]
    outcomes: tuple[str, ...]
    table: pd.DataFrame
    loops: LoopComparison | None = None
    uncertainty: UncertainComparison | None = None
    named_loops: tuple[LoopName, ...] = ()
    observed: pd.DataFrame | None = None

    @property
    def reference(self) -> ScenarioRun:
        """The run every difference is taken against."""
        return self.runs[0]

    @property
    def year(self) -> int:
        """The year rankings and the equal-cost reading use: the last table year."""
        return int(self.table["year"].max())

    def totals(self) -> pd.DataFrame:
        """All-cluster sums of the outcomes in :data:`TOTALLED` (never of fractions):
        ``scenario``, ``outcome``, ``year``, ``value``, ``difference``, one row per
        combination, in the table's order."""
        table = self.table[self.table["outcome"].isin(TOTALLED)]
        summed = table.groupby(["scenario", "outcome", "year"], sort=False)[
            ["value", "difference"]].sum().reset_index()
        return summed[["scenario", "outcome", "year", "value", "difference"]]

    def rankings(self) -> pd.DataFrame:
        """Every scenario (the reference too) ranked by its difference from the reference in
        :attr:`year`, per outcome of :data:`BETTER` and cluster, and over all clusters for
        those also totalled: ``outcome``, ``cluster``, ``scenario``, ``year``, ``difference``,
        ``rank`` (1 the best; ties share the better rank)."""
        year = self.year
        per_cluster = self.table[(self.table["year"] == year)
                                 & self.table["outcome"].isin(BETTER)]
        totals = self.totals()
        totals = totals[(totals["year"] == year) & totals["outcome"].isin(BETTER)]
        frames = [per_cluster[["outcome", "cluster", "scenario", "difference"]],
                  totals.assign(cluster=TOTAL)[["outcome", "cluster", "scenario",
                                                "difference"]]]
        ranked = pd.concat(frames, ignore_index=True)
        if ranked.empty:
            return pd.DataFrame(columns=["outcome", "cluster", "scenario", "year",
                                         "difference", "rank"])
        better = ranked["outcome"].map(BETTER)
        ranked["rank"] = (-(better * ranked["difference"])).groupby(
            [ranked["outcome"], ranked["cluster"]], sort=False).rank(method="min").astype(int)
        ranked.insert(3, "year", year)
        return ranked.reset_index(drop=True)

    def disagreements(self) -> pd.DataFrame:
        """Where rankings by different outcomes disagree: per scenario and cluster (or all
        clusters) ranked by two or more outcomes whose ranks differ, its best and worst rank
        and by what, largest gap first: ``scenario``, ``cluster``, ``year``, ``best_outcome``,
        ``best_rank``, ``worst_outcome``, ``worst_rank``, ``ranked`` (how many scenarios) and
        ``statement``."""
        return disagreements(self.rankings())

    def equal_cost(self) -> pd.DataFrame:
        """Each scenario's gains per unit of lever cost, per cluster and over all clusters:
        ``added_lever_cost`` (Cumulative Lever Cost in :attr:`year` minus the reference's,
        USD100M), ``cumulative_profit_change`` and ``cumulative_value_added_change`` (the
        difference in Total Profit and Value Added from the reference, summed over the run up
        to :attr:`year` by the trapezoidal rule over the saved times, USD100M), and
        ``profit_per_cost``, ``value_added_per_cost``: those changes per unit of added cost
        (USD per USD, so per 100 million USD in 100 million USD); not a number where the added
        cost is not positive. Empty unless the runs hold the three outcomes."""
        needed = ("Total Profit", "Value Added", "Cumulative Lever Cost")
        if not set(needed) <= set(self.outcomes):
            return pd.DataFrame(columns=EQUAL_COST_COLUMNS)
        year = self.year
        reference = self.reference.frame
        rows = []
        for run in self.runs[1:]:
            gains = {cluster: [_cumulative_change(run.frame, reference, outcome, cluster, year)
                               for outcome in needed[:2]] for cluster in self.clusters}
            costs = {cluster: float(run.frame.at[float(year), f"{needed[2]}[{cluster}]"]
                                    - reference.at[float(year), f"{needed[2]}[{cluster}]"])
                     for cluster in self.clusters}
            gains[TOTAL] = [sum(gains[c][i] for c in self.clusters) for i in (0, 1)]
            costs[TOTAL] = sum(costs[c] for c in self.clusters)
            for cluster in (*self.clusters, TOTAL):
                profit, value_added = gains[cluster]
                cost = costs[cluster]
                rows.append([run.scenario.name, cluster, year, cost, profit, value_added,
                             per_cost(profit, cost), per_cost(value_added, cost)])
        return pd.DataFrame(rows, columns=EQUAL_COST_COLUMNS)


def per_cost(gain: float, cost: float) -> float:
    """``gain / cost``, or not a number when ``cost`` is not positive (a scenario that costs
    nothing more than the reference has no gain per unit of cost)."""
    return gain / cost if cost > 0 else float("nan")


def _cumulative_change(frame: pd.DataFrame, reference: pd.DataFrame, outcome: str,
                       cluster: str, year: int) -> float:
    column = f"{outcome}[{cluster}]"
    difference = (frame[column] - reference[column]).loc[:float(year)]
    return float(np.trapezoid(difference.to_numpy(dtype=float),
                              difference.index.to_numpy(dtype=float)))


def disagreements(rankings: pd.DataFrame) -> pd.DataFrame:
    """See :meth:`Comparison.disagreements`; ``rankings`` as :meth:`Comparison.rankings`
    gives them."""
    columns = ["scenario", "cluster", "year", "best_outcome", "best_rank", "worst_outcome",
               "worst_rank", "ranked", "statement"]
    rows = []
    sizes = rankings.groupby(["outcome", "cluster"], sort=False)["scenario"].count()
    for (scenario, cluster), group in rankings.groupby(["scenario", "cluster"], sort=False):
        if group["outcome"].nunique() < 2:
            continue
        best = group.loc[group["rank"].idxmin()]
        worst = group.loc[group["rank"].idxmax()]
        if best["rank"] == worst["rank"]:
            continue
        ranked = int(sizes[(best["outcome"], cluster)])
        place = "over all clusters" if cluster == TOTAL else f"in {cluster}"
        rows.append([scenario, cluster, int(best["year"]), best["outcome"], int(best["rank"]),
                     worst["outcome"], int(worst["rank"]), ranked,
                     f"{scenario} ranks {_ordinal(int(best['rank']))} of {ranked} by "
                     f"{best['outcome']} but {_ordinal(int(worst['rank']))} by "
                     f"{worst['outcome']} {place} ({int(best['year'])})"])
    table = pd.DataFrame(rows, columns=columns)
    gap = table["worst_rank"] - table["best_rank"]
    return table.iloc[np.argsort(-gap.to_numpy(), kind="stable")].reset_index(drop=True)


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(
        number % 10, "th")
    return f"{number}{suffix}"
