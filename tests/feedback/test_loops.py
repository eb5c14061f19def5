"""The loop inventory: every feedback loop of a model, with polarities and stable ids."""

from __future__ import annotations

import pytest
from conftest import REPO
from toy_models import GOAL, LOGISTIC, write_model

from sd_runner.feedback.graph import CausalGraph, value_ranges
from sd_runner.results.loops import loop_id


def test_goal_seeking_stock_has_one_balancing_loop(tmp_path):
    path = write_model(tmp_path, GOAL)
    graph = CausalGraph(path, {"Stock": (0, 100), "Adjustment": (0, 20)})
    (loop,) = graph.loops()
    assert loop.variables == ("Adjustment", "Stock")
    assert loop.polarity == "B"
    assert [link.kind for link in loop.links] == ["flow", "aux"]
    assert loop.stocks == ("Stock",)


def test_logistic_growth_has_a_reinforcing_and_a_balancing_loop(tmp_path):
    path = write_model(tmp_path, LOGISTIC)
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


def test_a_saturating_quotient_keeps_its_sign(tmp_path):
    path = write_model(tmp_path, """
Knowledge= INTEG (Learning, 1)
	~	Idea
	~		|

Learning= Strength * 2
	~	Idea/Year
	~		|

Strength= Knowledge / (Knowledge + Half Strength Knowledge)
	~	Dmnl
	~		|

Half Strength Knowledge= 10
	~	Idea
	~		|
""")
    (loop,) = CausalGraph(path, {"Knowledge": (1, 100), "Learning": (0, 2),
                                 "Strength": (0, 1)}).loops()
    assert loop.polarity == "R"  # x / (x + k) rises with x although x is on both sides


def test_ids_are_stable_under_rotation_and_differ_between_loops():
    assert loop_id(["A", "B", "C"]) == loop_id(["B", "C", "A"]) == loop_id(["C", "A", "B"])
    assert loop_id(["A", "B", "C"]) != loop_id(["A", "C", "B"])


@pytest.fixture(scope="module")
def inventory(model):
    graph = CausalGraph(REPO / "models" / "value_chain_capture.mdl", value_ranges(model.run()))
    return graph, graph.loops()


def test_the_model_loops_run_through_its_stocks(inventory):
    graph, loops = inventory
    # The .mdl's twelve stocks, OEM Learning Index and Cumulative Lever Cost among them.
    assert len(graph.stocks) == 12
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


def test_every_named_loop_is_a_loop_of_the_model(inventory):
    from sd_runner.feedback.graph import load_loop_names, named_loops

    _, loops = inventory
    names = load_loop_names(REPO / "models" / "loops.toml")
    assert len(names) >= 8
    named = [loop for loop in named_loops(loops, names) if loop.name]
    assert len(named) == len(names)
    by_code = {loop.name.split()[0]: loop for loop in named}
    for code, loop in by_code.items():
        # The codes say what the paper's story says; the polarities come from the equations.
        assert loop.polarity == {"R": "R", "B": "B", "E": "?"}[code[0]], (code, loop)


def test_a_renamed_variable_breaks_the_names_not_the_report(inventory, tmp_path):
    from sd_runner.errors import InputError
    from sd_runner.feedback.graph import load_loop_names, named_loops

    _, loops = inventory
    text = (REPO / "models" / "loops.toml").read_text(encoding="utf-8")
    path = tmp_path / "loops.toml"
    path.write_text(text.replace('"R and D Depreciation"', '"R&D Depreciation"'), "utf-8")
    with pytest.raises(InputError, match="B4 .*is not a feedback loop of the model"):
        named_loops(loops, load_loop_names(path))


def test_loops_command_lists_every_loop_as_json(inventory):
    import json

    from click.testing import CliRunner

    from sd_runner.cli import cli

    result = CliRunner().invoke(cli, ["loops", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)["loops"]
    _, loops = inventory
    assert [entry["id"] for entry in listed] == [loop.id for loop in loops]
    named = {entry["name"].split()[0] for entry in listed if entry["name"]}
    assert {"R1", "R2", "R3", "R4", "R5", "B1"} <= named
    for entry in listed:
        assert entry["polarity"] in ("R", "B", "?")
        assert len(entry["links"]) == len(entry["variables"])
        assert entry["stocks"]
