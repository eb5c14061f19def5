"""Extreme-condition tests (Barlas 1996; Sterman 2000, ch. 21): the model pushed to its limits
stays finite and within every declared range (each run checks it: a value outside raises), and
behaves as its story says. Apparel is shown; the assertions hold for every cluster."""

from __future__ import annotations

import numpy as np
import pytest

from sd_runner import api as runner

CLUSTERS = ("Textile", "Apparel", "Footwear", "Furniture")
OUTPUTS = ["Buyer Dependence", "Margin", "R and D Capital", "Export Sales", "Patent Pool Stock",
           "Brand Equity", "Gross Margin", "Asset Specificity"]


@pytest.fixture(scope="module")
def run():
    model = runner.bundled_model("fast")
    baseline = model.run(return_columns=OUTPUTS)

    def simulate(params):
        return model.run(params, return_columns=OUTPUTS), baseline

    return simulate


def _series(frame, variable, cluster):
    return frame[f"{variable}[{cluster}]"].to_numpy()


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_no_lock_in_leaves_no_dependence_and_full_lock_in_holds_it_high(run, cluster):
    """Without lock-in the cluster starts, and stays, independent of its buyers; with the
    strongest lock-in it starts and stays near what its capability leaves, and the buyers'
    squeeze makes the margin lower the more dependent the cluster."""
    free, _ = run({"Lock In Sensitivity": 0.0})
    held, _ = run({"Lock In Sensitivity": 10.0})
    low, high = _series(free, "Buyer Dependence", cluster), _series(held, "Buyer Dependence",
                                                                    cluster)
    assert (low == 0.0).all()
    assert high.min() > 0.75
    assert (_series(free, "Margin", cluster) > _series(held, "Margin", cluster)).all()


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_no_r_and_d_leaves_no_r_and_d_capital_and_deeper_dependence(run, cluster):
    """With no R&D, R&D capital stays at zero, and without technology the cluster ends more
    dependent than in the baseline."""
    frame, baseline = run({"Reference R and D Intensity": 0.0})
    assert (_series(frame, "R and D Capital", cluster) == 0).all()
    assert _series(frame, "Buyer Dependence", cluster)[-1] > _series(
        baseline, "Buyer Dependence", cluster)[-1]


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_margins_at_zero_starve_reinvestment(run, cluster):
    """With every margin source at zero, the gross margin is at most zero (only costs remain),
    R&D capital decays toward zero with nothing reinvested, and dependence deepens."""
    frame, baseline = run({"Reference OEM Margin": 0.0, "Reference Generic Margin": 0.0,
                           "Brand Premium": 0.0, "Innovation Premium Maximum": 0.0})
    assert (_series(frame, "Gross Margin", cluster) <= 1e-12).all()
    capital = _series(frame, "R and D Capital", cluster)
    assert (np.diff(capital) <= 1e-12).all() and capital[-1] < 0.05 * capital[0]
    assert _series(frame, "Buyer Dependence", cluster)[-1] > _series(
        baseline, "Buyer Dependence", cluster)[-1]


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_demand_collapse_and_boom(run, cluster):
    """Exports go to the export market's potential, however small or large: after a collapse
    (potential 1) they fall to it without going negative and OEM dependence eases; in a boom
    (potential 10 000) they grow toward it, and OEM capture deepens."""
    collapse, baseline = run({"Export Market Potential": 1.0})
    boom, _ = run({"Export Market Potential": 10_000.0})
    exports = _series(collapse, "Export Sales", cluster)
    assert exports.min() >= 0 and exports[-1] == pytest.approx(1.0, rel=0.01)
    assert _series(collapse, "Buyer Dependence", cluster)[-1] < _series(
        baseline, "Buyer Dependence", cluster)[-1]
    grown = _series(boom, "Export Sales", cluster)
    assert grown[-1] > 10 * _series(baseline, "Export Sales", cluster)[-1]
    assert grown[-1] <= 10_000
    assert _series(boom, "Buyer Dependence", cluster)[-1] > _series(
        baseline, "Buyer Dependence", cluster)[-1]
