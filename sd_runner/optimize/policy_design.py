"""Policy design: the search for the best lever mixes of a problem on the compiled model, with
the bundled domestic-value-chain scenario seeded and placed among the results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sd_runner.engine.fast import FastModel
from sd_runner.inputs.policy_problem import PolicyProblem
from sd_runner.inputs.scenarios import Scenario
from sd_runner.optimize.evaluation import Evaluated, PolicyEvaluation
from sd_runner.optimize.search import SearchResult, SearchSettings, run_search
from sd_runner.progress import Progress, quiet
from sd_runner.results.uncertainty import ParameterSets


@dataclass(frozen=True)
class PolicyDesign:
    """A finished search: the problem, the Pareto set (``search``; ``budget`` of each member),
    the reference mix (the domestic-value-chain scenario's decisions, ``reference``) evaluated
    the same way, and the runs it took."""

    problem: PolicyProblem
    search: SearchResult
    budget: np.ndarray
    reference_name: str
    reference_decisions: np.ndarray
    reference: Evaluated
    members: Evaluated
    runs: int
    sets_source: str


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
    evaluation = PolicyEvaluation(model, problem, sets, workers=workers, scheduler=scheduler)
    off = np.array([0.0] * len(problem.levers) + [b.first_year for b in problem.levers])
    seeded = decisions_of(reference, problem)

    def evaluate(decisions: np.ndarray):
        found = evaluation.evaluate(decisions)
        return found.objectives, found.budget - problem.budget_limit

    directions = tuple(1 if problem.metric == "satisficing" else o.direction
                       for o in problem.objectives)
    settings = SearchSettings(problem.algorithm, problem.evaluations, problem.population,
                              problem.epsilons, problem.seed, directions,
                              tuple(evaluation.bounds()), (tuple(seeded), tuple(off)))
    found = run_search(settings, evaluate, checkpoint, identity, resume, progress)
    members = evaluation.evaluate(found.decisions) if len(found.decisions) else None
    placed = evaluation.evaluate(seeded[None, :])
    return PolicyDesign(problem, found, members.budget if members else np.empty(0),
                        reference.name, seeded, placed, members, evaluation.runs, sets.source)


def better_than_reference(design: PolicyDesign) -> list[int]:
    """The members of the Pareto set at most as costly as the reference (by the budget's
    measure) and at least as good in every objective, best first by the first objective."""
    problem = design.problem
    if design.members is None:
        return []
    directions = np.array([1 if problem.metric == "satisficing" else o.direction
                           for o in problem.objectives], dtype=float)
    own = design.search.objectives * directions
    theirs = design.reference.objectives[0] * directions
    cheaper = design.budget <= design.reference.budget[0] + 1e-12
    good = (own >= theirs - 1e-12).all(axis=1) & cheaper
    chosen = np.flatnonzero(good)
    return sorted(chosen.tolist(), key=lambda i: -own[i, 0])


def gain_over_reference(design: PolicyDesign, member: int, objective: int = 0) -> dict:
    """How much ``member`` beats the reference in ``objective``, set by set (the same sets):
    mean and the 5th and 95th percentiles of the difference, and the share of sets it is
    ahead."""
    mine = design.members.per_set[member, :, objective]
    theirs = design.reference.per_set[0, :, objective]
    kept = ~(np.isnan(mine) | np.isnan(theirs))
    difference = (mine - theirs)[kept] * design.problem.objectives[objective].direction
    if not difference.size:
        return {"sets": 0}
    low, high = np.quantile(difference, [0.05, 0.95])
    return {"sets": int(kept.sum()), "mean": float(difference.mean()), "p05": float(low),
            "p95": float(high), "share_ahead": float(np.mean(difference > 0))}
