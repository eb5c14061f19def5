"""Strongest-path loop discovery finds the loops that matter without enumerating them all."""

from __future__ import annotations

import numpy as np
import pytest
from toy_models import ARMS_RACE, write_model

from sd_runner.engine import FastModel
from sd_runner.feedback.discovery import strongest_path_loops
from sd_runner.feedback.dominance import loop_scores
from sd_runner.feedback.graph import CausalGraph, TooManyLoops, value_ranges


def _peak_relative_scores(model, loops, params=None):
    """Each loop's largest |relative score| over the run and every element."""
    scores = loop_scores(model, loops, params)
    peak: dict[str, float] = {}
    for column, instance in enumerate(scores.instances):
        value = float(np.abs(scores.relative[:, column]).max())
        peak[instance.loop.id] = max(peak.get(instance.loop.id, 0.0), value)
    return peak


def test_the_arms_race_loops_are_all_found(tmp_path):
    model = FastModel(write_model(tmp_path, ARMS_RACE))
    graph = CausalGraph(model.path, value_ranges(model.run()))
    every = graph.loops()
    assert len(every) == 8  # 3 adjustments, 3 pairwise races, 2 three-party races
    found = strongest_path_loops(graph, model)
    assert {loop.id for loop in found} == {loop.id for loop in every}
    # The same Loop records as enumeration gives: variables in canonical order, polarities.
    assert sorted(found, key=lambda loop: loop.id) == sorted(every, key=lambda loop: loop.id)


def test_on_our_model_it_finds_every_loop_that_ever_passes_a_tenth_of_a_percent():
    from sd_runner import api as runner
    from sd_runner.inputs.scenarios import scenario_params

    model = runner.bundled_model("fast")
    params = scenario_params(runner.scenario("baseline"), model)
    graph = CausalGraph(model.path, value_ranges(model.run(params)))
    every = graph.loops()
    found = {loop.id for loop in strongest_path_loops(graph, model, params)}
    assert found <= {loop.id for loop in every}
    peak = _peak_relative_scores(model, every, params)
    matter = {loop_id for loop_id, value in peak.items() if value > 0.001}
    assert matter - found == set()
    assert len(found) < len(every) / 2  # it prunes: most of the 2 006 loops never matter


def test_too_many_loops_to_enumerate_falls_back_to_the_search(monkeypatch):
    from sd_runner import api as runner
    from sd_runner.feedback import graph as loops

    with pytest.raises(TooManyLoops, match="more than 10 feedback loops"):
        CausalGraph(runner.bundled_model().path).loops(max_loops=10)
    monkeypatch.setattr(loops, "MAX_LOOPS", 10)
    inventory = runner.loop_inventory()
    assert inventory.method == "strongest-path"
    names = {loop.name for loop in inventory.loops if loop.name}
    assert {"R1 capture", "B5 brand decay", "B3 dependence adjustment"} <= names
    assert "B8 specific-asset relocation" not in names  # its lever is off in the baseline
