"""The observations of calibrated variables as points a time chart can draw beside the runs.

A row is drawn only where the calibration compares it with a variable the chart shows, for
one of the model's clusters and regions, over a whole year or more: a ``ratio`` row as the
variable's average over its period, a ``flow`` row as the average rate over it (the total
over the period divided by its length), each at the period's middle. Shorter flow rows need
the seasonal shares the calibration applies and growth rows compare growth, not levels: those
are left out rather than drawn on a scale they do not share. Every value is a data row's,
rescaled to the model's unit; nothing is interpolated or filled.
"""

from __future__ import annotations

import pandas as pd

from sd_runner import resources
from sd_runner.calibration.config import load_config
from sd_runner.inputs.observations import load_observation_files

COLUMNS = ["outcome", "cluster", "year", "start", "end", "value", "row_value", "row_unit",
           "source", "file", "line"]


def observed_points(variables, config_path=None, observation_paths=None) -> pd.DataFrame:
    """Observed points of ``variables`` (Vensim names subscripted by Cluster), one row each:
    ``outcome``, ``cluster``, ``year`` (the period's middle), ``start``, ``end``, ``value``
    (in the model's unit), the row's own value and unit, its source, file and line."""
    rows = load_observation_files(observation_paths or resources.observation_paths())
    config = load_config(config_path or resources.calibration_config_path(), rows)
    wanted = set(variables)
    points = []
    for series in config.series.values():
        if series.role == "prior" or series.variable not in wanted \
                or series.kind not in ("flow", "ratio"):
            continue
        regions = config.regions_of(series)
        for row in rows:
            if row.series != series.name or row.region not in regions \
                    or row.cluster not in config.clusters:
                continue
            start, end = row.start_year, row.end_year  # the end day included
            length = end - start
            if length < 0.99:  # shorter than a year: see the module's text
                continue
            value = row.value / series.factor
            if series.kind == "flow":
                value /= length
            points.append([series.variable, config.clusters[row.cluster], (start + end) / 2,
                           start, end, value, row.value, row.unit, row.source, row.file,
                           row.line])
    return pd.DataFrame(points, columns=COLUMNS).sort_values(
        ["outcome", "cluster", "year"], kind="stable", ignore_index=True)
