"""Policy design: the search for the best lever mixes of a problem on the compiled model, with
the bundled domestic-value-chain scenario seeded and placed among the results."""

from __future__ import annotations

import numpy as np

from sd_runner.engine.fast import FastModel
from sd_runner.inputs.policy_problem import PolicyProblem
from sd_runner.inputs.scenarios import Scenario
from sd_runner.optimize.evaluation import PolicyEvaluation
from sd_runner.optimize.search import SearchSettings, run_search
from sd_runner.progress import Progress, quiet
from sd_runner.results.optimization import PolicyDesign
from sd_runner.results.uncertainty import ParameterSets


def decisions_of(scenario: Scenario, problem: PolicyProblem) -> np.ndarray:
    """A scenario's levers as the problem's decisions (levels, then start years); levers the
    scenario leaves off have level 0 and their first allowed start year."""
    chosen = {choice.lever.id: choice for choice in scenario.levers}
    levels, years = [], []
    for bounds in problem.levers:
        choice = chosen.get(bounds.lever.id)
        levels.append(min(choice.level, bounds.max_level) if choice else 0.0)
        year = choice.start_year if choice else bounds.first_year
        years.append(min(max(year, bounds.first_year), bounds.last_year))
    return np.array(levels + years, dtype=float)


def design_policy(model: FastModel, problem: PolicyProblem, sets: ParameterSets,
                  reference: Scenario, checkpoint=None, identity: str = "",
                  resume: bool = False, workers: int | None = None,
                  scheduler: str | None = None, progress: Progress = quiet) -> PolicyDesign:
    """Search ``problem`` over ``sets``, with ``reference`` (and all levers off) in the first
    population."""
    off = np.array([0.0] * len(problem.levers) + [b.first_year for b in problem.levers])
    seeded = decisions_of(reference, problem)
    alone = [np.concatenate([np.eye(len(problem.levers))[i], off[len(problem.levers):]])
             for i in range(len(problem.levers))]
    evaluation = PolicyEvaluation(model, problem, sets, workers=workers, scheduler=scheduler,
                                  references=np.array([off, *alone, seeded]))

    def evaluate(decisions: np.ndarray):
        found = evaluation.evaluate(decisions)
        return found.objectives, found.budget - problem.budget_limit

    directions = tuple(problem.objective_direction(o) for o in problem.objectives)
    settings = SearchSettings(problem.algorithm, problem.evaluations, problem.population,
                              problem.epsilons, problem.seed, directions,
                              tuple(evaluation.bounds()), (tuple(seeded), tuple(off)))
    found = run_search(settings, evaluate, checkpoint, identity, resume, progress)
    members = evaluation.evaluate(found.decisions) if len(found.decisions) else None
    placed = evaluation.evaluate(seeded[None, :])
    return PolicyDesign(problem, found, members.budget if members else np.empty(0),
                        reference.name, seeded, placed, members, evaluation.runs, sets.source)
