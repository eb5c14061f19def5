"""Scenario discovery: under which uncertain factors a condition on a scenario's outcome holds.

The scenario (and the reference, for a condition that compares them) runs every parameter set
of the ensemble on the compiled engine, the same sets in both (common random numbers), so the
condition in a member is the lever's doing under that member's parameters. PRIM then finds the
box of factors where the condition concentrates, and CART, a classification tree, cuts the
same space as a cross-check. Members that leave a declared range in either run are left out
and reported, as ``compare --uncertainty`` does.
"""

from __future__ import annotations

import numpy as np

from sd_runner.engine.ensemble import run_ensemble
from sd_runner.engine.fast import FastModel
from sd_runner.errors import ArgumentError
from sd_runner.inputs.scenarios import Scenario, scenario_params
from sd_runner.progress import Progress, quiet, step
from sd_runner.results.discovery import (
    BoxStats,
    Condition,
    Discovery,
    LeafStats,
    Restriction,
)
from sd_runner.results.outcomes import FRACTIONS, TOTAL
from sd_runner.results.uncertainty import ExcludedSet, ParameterSets
from sd_runner.uncertainty import cart, prim
from sd_runner.uncertainty.comparison import refuse_too_many


def discover(model: FastModel, condition: Condition, scenario: Scenario,
             reference: Scenario | None, sets: ParameterSets, *,
             mass_min: float = prim.MASS_MIN, min_coverage: float = prim.MIN_COVERAGE,
             bootstraps: int = prim.BOOTSTRAPS, workers: int | None = None,
             scheduler: str | None = None, progress: Progress = quiet) -> Discovery:
    """Run ``scenario`` (and ``reference``, unless the condition is a threshold) over
    ``sets`` and find where ``condition`` holds: PRIM's box, its restrictions' quasi-p-values
    and recurrence over ``bootstraps`` resamples (drawn from ``sets.seed``), and CART's
    leaves."""
    runs = [scenario] + ([reference] if reference is not None else [])
    excluded: dict[int, ExcludedSet] = {}
    outcomes = []
    for number, chosen in enumerate(runs, start=1):
        step(progress, f"running {chosen.name} over {len(sets.values)} parameter sets "
                       f"({number}/{len(runs)})")
        values, breaches = _outcome(model, chosen, sets, condition, workers, scheduler)
        outcomes.append(values)
        for breach in breaches:
            excluded.setdefault(breach.member, ExcludedSet(chosen.name, breach))
    refuse_too_many(excluded, len(sets.values), "members", "members", "member",
                    "the bounds the sets are drawn from (the factors file or the calibration "
                    "settings)")
    kept = np.ones(len(sets.values), dtype=bool)
    kept[list(excluded)] = False
    holds = condition.holds(outcomes[0], outcomes[1] if reference is not None else None)[kept]
    step(progress, f"PRIM on {kept.sum()} members and {len(sets.names)} factors, "
                   f"{bootstraps} bootstrap resamples, and CART")
    return analyse(sets.values[kept], holds, sets.names, condition, sets.seed,
                   members=len(sets.values), sets=sets.source,
                   excluded=tuple(excluded[m] for m in sorted(excluded)), mass_min=mass_min,
                   min_coverage=min_coverage, bootstraps=bootstraps)


