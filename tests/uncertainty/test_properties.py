"""Property tests: any parameter vector inside the declared bounds (the calibration's 36
estimated parameters and the 59 assumed ones of models/assumed_factors.toml) gives finite
outputs that stay within every variable's declared range."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sd_runner import api as runner
from sd_runner.engine.ensemble import run_ensemble
from sd_runner.inputs.factors import load_factors
from sd_runner.inputs.scenarios import scenario_params
from sd_runner.uncertainty.parameter_sets import estimated_factors

STOCKS = ["Export Sales", "Domestic Sales", "Own Brand Fraction", "Asset Specificity",
          "Buyer Dependence", "R and D Capital", "Patent Pool Stock", "Brand Equity",
          "Professional Market Platform", "Lead Firm Blocking"]
OUTPUTS = [*STOCKS, "Margin", "Technology Strength", "Brand Strength", "Upgrading Capability",
           "Reference Gross Margin"]
#: Below this 2003 gross margin (and above Vensim's ZIDZ threshold, 1e-6) the model's
#: reinvestment effect, gross margin over the 2003 gross margin, is ill-conditioned: a known
#: defect of the model's equations (test_known_defect_... below), not of the engine.
NEAR_ZERO_REFERENCE_MARGIN = 0.01


@pytest.fixture(scope="module")
def space():
    model = runner.bundled_model("fast")
    estimated = estimated_factors(runner._calibration_config())
    assumed = load_factors(runner.resources.model_path().parent / "assumed_factors.toml", model)
    names = estimated.names + assumed.names
    bounds = np.array(estimated.bounds + assumed.bounds)
    return model, names, bounds


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.data())
def test_parameters_within_their_bounds_give_finite_outputs_within_their_ranges(space, data):
    model, names, bounds = space
    # Corners are where models break: draw each parameter at a bound or inside.
    unit = data.draw(st.lists(st.one_of(st.just(0.0), st.just(1.0),
                                        st.floats(0, 1, allow_nan=False)),
                              min_size=len(names), max_size=len(names)))
    values = bounds[:, 0] + np.asarray(unit) * (bounds[:, 1] - bounds[:, 0])
    for scenario in ("baseline", "domestic-value-chain"):
        params = scenario_params(runner.scenario(scenario), model)
        result = run_ensemble(model, values[None, :], list(names), OUTPUTS, base_params=params,
                              workers=1)  # raises on a value not finite or out of range
        lower, upper = model.declared_limits(result.columns)
        outputs = result.values[0]
        assert (outputs >= lower - 1e-9).all(), result.columns[np.argmin(outputs.min(0) - lower)]
        assert (outputs <= upper + 1e-9).all(), result.columns[np.argmax(outputs.max(0) - upper)]
        reference = outputs[0, [i for i, c in enumerate(result.columns)
                                if c.startswith("Reference Gross Margin")]]
        assume(not ((reference > 1e-6) & (reference < NEAR_ZERO_REFERENCE_MARGIN)).any())
        margin = outputs[:, [i for i, c in enumerate(result.columns) if c.startswith("Margin")]]
        assert ((margin > -1) & (margin < 1)).all()


#: Found by the test above: every parameter at its lower bound but these seven at their upper
#: bound leaves furniture a 2003 gross margin of 7e-5, so its firms reinvest 400 times their
#: reference share of sales in R&D and brands, and its margin falls to -3.7 by 2006.
DEFECT_AT_UPPER_BOUND = ["Buyer Squeeze Strength", "Brand Premium", "Lock In Sensitivity",
                         "Capability Escape Strength", "Base Channel Reach",
                         "Reference Brand Investment Intensity", "Platform Brand Cost Effect"]


@pytest.mark.xfail(strict=True, reason="known defect of the model: the reinvestment effect "
                   "divides by the 2003 gross margin, which can be near zero; remove this mark "
                   "when the model bounds it")
def test_known_defect_margin_stays_above_minus_one_when_the_2003_gross_margin_is_near_zero(
        space):
    model, names, bounds = space
    values = np.where([name in DEFECT_AT_UPPER_BOUND for name in names], bounds[:, 1],
                      bounds[:, 0])
    assert set(DEFECT_AT_UPPER_BOUND) <= set(names)
    params = scenario_params(runner.scenario("baseline"), model)
    result = run_ensemble(model, values[None, :], list(names), ["Margin"], base_params=params,
                          workers=1)
    assert (result.values[0] > -1).all()
