"""Compare scenarios on the key outcomes, against a reference scenario."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sd_runner.loop_comparison import LoopComparison
from sd_runner.simulation import KEY_OUTCOMES, ScenarioRun
from sd_runner.uncertain_comparison import UncertainComparison

#: Years shown in the outcome table.
TABLE_YEARS = (2013, 2025, 2035)


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
    """

    runs: tuple[ScenarioRun, ...]
    clusters: tuple[str, ...]
    outcomes: tuple[str, ...]
    table: pd.DataFrame
    loops: LoopComparison | None = None
    uncertainty: UncertainComparison | None = None

    @property
    def reference(self) -> ScenarioRun:
        """The run every difference is taken against."""
        return self.runs[0]


def compare_runs(
    runs: list[ScenarioRun],
    clusters: list[str],
    outcomes: tuple[str, ...] = KEY_OUTCOMES,
    years: tuple[int, ...] = TABLE_YEARS,
) -> Comparison:
    """Tabulate ``outcomes`` in ``years`` for each run, with differences from ``runs[0]``."""
    reference = runs[0].frame
    rows = []
    for run in runs:
        for outcome in outcomes:
            for cluster in clusters:
                column = f"{outcome}[{cluster}]"
                for year in years:
                    value = float(run.frame.at[float(year), column])
                    rows.append({
                        "scenario": run.scenario.name,
                        "outcome": outcome,
                        "cluster": cluster,
                        "year": year,
                        "value": value,
                        "difference": value - float(reference.at[float(year), column]),
                    })
    return Comparison(
        runs=tuple(runs),
        clusters=tuple(clusters),
        outcomes=tuple(outcomes),
        table=pd.DataFrame(rows),
    )
