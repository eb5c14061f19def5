"""Results over many parameter sets: the sets themselves, and a scenario comparison's bands,
probabilities of beating the reference and effects, with the sets left out of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner.inputs.scenarios import Scenario
from sd_runner.model.breaches import Breach
from sd_runner.results.outcomes import BETTER, TOTAL, TOTALLED

#: Quantiles of the bands and of the effect intervals.
QUANTILES = (0.05, 0.5, 0.95)

#: The year the probabilities and effects are reported for.
EFFECT_YEAR = 2035.0


@dataclass(frozen=True)
class ParameterSets:
    """``values[member, parameter]`` for the constants ``names``, and where they came from."""

    names: tuple[str, ...]
    values: np.ndarray
    source: str
    seed: int


@dataclass(frozen=True)
class Outcome:
    """A model outcome in one year: ``variable`` (a column, ``"Margin[Textile]"``)."""

    variable: str
    year: float

    @property
    def label(self) -> str:
        return f"{self.variable} {self.year:g}"


@dataclass(frozen=True)
class ExcludedSet:
    """A parameter set left out of every statistic: the first scenario (in the comparison's
    order) in which it left a declared range, and its first breach there."""

    scenario: str
    breach: Breach

    def record(self) -> dict:
        return {**self.breach.record(), "scenario": self.scenario}


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
        Scenario name -> ``[member, outcome, cluster]`` in :data:`EFFECT_YEAR` (every
        member; the effects use the kept ones).
    excluded : tuple of ExcludedSet
        Sets left out of every statistic, in set order.
    """

    scenarios: tuple[Scenario, ...]
    sets: ParameterSets
    outcomes: tuple[str, ...]
    clusters: tuple[str, ...]
    times: np.ndarray
    bands: dict
    final: dict
    excluded: tuple[ExcludedSet, ...] = ()

    @property
    def reference(self) -> str:
        return self.scenarios[0].name

    @property
    def kept(self) -> np.ndarray:
        """Boolean per set: whether the statistics use it."""
        kept = np.ones(len(self.sets.values), dtype=bool)
        kept[[e.breach.member for e in self.excluded]] = False
        return kept

    def excluded_table(self) -> pd.DataFrame:
        """One row per excluded set: ``set``, ``scenario``, ``variable``, ``time``,
        ``value``, ``breach`` (below, above, not finite) and ``limit``."""
        return pd.DataFrame([e.record() for e in self.excluded],
                            columns=["set", "scenario", "variable", "time", "value", "breach",
                                     "limit"])

    def exclusion_note(self) -> str:
        """One line: how many sets were left out, which, and the first one's breach."""
        total = len(self.sets.values)
        if not self.excluded:
            return f"all {total} parameter sets kept every variable within its declared range"
        first = self.excluded[0]
        shown = ", ".join(str(e.breach.member) for e in self.excluded[:20])
        more = f" and {len(self.excluded) - 20} more" if len(self.excluded) > 20 else ""
        return (f"{len(self.excluded)} of {total} parameter sets left out of every statistic, "
                f"since they drive a variable out of its declared range: sets {shown}{more}; "
                f"the first, set {first.breach.member} in {first.scenario}: "
                f"{first.breach.describe()}")

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
        (the share of members in which the scenario does better; ties do not count). Outcomes
        in :data:`TOTALLED` also have a row for their sum over the clusters (cluster
        :data:`TOTAL`), member by member. Costs are not in :data:`BETTER`: their rows give
        the distribution of the added cost alone."""
        rows = []
        kept = self.kept
        reference = self.final[self.reference][kept]
        for scenario in self.scenarios[1:]:
            effect = self.final[scenario.name][kept] - reference
            for o, outcome in enumerate(self.outcomes):
                columns = [(cluster, effect[:, o, c]) for c, cluster in enumerate(self.clusters)]
                if outcome in TOTALLED:
                    columns.append((TOTAL, effect[:, o, :].sum(axis=1)))
                for cluster, values in columns:
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
