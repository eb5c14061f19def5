"""Scenario runs and their tidy form."""

from __future__ import annotations

import pytest

from sd_runner import api as runner
from sd_runner.results.outcomes import KEY_OUTCOMES
from sd_runner.simulate.simulation import run_scenario

pytestmark = pytest.mark.slow


def test_wide_frame_has_every_key_outcome_per_cluster_on_half_years(bundled_runs, model):
    frame = bundled_runs["baseline"].frame
    assert frame.index.name == "time"
    assert frame.index[0] == 2003.0 and frame.index[-1] == 2035.0
    assert (frame.index[1:] - frame.index[:-1] == 0.5).all()
    for outcome in KEY_OUTCOMES:
        for cluster in model.subscripts["Cluster"]:
            assert f"{outcome}[{cluster}]" in frame.columns


def test_tidy_is_one_row_per_time_variable_and_element(bundled_runs):
    run = bundled_runs["baseline"]
    tidy = run.tidy()
    assert list(tidy.columns) == ["time", "variable", "element", "value"]
    assert len(tidy) == run.frame.size
    row = tidy[(tidy.variable == "Margin") & (tidy.element == "Apparel") & (tidy.time == 2013.0)]
    assert row["value"].item() == run.series("Margin", "Apparel")[2013.0]
    platform = tidy[tidy.variable == "Professional Market Platform"]
    assert set(platform["element"]) == {""}


def test_initial_values_come_from_the_data_rows_and_the_fit(bundled_runs):
    from sd_runner import resources
    from sd_runner.calibration.fitfile import read_fit

    # The .mdl's own values are the 2003 export rows; runs start from the fitted rates.
    plain = runner.bundled_model("fast", runner.UNCALIBRATED)
    uncalibrated = run_scenario(plain, runner.scenario("baseline", fit=runner.UNCALIBRATED))
    fitted = read_fit(resources.fit_dir())
    run = bundled_runs["baseline"]
    exports_2003 = {"Textile": 63.86, "Apparel": 91.40, "Footwear": 15.34, "Furniture": 7.20}
    for cluster, value in exports_2003.items():
        assert uncalibrated.series("Export Sales", cluster)[2003.0] == pytest.approx(value)
        assert run.series("Export Sales", cluster)[2003.0] == pytest.approx(
            fitted[f"Initial Export Sales[{cluster}]"], rel=1e-12)
