"""A scenario comparison over many parameter sets: bands, the probability that each lever
beats the reference, and the distribution of each lever's effect.

Every scenario runs the same parameter sets (common random numbers), so member ``i`` of a
lever scenario and member ``i`` of the reference differ only by the lever: its effect on
member ``i``. Only summaries are kept (quantiles over time, values in the table years), so
memory does not grow with the number of saved times times members times scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner import limits
from sd_runner.engine.ensemble import run_ensemble
from sd_runner.engine.fast import FastModel
from sd_runner.scenarios import Scenario, scenario_params
from sd_runner.uncertainty import ParameterSets

#: Quantiles of the bands and of the effect intervals.
QUANTILES = (0.05, 0.5, 0.95)

#: Outcomes that "beat" the reference when higher (+1) or lower (-1).
BETTER = {"Margin": 1, "Buyer Dependence": -1}

#: The year the probabilities and effects are reported for.
EFFECT_YEAR = 2035.0


@dataclass(frozen=True)
class UncertainComparison:
    """Summaries of every scenario's ensemble, the reference first.

    Attributes
    ----------
    scenarios : tuple of Scenario
    sets : ParameterSets
        The parameter sets every scenario ran.
    outcomes, clusters : tuple of str
    times : numpy.ndarray
        Saved times.
    bands : dict
        Scenario name -> ``[quantile, time, outcome, cluster]`` at :data:`QUANTILES`.
    final : dict
        Scenario name -> ``[member, outcome, cluster]`` in :data:`EFFECT_YEAR`.
    """

    scenarios: tuple[Scenario, ...]
    sets: ParameterSets
    outcomes: tuple[str, ...]
    clusters: tuple[str, ...]
    times: np.ndarray
    bands: dict
    final: dict

    @property
    def reference(self) -> str:
        return self.scenarios[0].name

    def band_table(self) -> pd.DataFrame:
        """``scenario``, ``outcome``, ``cluster``, ``time``, ``p05``, ``p50``, ``p95``."""
        frames = []
        for scenario in self.scenarios:
            band = self.bands[scenario.name]
            for o, outcome in enumerate(self.outcomes):
                for c, cluster in enumerate(self.clusters):
                    frames.append(pd.DataFrame({
                        "scenario": scenario.name, "outcome": outcome, "cluster": cluster,
                        "time": self.times, "p05": band[0, :, o, c], "p50": band[1, :, o, c],
                        "p95": band[2, :, o, c]}))
        return pd.concat(frames, ignore_index=True)

    def effect_table(self) -> pd.DataFrame:
        """Each scenario's effect (its value minus the reference's, member by member) in
        :data:`EFFECT_YEAR`: ``scenario``, ``outcome``, ``cluster``, ``year``, ``mean``,
        ``p05``, ``p50``, ``p95`` and, for outcomes in :data:`BETTER`, ``probability``
        (the share of members in which the scenario does better; ties do not count)."""
        rows = []
        reference = self.final[self.reference]
        for scenario in self.scenarios[1:]:
            effect = self.final[scenario.name] - reference
            for o, outcome in enumerate(self.outcomes):
                for c, cluster in enumerate(self.clusters):
                    values = effect[:, o, c]
                    low, median, high = np.quantile(values, QUANTILES)
                    better = BETTER.get(outcome)
                    rows.append({
                        "scenario": scenario.name, "outcome": outcome, "cluster": cluster,
                        "year": EFFECT_YEAR, "mean": float(values.mean()), "p05": float(low),
                        "p50": float(median), "p95": float(high),
                        "probability": (float(np.mean(better * values > 0))
                                        if better else np.nan)})
        return pd.DataFrame(rows, columns=["scenario", "outcome", "cluster", "year", "mean",
                                           "p05", "p50", "p95", "probability"])


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
                      progress=None) -> UncertainComparison:
    """Run every scenario over ``sets`` and summarise (the reference first)."""
    columns = [f"{outcome}[{cluster}]" for outcome in outcomes for cluster in clusters]
    axis = model.time_axis()
    year = int(np.argmin(np.abs(axis.times - EFFECT_YEAR)))
    bands, final = {}, {}
    for number, scenario in enumerate(scenarios, start=1):
        if progress:
            progress(f"running {scenario.name} over {len(sets.values)} parameter sets "
                     f"({number}/{len(scenarios)})")
        params = scenario_params(scenario, model)
        # A constant the scenario sets is its policy: the scenario's value wins.
        keep = [i for i, name in enumerate(sets.names)
                if name.partition("[")[0].strip() not in params]
        result = run_ensemble(model, sets.values[:, keep], [sets.names[i] for i in keep],
                              list(outcomes), base_params=params, workers=workers,
                              scheduler=scheduler)
        order = [result.columns.index(column) for column in columns]
        values = result.values[:, :, order].reshape(len(sets.values), len(axis.times),
                                                    len(outcomes), len(clusters))
        bands[scenario.name] = np.quantile(values, QUANTILES, axis=0)
        final[scenario.name] = values[:, year]
    return UncertainComparison(tuple(scenarios), sets, tuple(outcomes), tuple(clusters),
                               axis.times, bands, final)
