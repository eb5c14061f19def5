"""Observed points drawn on the comparison's time charts: data rows, rescaled, never made up."""

from __future__ import annotations

import csv

import pytest

from sd_runner import resources
from sd_runner.calibration.observed import observed_points


def test_each_point_is_a_whole_year_row_of_a_compared_series_at_its_middle():
    points = observed_points(["Export Sales", "Margin"])
    assert set(points["outcome"]) == {"Export Sales"}  # the calibration compares no margin
    assert set(points["cluster"]) <= {"Textile", "Apparel", "Footwear", "Furniture"}
    with open(resources.observations_path(), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for point in points.itertuples():
        row = rows[point.line - 2]  # the header is line 1
        assert float(row["value"]) == point.row_value and row["series"] == "exports"
        assert point.end - point.start == pytest.approx(1.0, abs=0.01)
        assert point.year == pytest.approx((point.start + point.end) / 2)
        # A flow over one year: its average rate is its total, in the model's unit.
        assert point.value == pytest.approx(point.row_value / (point.end - point.start))
    whole_years = [r for r in rows if r["series"] == "exports"
                   and r["period_start"].endswith("-01-01") and r["period_end"].endswith("-12-31")
                   and r["period_start"][:4] == r["period_end"][:4]
                   and r["cluster"] in {"textile", "apparel", "footwear", "furniture"}]
    assert len(points) == len(whole_years)


def test_the_comparison_draws_them_on_the_export_chart(model):
    from sd_runner import api
    from sd_runner.reports.comparison import _outcome_figure
    from sd_runner.reports.html_parts import scenario_colours
    from sd_runner.reports.outcome_info import OUTCOMES

    comparison = api.compare(["own-brand"])
    figure = _outcome_figure(comparison, "Export Sales", OUTCOMES["Export Sales"],
                             scenario_colours(len(comparison.runs)))
    observed = [t for t in figure.data if t.legendgroup == "observed"]
    expected = comparison.observed[comparison.observed["outcome"] == "Export Sales"]
    assert sum(len(t.x) for t in observed) == len(expected) > 0
    assert [t for t in _outcome_figure(comparison, "Margin", OUTCOMES["Margin"],
                                       scenario_colours(2)).data
            if t.legendgroup == "observed"] == []
