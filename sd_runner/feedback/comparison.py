"""Feedback-loop dominance across a scenario comparison: which loops drive each cluster, when,
and how each scenario's levers shift them against the reference."""

from __future__ import annotations

from sd_runner.engine.fast import FastModel
from sd_runner.feedback.dominance import dominant_periods, loop_scores
from sd_runner.inputs.scenarios import Scenario, scenario_params
from sd_runner.model.loading import SDModel
from sd_runner.results.loop_scores import LoopComparison, ScenarioLoops
from sd_runner.results.loops import Loop

#: Default width, in years, of the windows dominance is judged over.
DEFAULT_WINDOW = 2.0


def compare_loops(model: FastModel, loops: list[Loop], scenarios: list[Scenario],
                  method: str, window: float = DEFAULT_WINDOW,
                  run_with: SDModel | None = None) -> LoopComparison:
    """Score ``loops`` in a run of each scenario (the reference first).

    ``run_with``: the engine whose trajectories are scored (default ``model``'s kernel); the
    scores are the same either way.
    """
    entries = []
    for chosen in scenarios:
        scores = loop_scores(model, loops, scenario_params(chosen, model), run_with=run_with)
        entries.append(ScenarioLoops(chosen, scores, tuple(dominant_periods(scores, window))))
    return LoopComparison(tuple(loops), method, window, model.control("SAVEPER"),
                          tuple(entries))

