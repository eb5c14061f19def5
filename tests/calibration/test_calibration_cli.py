"""`sd-runner calibrate` and `sd-runner validate`, through click's CliRunner."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import QUICK, SHARED

from sd_runner import api as runner
from sd_runner import resources
from sd_runner.calibration.calibrate import line_list
from sd_runner.calibration.config import load_config
from sd_runner.calibration.problem import CalibrationProblem
from sd_runner.cli import cli
from sd_runner.errors import InputError
from sd_runner.inputs.observations import load_observations


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, code=2):
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    text = resources.calibration_config_path().read_text(encoding="utf-8")
    for old, new in QUICK.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path_factory.mktemp("config") / "quick.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def quick_fit(quick_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "fit"
    result = invoke("calibrate", "--config", quick_config, "--out", out)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_calibrate_writes_parameters_intervals_sample_and_report(quick_fit):
    out, printed = quick_fit
    assert sorted(os.listdir(out)) == sorted([
        "parameters.toml", "parameters.cin", "identifiability.csv", "correlation.csv",
        "rows.csv", "row_accounting.csv", "statistics.csv", "sample.csv", "report.html",
        "manifest.json"])
    fitted = tomllib.loads((out / "parameters.toml").read_text(encoding="utf-8"))
    assert fitted["fit"]["method"] == "least-squares" and fitted["fit"]["seed"] == 2003
    assert len(fitted["parameters"]) == 36
    table = pd.read_csv(out / "identifiability.csv")
    assert list(table["parameter"]) == list(fitted["parameters"])
    assert (table["profile_95_lower"] <= table["estimate"]).all()
    assert (table["estimate"] <= table["profile_95_upper"]).all()
    assert pd.read_csv(out / "sample.csv").shape == (100, 36)
    assert "chi-square" in printed and "Fit statistics" in printed
    cin = (out / "parameters.cin").read_text(encoding="utf-8").splitlines()
    assert cin[0].startswith("Initial Export Sales[Textile] = ")


def test_the_same_command_twice_writes_the_same_files(quick_config, quick_fit, tmp_path):
    first, _ = quick_fit
    result = invoke("calibrate", "--config", quick_config, "--out", tmp_path / "again")
    assert result.exit_code == 0, result.output
    for name in os.listdir(first):
        assert (first / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


def test_runs_use_a_fit_given_on_the_command_line(quick_fit, tmp_path):
    out, _ = quick_fit
    fitted = tomllib.loads((out / "parameters.toml").read_text(encoding="utf-8"))
    csv = tmp_path / "baseline.csv"
    result = invoke("run", "baseline", "--fit", out, "--out", csv)
    assert result.exit_code == 0, result.output
    first = pd.read_csv(csv).iloc[0]
    assert first["Export Sales[Textile]"] == pytest.approx(
        fitted["parameters"]["Initial Export Sales[Textile]"], rel=1e-12)
    plain = tmp_path / "plain.csv"
    assert invoke("run", "baseline", "--uncalibrated", "--out", plain).exit_code == 0
    assert pd.read_csv(plain).iloc[0]["Export Sales[Textile]"] == pytest.approx(63.86)


@pytest.mark.slow
def test_calibrate_with_differential_evolution_reaches_the_same_optimum(quick_config,
                                                                         quick_fit, tmp_path):
    out, _ = quick_fit
    result = invoke("calibrate", "--config", quick_config, "--method",
                    "differential-evolution", "--seed", 7, "--out", tmp_path / "de")
    assert result.exit_code == 0, result.output
    least = tomllib.loads((out / "parameters.toml").read_text(encoding="utf-8"))["fit"]
    evolved = tomllib.loads((tmp_path / "de" / "parameters.toml").read_text(encoding="utf-8"))
    assert evolved["fit"]["method"] == "differential-evolution"
    assert evolved["fit"]["seed"] == 7
    assert evolved["fit"]["chi_square"] == pytest.approx(least["chi_square"], rel=1e-6)


@pytest.mark.parametrize("args, expected", [
    (("--method", "simplex"), "--method 'simplex' is not an optimiser"),
    (("--seed", "-3"), "--seed -3: give a whole number from 0 to 4294967295"),
    (("--data", "missing.csv"), "missing.csv: observation file not found"),
    (("--config", "missing.toml"), "missing.toml: calibration settings file not found"),
])
def test_bad_calibrate_options_fail_in_one_line_and_write_nothing(tmp_path, args, expected):
    out = tmp_path / "fit"
    result = invoke("calibrate", *args, "--out", out)
    assert expected in one_line_error(result)
    assert not out.exists()


def test_calibrate_refuses_an_unwritable_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert "is a file; give a folder" in one_line_error(invoke("calibrate", "--out", blocker))


def test_validate_json_has_rows_and_stats(tmp_path):
    result = invoke("validate", "--data", resources.observations_path(), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["rows"]) == 34
    for row in data["rows"]:
        assert {"series", "cluster", "period_start", "period_end", "observed",
                "simulated"} <= set(row)
    assert {"exports", "export_delivery_share", "new_product_rate", "profit_tax_rate",
            "overall"} <= set(data["stats"])
    assert data["stats"]["exports"]["mape_percent"] < 10
    reasons = {s["reason"] for s in data["skipped"]}
    assert any("four clusters" in r for r in reasons)


@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared is not beside the project")
def test_validate_reads_the_original_collection(tmp_path):
    result = invoke("validate", "--data", SHARED / "data" / "zhejiang_observations.csv")
    assert result.exit_code == 0, result.output
    assert "exports" in result.output and "overall" in result.output


def test_validate_compares_rows_after_the_fitting_period(tmp_path):
    later = tmp_path / "later.csv"
    later.write_text(
        "series,cluster,period_start,period_end,value,unit,basis,source\n"
        "exports,textile,2015-01-01,2015-12-31,400,100 million USD,reported,test\n"
        "exports,apparel,2016-01-01,2016-08-31,250,100 million USD,reported,test\n",
        encoding="utf-8")
    data = json.loads(invoke("validate", "--data", later, "--json").output)
    assert [r["period_end"] for r in data["rows"]] == ["2015-12-31", "2016-08-31"]
    assert all(r["simulated"] > 0 for r in data["rows"])


def test_validate_rejects_bad_rows_with_the_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("series,cluster,period_start,period_end,value,unit,basis,source\n"
                   "exports,textile,2015-01-01,2015-12-31,400,100 million USD,reported,t\n"
                   "exports,textile,2016-01-01,2016-12-31,400,USD,reported,t\n",
                   encoding="utf-8")
    message = one_line_error(invoke("validate", "--data", bad))
    assert f"{bad}:3:" in message and "unit 'USD'" in message


def test_validate_lists_every_row_of_several_files(tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text("series,cluster,region,period_start,period_end,value,unit,basis,source\n"
                     "exports,silk,Zhejiang,2015-01-01,2015-12-31,4,100 million USD,reported,t\n"
                     "exports,textile,Zhejiang,2015-01-01,2015-12-31,400,100 million USD,"
                     "reported,t\n", encoding="utf-8")
    out = tmp_path / "accounting.csv"
    result = invoke("validate", "--data", "zhejiang_observations", "--data",
                    "more_observations", "--data", extra, "--json", "--out", out)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    files = [*resources.observation_paths(), extra]
    assert len(data["accounting"]) == sum(len(load_observations(p)) for p in files)
    assert [(r["file"], r["line"]) for r in data["accounting"]][-2:] == [
        ("extra.csv", 2), ("extra.csv", 3)]
    silk, textile = data["accounting"][-2:]
    assert silk["status"] == "not compared" and "silk" in silk["reason"]
    assert silk["simulated"] is None
    assert textile["status"] == "fitted" and textile["simulated"] > 0 and textile["error"]
    assert all(r["reason"] for r in data["accounting"] if r["status"] == "not compared")
    written = pd.read_csv(out, keep_default_na=False)
    assert len(written) == len(data["accounting"])
    text = invoke("validate", "--data", extra).output
    assert "not compared" in text and "cluster silk is neither" in text
    twice = one_line_error(invoke("validate", "--data", extra, "--data", extra))
    assert "given twice" in twice


def test_a_fit_from_the_bundled_data_records_its_hash_and_names(quick_config, quick_fit):
    # The bundled data is named by its bundled name, not a path of this machine, and hashed.
    import hashlib

    out, _ = quick_fit
    fitted = tomllib.loads((out / "parameters.toml").read_text(encoding="utf-8"))
    assert fitted["fit"]["data_sha256"] == [hashlib.sha256(p.read_bytes()).hexdigest()
                                            for p in resources.observation_paths()]
    settings = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["settings"]
    resolved = {k: settings[k] for k in ("config_path", "data_path", "method", "seed")}
    assert resolved == {"config_path": str(quick_config),
                        "data_path": ["zhejiang_observations", "more_observations"],
                        "method": "least-squares", "seed": 2003}
    accounting = pd.read_csv(out / "row_accounting.csv", keep_default_na=False)
    assert len(accounting) == sum(len(load_observations(p))
                                  for p in resources.observation_paths())
    assert set(accounting["status"]) == {"fitted", "prior", "not compared"}


# ------------------------------------------------- settings the fit cannot honour, refused up front
def _settings(tmp_path, old, new):
    text = resources.calibration_config_path().read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    key = new.split("=")[0].strip()
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith(f"{key} ="))
    return path, f"{path}:{line}: {key}"


#: (class, settings change, what the one-line error adds to "c.toml:LINE: key").
REFUSED_SETTINGS = [
    ("sample larger than the draws kept", ("sample_size = 1000", "sample_size = 10000000"),
     "draws the MCMC keeps ((mcmc_steps - mcmc_burn) // mcmc_thin * mcmc_walkers)"),
    ("final_time after FINAL TIME", ("final_time = 2014", "final_time = 2100"),
     "at most FINAL TIME 2035"),
    ("final_time at INITIAL TIME", ("final_time = 2014", "final_time = 2003"),
     "must be after INITIAL TIME 2003"),
    ("final_time before every row ends", ("final_time = 2014", "final_time = 2003.25"),
     "leaves no observation row to compare"),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in REFUSED_SETTINGS],
                         ids=[name for name, _, _ in REFUSED_SETTINGS])
def test_settings_the_fit_cannot_honour_are_refused_before_it_starts(tmp_path, change,
                                                                     expected, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the fit started")

    monkeypatch.setattr("sd_runner.calibration.calibrate.fit", never)
    path, where = _settings(tmp_path, *change)
    out = tmp_path / "fit"
    message = one_line_error(invoke("calibrate", "--config", path, "--out", out))
    assert f"Error: {where}" in message and expected in message
    assert not out.exists()


def test_rows_after_final_time_are_named_before_the_fit_starts(tmp_path, monkeypatch):
    def stop(*args, **kwargs):
        raise InputError("stopped where the fit starts")

    monkeypatch.setattr("sd_runner.calibration.calibrate.fit", stop)
    path, _ = _settings(tmp_path, "final_time = 2014", "final_time = 2010")
    observations = [row for file in resources.observation_paths()
                    for row in load_observations(file)]
    compared = CalibrationProblem(runner.bundled_model("fast", runner.UNCALIBRATED),
                                  load_config(resources.calibration_config_path(), observations),
                                  observations).targets  # with final_time 2014: every row
    late = [t.observation for t in compared if t.observation.end_year > 2010]
    result = invoke("calibrate", "--config", path, "--out", tmp_path / "fit",
                    "--data", "zhejiang_observations", "--data", "more_observations")
    notice, others, error = [line for line in result.output.splitlines() if line.strip()]
    by_file = {}
    for row in late:
        by_file.setdefault(Path(row.file).name, []).append(row.line)
    assert notice == (f"{len(late)} rows after final_time 2010 are not compared ("
                      + "; ".join(f"{name} lines {line_list(lines)}"
                                  for name, lines in by_file.items()) + ")")
    assert others.startswith("more rows are not compared", others.index(" ") + 1), others
    assert "zhejiang_observations.csv lines 24, 29, 34; more_observations.csv lines" in others
    assert error == "Error: stopped where the fit starts" and result.exit_code == 2
