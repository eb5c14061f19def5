"""Each mechanism of the second edition does what its story says (models/README.md, "Changes
from the first edition"): switch it off, or push it, and the outcomes it acts on move the
predicted way, in every cluster, on the calibrated model."""

from __future__ import annotations

import dataclasses

import pytest

from sd_runner import api as runner
from sd_runner.simulate.simulation import run_scenario

CLUSTERS = ("Textile", "Apparel", "Footwear", "Furniture")
NO_COST_SQUEEZE = {"Cost Pass Through": 1.0, "Exchange Rate Pass Through": 1.0}


def _scenario(name: str, **constants: float):
    scenario = runner.scenario(name)
    return dataclasses.replace(scenario, constants={**scenario.constants, **constants})


def _run(model, name: str, **constants: float):
    return run_scenario(model, _scenario(name, **constants))


def _at(run, variable: str, cluster: str, year: float) -> float:
    return run.series(variable, cluster)[year]


@pytest.fixture(scope="module")
def baseline(model):
    return _run(model, "baseline")


def test_rising_costs_squeeze_margins_whatever_the_dependence(model, baseline):
    """The rival explanation: wages, land and the yuan squeeze margins in 2003-2013 even with
    no buyer squeeze at all, and recovering every cost in prices removes that squeeze."""
    no_capture = _run(model, "baseline", **{"Buyer Squeeze Strength": 0.0})
    recovered = _run(model, "baseline", **{"Buyer Squeeze Strength": 0.0, **NO_COST_SQUEEZE})
    for cluster in CLUSTERS:
        assert _at(baseline, "Cost Pressure", cluster, 2013.0) > 0.001, cluster
        assert _at(recovered, "Cost Pressure", cluster, 2013.0) == 0.0, cluster
        assert _at(no_capture, "Margin", cluster, 2013.0) < \
            _at(recovered, "Margin", cluster, 2013.0) - 0.001, cluster


def test_the_yuans_appreciation_squeezes_the_export_heavy_clusters_most(model, baseline):
    """Appreciation bites on exports: with no pass-through of the yuan's rise, apparel (43 % of
    sales exported in 2013) loses more margin than textile (21 %)."""
    unpassed = _run(model, "baseline", **{"Exchange Rate Pass Through": 0.0})
    passed = _run(model, "baseline", **{"Exchange Rate Pass Through": 1.0})
    loss = {c: _at(passed, "Margin", c, 2013.0) - _at(unpassed, "Margin", c, 2013.0)
            for c in ("Textile", "Apparel")}
    assert loss["Apparel"] > loss["Textile"] > 0


def test_learning_under_oem_raises_unit_values_while_exports_grow(model, baseline):
    """Buyers' orders teach: unit values rise with export growth and stop when it stops, and
    the learning offsets part of the cost squeeze."""
    no_learning = _run(model, "baseline", **{"Learning Elasticity": 0.0})
    for cluster in CLUSTERS:
        learning = baseline.series("OEM Learning Index", cluster)
        assert learning[2010.0] > 1.1, cluster
        # Exports near their potential by the 2030s: learning has all but stopped.
        assert learning[2035.0] - learning[2030.0] < 0.2 * (learning[2010.0] - learning[2005.0])
        assert (no_learning.series("OEM Learning Index", cluster) == 1.0).all()
        assert _at(baseline, "Cost Pressure", cluster, 2013.0) < \
            _at(no_learning, "Cost Pressure", cluster, 2013.0), cluster
    assert _at(baseline, "Export Unit Value", "Footwear", 2010.5) > \
        _at(no_learning, "Export Unit Value", "Footwear", 2010.5)


def test_lead_firm_barriers_cut_channels_and_brand_premiums(model):
    """Blocking closes channels and cuts the brand premium: without those two effects the
    own-brand lever sells more under own brands, at a higher own-brand margin."""
    blocked = _run(model, "own-brand")
    open_ = _run(model, "own-brand", **{"Blocking Channel Loss": 0.0,
                                        "Blocking Premium Loss": 0.0})
    for cluster in CLUSTERS:
        assert _at(blocked, "Lead Firm Blocking", cluster, 2035.0) > 0.01, cluster
        assert _at(open_, "Own Brand Share", cluster, 2035.0) > \
            _at(blocked, "Own Brand Share", cluster, 2035.0), cluster
        assert _at(open_, "Own Brand Margin", cluster, 2035.0) > \
            _at(blocked, "Own Brand Margin", cluster, 2035.0), cluster


