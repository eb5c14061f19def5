"""Policy sensitivity: how likely each lever is to rank 1st, 2nd, ... among the levers when
their programmes' size and cost (``models/policy_factors.toml``), and optionally other
parameter sets, are uncertain.

Every member of the ensemble runs the baseline and each lever alone at the member's sampled
magnitude and cost, with the same other parameters (common random numbers), so a lever's
effect in a member is the lever's alone. The levers are ranked by their effect in
:data:`~sd_runner.uncertainty.comparison.EFFECT_YEAR`, as ``compare`` ranks scenarios
(:data:`~sd_runner.simulate.simulation.BETTER`), per cluster and over all clusters: the sum of an
outcome that adds up, the mean over the clusters of a fraction. Ranks are ordinal: an exact
tie (counted in ``ties``) is broken by the paper's order, so every rank goes to one lever.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner.engine.ensemble import run_ensemble
from sd_runner.engine.fast import FastModel
from sd_runner.inputs.levers import Lever
from sd_runner.inputs.policy_factors import PolicyFactors
from sd_runner.model.constant_names import overlap
from sd_runner.progress import Progress, quiet, step
from sd_runner.simulate.lever_matrix import BASELINE, lever_matrix, run_matrix
from sd_runner.simulate.simulation import BETTER, FRACTIONS, TOTAL
from sd_runner.uncertainty.comparison import (
    EFFECT_YEAR,
    ExcludedSet,
    refuse_too_many,
)
from sd_runner.uncertainty.parameter_sets import ParameterSets

#: The outcomes the levers are ranked by.
RANKED = ("Margin", "Total Profit", "Buyer Dependence")


@dataclass(frozen=True)
class RankDistribution:
    """How the levers rank by one outcome in one cluster (or :data:`TOTAL`).

    Attributes
    ----------
    outcome, cluster : str
    probabilities : tuple of tuple of float
        ``[lever][rank - 1]``: the share of members in which the lever takes that rank (1 the
        best), levers in the paper's order.
    deterministic : tuple of str
        The levers best first at the full programme and the model's own values (the lever
        matrix at level 1), and ``deterministic_probability``, the share of members ranking
        them so.
    modal : tuple of str
        The ranking most members give, and ``modal_probability``, their share.
    ties : int
        Members in which two levers' effects are exactly equal.
    """

    outcome: str
    cluster: str
    probabilities: tuple[tuple[float, ...], ...]
    deterministic: tuple[str, ...]
    deterministic_probability: float
    modal: tuple[str, ...]
    modal_probability: float
    ties: int


@dataclass(frozen=True)
class LeverRanks:
    """Rank probabilities of the levers by every outcome of :data:`RANKED`.

    Attributes
    ----------
    levers : tuple of str
        Lever ids, in the paper's order.
    year : float
        The year the effects are taken in.
    members, kept : int
        Members drawn, and those used (the rest left a declared range: ``excluded``).
    seed : int
    sets : str
        What each member varies besides the policy factors.
    distributions : tuple of RankDistribution
        Per outcome, the clusters then :data:`TOTAL`.
    clipped : tuple of (str, float)
        Lever settings whose sampled value passed the setting's declared range and was set to
        its end, with the share of members where that happened.
    superseded : tuple of str
        Constants of the other parameter sets that a lever's cost multiplier varies instead.
    excluded : tuple of ExcludedSet
        Members left out, with the first run (scenario) and breach that left a range.
    """

    levers: tuple[str, ...]
    year: float
    members: int
    kept: int
    seed: int
    sets: str
    distributions: tuple[RankDistribution, ...]
    clipped: tuple[tuple[str, float], ...] = ()
    superseded: tuple[str, ...] = ()
    excluded: tuple[ExcludedSet, ...] = ()

    def distribution(self, outcome: str, cluster: str) -> RankDistribution:
        """The distribution of ``outcome`` in ``cluster`` (or :data:`TOTAL`)."""
        for found in self.distributions:
            if (found.outcome, found.cluster) == (outcome, cluster):
                return found
        raise KeyError((outcome, cluster))

    def table(self) -> pd.DataFrame:
        """One row per outcome, cluster and lever: ``deterministic_rank``,
        ``most_likely_rank`` and ``p_rank_1`` ... ``p_rank_n``."""
        rows = []
        for d in self.distributions:
            for lever, shares in zip(self.levers, d.probabilities, strict=True):
                rows.append({"outcome": d.outcome, "cluster": d.cluster, "lever": lever,
                             "deterministic_rank": d.deterministic.index(lever) + 1,
                             "most_likely_rank": int(np.argmax(shares)) + 1,
                             **{f"p_rank_{k}": p for k, p in enumerate(shares, start=1)}})
        return pd.DataFrame(rows)

    def csv(self) -> str:
        """:meth:`table` as CSV text."""
        return self.table().to_csv(index=False, lineterminator="\n")

    def as_json(self) -> dict:
        """Plain JSON data: settings, and per outcome and cluster the rank probabilities by
        lever, the deterministic and the modal ranking with their probabilities."""
        return {
            "levers": list(self.levers), "year": self.year, "members": self.members,
            "members_kept": self.kept, "seed": self.seed, "sets": self.sets,
            "clipped": dict(self.clipped), "superseded": list(self.superseded),
            "excluded_sets": [e.record() for e in self.excluded],
            "rankings": [{
                "outcome": d.outcome, "cluster": d.cluster,
                "probabilities": {lever: list(shares) for lever, shares
                                  in zip(self.levers, d.probabilities, strict=True)},
                "deterministic": list(d.deterministic),
                "deterministic_probability": d.deterministic_probability,
                "modal": list(d.modal), "modal_probability": d.modal_probability,
                "ties": d.ties} for d in self.distributions],
        }

    def summary(self) -> str:
        """Per outcome and cluster: the deterministic ranking and its probability, the modal
        one, and each lever's most likely rank with its probability."""
        lines = [f"{self.kept} of {self.members} members (seed {self.seed}; {self.sets}); "
                 f"levers ranked by their effect in {self.year:g}, 1 the best"]
        lines += [f"{name} passed its declared range in {share:.0%} of members: set to it"
                  for name, share in self.clipped]
        for d in self.distributions:
            likely = ", ".join(
                f"{lever} {int(np.argmax(s)) + 1} ({max(s):.0%})"
                for lever, s in sorted(zip(self.levers, d.probabilities, strict=True),
                                       key=lambda item: int(np.argmax(item[1]))))
            same = ("" if d.modal == d.deterministic
                    else f"; modal {' > '.join(d.modal)} ({d.modal_probability:.0%})")
            lines += ["", f"{d.outcome}, {d.cluster}: {' > '.join(d.deterministic)} holds in "
                      f"{d.deterministic_probability:.1%}{same}", f"  most likely: {likely}"]
        return "\n".join(lines)


