"""Loops That Matter scores on models whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from toy_models import GOAL, LOGISTIC, TWO_LOOPS, write_model

from sd_runner.engine import FastModel
from sd_runner.feedback.dominance import loop_scores
from sd_runner.feedback.graph import CausalGraph, value_ranges


def scored(tmp_path, equations):
    model = FastModel(write_model(tmp_path, equations))
    loops = CausalGraph(model.path, value_ranges(model.run())).loops()
    return loops, loop_scores(model, loops)


def by_variables(result, variables):
    (column,) = [i for i, inst in enumerate(result.instances)
                 if set(inst.loop.variables) == set(variables)]
    return column


def test_a_goal_seeking_stock_has_one_balancing_loop_scoring_minus_one(tmp_path):
    loops, result = scored(tmp_path, GOAL)
    assert len(loops) == 1 and loops[0].polarity == "B"
    assert result.scores[0, 0] == 0.0
    np.testing.assert_allclose(result.scores[1:, 0], -1.0, rtol=1e-9)
    np.testing.assert_allclose(result.relative[1:, 0], -1.0, rtol=1e-9)


def test_logistic_dominance_passes_to_the_balancing_loop_at_the_inflection(tmp_path):
    model = FastModel(write_model(tmp_path, LOGISTIC))
    loops = CausalGraph(model.path, value_ranges(model.run())).loops()
    result = loop_scores(model, loops)
    growth = by_variables(result, ("Births", "Population"))
    limit = by_variables(result, ("Births", "Population", "Fractional Growth"))
    assert result.instances[growth].loop.polarity == "R"
    assert result.instances[limit].loop.polarity == "B"
    reinforcing = np.abs(result.relative[1:, growth]) > np.abs(result.relative[1:, limit])
    times = result.times[1:]
    switch = times[~reinforcing][0]
    assert reinforcing[times < switch].all() and not reinforcing[times >= switch].any()
    # The inflection of the simulated path: the step in which Population passes half the
    # capacity (Euler with TIME STEP 0.25 is later than the exact ln(999) / 0.5 = 13.8).
    population = model.run(return_columns=["Population"], saveper=0.25)["Population"]
    crossing = population.index[(population.to_numpy() >= 500)][0]
    assert switch == pytest.approx(crossing, abs=0.25 + 1e-9)


def test_two_loops_through_one_stock_score_as_worked_out_by_hand(tmp_path):
    # net = (g - 1/L) S = -0.1 S; the inflow's share of a change in net is g / |g - 1/L| = 1,
    # the outflow's -(1/L) / |g - 1/L| = -2; both auxiliary links score 1. Relative: 1/3, -2/3.
    _, result = scored(tmp_path, TWO_LOOPS)
    growth = by_variables(result, ("Inflow", "Stock"))
    decline = by_variables(result, ("Outflow", "Stock"))
    np.testing.assert_allclose(result.scores[1:, growth], 1.0, rtol=1e-9)
    np.testing.assert_allclose(result.scores[1:, decline], -2.0, rtol=1e-9)
    np.testing.assert_allclose(result.relative[1:, growth], 1 / 3, rtol=1e-9)
    np.testing.assert_allclose(result.relative[1:, decline], -2 / 3, rtol=1e-9)


def test_dominant_periods_follow_the_inflection_window_by_window(tmp_path):
    from sd_runner.feedback.dominance import dominant_periods

    model = FastModel(write_model(tmp_path, LOGISTIC))
    loops = CausalGraph(model.path, value_ranges(model.run())).loops()
    result = loop_scores(model, loops)
    periods = dominant_periods(result, window=1.0)
    assert [p.polarity for p in periods] == ["R", "B"]
    growth = [loop.id for loop in loops if loop.polarity == "R"]
    assert periods[0].loops == tuple(growth) and periods[0].start == 0.0
    # The step-by-step switch (14.75 here) lands in the window (14, 15], where the growth
    # loop still dominates on average, so the balancing period starts with the next window.
    limit = by_variables(result, [v for loop in loops if loop.polarity == "B"
                                  for v in loop.variables])
    step_switch = result.times[1:][result.relative[1:, limit] < -0.5][0]
    assert step_switch - 1 < periods[1].start <= step_switch + 1
    assert periods[0].end == periods[1].start and periods[1].end == 30  # windows abut
    assert all(p.share >= 0.5 for p in periods)


