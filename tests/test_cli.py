"""The sd-runner command line, through click's CliRunner."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from click.testing import CliRunner

from sd_runner import __version__
from sd_runner.cli import cli


@pytest.fixture
def invoke():
    def call(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return call


def _one_line_error(result, code):
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output


def test_version(invoke):
    result = invoke("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_scenarios_lists_levers_and_bundled_scenarios(invoke, levers):
    result = invoke("scenarios")
    assert result.exit_code == 0
    for lever in levers.values():
        assert lever.id in result.output
        for setting in lever.settings:
            assert setting.variable in result.output
    assert "domestic-value-chain" in result.output and "baseline" in result.output


@pytest.mark.slow
def test_run_writes_a_wide_csv_named_as_vensim_names(invoke, tmp_path, bundled_runs):
    out = tmp_path / "baseline.csv"
    result = invoke("run", "baseline", "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert frame.columns[0] == "time"
    assert frame["time"].iloc[0] == 2003 and frame["time"].iloc[-1] == 2035
    assert "Buyer Dependence[Apparel]" in frame.columns
    assert "Professional Market Platform" in frame.columns
    for outcome in ("Total Profit", "Value Added", "Own Brand Share", "Lever Cost",
                    "Firm Lever Cost", "Government Lever Cost", "Cumulative Lever Cost"):
        assert f"{outcome}[Apparel]" in frame.columns
    expected = bundled_runs["baseline"].frame["Margin[Textile]"].to_numpy()
    assert frame["Margin[Textile]"].to_numpy() == pytest.approx(expected, rel=1e-12)
    # Nothing left behind but the CSV and its manifest.
    assert sorted(os.listdir(tmp_path)) == ["baseline.csv", "baseline.manifest.json"]


@pytest.mark.slow
def test_compare_writes_report_and_csvs_with_the_baseline_as_reference(invoke, tmp_path,
                                                                       write_file):
    scenario = write_file('name = "half-brand"\n[levers.own-brand]\nlevel = 0.5\n')
    report, out = tmp_path / "report.html", tmp_path / "results"
    result = invoke("compare", str(scenario), "--report", str(report), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(out)) == [
        "baseline.csv", "equal_cost.csv", "half-brand.csv", "manifest.json",
        "outcome_totals.csv", "outcomes.csv", "ranking_disagreements.csv", "rankings.csv"]
    table = pd.read_csv(out / "outcomes.csv")
    assert set(table["scenario"]) == {"baseline", "half-brand"}
    assert (table.loc[table["scenario"] == "baseline", "difference"] == 0).all()
    assert {"Total Profit", "Value Added", "Cumulative Lever Cost"} <= set(table["outcome"])
    cost = pd.read_csv(out / "equal_cost.csv")
    half = cost[(cost["scenario"] == "half-brand") & (cost["cluster"] == "All clusters")]
    assert half["added_lever_cost"].item() > 0
    assert half["profit_per_cost"].item() == pytest.approx(
        half["cumulative_profit_change"].item() / half["added_lever_cost"].item())
    html = report.read_text(encoding="utf-8")
    assert html.count("half-brand") > 1 and "<html" in html.lower()
    assert 'id="rankings"' in html


BAD_INVOCATIONS = [
    (("run",), 2, None),
    (("run", "no-such-scenario"), 2, "unknown scenario"),
    (("run", "missing.toml"), 2, "not found"),
    (("compare", "baseline", "nope"), 2, "unknown scenario"),
    (("frobnicate",), 2, None),
    (("run", "baseline", "--bogus"), 2, None),
]


@pytest.mark.parametrize("args, code, text", BAD_INVOCATIONS)
def test_bad_invocations_exit_2(invoke, args, code, text):
    result = invoke(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    if text:
        _one_line_error(result, code)
        assert text in result.output


def test_bad_scenario_file_is_one_line_exit_2(invoke, write_file):
    path = write_file('[levers.own-brand]\nlevel = "lots"\n')
    result = invoke("run", str(path))
    _one_line_error(result, 2)
    assert f"{path}:2:" in result.output and "level must be a number" in result.output


def test_unwritable_outputs_are_refused_before_running(invoke, tmp_path):
    result = invoke("run", "baseline", "--out", str(tmp_path / "no" / "such" / "dir.csv"))
    _one_line_error(result, 2)
    assert "does not exist" in result.output
    result = invoke("run", "baseline", "--out", str(tmp_path))
    assert result.exit_code == 2
    afile = tmp_path / "file"
    afile.write_text("x")
    result = invoke("compare", "baseline", "--out", str(afile))
    _one_line_error(result, 2)
    assert "is a file" in result.output
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        result = invoke("compare", "baseline", "--report", str(locked / "r.html"))
        _one_line_error(result, 2)
        assert "not writable" in result.output
    finally:
        locked.chmod(0o700)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "locked"]


def test_engine_option_is_offered_and_checked(invoke):
    assert "--engine" in invoke("run", "--help").output
    result = invoke("run", "baseline", "--engine", "vensim")
    assert result.exit_code == 2
