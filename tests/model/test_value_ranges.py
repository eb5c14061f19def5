"""Values the model can take: every constant of the ``.mdl`` declares its range, every value
the project gives a constant lies inside it, and every way of setting a value (scenario
constants, lever settings and timing, fit files, factors bounds, calibration bounds) refuses
one outside it in one line naming the file, the line and the key. Every way of setting a value
refuses one given twice (by case, as a whole variable and one of its elements, or by a lever and
a scenario constant); a posterior sample is strict numbers under a header; a TOML file may start
with a byte-order mark."""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib

import pandas as pd
import pytest
from click.testing import CliRunner

from sd_runner import api as runner
from sd_runner import resources
from sd_runner.calibration.config import load_config
from sd_runner.calibration.config_checks import check_against_model
from sd_runner.calibration.fitfile import read_fit
from sd_runner.cli import cli
from sd_runner.errors import InputError
from sd_runner.feedback.graph import load_loop_names
from sd_runner.inputs.factors import load_factors
from sd_runner.inputs.levers import load_levers
from sd_runner.inputs.observations import load_observations
from sd_runner.inputs.scenarios import load_scenario

BOM = "\ufeff"


@pytest.fixture(scope="module")
def plain():
    """The model with the ``.mdl``'s own values (calibration settings are checked on it)."""
    return runner.bundled_model("fast", runner.UNCALIBRATED)


@pytest.fixture(scope="module")
def observations():
    return load_observations(resources.observations_path())


def _constants(model):
    return {name: info for name, info in model.variables.items() if info.kind == "Constant"}


def _inside(model, name, *values):
    lower, upper = model.declared_range(name)
    return all(lower <= value <= upper for value in values)


# ---------------------------------------------------------------------- declared ranges
def test_every_constant_of_the_model_declares_a_finite_range(plain):
    constants = _constants(plain)
    assert len(constants) > 50
    undeclared = [name for name, info in constants.items()
                  if not (math.isfinite(info.lower) and math.isfinite(info.upper))]
    assert not undeclared, f"declare [min,max] in the units field of: {undeclared}"
    assert all(info.lower <= info.upper for info in constants.values())


def test_lever_timing_ranges_are_the_simulated_years(plain):
    assert plain.declared_range("Lever Start Year") == (plain.control("INITIAL TIME"),
                                                        plain.control("FINAL TIME"))
    lower, upper = plain.declared_range("Lever Ramp Time[Own Brand]")
    assert lower == 0 and upper == plain.control("FINAL TIME") - plain.control("INITIAL TIME")


def _used_values(plain):
    """(where, name, value) for every value the project gives a constant."""
    for name in _constants(plain):
        default = plain.default_value(name)
        values = [default] if isinstance(default, float) else default.values.ravel().tolist()
        yield from ((".mdl", name, v) for v in values)
    for name, value in read_fit(resources.fit_dir()).items():
        yield "fit", name, value
    for name, column in pd.read_csv(resources.fit_dir() / "sample.csv").items():
        yield "posterior sample", name, column.min()
        yield "posterior sample", name, column.max()
    config = load_config(resources.calibration_config_path(), None)
    for parameter in config.parameters:
        yield "calibration bounds", parameter.name, parameter.lower
        yield "calibration bounds", parameter.name, parameter.upper
    factors = tomllib.loads(resources.model_path().with_name("assumed_factors.toml")
                            .read_text("utf-8"))["factors"]
    for name, entry in factors.items():
        yield from (("factors bounds", name, bound) for bound in entry["bounds"])
    for lever in load_levers().values():
        yield "levers.toml", f"Lever Start Year[{lever.element}]", lever.start_year
        yield "levers.toml", f"Lever Ramp Time[{lever.element}]", lever.ramp_years
        for setting in lever.settings:
            yield from (("levers.toml", setting.variable, getattr(setting, key))
                        for key in ("min", "max", "default", "full"))


def test_every_value_the_project_gives_a_constant_is_inside_its_declared_range(plain):
    outside = [(where, name, value) for where, name, value in _used_values(plain)
               if not _inside(plain, name, value)]
    assert not outside


