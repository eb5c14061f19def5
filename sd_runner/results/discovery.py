"""Scenario discovery results: the condition looked for, PRIM's peeling trajectory and box
(each restriction with its quasi-p-value and bootstrap recurrence), CART's leaves, and the
members left out; with the CSV and JSON forms of each."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner.results.outcomes import BETTER, FRACTIONS, TOTAL
from sd_runner.results.uncertainty import ExcludedSet

#: What the condition compares: the scenario with the reference (does not beat it, or does
#: worse), or the scenario's own outcome with a threshold.
RELATIVE = ("not-better", "worse")
CONDITIONS = (*RELATIVE, "below", "above")

#: A restriction whose quasi-p-value is below this is called significant.
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Condition:
    """The case of interest of every member: ``outcome`` in ``year`` in ``cluster`` (or
    :data:`TOTAL`: the mean over the clusters of a fraction, the sum of anything else) of
    ``scenario``, compared (``kind``) with the same member's ``reference`` or with
    ``threshold``."""

    scenario: str
    outcome: str
    year: float
    cluster: str = TOTAL
    kind: str = "not-better"
    reference: str | None = "baseline"
    threshold: float | None = None

    def describe(self) -> str:
        where = self.cluster
        if self.cluster == TOTAL:
            where += " (mean)" if self.outcome in FRACTIONS else " (sum)"
        what = f"{self.outcome} {self.year:g}, {where}"
        if self.kind == "not-better":
            return f"{self.scenario} does not beat {self.reference} on {what}"
        if self.kind == "worse":
            return f"{self.scenario} does worse than {self.reference} on {what}"
        return f"{self.scenario}'s {what} is {self.kind} {self.threshold:g}"

    def holds(self, value: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
        """Whether the condition holds in each member, given the scenario's ``value`` and the
        reference's (``None`` for a threshold)."""
        if self.kind in RELATIVE:
            gain = BETTER[self.outcome] * (value - reference)
            return gain <= 0 if self.kind == "not-better" else gain < 0
        return value < self.threshold if self.kind == "below" else value > self.threshold

    def record(self) -> dict:
        return {"scenario": self.scenario, "reference": self.reference,
                "outcome": self.outcome, "year": self.year, "cluster": self.cluster,
                "kind": self.kind, "threshold": self.threshold,
                "description": self.describe()}


@dataclass(frozen=True)
class BoxStats:
    """One box of the trajectory: ``stage`` (peel or paste), the share of the cases of
    interest it holds (``coverage``), the share of its members that are cases (``density``),
    its share of all members (``mass``) and the factors it restricts."""

    step: int
    stage: str
    coverage: float
    density: float
    mass: float
    factors: tuple[str, ...]

    def record(self) -> dict:
        return {"step": self.step, "stage": self.stage, "coverage": self.coverage,
                "density": self.density, "mass": self.mass, "restricted": len(self.factors),
                "factors": "; ".join(self.factors)}


@dataclass(frozen=True)
class Restriction:
    """A factor the chosen box restricts: its limits, the data's range (``low``, ``high``),
    the quasi-p-value of the restriction and the share of bootstrap boxes restricting it."""

    factor: str
    lower: float
    upper: float
    low: float
    high: float
    quasi_p: float
    stability: float

    @property
    def significant(self) -> bool:
        return self.quasi_p < SIGNIFICANCE

    def record(self) -> dict:
        return {"factor": self.factor, "lower": self.lower, "upper": self.upper,
                "low": self.low, "high": self.high, "quasi_p": self.quasi_p,
                "significant": self.significant, "stability": self.stability}


@dataclass(frozen=True)
class LeafStats:
    """A leaf of the CART tree: whether it predicts the condition, its coverage, density and
    mass as for a PRIM box, and its limits on the factors its path splits on."""

    leaf: int
    predicts: bool
    coverage: float
    density: float
    mass: float
    limits: tuple[tuple[str, float, float], ...]

    def rule(self) -> str:
        return " and ".join(f"{low:.6g} <= {name} <= {high:.6g}"
                            for name, low, high in self.limits) or "everywhere"

    def record(self) -> dict:
        return {"leaf": self.leaf, "predicts": self.predicts, "coverage": self.coverage,
                "density": self.density, "mass": self.mass, "rule": self.rule()}


