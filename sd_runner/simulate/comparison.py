"""Compare scenarios on the key outcomes, against a reference scenario: the table of values
and differences per cluster that :class:`~sd_runner.results.runs.Comparison` reads."""

from __future__ import annotations

import pandas as pd

from sd_runner.results.outcomes import KEY_OUTCOMES
from sd_runner.results.runs import Comparison, ScenarioRun

#: Years shown in the outcome table.
TABLE_YEARS = (2013, 2025, 2035)


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

