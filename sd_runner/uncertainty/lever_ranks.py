"""Policy sensitivity: how likely each lever is to rank 1st, 2nd, ... among the levers when
their programmes' size and cost (``models/policy_factors.toml``), and optionally other
parameter sets, are uncertain.

Every member of the ensemble runs the baseline and each lever alone at the member's sampled
magnitude and cost, with the same other parameters (common random numbers), so a lever's
effect in a member is the lever's alone. The levers are ranked by their effect in
:data:`~sd_runner.results.uncertainty.EFFECT_YEAR`, as ``compare`` ranks scenarios
(:data:`~sd_runner.results.outcomes.BETTER`), per cluster and over all clusters: the sum of an
outcome that adds up, the mean over the clusters of a fraction. Ranks are ordinal: an exact
tie (counted in ``ties``) is broken by the paper's order, so every rank goes to one lever.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from sd_runner.engine.ensemble import run_ensemble
from sd_runner.engine.fast import FastModel
from sd_runner.inputs.levers import Lever
from sd_runner.inputs.policy_factors import PolicyFactors
from sd_runner.model.constant_names import overlap
from sd_runner.progress import Progress, quiet, step
from sd_runner.results.lever_ranks import LeverRanks, RankDistribution
from sd_runner.results.matrix import BASELINE
from sd_runner.results.outcomes import BETTER, FRACTIONS, TOTAL
from sd_runner.results.uncertainty import EFFECT_YEAR, ExcludedSet, ParameterSets
from sd_runner.simulate.lever_matrix import lever_matrix, run_matrix
from sd_runner.uncertainty.comparison import refuse_too_many

#: The outcomes the levers are ranked by.
RANKED = ("Margin", "Total Profit", "Buyer Dependence")


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
    blocks, clipped = _policy_blocks(order, factors, draws, neutral, policy_names, costs, base)
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
    scenarios = [BASELINE] + [lever.id for lever in order]
    excluded = _excluded_members(result.breaches, members, scenarios)
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


def _policy_blocks(order: list[Lever], factors: PolicyFactors, draws: np.ndarray,
                   neutral: np.ndarray, policy_names: list[str], costs: list[tuple[str, int]],
                   base: np.ndarray) -> tuple[list[np.ndarray], dict[str, float]]:
    """The policy columns of every member: a block of neutral values (the baseline), then one
    block per lever of ``order`` with its settings and unit costs as that member draws them.
    Also each setting clipped to its [min, max], with the share of members clipped."""
    members = len(draws)
    blocks, clipped = [np.tile(neutral, (members, 1))], {}
    settings = sum(len(lever.settings) for lever in order)
    for position, lever in enumerate(order):
        block = np.tile(neutral, (members, 1))
        magnitude, cost = draws[:, 2 * position], draws[:, 2 * position + 1]
        for setting in lever.settings:
            wanted = setting.default + magnitude * (setting.full - setting.default)
            inside = np.clip(wanted, setting.min, setting.max)
            if (inside != wanted).any():
                clipped[setting.variable] = float(np.mean(inside != wanted))
            block[:, policy_names.index(setting.variable)] = inside
        for column, (label, index) in enumerate(costs, start=settings):
            if _named(label, factors.levers[position].constants):
                block[:, column] = base[index] * cost
        blocks.append(block)
    return blocks, clipped


def _excluded_members(breaches, members: int, scenarios: list[str]) -> dict[int, ExcludedSet]:
    """Each member that leaves a declared range in any of its runs, with its first breach and
    the scenario it occurs in; refused when too many do."""
    excluded: dict[int, ExcludedSet] = {}
    for breach in breaches:
        member = breach.member % members
        excluded.setdefault(member, ExcludedSet(scenarios[breach.member // members],
                                                dataclasses.replace(breach, member=member)))
    refuse_too_many(excluded, members, "members", "members", "member",
                    "the bounds of the factors files")
    return excluded


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