def test_lever_ranges_repeat_the_mdl(plain):
    for lever in load_levers().values():
        for setting in lever.settings:
            assert plain.declared_range(setting.variable) == (setting.min, setting.max)


# ---------------------------------------------------------------------- refused values
def _scenario(path, model, levers):
    return load_scenario(path, levers, model)


def _fit(path, model, levers):
    return read_fit(path, model)


def _factors(path, model, levers):
    return load_factors(path, model)


_FIT_HEAD = '[fit]\nmethod = "least-squares"\n\n[parameters]\n"Global Shock Exposure" = 1.2\n'

# class of input, reader, file text, the key the error must name (on the last line naming its
# variable), what it must say
REFUSED = [
    ("scenario constant: huge start year", _scenario,
     '[constants]\n"Lever Start Year" = 1e308\n', "Lever Start Year", "outside the range"),
    ("scenario constant: negative ramp", _scenario,
     '[constants]\n"Lever Ramp Time" = -5\n', "Lever Ramp Time", "[0, 32]"),
    ("scenario constant: one element", _scenario,
     'name = "x"\n[constants]\n"Lever Ramp Time[Going Out]" = 40\n', "Lever Ramp Time",
     "outside the range the model declares"),
    ("scenario constant: a share above 1", _scenario,
     '[constants]\n"Buyer Squeeze Strength" = 1.5\n', "Buyer Squeeze Strength", "[0, 1]"),
    ("scenario constant: a zero time", _scenario,
     '[constants]\n"Patent Life" = 0\n', "Patent Life", "outside the range"),
    ("lever timing: huge start_year", _scenario,
     "[levers.own-brand]\nstart_year = 1e308\n", "start_year", "outside the simulation"),
    ("lever timing: huge ramp_years", _scenario,
     "[levers.own-brand]\nramp_years = 1e308\n", "ramp_years", "Lever Ramp Time[Own Brand]"),
    ("lever timing: ramp past the span", _scenario,
     "[levers.patent-pool]\nramp_years = 33\n", "ramp_years", "[0, 32]"),
    ("lever set: above the lever's range", _scenario,
     '[levers.own-brand.set]\n"Extra Channel Reach[Apparel]" = 0.71\n', "Extra Channel Reach",
     "outside its range"),
    ("scenario constant: twice by case", _scenario,
     '[constants]\n"Buyer Squeeze Strength" = 0.5\n"buyer squeeze strength" = 0.4\n',
     "buyer squeeze strength", "which the file already sets"),
    ("lever set: twice by case", _scenario,
     '[levers.own-brand.set]\n"Extra Channel Reach[Apparel]" = 0.5\n'
     '"extra channel reach[apparel]" = 0.4\n', "extra channel reach", "already sets"),
    ("scenario constant: an element after its whole variable", _scenario,
     '[constants]\n"Lever Ramp Time" = 5\n"Lever Ramp Time[Own Brand]" = 3\n',
     "Lever Ramp Time[Own Brand]", "already sets as a whole ('Lever Ramp Time')"),
    ("scenario constant: a whole variable after one of its elements", _scenario,
     '[constants]\n"Lever Ramp Time[Own Brand]" = 3\n"lever ramp time" = 5\n',
     "lever ramp time", "already sets for one element"),
    ("lever set: a whole variable after one of its elements", _scenario,
     '[levers.own-brand.set]\n"Extra Channel Reach[Apparel]" = 0.5\n'
     '"extra channel reach" = 0.4\n', "extra channel reach", "already sets for one element"),
    ("scenario constant: one a pulled lever sets", _scenario,
     '[levers.own-brand]\nlevel = 1\n[constants]\n"Extra Channel Reach" = 0.5\n',
     "Extra Channel Reach", "which lever own-brand sets ([levers.own-brand]); give the value "
     "in [levers.own-brand.set]"),
    ("scenario constant: an element a pulled lever sets", _scenario,
     '[constants]\n"extra channel reach[Textile]" = 0.5\n[levers.own-brand]\nlevel = 0.5\n',
     "extra channel reach[Textile]", "which lever own-brand sets"),
    ("scenario constant: a pulled lever's start year", _scenario,
     '[levers.own-brand]\nstart_year = 2020\n[constants]\n'
     '"Lever Start Year[Own Brand]" = 2025\n', "Lever Start Year[Own Brand]",
     "by its start_year (Lever Start Year[Own Brand]); give start_year in [levers.own-brand]"),
    ("scenario constant: every lever's ramp, one of them pulled", _scenario,
     '[levers.patent-pool]\n[constants]\n"Lever Ramp Time" = 2\n', "Lever Ramp Time",
     "give ramp_years in [levers.patent-pool] instead and set only the other levers'"),
    ("fit file: a value outside the range", _fit,
     _FIT_HEAD + '"Buyer Squeeze Strength" = 1.5\n', "Buyer Squeeze Strength", "[0, 1]"),
    ("fit file: an element outside", _fit,
     _FIT_HEAD + '"Initial Export Sales[Textile]" = -3\n', "Initial Export Sales[Textile]",
     "outside the range"),
    ("fit file: not a constant", _fit,
     _FIT_HEAD + '"Margin" = 0.1\n', "Margin", "not a constant of the model"),
    ("fit file: not a number", _fit,
     _FIT_HEAD + '"Patent Yield" = "80"\n', "Patent Yield", "must be a number"),
    ("fit file: twice by case", _fit,
     _FIT_HEAD + '"Patent Yield" = 80\n"patent yield" = 70\n', "patent yield",
     "sets what 'Patent Yield' already sets"),
    ("fit file: a whole variable and one of its elements", _fit,
     _FIT_HEAD + '"Initial Export Sales" = 50\n"Initial Export Sales[Textile]" = 60\n',
     "Initial Export Sales[Textile]", "already sets"),
    ("factors bounds: above the range", _factors,
     '[factors."Buyer Squeeze Strength"]\nbounds = [0.5, 1.5]\nbasis = "x"\n',
     "Buyer Squeeze Strength", "reach outside the range the model declares"),
    ("factors bounds: below the range", _factors,
     '[factors."Patent Yield"]\nbounds = [40, 120]\nbasis = "a"\n'
     '[factors."Brand Life"]\nbounds = [0, 7.5]\nbasis = "b"\n', "Brand Life", "[0.5, 30]"),
    ("factors: twice by case", _factors,
     '[factors."Patent Yield"]\nbounds = [70, 90]\nbasis = "a"\n'
     '[factors."patent  yield"]\nbounds = [70, 90]\nbasis = "b"\n', "patent  yield",
     "varies what 'Patent Yield' already varies"),
    ("factors: one element of a whole variable", _factors,
     '[factors."Initial Export Sales[Textile]"]\nbounds = [40, 60]\nbasis = "a"\n'
     '[factors."initial export sales"]\nbounds = [40, 60]\nbasis = "b"\n',
     "initial export sales", "already varies"),
]