def analyse(x: np.ndarray, holds: np.ndarray, names, condition: Condition, seed: int, *,
            members: int | None = None, sets: str = "", excluded: tuple = (),
            mass_min: float = prim.MASS_MIN, min_coverage: float = prim.MIN_COVERAGE,
            bootstraps: int = prim.BOOTSTRAPS) -> Discovery:
    """PRIM's box and CART's leaves of the members where ``holds`` in ``x[member, factor]``
    (the factors ``names``); bootstrap resamples and the tree's ties follow ``seed``.
    ``members`` (default: all of ``x``), ``sets`` and ``excluded`` are recorded as given."""
    holds = np.asarray(holds, dtype=bool)
    if holds.all() or not holds.any():
        raise ArgumentError("members", members or len(holds), f"the condition "
                            f"({condition.describe()}) holds in "
                            f"{'every' if holds.all() else 'no'} member kept, so there is "
                            "nothing to tell apart; choose another condition or draw more "
                            "members")
    found = prim.prim(x, holds, mass_min, min_coverage)
    shares = prim.stability(x, holds, bootstraps, seed, mass_min, min_coverage)
    leaves = cart.cart_leaves(x, holds, mass_min, seed)
    names = tuple(names)
    restrictions = tuple(Restriction(
        names[i], float(found.box.lower[i]), float(found.box.upper[i]), float(found.low[i]),
        float(found.high[i]), float(found.quasi_p[i]), float(shares[i]))
        for i in np.flatnonzero(found.restricted()))
    recurring = sorted((i for i in range(len(names)) if shares[i] > 0),
                       key=lambda i: (-shares[i], i))
    settings = {"mass_min": mass_min, "min_coverage": min_coverage, "bootstraps": bootstraps,
                "peel_alpha": prim.PEEL_ALPHA, "paste_alpha": prim.PASTE_ALPHA,
                "max_depth": cart.MAX_DEPTH}
    return Discovery(
        condition, names, members or len(holds), len(holds), int(holds.sum()), seed, sets,
        tuple(_stats(i, box, holds, found.low, found.high, names)
              for i, box in enumerate(found.trajectory)),
        found.chosen, restrictions, tuple((names[i], float(shares[i])) for i in recurring),
        tuple(_leaf(i, leaf, holds, found.low, found.high, names)
              for i, leaf in enumerate(leaves)),
        cart.overlap(found.box.inside, leaves), settings, excluded)


def _outcome(model: FastModel, chosen: Scenario, sets: ParameterSets, condition: Condition,
             workers, scheduler) -> tuple[np.ndarray, tuple]:
    """The condition's outcome in every member of one scenario, and the members' breaches."""
    params = scenario_params(chosen, model)
    # A constant the scenario sets is its policy: the scenario's value wins.
    keep = [i for i, name in enumerate(sets.names)
            if name.partition("[")[0].strip() not in params]
    initial = model.control("INITIAL TIME")
    result = run_ensemble(model, sets.values[:, keep], [sets.names[i] for i in keep],
                          [condition.outcome], base_params=params,
                          saveper=condition.year - initial, final_time=condition.year,
                          workers=workers, scheduler=scheduler, breaches="keep")
    clusters = model.subscripts["Cluster"]
    final = np.column_stack([result.column(f"{condition.outcome}[{c}]")[:, -1]
                             for c in clusters])
    if condition.cluster != TOTAL:
        return final[:, clusters.index(condition.cluster)], result.breaches
    total = final.mean(axis=1) if condition.outcome in FRACTIONS else final.sum(axis=1)
    return total, result.breaches


def _stats(step_number: int, box: prim.Limits, holds: np.ndarray, low, high,
           names) -> BoxStats:
    inside = box.inside
    return BoxStats(step_number, box.stage,
                    float(np.count_nonzero(holds & inside) / np.count_nonzero(holds)),
                    float(holds[inside].mean()), float(inside.mean()),
                    tuple(names[i] for i in _restricted(box.lower, box.upper, low, high)))


def _leaf(number: int, leaf: cart.Leaf, holds: np.ndarray, low, high, names) -> LeafStats:
    inside = leaf.inside
    return LeafStats(number, leaf.predicts,
                     float(np.count_nonzero(holds & inside) / np.count_nonzero(holds)),
                     float(holds[inside].mean()), float(inside.mean()),
                     tuple((names[i], float(leaf.lower[i]), float(leaf.upper[i]))
                           for i in _restricted(leaf.lower, leaf.upper, low, high)))


def _restricted(lower, upper, low, high) -> np.ndarray:
    return np.flatnonzero((lower > low) | (upper < high))
