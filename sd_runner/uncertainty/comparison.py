"""A scenario comparison over many parameter sets: bands, the probability that each lever
beats the reference, and the distribution of each lever's effect.

Every scenario runs the same parameter sets (common random numbers), so member ``i`` of a
lever scenario and member ``i`` of the reference differ only by the lever: its effect on
member ``i``. Only summaries are kept (quantiles over time, values in the table years), so
memory does not grow with the number of saved times times members times scenarios.

A parameter set that drives a variable out of its declared range (or to a value that is not
finite) in any scenario is left out of every scenario's statistics, so the pairs stay common,
and reported; if more than :data:`MAX_EXCLUDED_SHARE` of the sets would be left out, the
comparison is refused: the rest would no longer stand for the distribution drawn.
"""

from __future__ import annotations

import numpy as np

from sd_runner.engine.ensemble import run_ensemble
from sd_runner.engine.fast import FastModel
from sd_runner.errors import ArgumentError
from sd_runner.inputs import limits
from sd_runner.inputs.scenarios import Scenario, scenario_params
from sd_runner.progress import Progress, quiet, step
from sd_runner.results.uncertainty import (
    EFFECT_YEAR,
    QUANTILES,
    ExcludedSet,
    ParameterSets,
    UncertainComparison,
)

#: The largest share of the parameter sets that may be left out for leaving a declared range.
MAX_EXCLUDED_SHARE = 0.05


def memory_needed(model: FastModel, members: int, scenarios: int, outcomes: int,
                  clusters: int) -> int:
    """Rough peak bytes of :func:`compare_uncertain`: the parameter sets (at most one column
    per constant), one scenario's ensemble at a time, and every scenario's members in
    :data:`EFFECT_YEAR`."""
    constants = len(model.kernel.compiled.constant_defaults)
    columns = outcomes * clusters
    return (limits.ensemble_bytes(members, constants, len(model.time_axis().times), columns)
            + limits.FLOAT_BYTES * members * (constants + scenarios * columns))


def compare_uncertain(model: FastModel, scenarios: list[Scenario], sets: ParameterSets,
                      outcomes: tuple[str, ...], clusters: list[str],
                      workers: int | None = None, scheduler: str | None = None,
                      progress: Progress = quiet) -> UncertainComparison:
    """Run every scenario over ``sets`` and summarise (the reference first), leaving out the
    sets that leave a declared range in any scenario (refused above
    :data:`MAX_EXCLUDED_SHARE`)."""
    columns = [f"{outcome}[{cluster}]" for outcome in outcomes for cluster in clusters]
    axis = model.time_axis()
    year = int(np.argmin(np.abs(axis.times - EFFECT_YEAR)))

    def run(scenario: Scenario):
        params = scenario_params(scenario, model)
        # A constant the scenario sets is its policy: the scenario's value wins.
        keep = [i for i, name in enumerate(sets.names)
                if name.partition("[")[0].strip() not in params]
        result = run_ensemble(model, sets.values[:, keep], [sets.names[i] for i in keep],
                              list(outcomes), base_params=params, workers=workers,
                              scheduler=scheduler, breaches="keep")
        order = [result.columns.index(column) for column in columns]
        values = result.values[:, :, order].reshape(len(sets.values), len(axis.times),
                                                    len(outcomes), len(clusters))
        return values, result.breaches

    excluded: dict[int, ExcludedSet] = {}
    bands, final, excluded_then = {}, {}, {}
    for number, scenario in enumerate(scenarios, start=1):
        step(progress, f"running {scenario.name} over {len(sets.values)} parameter sets "
                       f"({number}/{len(scenarios)})")
        values, breaches = run(scenario)
        for breach in breaches:
            excluded.setdefault(breach.member, ExcludedSet(scenario.name, breach))
        bands[scenario.name] = _band(values, excluded)
        excluded_then[scenario.name] = len(excluded)
        final[scenario.name] = values[:, year]
    _refuse_too_many(excluded, len(sets.values))
    # A set excluded by a later scenario also leaves the bands of the earlier ones.
    for scenario in scenarios:
        if excluded_then[scenario.name] < len(excluded):
            step(progress, f"rerunning {scenario.name} without the {len(excluded)} "
                           "excluded parameter sets")
            bands[scenario.name] = _band(run(scenario)[0], excluded)
    return UncertainComparison(tuple(scenarios), sets, tuple(outcomes), tuple(clusters),
                               axis.times, bands, final,
                               tuple(excluded[member] for member in sorted(excluded)))


def _band(values: np.ndarray, excluded: dict) -> np.ndarray:
    kept = np.ones(len(values), dtype=bool)
    kept[list(excluded)] = False
    return np.quantile(values[kept], QUANTILES, axis=0)


def _refuse_too_many(excluded: dict[int, ExcludedSet], total: int) -> None:
    refuse_too_many(excluded, total, "uncertainty", "of the parameter sets", "set",
                    "the bounds the sets are drawn from (the factors file or the calibration "
                    "settings)")


def refuse_too_many(excluded: dict[int, ExcludedSet], total: int, argument: str,
                    counted: str, one: str, bounds: str) -> None:
    """Refuse an ensemble in which more than :data:`MAX_EXCLUDED_SHARE` of the ``total``
    members leave a declared range, naming ``argument`` (the size given), the first breach
    and the ``bounds`` to narrow (``counted``: how the members are counted, ``one``: what
    one is called)."""
    if len(excluded) <= MAX_EXCLUDED_SHARE * total:
        return
    first = excluded[min(excluded)]
    raise ArgumentError(
        argument, total,
        f"{len(excluded)} {counted} ({len(excluded) / total:.0%}) drive a variable out of its "
        f"declared range, more than the {MAX_EXCLUDED_SHARE:.0%} that may be left out; the "
        f"first, {one} {first.breach.member} in {first.scenario}: "
        f"{first.breach.describe()}; narrow {bounds}")
