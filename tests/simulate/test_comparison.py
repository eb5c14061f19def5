"""Comparison tables against the reference scenario."""

from __future__ import annotations

import pytest

from sd_runner.simulate.comparison import TABLE_YEARS, compare_runs

pytestmark = pytest.mark.slow


def test_table_has_values_and_differences_from_the_reference(bundled_runs, model):
    clusters = model.subscripts["Cluster"]
    runs = [bundled_runs["baseline"], bundled_runs["own-brand"]]
    comparison = compare_runs(runs, clusters, ("Margin", "Own Brand Share"))
    table = comparison.table
    assert comparison.reference.scenario.name == "baseline"
    assert len(table) == 2 * 2 * len(clusters) * len(TABLE_YEARS)
    assert (table.loc[table.scenario == "baseline", "difference"] == 0).all()
    row = table[(table.scenario == "own-brand") & (table.outcome == "Own Brand Share")
                & (table.cluster == "Apparel") & (table.year == 2035)]
    expected = (runs[1].series("Own Brand Share", "Apparel")[2035.0]
                - runs[0].series("Own Brand Share", "Apparel")[2035.0])
    assert row["difference"].item() == pytest.approx(expected)
    assert expected > 0
