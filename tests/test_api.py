"""The public API: names exported from sd_runner, and models of one's own."""

from __future__ import annotations

import subprocess
import sys

import pytest

import sd_runner
from sd_runner.errors import InputError


def test_import_sd_runner_loads_neither_pysd_nor_numba():
    code = ("import sys, sd_runner; sd_runner.__version__; "
            "print(sorted(m for m in ('numba', 'pysd', 'sd_runner.api') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert shown == "[]"


def test_every_public_name_resolves():
    for name in sd_runner.__all__:
        assert getattr(sd_runner, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'bundled_model'"):
        sd_runner.bundled_model  # noqa: B018 - internal, not exported


def test_load_model_gives_a_model_of_ones_own(model):
    mine = sd_runner.load_model()
    before = model.default_value("Buyer Squeeze Strength")
    mine.set_parameters({"Buyer Squeeze Strength": 0.2})
    assert mine.default_value("Buyer Squeeze Strength") == 0.2
    assert model.default_value("Buyer Squeeze Strength") == before
    assert sd_runner.load_model().default_value("Buyer Squeeze Strength") == before


def test_the_shared_model_refuses_to_change(model):
    with pytest.raises(InputError, match="shared by every caller"):
        model.set_parameters({"Buyer Squeeze Strength": 0.2})


def test_validate_takes_a_fit_just_made_and_a_choice_of_rows():
    """What the calibration notebook does with a refit: the committed fit given as a result
    (anything with ``values()``) compares as the committed fit folder does."""
    from types import SimpleNamespace

    from sd_runner import resources
    from sd_runner.calibration.fitfile import read_fit

    fitted = read_fit(resources.fit_dir())
    chosen = sd_runner.validate(fit=SimpleNamespace(values=lambda: fitted),
                                rows=lambda row: row.start.year == 2010)
    committed = sd_runner.validate(rows=lambda row: row.start.year == 2010)
    assert len(chosen.rows) == 3 and (chosen.rows["period_start"].str[:4] == "2010").all()
    assert chosen.rows.equals(committed.rows)
    everything = sd_runner.validate()
    assert len(everything.rows) > len(chosen.rows)


def test_calibrate_names_its_uncertainty_choices():
    with pytest.raises(InputError, match="uncertainty='some': use one of full, profiles, none"):
        sd_runner.calibrate(uncertainty="some")
# (call, the start of its message): the library names its own arguments, never an option.
BAD_ARGUMENTS = [
    (lambda: sd_runner.lever_ranks(members=0), "members=0: give the number of members"),
    (lambda: sd_runner.parameter_sets(5, "guess", 1), "sample='guess': use one of"),
    (lambda: sd_runner.calibrate(None, None, "simplex", None),
     "method='simplex' is not an optimiser"),
    (lambda: sd_runner.compare(["own-brand"], factors_path="assumed_factors"),
     "factors_path='assumed_factors': give uncertainty too"),
    (lambda: sd_runner.parameter_sets(5, "posterior", 1, sd_runner.UNCALIBRATED),
     "fit='uncalibrated' has no posterior sample"),
    (lambda: sd_runner.sensitivity("morris", 2, ["Margin"], 1990.0),
     "year=1990.0: give a year after"),
    (lambda: sd_runner.sensitivity("morris", 2, ["Happiness"], 2035.0),
     "outcomes='Happiness' is not a variable of the model"),
]


@pytest.mark.parametrize(("call", "expected"), BAD_ARGUMENTS,
                         ids=[e.partition("=")[0] for _, e in BAD_ARGUMENTS])
def test_a_bad_argument_is_named_as_the_library_spells_it(call, expected):
    with pytest.raises(InputError) as caught:
        call()
    assert str(caught.value).startswith(expected), caught.value
    assert "--" not in str(caught.value)
