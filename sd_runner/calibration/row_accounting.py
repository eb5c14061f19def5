"""Every observation row accounted for: compared with the model (fitted, or a check), feeding
a prior, or not compared, with the reason.

:func:`decide` settles a row's status from the settings alone (no simulation), so the table
in ``calibration/README.md`` can list every row of every file in ``calibration/data/``:

    python -m sd_runner.calibration.row_accounting calibration/README.md

rewrites the table between the markers ``<!-- rows:start -->`` and ``<!-- rows:end -->``
from the bundled settings and data (``--check`` only says whether it is current).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

from sd_runner.calibration.config import CalibrationConfig, load_config
from sd_runner.errors import InputError
from sd_runner.inputs.observations import Observation, load_observation_files

#: What happens to a row.
FITTED, CHECK, PRIOR, NOT_COMPARED = "fitted", "check", "prior", "not compared"
STATUS_OF_ROLE = {"target": FITTED, "check": CHECK, "prior": PRIOR}

#: How the reason of a row left out for ending after ``final_time`` starts.
AFTER_FINAL_TIME = "ends after final_time"

#: Columns of the accounting table, in order.
COLUMNS = ("file", "line", "series", "cluster", "region", "period_start", "period_end",
           "value", "unit", "status", "reason", "simulated", "error", "percent_error")

START, END = "<!-- rows:start -->", "<!-- rows:end -->"


def decide(row: Observation, config: CalibrationConfig, initial_time: float,
           final_time: float) -> tuple[str, str]:
    """``(status, reason)`` of ``row`` under ``config``, for a run from ``initial_time`` to
    ``final_time``: ``fitted``, ``check`` or ``prior`` (reason empty, or a note), or
    ``not compared`` with the reason.

    Raises
    ------
    InputError
        For a row that would be compared but whose unit is not the series' unit, or whose
        value cannot be compared on a log scale.
    """
    mapping = config.series.get(row.series)
    if mapping is None:
        if row.series in config.uncompared_series:
            return NOT_COMPARED, config.uncompared_series[row.series]
        return NOT_COMPARED, (f"series {row.series} has no model counterpart in the settings "
                              f"(no [series.{row.series}] table)")
    if mapping.role == "prior":
        return PRIOR, f"series {row.series} only feeds priors"
    regions = config.regions_of(mapping)
    if row.region.casefold() not in {r.casefold() for r in regions}:
        whose = ("the model's" if mapping.regions is None
                 else f"those series {row.series} stands for")
        return NOT_COMPARED, f"region {row.region} is outside {whose} ({', '.join(regions)})"
    if row.cluster in config.excluded_clusters:
        return NOT_COMPARED, config.excluded_clusters[row.cluster]
    members = config.aggregates.get(row.cluster)
    if members is not None and mapping.kind != "flow":
        return NOT_COMPARED, (f"an aggregate of a {mapping.kind} cannot be compared: "
                              f"{row.cluster} is {' + '.join(members)}, and a {mapping.kind} "
                              "of a sum is not the sum of its members'")
    if members is None and row.cluster not in config.clusters:
        return NOT_COMPARED, (f"cluster {row.cluster} is neither a model cluster nor an "
                              "aggregate ([clusters], [aggregate_clusters])")
    if row.unit != mapping.unit:
        raise InputError(f"{row.where}: unit {row.unit!r} of {row.series} must be "
                         f"{mapping.unit!r}; convert the value")
    if mapping.scale == "log" and row.value <= 0:
        raise InputError(f"{row.where}: {row.series} value {row.value:g} must be positive, "
                         "since it is compared on a log scale")
    first = row.start_year - (1 if mapping.kind == "growth" else 0)
    if first < initial_time - 1e-9:
        what = "the same period a year earlier" if mapping.kind == "growth" else "the period"
        return NOT_COMPARED, f"{what} starts before the model's INITIAL TIME {initial_time:g}"
    if row.end_year > final_time + 1e-9:
        return NOT_COMPARED, (f"{AFTER_FINAL_TIME} {final_time:g} (simulated "
                              f"{initial_time:g}-{final_time:g})")
    return STATUS_OF_ROLE[mapping.role], ""


def accounting_table(observations: list[Observation], statuses: list[tuple[str, str]],
                     simulated: dict[int, float] | None = None) -> pd.DataFrame:
    """One row per observation, in file order: where it is, what it says, its status and
    reason, and (for compared rows, keyed by position in ``observations``) the simulated
    value, the error and the percent error."""
    simulated = simulated or {}
    records = []
    for i, (row, (status, reason)) in enumerate(zip(observations, statuses, strict=True)):
        value = simulated.get(i, math.nan)
        records.append({
            "file": Path(row.file).name, "line": row.line, "series": row.series,
            "cluster": row.cluster, "region": row.region,
            "period_start": row.start.isoformat(), "period_end": row.end.isoformat(),
            "value": row.value, "unit": row.unit, "status": status, "reason": reason,
            "simulated": value, "error": value - row.value,
            "percent_error": (value / row.value - 1) * 100 if row.value else math.nan,
        })
    return pd.DataFrame.from_records(records, columns=COLUMNS)


def markdown_table(table: pd.DataFrame) -> str:
    """The accounting as a Markdown table (no simulated values: decided from the settings)."""
    lines = ["| Row | Series | Cluster | Region | Period | Value | Unit | Status | Reason |",
             "|---|---|---|---|---|---:|---|---|---|"]
    for r in table.to_dict("records"):
        cells = [f"{r['file']}:{r['line']}", r["series"], r["cluster"], r["region"],
                 f"{r['period_start']}..{r['period_end']}", f"{r['value']:g}", r["unit"],
                 r["status"], r["reason"]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def bundled_table() -> pd.DataFrame:
    """Every row of every bundled observation file, with its status under the bundled
    settings for the fit (``final_time`` of ``[fit]``), decided without simulating."""
    from sd_runner import resources
    from sd_runner.model.mdl_text import read_mdl

    observations = load_observation_files(resources.observation_paths())
    config = load_config(resources.calibration_config_path(), observations)
    initial = next(float(e.expression) for e in read_mdl(resources.model_path())
                   if e.name.upper() == "INITIAL TIME")
    statuses = [decide(row, config, initial, config.final_time) for row in observations]
    return accounting_table(observations, statuses)


def replace_table(text: str, table: str, where: str) -> str:
    """``text`` with what lies between the markers replaced by ``table``."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise InputError(f"{where}: needs one {START} line followed by one {END} line; add "
                         "them where the table goes")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{table}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """``python -m sd_runner.calibration.row_accounting README [--check]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    if len(paths) != 1:
        print("usage: python -m sd_runner.calibration.row_accounting README.md [--check]",
              file=sys.stderr)
        return 2
    path = Path(paths[0])
    try:
        text = path.read_text(encoding="utf-8")
        new = replace_table(text, markdown_table(bundled_table()), str(path))
    except (OSError, InputError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    if check:
        if new != text:
            print(f"{path}: the rows table is stale; rerun without --check", file=sys.stderr)
            return 1
        return 0
    if new != text:
        from sd_runner.outputs.files import write_text

        write_text(path, new, "README")
    return 0


if __name__ == "__main__":
    sys.exit(main())
