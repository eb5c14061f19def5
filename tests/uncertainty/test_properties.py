"""Property tests: any parameter vector inside the declared bounds (the calibration's 36
estimated parameters and the 59 assumed ones of models/assumed_factors.toml) gives finite
outputs that stay within every variable's declared range."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sd_runner import api as runner
from sd_runner.engine.ensemble import run_ensemble
from sd_runner.inputs.factors import load_factors
from sd_runner.inputs.scenarios import scenario_params
from sd_runner.uncertainty.parameter_sets import estimated_factors

STOCKS = ["Export Sales", "Domestic Sales", "Own Brand Fraction", "Asset Specificity",
          "Buyer Dependence", "R and D Capital", "Patent Pool Stock", "Brand Equity",
          "Professional Market Platform", "Lead Firm Blocking"]
OUTPUTS = [*STOCKS, "Margin", "Technology Strength", "Brand Strength", "Upgrading Capability"]


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
        margin = outputs[:, [i for i, c in enumerate(result.columns) if c.startswith("Margin")]]
        assert ((margin > -1) & (margin < 1)).all()
