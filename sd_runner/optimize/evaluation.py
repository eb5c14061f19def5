"""Candidate lever mixes, evaluated on the compiled engine: each candidate over the problem's
parameter sets (the same sets for every candidate: common random numbers), all of a batch in
one ensemble, reduced to the robust objectives and the budget each uses.

A candidate is a vector of decisions: for each lever of the problem, its level (0 = off, 1 = the
full programme of ``models/levers.toml``) and its start year (a whole year). A level sets every
setting of the lever as a scenario's ``level`` does.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.integrate import trapezoid

from sd_runner.engine.ensemble import run_ensemble
from sd_runner.engine.fast import FastModel
from sd_runner.inputs.policy_problem import PolicyProblem
from sd_runner.results.optimization import Evaluated
from sd_runner.results.outcomes import FRACTIONS, TOTAL
from sd_runner.results.uncertainty import ParameterSets

#: What the budget of each kind is computed from.
BUDGET_OUTCOME = {"per-year": "Lever Cost", "discounted": "Lever Cost",
                  "total": "Cumulative Lever Cost"}


class PolicyEvaluation:
    """Evaluates candidates of ``problem`` on ``model`` over ``sets`` (one row each)."""

    def __init__(self, model: FastModel, problem: PolicyProblem, sets: ParameterSets,
                 workers: int | None = None, scheduler: str | None = None,
                 references: np.ndarray | None = None):
        self.model, self.problem, self.sets = model, problem, sets
        self.references = references  # decisions the regret metric compares with
        self._best = None  # each objective's best reference outcome in each set
        self.workers, self.scheduler = workers, scheduler
        self.settings = [(b, s) for b in problem.levers for s in b.lever.settings]
        self.names = ([s.variable for _, s in self.settings]
                      + [f"Lever Start Year[{b.lever.element}]" for b in problem.levers]
                      + list(sets.names))
        self.clusters = list(model.subscripts["Cluster"])
        self.outputs = sorted({o.outcome for o in problem.objectives}
                              | {BUDGET_OUTCOME[problem.budget_kind]})
        self.runs = 0

    # ------------------------------------------------------------------ decisions
    def bounds(self) -> list[tuple[float, float]]:
        """Each decision's range: levels first, then start years, lever by lever."""
        levels = [(0.0, b.max_level) for b in self.problem.levers]
        years = [(b.first_year, b.last_year) for b in self.problem.levers]
        return levels + years

    def decode(self, decisions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(levels, start years)`` of each candidate: start years rounded to whole years."""
        decisions = np.atleast_2d(np.asarray(decisions, dtype=float))
        count = len(self.problem.levers)
        return decisions[:, :count], np.round(decisions[:, count:])

    def values(self, decisions: np.ndarray) -> np.ndarray:
        """The ensemble's rows: every candidate over every parameter set, candidate-major."""
        levels, years = self.decode(decisions)
        columns = []
        for b, setting in self.settings:
            at = self.problem.levers.index(b)
            columns.append(setting.at_level(levels[:, at]))  # as a scenario's level sets it
        policy = np.column_stack(columns + [years[:, i] for i in range(years.shape[1])])
        sets = len(self.sets.values)
        rows = np.repeat(policy, sets, axis=0)
        return np.column_stack([rows, np.tile(self.sets.values, (len(policy), 1))])

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, decisions: np.ndarray) -> Evaluated:
        """Run every candidate over every set, in one ensemble; reduce to robust objectives
        and budget use."""
        decisions = np.atleast_2d(np.asarray(decisions, dtype=float))
        values = self.values(decisions)
        result = run_ensemble(self.model, values, self.names, self.outputs,
                              final_time=self.problem.year, workers=self.workers,
                              scheduler=self.scheduler, breaches="keep")
        self.runs += len(values)
        candidates, sets = len(decisions), len(self.sets.values)
        wrong = np.zeros(candidates * sets, dtype=bool)
        wrong[[b.member for b in result.breaches]] = True
        wrong = wrong.reshape(candidates, sets)
        series = {outcome: self._clusters(result, outcome).reshape(
            candidates, sets, len(result.times), len(self.clusters))
            for outcome in self.outputs}
        finals = [self._final(series, o) for o in self.problem.objectives]
        if self.problem.metric == "regret" and self._best is None:
            self._best = self._best_references()
        objectives = np.column_stack([self._robust(values, o, wrong, i)
                                      for i, (values, o) in enumerate(
                                          zip(finals, self.problem.objectives, strict=True))])
        budget = self._budget(series, result.times, wrong)
        per_set = np.where(wrong[:, :, None], np.nan, np.stack(finals, axis=2))
        return Evaluated(objectives, budget, wrong.sum(axis=1), per_set)

    def _clusters(self, result, outcome: str) -> np.ndarray:
        columns = [result.columns.index(f"{outcome}[{c}]") for c in self.clusters]
        return result.values[:, :, columns]

    def _final(self, series: dict, objective) -> np.ndarray:
        """``[candidate, set]`` of the objective's outcome in the problem's year."""
        last = series[objective.outcome][:, :, -1, :]
        if objective.cluster != TOTAL:
            return last[:, :, self.clusters.index(objective.cluster)]
        return last.mean(axis=2) if objective.outcome in FRACTIONS else last.sum(axis=2)

    def _best_references(self) -> np.ndarray:
        """``[set, objective]``: the best outcome any reference policy reaches in each set
        (the references are evaluated once, with the plain mean metric, for their outcomes)."""
        if self.references is None:
            raise ValueError("the regret metric needs reference policies")
        plain = PolicyEvaluation(self.model, dataclasses.replace(self.problem, metric="mean"),
                                 self.sets, self.workers, self.scheduler)
        outcomes = plain.evaluate(self.references).per_set  # [reference, set, objective]
        self.runs += plain.runs
        directions = np.array([o.direction for o in self.problem.objectives], dtype=float)
        return np.nanmax(outcomes * directions, axis=0) * directions

    def _robust(self, values: np.ndarray, objective, wrong: np.ndarray,
                index: int) -> np.ndarray:
        """The problem's robustness metric over the sets a candidate kept."""
        kept = np.where(wrong, np.nan, values)
        metric = self.problem.metric
        if metric == "mean":
            return _nan_reduce(np.nanmean, kept)
        if metric == "regret":  # how far short of the best reference, in the worst set
            shortfall = objective.direction * (self._best[None, :, index] - kept)
            return _nan_reduce(np.nanmax, np.maximum(shortfall, 0.0))
        if metric == "quantile":  # the q worst: the low tail of a gain, the high of a cost
            q = self.problem.quantile if objective.direction > 0 else 1 - self.problem.quantile
            return _nan_reduce(lambda a, axis: np.nanquantile(a, q, axis=axis), kept)
        met = objective.direction * (kept - objective.threshold) >= 0
        share = np.where(wrong, np.nan, met.astype(float))
        return _nan_reduce(np.nanmean, share)

    def _budget(self, series: dict, times: np.ndarray, wrong: np.ndarray) -> np.ndarray:
        """Each candidate's cost, as the budget counts it, averaged over its kept sets."""
        kind = self.problem.budget_kind
        cost = series[BUDGET_OUTCOME[kind]].sum(axis=3)  # [candidate, set, time], all clusters
        if kind == "total":
            per_set = cost[:, :, -1]
        elif kind == "per-year":
            per_set = cost.max(axis=2)
        else:  # the yearly cost discounted to the first year a lever may start, integrated
            start = min(b.first_year for b in self.problem.levers)
            factor = (1 + self.problem.discount_rate) ** -(times - start)
            per_set = trapezoid(cost * factor, times, axis=2)
        return _nan_reduce(np.nanmean, np.where(wrong, np.nan, per_set))


def _nan_reduce(function, values: np.ndarray) -> np.ndarray:
    """``function`` over the sets of each candidate; NaN where every set was left out."""
    out = np.full(values.shape[0], np.nan)
    some = ~np.isnan(values).all(axis=1)
    if some.any():
        out[some] = function(values[some], axis=1)
    return out