@pytest.mark.parametrize("label, read, text, key, expected", REFUSED,
                         ids=[row[0] for row in REFUSED])
def test_a_value_outside_its_declared_range_is_refused_at_its_line(
        model, levers, write_file, label, read, text, key, expected):
    path = write_file(text, name="input.toml")
    with pytest.raises(InputError) as caught:
        read(path, model, levers)
    message = str(caught.value)
    assert expected in message and key in message and "\n" not in message, message
    line = max(number for number, content in enumerate(text.splitlines(), start=1)
               if key.partition("[")[0] in content)  # the later of two lines that clash
    assert message.startswith(f"{path}:{line}: "), message


def test_a_lever_file_cannot_widen_the_range_the_mdl_declares(model, levers, write_file):
    own_brand = levers["own-brand"]
    wide = tuple(dataclasses.replace(s, max=5.0) for s in own_brand.settings)
    widened = {**levers, "own-brand": dataclasses.replace(own_brand, settings=wide)}
    path = write_file('[levers.own-brand.set]\n"Extra Channel Reach" = 2\n')
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}:2: .*Extra Channel Reach"
                                         r" = 2 is outside the range the model declares"):
        load_scenario(path, widened, model)
    path = write_file("[levers.own-brand]\nlevel = 3\n")  # reach 0.9: the lever allows 5
    with pytest.raises(InputError, match=r":2: .*outside the range the model declares"):
        load_scenario(path, widened, model)


