"""The loop inventory: every feedback loop of a model, with polarities and stable ids."""

from __future__ import annotations

import pytest
from conftest import REPO

from sd_runner.loops import CausalGraph, loop_id, value_ranges

CONTROL = """
********************************************************
	.Control
********************************************************~
		Simulation Control Parameters
	|

FINAL TIME  = 30
	~	Year
	~		|

INITIAL TIME  = 0
	~	Year
	~		|

SAVEPER  = 1
	~	Year [0,?]
	~		|

TIME STEP  = 0.25
	~	Year [0,?]
	~		|
"""


def write_model(tmp_path, equations: str):
    path = tmp_path / "model.mdl"
    path.write_text("{UTF-8}\n" + equations + CONTROL, encoding="utf-8")
    return path


def test_goal_seeking_stock_has_one_balancing_loop(tmp_path):
    path = write_model(tmp_path, """
Stock= INTEG (Adjustment, 0)
	~	Widget
	~		|

Adjustment= (Goal - Stock) / Adjustment Time
	~	Widget/Year
	~		|

Goal= 100
	~	Widget
	~		|

Adjustment Time= 5
	~	Year
	~		|
""")
    graph = CausalGraph(path, {"Stock": (0, 100), "Adjustment": (0, 20)})
    (loop,) = graph.loops()
    assert loop.variables == ("Adjustment", "Stock")
    assert loop.polarity == "B"
    assert [link.kind for link in loop.links] == ["flow", "aux"]
    assert loop.stocks == ("Stock",)


def test_logistic_growth_has_a_reinforcing_and_a_balancing_loop(tmp_path):
    path = write_model(tmp_path, """
Population= INTEG (Births, 1)
	~	People
	~		|

Births= Population * Fractional Growth
	~	People/Year
	~		|

Fractional Growth= Maximum Growth * (1 - Population / Capacity)
	~	1/Year
	~		|

Maximum Growth= 0.5
	~	1/Year
	~		|

Capacity= 1000
	~	People
	~		|
""")
    ranges = {"Population": (1, 1000), "Births": (0, 125), "Fractional Growth": (0, 0.5)}
    loops = {loop.variables: loop for loop in CausalGraph(path, ranges).loops()}
    assert loops[("Births", "Population")].polarity == "R"
    assert loops[("Births", "Population", "Fractional Growth")].polarity == "B"
    assert len(loops) == 2


def test_a_link_whose_sign_changes_makes_its_loop_undetermined(tmp_path):
    path = write_model(tmp_path, """
Population= INTEG (Births, 1)
	~	People
	~		|

Births= Population * 0.5 * (1 - Population / 1000)
	~	People/Year
	~		|
""")
    (loop,) = CausalGraph(path, {"Population": (1, 1000), "Births": (0, 125)}).loops()
    # Births rises with Population below 500 and falls above: no single polarity.
    assert loop.polarity == "?"


def test_ids_are_stable_under_rotation_and_differ_between_loops():
    assert loop_id(["A", "B", "C"]) == loop_id(["B", "C", "A"]) == loop_id(["C", "A", "B"])
    assert loop_id(["A", "B", "C"]) != loop_id(["A", "C", "B"])


@pytest.fixture(scope="module")
def inventory(model):
    graph = CausalGraph(REPO / "models" / "value_chain_capture.mdl", value_ranges(model.run()))
    return graph, graph.loops()


def test_the_model_loops_run_through_its_stocks(inventory):
    graph, loops = inventory
    assert len(graph.stocks) == 10
    assert len(loops) == len({loop.id for loop in loops}) > 100
    for loop in loops:
        assert loop.stocks, loop.variables  # every loop passes through a stock
        assert set(loop.stocks) <= graph.stocks


def test_the_model_contains_the_papers_loops_with_their_polarities(inventory):
    _, loops = inventory
    by_id = {loop.id: loop for loop in loops}
    capture = ("Asset Specificity", "Lock In Pressure", "Indicated Buyer Dependence",
               "Buyer Dependence Change", "Buyer Dependence", "Buyer Specific Investment")
    assert by_id[loop_id(capture)].polarity == "R"  # lock-in: dependence breeds specificity
    decay = ("R and D Capital", "R and D Depreciation")
    assert by_id[loop_id(decay)].polarity == "B"
    domestic = ("Domestic Sales", "Domestic Sales Growth")
    assert by_id[loop_id(domestic)].polarity == "R"