def lever_ranks(model: FastModel, levers: dict[str, Lever], factors: PolicyFactors,
                members: int, seed: int, others: ParameterSets | None = None,
                workers: int | None = None, scheduler: str | None = None,
                progress: Progress = quiet) -> LeverRanks:
    """Rank the levers in every member of an ensemble of ``members`` draws of ``factors``
    (a Latin hypercube from ``seed``, :meth:`PolicyFactors.draw`), each member also taking
    its row of ``others``, if given. All runs go to the compiled engine as one ensemble.

    A constant of ``others`` that the policy factors set (a lever's setting or unit cost) is
    left at its model value in ``others``' place and reported in ``superseded``: the lever's
    multiplier varies it. Members that leave a declared range in any run are left out of
    every rank (refused above :data:`~sd_runner.uncertainty.comparison.MAX_EXCLUDED_SHARE`).
    """
    order = [levers[f.lever] for f in factors.levers]
    draws = factors.draw(members, seed)
    settings = [s for lever in order for s in lever.settings]
    base = model.constants_vector()
    costs = _cost_columns(model, factors)
    policy_names = [s.variable for s in settings] + [label for label, _ in costs]
    others = others or ParameterSets((), np.empty((members, 0)), "policy factors alone", seed)
    keep = [i for i, name in enumerate(others.names) if not _named(name, policy_names)]
    superseded = tuple(n for i, n in enumerate(others.names) if i not in keep)
    names = policy_names + [others.names[i] for i in keep]
    if len(others.values) != members:
        raise ValueError(f"{len(others.values)} parameter sets for {members} members")
    neutral = np.array([s.default for s in settings] + [base[i] for _, i in costs])
    blocks, clipped = [np.tile(neutral, (members, 1))], {}
    for position, lever in enumerate(order):
        block = np.tile(neutral, (members, 1))
        magnitude, cost = draws[:, 2 * position], draws[:, 2 * position + 1]
        for setting in lever.settings:
            wanted = setting.default + magnitude * (setting.full - setting.default)
            inside = np.clip(wanted, setting.min, setting.max)
            if (inside != wanted).any():
                clipped[setting.variable] = float(np.mean(inside != wanted))
            block[:, policy_names.index(setting.variable)] = inside
        for column, (label, index) in enumerate(costs, start=len(settings)):
            if _named(label, factors.levers[position].constants):
                block[:, column] = base[index] * cost
        blocks.append(block)
    blocks = [np.column_stack([block, others.values[:, keep]]) for block in blocks]
    step(progress, f"running the baseline and {len(order)} levers over {members} members "
                   f"({len(blocks) * members} runs)")
    initial = model.control("INITIAL TIME")
    result = run_ensemble(model, np.concatenate(blocks), names, list(RANKED),
                          saveper=EFFECT_YEAR - initial, final_time=EFFECT_YEAR,
                          workers=workers, scheduler=scheduler, breaches="keep")
    clusters = model.subscripts["Cluster"]
    columns = [result.columns.index(f"{o}[{c}]") for o in RANKED for c in clusters]
    final = result.values[:, -1, columns].reshape(len(blocks), members, len(RANKED),
                                                  len(clusters))
    excluded: dict[int, ExcludedSet] = {}
    scenarios = [BASELINE] + [lever.id for lever in order]
    for breach in result.breaches:
        member = breach.member % members
        excluded.setdefault(member, ExcludedSet(scenarios[breach.member // members],
                                                dataclasses.replace(breach, member=member)))
    refuse_too_many(excluded, members, "members", "members", "member",
                    "the bounds of the factors files")
    kept = np.ones(members, dtype=bool)
    kept[list(excluded)] = False
    effects = final[1:, kept] - final[0, kept]
    fixed = _deterministic_effects(model, levers, order, clusters)
    distributions = []
    for o, outcome in enumerate(RANKED):
        for c, cluster in enumerate([*clusters, TOTAL]):
            distributions.append(_distribution(
                outcome, cluster, _in_cluster(effects[..., o, :], outcome, c),
                _in_cluster(fixed[..., o, :], outcome, c), tuple(scenarios[1:])))
    return LeverRanks(tuple(scenarios[1:]), EFFECT_YEAR, members, int(kept.sum()), seed,
                      others.source, tuple(distributions), tuple(sorted(clipped.items())),
                      superseded,
                      tuple(excluded[m] for m in sorted(excluded)))


def _cost_columns(model: FastModel, factors: PolicyFactors) -> list[tuple[str, int]]:
    """``(Name[Element], constants index)`` of every element of every unit cost, once."""
    compiled = model.kernel.compiled
    found: dict[str, int] = {}
    for f in factors.levers:
        for name in f.constants:
            canonical, keys = model.select(name, list(compiled.constants))
            for key in keys:
                label = f"{canonical}[{','.join(key[1])}]" if key[1] else canonical
                found.setdefault(label, compiled.constants[key])
    return list(found.items())


def _named(label: str, names) -> bool:
    return any(overlap(label, name) for name in names)





def _in_cluster(effects: np.ndarray, outcome: str, cluster: int) -> np.ndarray:
    """``[lever, member]`` effects in one cluster, or over all (the last index)."""
    if cluster < effects.shape[-1]:
        return effects[..., cluster]
    return effects.mean(axis=-1) if outcome in FRACTIONS else effects.sum(axis=-1)


def _deterministic_effects(model: FastModel, levers: dict[str, Lever], order: list[Lever],
                           clusters: list[str]) -> np.ndarray:
    """``[lever, 1, outcome, cluster]`` effects of the lever matrix's full programmes."""
    chosen = [m for m in lever_matrix(levers)
              if m.lever == BASELINE or (m.lever in levers and m.level == 1.0)]
    runs = run_matrix(model, chosen, list(RANKED))
    by_lever = {m.lever: runs[m.name].loc[EFFECT_YEAR] for m in chosen}
    values = {lever: np.array([[row[f"{o}[{c}]"] for c in clusters] for o in RANKED])
              for lever, row in by_lever.items()}
    return np.stack([values[lever.id] - values[BASELINE] for lever in order])[:, None]


def _distribution(outcome: str, cluster: str, effects: np.ndarray, fixed: np.ndarray,
                  levers: tuple[str, ...]) -> RankDistribution:
    """Ranks of ``effects[lever, member]``; ``fixed[lever, 1]`` is the deterministic case."""
    better = BETTER[outcome]
    orders = np.argsort(-better * effects, axis=0, kind="stable").T  # [member, position]
    count = len(levers)
    ranks = np.empty_like(orders)
    np.put_along_axis(ranks, orders, np.arange(count)[None, :], axis=1)  # [member, lever]
    shares = np.stack([np.mean(ranks == k, axis=0) for k in range(count)], axis=1)
    deterministic = tuple(np.argsort(-better * fixed[:, 0], kind="stable"))
    counted = Counter(map(tuple, orders.tolist()))
    modal, most = max(counted.items(), key=lambda item: (item[1], [-i for i in item[0]]))
    sorted_effects = np.sort(effects, axis=0)
    ties = int(np.sum((np.diff(sorted_effects, axis=0) == 0).any(axis=0)))
    members = orders.shape[0]
    return RankDistribution(
        outcome, cluster, tuple(tuple(float(p) for p in row) for row in shares),
        tuple(levers[i] for i in deterministic),
        counted.get(tuple(int(i) for i in deterministic), 0) / members,
        tuple(levers[i] for i in modal), most / members, ties)