def test_values_at_the_ends_of_a_declared_range_are_accepted(model, levers, write_file):
    path = write_file('[levers.going-out]\nstart_year = 2035\nramp_years = 32\n'
                      '[constants]\n"Buyer Squeeze Strength" = 1\n'
                      '"Lever Ramp Time[Own Brand]" = 0\n')
    scenario = load_scenario(path, levers, model)
    assert scenario.constants == {"Buyer Squeeze Strength": 1.0,
                                  "Lever Ramp Time[Own Brand]": 0.0}
    fit = write_file(_FIT_HEAD + '"Brand Life" = 0.5\n', name="parameters.toml")
    assert read_fit(fit, model)["Brand Life"] == 0.5


def test_calibration_bounds_outside_the_declared_range_are_refused_at_their_line(plain,
                                                                                  tmp_path):
    text = resources.calibration_config_path().read_text(encoding="utf-8")
    old = '[parameters."Other Value Added Share"]\nbounds = [0.0, 0.4]'
    assert old in text
    path = tmp_path / "config.toml"
    path.write_text(text.replace(old, old.replace("0.4", "0.6")), encoding="utf-8")
    config = load_config(path, None)
    with pytest.raises(InputError) as caught:
        check_against_model(config, plain)
    line = text.splitlines().index('[parameters."Other Value Added Share"]') + 1
    assert str(caught.value).startswith(f"{path}:{line}: Other Value Added Share: bounds [0, 0.6] "
                                        "reach outside the range the model declares")


