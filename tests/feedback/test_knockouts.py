"""Loop knockouts: one compiled variant cuts any causal link, and changes nothing until it does."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO
from toy_models import write_model

from sd_runner import resources
from sd_runner.api import bundled_knockouts
from sd_runner.engine.fast import FastModel
from sd_runner.errors import InputError
from sd_runner.feedback import knockout_doc
from sd_runner.feedback.graph import CausalGraph, load_loop_names
from sd_runner.feedback.knockouts import KnockoutModel, knockout_check
from sd_runner.inputs.scenarios import scenario_params
from sd_runner.results.loops import loop_id
from sd_runner.validation.checks import CheckResult

GROWTH = """
Stock= INTEG (Inflow, 100)
	~	Widget
	~		|

Inflow= Stock * Growth
	~	Widget/Year
	~		|

Growth= 0.1
	~	1/Year
	~		|
"""


@pytest.fixture(scope="module")
def knockouts(model):
    """The calibrated model with every named loop cuttable (its variant compiled once)."""
    return bundled_knockouts()


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    path = write_model(tmp_path_factory.mktemp("growth"), GROWTH)
    return KnockoutModel(FastModel(path), links=[("Stock", "Inflow")])


def test_with_every_switch_off_the_variant_is_the_model(knockouts, bundled_runs):
    for name, run in bundled_runs.items():
        frame = knockouts.run(scenario_params(run.scenario, knockouts.model))
        assert list(frame.columns) == list(run.frame.columns), name
        expected = run.frame.to_numpy()
        scale = np.maximum(np.abs(expected), 1e-300)
        assert (np.abs(frame.to_numpy() - expected) / scale).max() <= 1e-12, name


def test_cutting_a_stock_s_own_inflow_turns_growth_linear(toy):
    # Euler: intact, S(t) = 100 (1 + 0.1 dt)^(t/dt); with the inflow held at 0.1 x 100 the
    # stock grows by 10 a year.
    intact = toy.run(return_columns=["Stock"])["Stock"]
    cut = toy.run(cut=[("Stock", "Inflow")], return_columns=["Stock"])["Stock"]
    times = intact.index.to_numpy()
    assert np.allclose(intact, 100 * (1 + 0.1 * 0.25) ** (times / 0.25), rtol=1e-12)
    assert np.allclose(cut, 100 + 10 * times, rtol=1e-12)


def test_a_link_that_is_not_in_the_graph_is_refused(toy, knockouts):
    with pytest.raises(InputError, match="Inflow -> Growth is not a causal link") as error:
        KnockoutModel(toy.model, links=[("Inflow", "Growth")])
    assert "\n" not in str(error.value)
    with pytest.raises(InputError, match="'R99' is not a loop with a cut"):
        knockouts.run(cut=["R99"])
    with pytest.raises(InputError, match="cannot cut it; name it in links="):
        knockouts.run(cut=[("Brand Equity", "Brand Coverage")])


def test_a_cut_by_code_is_its_link(knockouts):
    by_code = knockouts.run(cut="R1", return_columns=["Buyer Dependence"])
    by_link = knockouts.run(cut=[("Buyer Dependence", "Buyer Specific Investment")],
                            return_columns=["Buyer Dependence"])
    assert by_code.equals(by_link)
    assert not by_code.equals(knockouts.run(return_columns=["Buyer Dependence"]))


def test_cutting_r1_holds_specificity_at_its_2003_equilibrium(knockouts):
    # Investment sees the 2003 dependence, so it keeps replacing what retires in 2003.
    frame = knockouts.run(cut=["R1"], return_columns=["Asset Specificity"])
    assert np.allclose(frame, frame.iloc[0], rtol=1e-6)
    assert not np.allclose(knockouts.run(return_columns=["Asset Specificity"]), frame.iloc[0],
                           rtol=1e-2)


def test_each_cut_is_a_link_of_its_loop_on_the_fewest_other_named_loops():
    names = load_loop_names(resources.loop_names_path())
    graph = CausalGraph(resources.model_path())
    links_of = {loop.id: {(k.source, k.target) for k in loop.links} for loop in graph.loops()}
    named = {entry.code: links_of[loop_id(entry.variables)] for entry in names}

    def others(code, link):
        return sum(link in links for other, links in named.items() if other != code)

    for entry in names:
        assert entry.cut in named[entry.code], entry.code
        assert others(entry.code, entry.cut) == min(others(entry.code, link)
                                                    for link in named[entry.code]), entry.code


@pytest.mark.parametrize("old, new, message", [
    ('cut = ["Buyer Dependence", "Buyer Specific Investment"]',
     'cut = ["Buyer Dependence", "Asset Specificity"]',
     "loop R1: cut must be two consecutive variables"),
    ('keeps_in_range = "Buyer Dependence"', 'keeps_in_range = "Asset Specificity"',
     "loop B3: keeps_in_range must be one of the loop's"),
])
def test_a_cut_or_range_keeper_outside_its_loop_is_refused(tmp_path, old, new, message):
    text = (REPO / "models" / "loops.toml").read_text(encoding="utf-8")
    path = tmp_path / "loops.toml"
    path.write_text(text.replace(old, new), "utf-8")
    with pytest.raises(InputError, match=message):
        load_loop_names(path)


def test_the_knockout_checks_say_which_cuts_break_their_loop_within_range(knockouts):
    results = {r.name: r for r in knockout_check(knockouts, codes=["R1", "B3"])}
    assert all(isinstance(r, CheckResult) for r in results.values())
    assert results["knockout R1"].passed, results["knockout R1"].detail
    assert f"breaks 1 of {len(knockouts.loops)} loops" in results["knockout R1"].detail
    # Dependence adjusting toward a goal it can no longer close on drifts past 1, as
    # loops.toml declares (keeps_in_range), so the knockout passes.
    assert results["knockout B3"].passed, results["knockout B3"].detail
    assert "Buyer Dependence[Furniture]" in results["knockout B3"].detail


def test_a_declared_range_keeper_must_leave_the_range_and_an_undeclared_one_fails(
        knockouts, monkeypatch):
    import dataclasses

    # B3 not declared: its breach fails the knockout.
    monkeypatch.setitem(knockouts.names, "B3",
                        dataclasses.replace(knockouts.names["B3"], keeps_in_range=""))
    # R1 declared to keep dependence in range: its cut stays in range, so that fails too.
    monkeypatch.setitem(knockouts.names, "R1", dataclasses.replace(
        knockouts.names["R1"], keeps_in_range="Buyer Dependence"))
    results = {r.name: r for r in knockout_check(knockouts, codes=["R1", "B3"])}
    assert not results["knockout B3"].passed
    assert not results["knockout R1"].passed
    assert "should let that, and only that, leave the range" in results["knockout R1"].detail


def test_readme_knockout_tables_are_current(knockouts):
    current, refreshed = knockout_doc.refresh(REPO / "models" / "README.md", knockouts)
    assert current == refreshed, "run: python -m sd_runner.feedback.knockout_doc models/README.md"
