"""Every output carries a manifest, and the same command twice writes the same bytes."""

from __future__ import annotations

import json
import tomllib

from click.testing import CliRunner

from sd_runner import __version__
from sd_runner import api as runner
from sd_runner.cli import cli


def _invoke(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_a_run_writes_its_manifest_beside_the_csv(tmp_path):
    out = tmp_path / "brand.csv"
    _invoke("run", "own-brand", "--out", str(out))
    manifest = json.loads((tmp_path / "brand.manifest.json").read_text(encoding="utf-8"))
    model = runner.bundled_model("fast")
    assert manifest["command"] == "run"
    assert manifest["model"] == {"file": model.path.name, "sha256": model.file_sha256}
    fit = tomllib.loads((runner.resources.fit_dir() / "parameters.toml").read_text("utf-8"))
    assert model.file_sha256 == fit["fit"]["model_sha256"]  # one hash names the model
    assert manifest["parameters"]["source"] == "calibrated"
    fitted = manifest["parameters"]["values"]
    # The 36 fitted values, with every element of a partly fitted variable (Global Shock
    # Exposure, Reference R and D Intensity, Export Unit Value 2003: 5 more) as runs apply them.
    assert len(fit["parameters"]) == 36 and len(fitted) == 41
    assert "Reference Export Growth Rate[Apparel]" in fitted
    (scenario,) = manifest["scenarios"]
    assert scenario["name"] == "own-brand" and scenario["levers"][0]["lever"] == "own-brand"
    assert manifest["versions"]["sd-runner"] == __version__
    assert manifest["settings"]["engine"] == "fast"


def test_the_same_command_twice_writes_byte_identical_files(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    for folder in (first, second):
        _invoke("compare", "patent-pool", "--uncertainty", "20", "--seed", "7",
                "--out", str(folder))
    names = sorted(p.name for p in first.iterdir())
    assert "manifest.json" in names and "uncertainty_effects.csv" in names
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:  # the output folder is not in the manifest: nothing differs
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seeds"] == {"parameter sets": 7}
    assert [s["name"] for s in manifest["scenarios"]] == ["baseline", "patent-pool"]


def test_a_sensitivity_csv_carries_its_manifest(tmp_path):
    out = tmp_path / "indices.csv"
    _invoke("sensitivity", "--method", "morris", "--n", "2", "--outcome", "Margin[Apparel]",
            "--seed", "11", "--out", str(out))
    manifest = json.loads((tmp_path / "indices.manifest.json").read_text(encoding="utf-8"))
    assert manifest["seeds"] == {"sample and bootstrap": 11}
    assert manifest["settings"]["method"] == "morris"


def test_reports_end_with_their_manifest(tmp_path):
    report = tmp_path / "report.html"
    _invoke("compare", "own-brand", "--report", str(report))
    html = report.read_text(encoding="utf-8")
    section = html[html.index('<section id="manifest">'):]
    assert runner.bundled_model("fast").file_sha256 in section
    assert "&quot;own-brand&quot;" in section  # the scenario, escaped as HTML text
