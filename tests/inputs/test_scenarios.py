"""Scenario files: the bundled ones, user files by Vensim name, and the ways a file is wrong."""

from __future__ import annotations

import re

import pytest
import xarray as xr

from sd_runner.errors import InputError
from sd_runner.inputs.scenarios import bundled_scenario_names, load_scenario, scenario_params


def test_bundled_scenarios_are_baseline_each_lever_and_the_combined_strategy(levers):
    assert bundled_scenario_names() == ["baseline", *levers, "domestic-value-chain"]


def test_each_single_lever_scenario_pulls_exactly_its_lever(model, levers):
    for lever_id, lever in levers.items():
        scenario = load_scenario(lever_id, levers, model)
        assert [choice.lever.id for choice in scenario.levers] == [lever_id]
        assert scenario.levers[0].values == {s.variable: s.full for s in lever.settings}


def test_baseline_pulls_no_lever_and_the_combined_strategy_all(model, levers):
    assert load_scenario("baseline", levers, model).levers == ()
    combined = load_scenario("domestic-value-chain", levers, model)
    assert [c.lever.id for c in combined.levers] == list(levers)
    going_out = next(c for c in combined.levers if c.lever.id == "going-out")
    assert going_out.start_year == 2022  # the paper's second phase


def test_user_file_sets_levers_elements_timing_and_constants(model, levers, write_file):
    path = write_file(
        'name = "mine"\n'
        "[levers.own-brand]\nlevel = 0.5\nstart_year = 2020\nramp_years = 0\n"
        '[levers.own-brand.set]\n"extra channel reach[apparel]" = 0.6\n'
        '[constants]\n"Buyer Squeeze Strength" = 0.5\n'
        '"Reference Export Growth Rate[Textile]" = 0.3\n'
    )
    scenario = load_scenario(path, levers, model)
    assert scenario.name == "mine"
    params = scenario_params(scenario, model)
    brand = params["Extra Brand Investment Intensity"]
    assert float(brand.sel(Cluster="Textile")) == pytest.approx(0.0075)
    reach = params["Extra Channel Reach"]
    assert reach.sel(Cluster="Apparel").item() == 0.6
    assert reach.sel(Cluster="Textile").item() == pytest.approx(0.15)
    assert params["Buyer Squeeze Strength"] == 0.5
    growth = params["Reference Export Growth Rate"]
    assert growth.sel(Cluster="Textile").item() == 0.3
    # Elements the file does not set keep the value runs start from (the calibrated one).
    calibrated = model.default_value("Reference Export Growth Rate").sel(Cluster="Apparel")
    assert growth.sel(Cluster="Apparel").item() == calibrated.item()
    starts = params["Lever Start Year"]
    assert starts.sel(Lever="Own Brand").item() == 2020
    assert starts.sel(Lever="Patent Pool").item() == 2016
    assert params["Lever Ramp Time"].sel(Lever="Own Brand").item() == 0


def test_params_do_not_change_the_model_defaults(model, levers, write_file):
    before = model.default_value("Extra Channel Reach").copy()
    path = write_file('[levers.own-brand.set]\n"Extra Channel Reach[Apparel]" = 0.6\n')
    scenario_params(load_scenario(path, levers, model), model)
    xr.testing.assert_equal(model.default_value("Extra Channel Reach"), before)


BAD_SCENARIOS = [
    ("", "is empty"),
    (b"\xff\xfe\x00junk", "not UTF-8"),
    ("name = \n", "not valid TOML"),
    ("name = 3\n", "name must be a string"),
    ('name = ""\n', "name is empty"),
    ("colour = 1\n", "unknown key 'colour'"),
    ("[levers.flying-cars]\n", "unknown lever 'flying-cars'"),
    ("[levers.own-brand]\nlevel = -1\n", "level -1.0 is negative"),
    ('[levers.own-brand]\nlevel = "high"\n', "level must be a number"),
    ("[levers.own-brand]\nlevel = nan\n", "must be a finite number"),
    ("[levers.own-brand]\nlevel = inf\n", "must be a finite number"),
    ("[levers.own-brand]\nlevel = 10\n", "outside its range"),
    ("[levers.own-brand]\nstart_year = 1990\n", "outside the simulation"),
    ("[levers.own-brand]\nramp_years = -2\n", "ramp_years -2 is negative"),
    ("[levers.own-brand]\nspeed = 2\n", "unknown key 'speed'"),
    ('[levers.own-brand.set]\n"Patent Yield" = 2\n', "not a setting of lever 'own-brand'"),
    ('[levers.own-brand.set]\n"Extra Channel Reach[Mars]" = 0.1\n', "not an element"),
    ('[levers.own-brand.set]\n"Extra Channel Reach" = 0.9\n', "outside its range"),
    ('[constants]\n"Warp Factor" = 1\n', "not a variable of the model"),
    ('[constants]\n"Margin" = 0.2\n', "computed by the model"),
    ('[constants]\n"TIME STEP" = 1\n', "time control"),
    ('[constants]\n"Patent Yield[Textile]" = 1\n', "has no subscript"),
    ('[constants]\n"Buyer Squeeze Strength" = true\n', "must be a number"),
    ('[constants]\n"Extra Channel Reach" = 2\n', "outside the range the model declares"),
    ("levers = 3\n", "levers must be a table"),
]


@pytest.mark.parametrize("text, expected", BAD_SCENARIOS)
def test_bad_scenario_files_name_file_line_and_fix(model, levers, write_file, text, expected):
    path = write_file(text)
    with pytest.raises(InputError, match=re.escape(expected)) as caught:
        load_scenario(path, levers, model)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message


def test_errors_point_at_the_line(model, levers, write_file):
    path = write_file('name = "x"\n\n[constants]\n"Warp Factor" = 1\n')
    with pytest.raises(InputError, match=rf"^{path}:4: "):
        load_scenario(path, levers, model)


def test_missing_huge_and_folder_scenarios(model, levers, tmp_path, write_file):
    with pytest.raises(InputError, match="not found"):
        load_scenario(tmp_path / "absent.toml", levers, model)
    with pytest.raises(InputError, match="is not a file"):
        load_scenario(tmp_path, levers, model)
    huge = write_file("# " + "x" * 2_000_000 + "\n", name="huge.toml")
    with pytest.raises(InputError, match="too large"):
        load_scenario(huge, levers, model)
    with pytest.raises(InputError, match="unknown scenario 'nonsense'"):
        load_scenario("nonsense", levers, model)