def test_a_fit_outside_the_ranges_stops_a_run_with_exit_2(tmp_path):
    fit = tmp_path / "parameters.toml"
    fit.write_text(_FIT_HEAD + '"Lever Start Year" = 1e308\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "baseline", "--fit", str(fit),
                                      "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 2, result.output
    assert f"{fit}:6: Lever Start Year = 1e+308 is outside the range" in result.output
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("sample, expected", [
    ("Buyer Squeeze Strength,Patent Yield\n0.5,80\n1.2,80\n",
     ":3: Buyer Squeeze Strength = 1.2 is outside the range the model declares [0, 1]"),
    ("Patent Yield,Margin\n80,0.1\n", ":1: column 'Margin' is not a constant of the model"),
])
def test_a_posterior_sample_outside_the_ranges_is_refused_at_its_row(plain, tmp_path, sample,
                                                                     expected):
    from sd_runner.calibration.fitfile import read_sample

    (tmp_path / "sample.csv").write_text(sample, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_sample(tmp_path, plain)
    assert str(caught.value).startswith(f"{tmp_path / 'sample.csv'}{expected}")
    assert len(read_sample(resources.fit_dir(), plain)) == 1000


# class of malformed sample, sample.csv text, what the error must say after the file name
BAD_SAMPLES = [
    ("not a number", "Patent Yield\nabc\n", ":2: column 'Patent Yield': 'abc' is not a number"),
    ("nan", "Patent Yield,Brand Life\n80,2\n80,nan\n",
     ":3: column 'Brand Life': 'nan' is not a number"),
    ("infinite", "Patent Yield\n80\n1e999\n", ":3: column 'Patent Yield': 1e999 is not a finite"),
    ("an empty cell", "Patent Yield,Brand Life\n80,\n", ":2: column 'Brand Life': is empty"),
    ("a ragged row", "Patent Yield,Brand Life\n80,2\n80,2,3\n",
     ":3: 3 fields where the header names 2"),
    ("no header", "80,2\n81,3\n", ":1: the first line holds the number '80'"),
    ("a header cell without a name", "Patent Yield,\n80,2\n", ":1: column 2 has no name"),
    ("an empty file", "", ":1: no header"),
    ("no rows", "Patent Yield\n", ": no parameter sets under the header"),
    ("a column twice by case", "Patent Yield,patent yield\n80,70\n",
     ":1: column 'patent yield' sets what column 'Patent Yield' already sets"),
    ("a whole variable and one of its elements",
     "Initial Export Sales[Textile],Initial Export Sales\n50,60\n",
     ":1: column 'Initial Export Sales' sets what column 'Initial Export Sales[Textile]'"),
    ("not UTF-8", b"Patent Yield\n8\xe90\n", ": byte 14 is not UTF-8"),
]


@pytest.mark.parametrize("sample, expected", [row[1:] for row in BAD_SAMPLES],
                         ids=[row[0] for row in BAD_SAMPLES])
def test_a_malformed_posterior_sample_is_refused_at_its_line_and_column(tmp_path, sample,
                                                                        expected):
    from sd_runner.calibration.fitfile import read_sample

    file = tmp_path / "sample.csv"
    file.write_bytes(sample if isinstance(sample, bytes) else sample.encode("utf-8"))
    with pytest.raises(InputError) as caught:
        read_sample(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{file}{expected}") and "\n" not in message, message


def test_a_sample_row_is_named_by_its_line_past_blank_lines(plain, tmp_path):
    from sd_runner.calibration.fitfile import read_sample

    (tmp_path / "sample.csv").write_text("\ufeffPatent Yield\n\n80\n\n1e308\n",
                                         encoding="utf-8")
    with pytest.raises(InputError, match=r"sample\.csv:5: Patent Yield = 1e\+308 is outside"):
        read_sample(tmp_path, plain)


def test_a_malformed_sample_stops_an_uncertain_comparison_with_exit_2(tmp_path):
    fit = tmp_path / "p"
    fit.mkdir()
    (fit / "parameters.toml").write_text(_FIT_HEAD, encoding="utf-8")
    (fit / "sample.csv").write_text("Patent Yield\nabc\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["compare", "own-brand", "--uncertainty", "2", "--fit",
                                      str(fit), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"Error: {fit / 'sample.csv'}:2: column 'Patent Yield': 'abc' is not a number; give a "
        "finite number, as calibrate writes it, or rerun calibration"]
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------- settings keys
# class of mistake, (text replaced, replacement), the key named, what is said, the line named
SETTINGS = [
    ("the same parameter by case",
     ('[parameters."Learning Elasticity"]', '[parameters."learning elasticity"]\n'
      'bounds = [0.0, 1.5]\nbasis = "twice"\n[parameters."Learning Elasticity"]'),
     "Learning Elasticity", "already sets",
     '[parameters."Learning Elasticity"]'),
    ("the same parameter by spacing",
     ('[parameters."Learning Elasticity"]', '[parameters."Learning  Elasticity"]\n'
      'bounds = [0.0, 1.5]\nbasis = "twice"\n[parameters."Learning Elasticity"]'),
     "Learning Elasticity", "already sets",
     '[parameters."Learning Elasticity"]'),
    ("a whole variable after one of its elements",
     ('[parameters."Global Shock Exposure[Footwear]"]', '[parameters."Global Shock Exposure"]\n'
      'bounds = [0.0, 3.0]\nbasis = "one"\n[parameters."Global Shock Exposure[Footwear]"]'),
     "'Global Shock Exposure' sets", "already sets",
     '[parameters."Global Shock Exposure"]'),
    ("an element after its whole variable",
     ('[parameters."Global Shock Exposure[Textile]"]', '[parameters."Global Shock Exposure"]\n'
      'bounds = [0.0, 3.0]\nbasis = "one"\n[parameters."Global Shock Exposure[Textile]"]'),
     "Global Shock Exposure[Textile]", "already sets",
     '[parameters."Global Shock Exposure[Textile]"]'),
    ("the same element by case",
     ('[parameters."Initial Export Sales[Apparel]"]',
      '[parameters."initial export sales[apparel]"]\nbounds = [55.0, 100.0]\nbasis = "x"\n'
      '[parameters."Initial Export Sales[Apparel]"]'),
     "Initial Export Sales[Apparel]", "already sets",
     '[parameters."Initial Export Sales[Apparel]"]'),
    ("a cluster twice by case",
     ('textile = "Textile"', 'textile = "Textile"\nTextile = "Textile"'), "Textile",
     "names ignore case",
     'Textile = "Textile"'),
    ("a series twice by case",
     ('[series.rd_intensity_china]', '[series.RD_intensity_china]\nrole = "prior"\n'
      'mapping = "x"\n\n[series.rd_intensity_china]'), "rd_intensity_china",
     "names ignore case",
     '[series.rd_intensity_china]'),
    ("a lower bound that is not a number",
     ('bounds = [0.35, 0.55]', 'bounds = ["low", 0.55]'), "First Half Export Share",
     "lower bound must be a number",
     '[parameters."First Half Export Share"]'),
    ("a basis that is not text",
     ('basis = "a fraction of output"', 'basis = 3'), "Base New Product Share",
     "basis must be a string",
     '[parameters."Base New Product Share"]'),
    ("a prior factor that is not a number",
     ('cluster = "apparel", factor = 0.01', 'cluster = "apparel", factor = "x"'),
     "Reference R and D Intensity[Apparel]", "prior factor must be a number",
     '[parameters."Reference R and D Intensity[Apparel]"]'),
    ("a series role that is not text",
     ('role = "prior"', 'role = 1'), "series.rd_intensity_china.role", "must be a string",
     '[series.rd_intensity_china]'),
    ("a series without its variable",
     ('variable = "Profit Tax Rate"\n', ''), "series profit_tax_rate needs variable",
     "[series.profit_tax_rate]",
     '[series.profit_tax_rate]'),
]


@pytest.mark.parametrize("label, change, key, expected, at", SETTINGS,
                         ids=[row[0] for row in SETTINGS])
def test_calibration_settings_errors_name_file_line_and_key(tmp_path, observations, label,
                                                             change, key, expected, at):
    text = resources.calibration_config_path().read_text(encoding="utf-8")
    assert change[0] in text
    changed = text.replace(change[0], change[1], 1)
    path = tmp_path / "config.toml"
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_config(path, observations)
    message = str(caught.value)
    assert key in message and expected in message and "\n" not in message, message
    line = re.match(rf"{re.escape(str(path))}:(\d+): ", message)
    assert line, message
    assert changed.splitlines()[int(line[1]) - 1] == at, message


def test_distinct_elements_of_one_variable_may_be_estimated(observations):
    config = load_config(resources.calibration_config_path(), observations)
    elements = [n for n in config.names if n.startswith("Initial Export Sales[")]
    assert len(elements) == 4


# ---------------------------------------------------------------------- byte-order mark
def test_toml_files_starting_with_a_byte_order_mark_are_read(model, levers, plain, tmp_path,
                                                             observations):
    def with_bom(source, name, rename=None):
        text = source.read_text(encoding="utf-8")
        if rename:  # a user file may not take a bundled scenario's name
            text = text.replace(f'name = "{rename[0]}"', f'name = "{rename[1]}"')
        path = tmp_path / name
        path.write_bytes((BOM + text).encode("utf-8"))
        return path

    scenario = with_bom(resources.scenarios_dir() / "domestic-value-chain.toml", "s.toml",
                        rename=("domestic-value-chain", "my-chain"))
    assert load_scenario(scenario, levers, model).name == "my-chain"
    assert list(load_levers(with_bom(resources.levers_path(), "levers.toml"))) == list(levers)
    factors = with_bom(resources.model_path().with_name("assumed_factors.toml"), "f.toml")
    assert "Patent Yield" in load_factors(factors, model).names
    config = load_config(with_bom(resources.calibration_config_path(), "c.toml"), observations)
    assert config.names == load_config(resources.calibration_config_path(), observations).names
    fit = with_bom(resources.fit_dir() / "parameters.toml", "parameters.toml")
    assert read_fit(fit, plain) == read_fit(resources.fit_dir())
    loops = with_bom(resources.loop_names_path(), "loops.toml")
    assert load_loop_names(loops)
