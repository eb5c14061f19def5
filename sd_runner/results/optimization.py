"""A policy design's results as tables, JSON and scenario files: each member of the Pareto set
with its levers, start years, budget use and robust objectives."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sd_runner.inputs.policy_problem import PolicyProblem
    from sd_runner.optimize.search import SearchResult


@dataclass(frozen=True)
class Evaluated:
    """A batch of candidates: ``objectives[candidate, objective]`` (robust, in the
    objectives' units, or the share of sets that satisfy them), ``budget[candidate]`` (100
    million USD; a year for per-year), and ``excluded[candidate]``, the parameter sets left
    out because a run left a declared range."""

    objectives: np.ndarray
    budget: np.ndarray
    excluded: np.ndarray
    per_set: np.ndarray  # [candidate, set, objective]: each objective's outcome, NaN if left out


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

    def mixes_table(self):
        """The Pareto set as a DataFrame, one row per mix (index ``mix``), the reference
        scenario last: levels, start years, budget used and objectives."""
        import pandas as pd

        return pd.DataFrame(member_rows(self)).set_index("mix")

    def better_mixes(self) -> list[str]:
        """The mixes at most as costly as the reference and at least as good in every
        objective, best first by the first objective."""
        return [f"mix-{i + 1}" for i in better_than_reference(self)]


def better_than_reference(design: PolicyDesign) -> list[int]:
    """The members of the Pareto set at most as costly as the reference (by the budget's
    measure) and at least as good in every objective, best first by the first objective."""
    problem = design.problem
    if design.members is None:
        return []
    directions = np.array([problem.objective_direction(o) for o in problem.objectives],
                          dtype=float)
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


def _levels_years(design: PolicyDesign, decisions: np.ndarray) -> tuple[list, list]:
    count = len(design.problem.levers)
    return list(decisions[:count]), [float(round(y)) for y in decisions[count:]]


def member_rows(design: PolicyDesign) -> list[dict]:
    """One row per member of the Pareto set, then the reference scenario's row."""
    problem = design.problem
    rows = []
    entries = [(f"mix-{i + 1}", design.search.decisions[i], design.search.objectives[i],
                design.budget[i]) for i in range(len(design.search.decisions))]
    entries.append((design.reference_name, design.reference_decisions,
                    design.reference.objectives[0], design.reference.budget[0]))
    for name, decisions, objectives, budget in entries:
        levels, years = _levels_years(design, decisions)
        row = {"mix": name}
        for bounds, level, year in zip(problem.levers, levels, years, strict=True):
            row[f"{bounds.lever.id} level"] = round(float(level), 6)
            row[f"{bounds.lever.id} start"] = year
        row[f"budget ({problem.budget_kind})"] = float(budget)
        for objective, value in zip(problem.objectives, objectives, strict=True):
            row[objective.label] = float(value)
        rows.append(row)
    return rows


def csv_text(rows: list[dict]) -> str:
    """The rows as CSV (numbers with repr's precision)."""
    header = list(rows[0])
    lines = [",".join(f'"{h}"' if "," in h else h for h in header)]
    for row in rows:
        lines.append(",".join(repr(v) if isinstance(v, float) else str(v)
                              for v in (row[h] for h in header)))
    return "\n".join(lines) + "\n"


def design_record(design: PolicyDesign) -> dict:
    """Everything about the search, for JSON: problem, Pareto set, reference, convergence."""
    problem = design.problem
    better = better_than_reference(design)
    best = better[0] if better else None
    return {
        "problem": {"file": problem.source, "year": problem.year,
                    "objectives": [{"outcome": o.outcome, "cluster": o.cluster,
                                    "better": "higher" if o.direction > 0 else "lower",
                                    "threshold": o.threshold} for o in problem.objectives],
                    "budget": {"kind": problem.budget_kind, "limit": problem.budget_limit,
                               "discount_rate": problem.discount_rate,
                               "holds_for": "the mean over the parameter sets"},
                    "robustness": {"metric": problem.metric, "quantile": problem.quantile,
                                   "sets": problem.sets, "sample": design.sets_source},
                    "search": {"algorithm": problem.algorithm,
                               "evaluations": problem.evaluations,
                               "population": problem.population,
                               "epsilons": list(problem.epsilons), "seed": problem.seed}},
        "runs": design.runs,
        "members": member_rows(design),
        "reference": design.reference_name,
        "better_than_reference": [f"mix-{i + 1}" for i in better],
        "best_against_reference": None if best is None else {
            "mix": f"mix-{best + 1}", **gain_over_reference(design, best)},
        "convergence": design.search.convergence,
    }


def json_text(design: PolicyDesign) -> str:
    return json.dumps(design_record(design), indent=2, allow_nan=False) + "\n"


def scenario_toml(design: PolicyDesign, member: int) -> str:
    """Member ``member`` of the Pareto set as a scenario file ``run`` and ``compare`` read."""
    levels, years = _levels_years(design, design.search.decisions[member])
    labels = ", ".join(f"{o.label} {v:.6g}" for o, v in
                       zip(design.problem.objectives, design.search.objectives[member],
                           strict=True))
    lines = [f'name = "mix-{member + 1}"',
             f'title = "Lever mix {member + 1} of the Pareto set"',
             f'description = "Found by sd-runner optimize ({design.problem.metric} over '
             f'{design.problem.sets} parameter sets): {labels}."', ""]
    for bounds, level, year in zip(design.problem.levers, levels, years, strict=True):
        if level <= 0:
            continue
        lines += [f"[levers.{bounds.lever.id}]", f"level = {float(level)!r}",
                  f"start_year = {year!r}", ""]
    return "\n".join(lines)