def test_going_out_brings_brands_channels_and_technology(model, baseline):
    """Going out buys brands, opens channels abroad and sources technology there."""
    going = _run(model, "going-out")
    no_overseas_rd = _run(model, "going-out", **{"Overseas R and D Effect": 0.0})
    for cluster in CLUSTERS:
        assert _at(going, "Own Brand Export Fraction", cluster, 2035.0) > \
            _at(baseline, "Own Brand Export Fraction", cluster, 2035.0), cluster
        assert _at(going, "Brand Equity", cluster, 2035.0) > \
            _at(baseline, "Brand Equity", cluster, 2035.0), cluster
        assert _at(going, "Patent Pool Stock", cluster, 2035.0) > \
            _at(no_overseas_rd, "Patent Pool Stock", cluster, 2035.0), cluster


def test_relocation_frees_resources_for_domestic_business(model, baseline):
    """Regional cooperation moves low-end links out, and the freed resources build domestic
    business in proportion to what the cluster's capability can use."""
    cooperation = _run(model, "regional-cooperation")
    lost = _run(model, "regional-cooperation", **{"Resource Redeployment Share": 0.0})
    for cluster in CLUSTERS:
        assert (baseline.series("Redeployed Sales", cluster) == 0).all()
        assert _at(cooperation, "Redeployed Sales", cluster, 2025.0) > 0, cluster
        assert _at(cooperation, "Domestic Sales", cluster, 2035.0) > \
            _at(lost, "Domestic Sales", cluster, 2035.0), cluster


def test_firms_answer_the_upgrading_standards_with_r_and_d(model):
    """The forcing mechanism works through firms: standards alone (no subsidy, no IP lever)
    raise R&D intensity and technology, more so with the firms' response."""
    levers = runner.bundled_levers()
    standards = {s.variable: s.full for s in levers["industrial-policy"].settings}
    only_standards = {"R and D Subsidy Rate": 0.0, "IP Protection Strength": 0.0,
                      "Upgrading Standards Exit Rate":
                          standards["Upgrading Standards Exit Rate"]}
    responding = _run(model, "industrial-policy", **only_standards)
    passive = _run(model, "industrial-policy", **only_standards,
                   **{"Standards R and D Response": 0.0})
    for cluster in CLUSTERS:
        assert _at(responding, "R and D Intensity", cluster, 2025.0) > \
            _at(passive, "R and D Intensity", cluster, 2025.0) + 0.001, cluster
        assert _at(responding, "Technology Strength", cluster, 2035.0) > \
            _at(passive, "Technology Strength", cluster, 2035.0), cluster


def test_capability_not_the_oem_share_drives_new_products(model, baseline):
    """New products follow capability: the domestic value chain, which builds brands and
    technology, raises the new-product rate."""
    strategy = _run(model, "domestic-value-chain")
    for cluster in CLUSTERS:
        assert _at(strategy, "New Product Output Share", cluster, 2035.0) > \
            _at(baseline, "New Product Output Share", cluster, 2035.0), cluster


def test_textile_brands_less_of_its_domestic_sales(baseline):
    """Yarns and fabrics are intermediate goods: textile's own-brand ceiling is lower."""
    for cluster in ("Apparel", "Footwear", "Furniture"):
        assert _at(baseline, "Own Brand Fraction", "Textile", 2013.0) < \
            _at(baseline, "Own Brand Fraction", cluster, 2013.0)


def test_each_lever_costs_whom_levers_toml_says(model, baseline):
    """A lever whose cost to firms (or government) is "none" in levers.toml costs them
    nothing in the model, and one with a cost costs them something once it has started; the
    firms' part is deducted in the margin."""
    for lever in runner.bundled_levers().values():
        run = _run(model, lever.id)
        after = lever.start_year + lever.ramp_years
        for variable, text in (("Firm Lever Cost", lever.cost_to_firms),
                               ("Government Lever Cost", lever.cost_to_government)):
            for cluster in CLUSTERS:
                cost = _at(run, variable, cluster, after)
                if text.startswith("none"):
                    assert cost == 0.0, (lever.id, variable, cluster)
                else:
                    assert cost > 0.0, (lever.id, variable, cluster)
    free_channels = _run(model, "market-chain", **{"Channel Running Cost": 0.0})
    paid_channels = _run(model, "market-chain")
    for cluster in CLUSTERS:
        assert _at(free_channels, "Margin", cluster, 2025.0) > \
            _at(paid_channels, "Margin", cluster, 2025.0), cluster
