"""levers.toml: seven levers that match the model's declarations; clear errors when malformed."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sd_runner.errors import InputError
from sd_runner.inputs.levers import load_levers
from sd_runner.model.mdl_text import read_mdl


def test_the_seven_countermeasures_in_the_papers_order(levers):
    assert [lever.number for lever in levers.values()] == list(range(1, 8))
    assert list(levers) == ["own-brand", "patent-pool", "market-platform", "going-out",
                            "industrial-policy", "regional-cooperation", "market-chain"]


def test_levers_match_the_model(model, levers):
    entries = {e.name: e for e in read_mdl(model.path)}
    assert [lever.element for lever in levers.values()] == model.subscripts["Lever"]
    starts = model.default_value("Lever Start Year")
    ramps = model.default_value("Lever Ramp Time")
    for lever in levers.values():
        assert float(starts.sel(Lever=lever.element)) == lever.start_year, lever.id
        assert float(ramps.sel(Lever=lever.element)) == lever.ramp_years, lever.id
        for setting in lever.settings:
            entry = entries[setting.variable]
            assert entry.group == "Levers", setting.variable
            assert entry.units == setting.unit, setting.variable
            low, high = (float(x) for x in entry.value_range.split(","))
            assert (low, high) == (setting.min, setting.max), setting.variable
            default = np.unique(np.asarray(model.default_value(setting.variable)))
            assert default.tolist() == [setting.default], setting.variable
            assert setting.min <= setting.full <= setting.max


def test_every_lever_setting_is_used_by_an_equation(model, levers):
    expressions = " ".join(e.expression for e in read_mdl(model.path))
    for lever in levers.values():
        assert f"Lever Activation[{lever.element}]" in expressions, lever.id
        for setting in lever.settings:
            assert expressions.count(setting.variable) >= 1, setting.variable


@pytest.mark.parametrize("text, expected", [
    ("", "is empty"),
    ("[a]\nnumber = 1\n", "lacks 'lever'"),
    ('[a]\nnumber = 1\nlever = "X"\ntitle = "t"\nstart_year = 2016\nramp_years = -1\n'
     'settings = []\n', "ramp_years -1.0 is negative"),
    ('[a]\nnumber = 1\nlever = "X"\ntitle = "t"\nstart_year = 2016\nramp_years = 1\n'
     '[[a.settings]]\nvariable = "V"\nmin = 1\nmax = 0\ndefault = 0\nfull = 0\n',
     "min 1.0 is above max 0.0"),
    ('[a]\nnumber = 1\nlever = "X"\ntitle = "t"\nstart_year = 2016\nramp_years = 1\n'
     '[[a.settings]]\nvariable = "V"\nmin = 0\nmax = 1\ndefault = 0\nfull = 2\n',
     "full 2.0 is outside [0.0, 1.0]"),
    ('[a]\nnumber = 1\nbogus = 2\n', "unknown key 'bogus'"),
])
def test_malformed_lever_files_are_refused(tmp_path, text, expected):
    path = tmp_path / "levers.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(expected)) as caught:
        load_levers(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)
