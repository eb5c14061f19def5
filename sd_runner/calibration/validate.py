"""Compare a fitted model with observations it may never have seen."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner.calibration.calibrate import fit_rows
from sd_runner.calibration.config import CalibrationConfig
from sd_runner.calibration.problem import CalibrationProblem, Skipped
from sd_runner.calibration.statistics import statistics_table
from sd_runner.engine.fast import FastModel
from sd_runner.observations import Observation

#: Columns of each row in the JSON output, in order.
ROW_FIELDS = ("series", "cluster", "period_start", "period_end", "observed", "simulated",
              "percent_error", "unit", "basis", "line", "source")


@dataclass(frozen=True)
class Validation:
    """Observed against simulated for every comparable row, with statistics."""

    rows: pd.DataFrame
    statistics: pd.DataFrame
    skipped: list[Skipped]

    def as_json(self) -> dict:
        """``{"rows": [...], "stats": {series: {...}, "overall": {...}}, "skipped": [...]}``
        with NaN written as null."""
        rows = [{k: _plain(r[k]) for k in ROW_FIELDS} for r in self.rows.to_dict("records")]
        stats = {r["series"]: {k: _plain(v) for k, v in r.items() if k != "series"}
                 for r in self.statistics.to_dict("records")}
        skipped = [{"line": s.observation.line, "row": s.observation.label(),
                    "reason": s.reason} for s in self.skipped]
        return {"rows": rows, "stats": stats, "skipped": skipped}


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def validate(model: FastModel, config: CalibrationConfig,
             observations: list[Observation]) -> Validation:
    """Simulate ``model`` as it is (its fitted values) and compare it with every row that
    ``config`` maps onto the model."""
    problem = CalibrationProblem(model, config, observations,
                                 final_time=model.control("FINAL TIME"))
    rows = fit_rows(problem, problem.current)
    return Validation(rows=rows, statistics=statistics_table(rows), skipped=problem.skipped)
