"""Compare a fitted model with observations it may never have seen: every row accounted for."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner.calibration.calibrate import fit_rows, row_accounting
from sd_runner.calibration.config import CalibrationConfig
from sd_runner.calibration.problem import CalibrationProblem, Skipped
from sd_runner.calibration.statistics import statistics_table
from sd_runner.engine.fast import FastModel
from sd_runner.inputs.observations import Observation

#: Columns of each compared row in the JSON output, in order.
ROW_FIELDS = ("series", "cluster", "region", "period_start", "period_end", "observed",
              "simulated", "percent_error", "unit", "basis", "status", "file", "line",
              "source")

#: Columns of the text table of every row.
TEXT_COLUMNS = ("file", "line", "series", "cluster", "region", "period_start", "period_end",
                "value", "simulated", "percent_error", "status", "reason")


@dataclass(frozen=True)
class Validation:
    """Every row of the files (``accounting``), the compared rows' detail (``rows``) and
    their statistics."""

    rows: pd.DataFrame
    statistics: pd.DataFrame
    skipped: list[Skipped]
    accounting: pd.DataFrame

    def as_json(self) -> dict:
        """``{"rows": [...], "stats": {series: {...}, "overall": {...}}, "skipped": [...],
        "accounting": [...]}`` with NaN written as null: ``accounting`` has every row of
        every file, ``rows`` the compared ones, ``skipped`` the others."""
        rows = [{k: _plain(r[k]) for k in ROW_FIELDS} for r in self.rows.to_dict("records")]
        stats = {r["series"]: {k: _plain(v) for k, v in r.items() if k != "series"}
                 for r in self.statistics.to_dict("records")}
        skipped = [{"file": s.observation.place.rpartition(":")[0], "line": s.observation.line,
                    "row": s.observation.label(), "status": s.status, "reason": s.reason}
                   for s in self.skipped]
        accounting = [{k: _plain(v) for k, v in r.items()}
                      for r in self.accounting.to_dict("records")]
        return {"rows": rows, "stats": stats, "skipped": skipped, "accounting": accounting}

    def accounting_csv(self) -> str:
        """The accounting of every row as CSV text."""
        buffer = io.StringIO()
        self.accounting.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()

    def accounting_text(self) -> str:
        """The accounting of every row as a plain-text table."""
        table = self.accounting[list(TEXT_COLUMNS)].copy()
        for column in ("simulated", "percent_error"):
            table[column] = [("" if not math.isfinite(v) else f"{v:.4g}") for v in table[column]]
        return table.to_string(index=False)


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def validate(model: FastModel, config: CalibrationConfig,
             observations: list[Observation]) -> Validation:
    """Simulate ``model`` as it is (its fitted values) to its FINAL TIME and compare it with
    every row that ``config`` maps onto the model; account for the others."""
    problem = CalibrationProblem(model, config, observations,
                                 final_time=model.control("FINAL TIME"))
    rows = fit_rows(problem, problem.current)
    return Validation(rows=rows, statistics=statistics_table(rows), skipped=problem.skipped,
                      accounting=row_accounting(problem, rows))
