"""Loading the model: translation cache, metadata, and what the .mdl must declare."""

from __future__ import annotations

import re

import pytest
from toy_models import TINY

from sd_runner.errors import InputError, RunError
from sd_runner.model import loading as model_module
from sd_runner.model.loading import SDModel
from sd_runner.model.mdl_text import read_mdl, stock_flows

REQUIRED_STOCKS = ["R and D Capital", "Brand Equity", "Patent Pool Stock", "Asset Specificity",
                   "Buyer Dependence"]



def test_required_stocks_and_outcomes_exist_per_cluster(model):
    for name in [*REQUIRED_STOCKS, "Margin", "Export Sales"]:
        assert model.variable(name).subscripts == ("Cluster",), name
    for name in REQUIRED_STOCKS:
        assert model.variable(name).kind == "Stateful", name
    assert model.subscripts["Cluster"] == ["Textile", "Apparel", "Footwear", "Furniture"]
    assert model.variable("Export Sales").units == "USD100M/Year"
    assert model.variable("Margin").units == "Dmnl"


def test_time_settings(model):
    assert model.control("INITIAL TIME") == 2003
    assert model.control("FINAL TIME") == 2035
    assert model.control("TIME STEP") <= 1 / 8
    assert model.control("SAVEPER") <= 1


def test_every_variable_has_units_and_a_comment(model):
    for entry in read_mdl(model.path):
        if entry.kind == "subscript":
            continue
        assert entry.units, f"{entry.name} has no units"
        assert len(entry.comment) > 10, f"{entry.name} has no comment"


def _per_year(units: str) -> str:
    return "1/Year" if units == "Dmnl" else f"{units}/Year"


def test_each_flow_has_its_stocks_units_per_year(model):
    entries = {e.name: e for e in read_mdl(model.path)}
    for entry in entries.values():
        if entry.kind != "stock":
            continue
        inflows, outflows, _ = stock_flows(entry)
        for flow in inflows + outflows:
            name = re.sub(r"\[.*\]$", "", flow)
            assert entries[name].units == _per_year(entry.units), (entry.name, name)


def test_translation_is_cached_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("SD_RUNNER_CACHE", str(tmp_path / "cache"))
    mdl = tmp_path / "tiny.mdl"
    mdl.write_text(TINY, encoding="utf-8")
    first = SDModel(mdl)
    assert first.run().loc[10.0, "Stock"] == pytest.approx(1.025 ** 40)

    def refuse(*args, **kwargs):
        raise AssertionError("translated again although the model did not change")

    monkeypatch.setattr(model_module, "_build_translation", refuse)
    second = SDModel(mdl)
    assert second.digest == first.digest
    mdl.write_text(TINY.replace("Rate= 0.1", "Rate= 0.2"), encoding="utf-8")
    with pytest.raises(InputError, match="translated again"):
        SDModel(mdl)


def test_runs_start_from_the_original_state(tmp_path, monkeypatch):
    monkeypatch.setenv("SD_RUNNER_CACHE", str(tmp_path / "cache"))
    mdl = tmp_path / "tiny.mdl"
    mdl.write_text(TINY, encoding="utf-8")
    tiny = SDModel(mdl)
    changed = tiny.run({"Rate": 0.0}).loc[10.0, "Stock"]
    again = tiny.run().loc[10.0, "Stock"]
    assert changed == 1.0 and again == pytest.approx(1.025 ** 40)
    assert tiny.default_value("Rate") == 0.1


def test_a_run_that_goes_non_finite_names_variable_and_time(tmp_path, monkeypatch):
    monkeypatch.setenv("SD_RUNNER_CACHE", str(tmp_path / "cache"))
    mdl = tmp_path / "tiny.mdl"
    mdl.write_text(TINY.replace("Inflow= Stock * Rate", "Inflow= Stock * Rate * EXP(100 * Time)"),
                   encoding="utf-8")
    with pytest.raises(RunError, match=r"(Stock|Inflow) is (-?inf|nan) at time \d"):
        SDModel(mdl).run()


def test_missing_and_untranslatable_models(tmp_path, monkeypatch):
    monkeypatch.setenv("SD_RUNNER_CACHE", str(tmp_path / "cache"))
    with pytest.raises(InputError, match="model file not found"):
        SDModel(tmp_path / "absent.mdl")
    broken = tmp_path / "broken.mdl"
    broken.write_text("{UTF-8}\nX = (((\n\t~\t\n\t~\t\n\t|\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.mdl: PySD cannot parse this model \("):
        SDModel(broken)
    assert not list((tmp_path / "cache").glob("translating-*"))


def test_cache_folder_is_keyed_by_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("SD_RUNNER_CACHE", str(tmp_path / "cache"))
    mdl = tmp_path / "tiny.mdl"
    mdl.write_text(TINY, encoding="utf-8")
    loaded = SDModel(mdl)
    assert (model_module._cache_root() / loaded.digest[:20] / "model.py").is_file()


def test_pysd_translates_and_runs_the_bundled_model_without_warnings(tmp_path, monkeypatch):
    # filterwarnings = error (pyproject) turns any PySD warning into a failure here.
    monkeypatch.setenv("SD_RUNNER_CACHE", str(tmp_path / "cache"))
    from sd_runner import resources

    fresh = SDModel(resources.model_path())
    assert list((tmp_path / "cache").iterdir())  # translated anew, not taken from a cache
    frame = fresh.run(return_columns=["Margin"], final_time=2005)
    assert frame.index[-1] == 2005.0 and frame.notna().all().all()


def test_defaults_and_controls_survive_runs_with_other_values(tmp_path, monkeypatch):
    monkeypatch.setenv("SD_RUNNER_CACHE", str(tmp_path / "cache"))
    mdl = tmp_path / "tiny.mdl"
    mdl.write_text(TINY, encoding="utf-8")
    tiny = SDModel(mdl)
    tiny.run({"Rate": 0.3}, time_step=0.125)
    assert tiny.default_value("Rate") == 0.1
    assert tiny.control("TIME STEP") == 0.25