@dataclass(frozen=True)
class Discovery:
    """Where in the space of uncertain factors a condition holds.

    Attributes
    ----------
    condition : Condition
    factors : tuple of str
        The uncertain factors (the parameter sets' constants).
    members, kept, cases : int
        Members drawn, those used (the rest left a declared range: ``excluded``), and the
        kept members in which the condition holds.
    seed : int
        Seed of the draws and of the bootstrap resamples and the tree.
    sets : str
        Where the parameter sets came from.
    trajectory : tuple of BoxStats
        PRIM's peeling, then the pasting of the chosen box.
    chosen : int
        The chosen box's step (its restrictions: ``restrictions``).
    stability : tuple of (str, float)
        Every factor restricted in any bootstrap box, with the share of boxes doing so, most
        often first.
    leaves : tuple of LeafStats
    overlap : float
        The Jaccard index of the members of PRIM's box and of CART's predicting leaves.
    settings : dict
        PRIM's and CART's settings (mass_min, min_coverage, bootstraps, max_depth, ...).
    """

    condition: Condition
    factors: tuple[str, ...]
    members: int
    kept: int
    cases: int
    seed: int
    sets: str
    trajectory: tuple[BoxStats, ...]
    chosen: int
    restrictions: tuple[Restriction, ...]
    stability: tuple[tuple[str, float], ...]
    leaves: tuple[LeafStats, ...]
    overlap: float
    settings: dict
    excluded: tuple[ExcludedSet, ...] = ()

    @property
    def box(self) -> BoxStats:
        return self.trajectory[self.chosen]

    @property
    def significant(self) -> tuple[str, ...]:
        """The factors PRIM's box restricts significantly."""
        return tuple(r.factor for r in self.restrictions if r.significant)

    @property
    def cart_factors(self) -> tuple[str, ...]:
        """The factors the leaves predicting the condition restrict, in order of appearance."""
        return tuple(dict.fromkeys(name for leaf in self.leaves if leaf.predicts
                                   for name, _, _ in leaf.limits))

    @property
    def agrees(self) -> bool:
        """Whether CART's predicting leaves restrict exactly the factors PRIM's box restricts
        significantly: the two methods name the same drivers (their boxes' sizes differ by
        design, PRIM's chosen for coverage, CART's leaves for purity)."""
        return set(self.significant) == set(self.cart_factors)

    def trajectory_table(self) -> pd.DataFrame:
        return pd.DataFrame([b.record() for b in self.trajectory],
                            columns=["step", "stage", "coverage", "density", "mass",
                                     "restricted", "factors"])

    def box_table(self) -> pd.DataFrame:
        return pd.DataFrame([r.record() for r in self.restrictions],
                            columns=["factor", "lower", "upper", "low", "high", "quasi_p",
                                     "significant", "stability"])

    def stability_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.stability, columns=["factor", "stability"])

    def leaves_table(self) -> pd.DataFrame:
        return pd.DataFrame([leaf.record() for leaf in self.leaves],
                            columns=["leaf", "predicts", "coverage", "density", "mass", "rule"])

    def excluded_table(self) -> pd.DataFrame:
        return pd.DataFrame([e.record() for e in self.excluded],
                            columns=["set", "scenario", "variable", "time", "value", "breach",
                                     "limit"])

    def files(self) -> dict[str, str]:
        """File name to text: the tables as CSV and everything as ``discovery.json``."""
        tables = {"trajectory.csv": self.trajectory_table(), "box.csv": self.box_table(),
                  "stability.csv": self.stability_table(),
                  "cart_leaves.csv": self.leaves_table(), "excluded.csv": self.excluded_table()}
        files = {name: _csv(table) for name, table in tables.items()}
        files["discovery.json"] = json.dumps(self.as_json(), indent=1) + "\n"
        return files

    def as_json(self) -> dict:
        return {
            "condition": self.condition.record(), "members": self.members,
            "members_kept": self.kept, "cases": self.cases, "seed": self.seed,
            "sets": self.sets, "factors": list(self.factors), "settings": self.settings,
            "box": {**self.box.record(), "restrictions": [r.record() for r in self.restrictions]},
            "trajectory": [b.record() for b in self.trajectory],
            "stability": [{"factor": f, "stability": s} for f, s in self.stability],
            "cart": {"factors": list(self.cart_factors), "agrees": self.agrees,
                     "overlap": self.overlap,
                     "leaves": [{**leaf.record(), "limits": [
                         {"factor": f, "lower": low, "upper": high}
                         for f, low, high in leaf.limits]} for leaf in self.leaves]},
            "excluded_sets": [e.record() for e in self.excluded],
        }

    def summary(self) -> str:
        box = self.box
        lines = [f"{self.condition.describe()}: holds in {self.cases} of {self.kept} members "
                 f"({self.cases / self.kept:.1%}; {self.members} drawn, seed {self.seed}; "
                 f"{len(self.factors)} factors{', ' + self.sets if self.sets else ''})",
                 f"PRIM box (step {box.step}, {box.stage}): coverage {box.coverage:.1%}, "
                 f"density {box.density:.1%}, mass {box.mass:.1%}, "
                 f"{len(self.restrictions)} restricted factors"]
        for r in self.restrictions:
            lines.append(f"  {r.lower:.6g} <= {r.factor} <= {r.upper:.6g} (of {r.low:.6g} .. "
                         f"{r.high:.6g}); quasi-p {r.quasi_p:.3g}"
                         f"{'' if r.significant else ' (not significant)'}, in "
                         f"{r.stability:.0%} of {self.settings['bootstraps']} bootstrap boxes")
        predicting = [leaf for leaf in self.leaves if leaf.predicts]
        lines.append(f"CART: {len(predicting)} of {len(self.leaves)} leaves predict the "
                     f"condition, restricting {', '.join(self.cart_factors) or 'nothing'}: "
                     f"{'agrees' if self.agrees else 'does not agree'} with PRIM's significant "
                     f"restrictions; members shared with PRIM's box: {self.overlap:.0%} "
                     "(Jaccard)")
        for leaf in predicting:
            lines.append(f"  coverage {leaf.coverage:.1%}, density {leaf.density:.1%}: "
                         f"{leaf.rule()}")
        return "\n".join(lines)


def _csv(table: pd.DataFrame) -> str:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()
