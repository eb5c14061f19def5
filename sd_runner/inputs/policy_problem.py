"""A policy design problem for ``sd-runner optimize``: what is decided (each lever's level and
start year, within bounds), what is wanted (objectives from the key outcomes), what is allowed
(a budget on the levers' cost), over which parameter sets, and how the search runs.

Every field is checked on load with an error that names the file, the line and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sd_runner.inputs.levers import Lever
from sd_runner.inputs.tomlfile import TomlFile
from sd_runner.results.outcomes import BETTER, KEY_OUTCOMES, TOTAL

#: Cost outcomes, which an objective minimises.
COSTS = ("Lever Cost", "Firm Lever Cost", "Government Lever Cost", "Cumulative Lever Cost")
#: How each outcome is better: +1 higher, -1 lower.
DIRECTION = {**BETTER, **{cost: -1 for cost in COSTS}}
BUDGETS = ("per-year", "total", "discounted")
METRICS = ("mean", "quantile", "satisficing", "regret")
ALGORITHMS = ("EpsNSGAII", "NSGAII")
SAMPLES = ("posterior", "none")


@dataclass(frozen=True)
class Objective:
    """An outcome in ``year``, for one cluster or all (:data:`TOTAL`: the sum of an outcome
    that adds up, the mean over the clusters of a fraction), higher or lower is better;
    ``threshold`` is what a parameter set must reach for the satisficing metric."""

    outcome: str
    cluster: str
    direction: int
    threshold: float | None = None

    @property
    def label(self) -> str:
        return f"{self.outcome} ({self.cluster})"


@dataclass(frozen=True)
class LeverBounds:
    """The range searched for one lever: its level from 0 to ``max_level`` and its start year
    from ``first_year`` to ``last_year``."""

    lever: Lever
    max_level: float
    first_year: float
    last_year: float


@dataclass(frozen=True)
class PolicyProblem:
    """A problem file, checked (see ``models/policy_problem.toml`` for each field)."""

    source: str
    year: float
    objectives: tuple[Objective, ...]
    budget_kind: str
    budget_limit: float
    discount_rate: float
    sample: str
    sets: int
    with_assumed: bool
    metric: str
    quantile: float
    uncertainty_seed: int
    algorithm: str
    evaluations: int
    population: int
    epsilons: tuple[float, ...]
    seed: int
    levers: tuple[LeverBounds, ...]

    def objective_direction(self, objective: Objective) -> int:
        """How the search ranks ``objective`` under the metric: a share of satisfied sets is
        maximised, a regret minimised, anything else as its outcome is better."""
        return {"satisficing": 1, "regret": -1}.get(self.metric, objective.direction)

    @property
    def decisions(self) -> int:
        """Two per lever: its level and its start year."""
        return 2 * len(self.levers)


def largest_level(lever: Lever) -> float:
    """The highest level every setting of ``lever`` allows (its declared maximum)."""
    levels = [(s.max - s.default) / (s.full - s.default) for s in lever.settings
              if s.full > s.default]
    return min(levels) if levels else 1.0


def load_problem(path: str | Path, levers: dict[str, Lever], clusters: list[str],
                 first_year: float, last_year: float) -> PolicyProblem:
    """Read and check a problem file against the levers, the clusters and the simulation's
    years."""
    source = TomlFile(path, "problem file")
    data = source.data
    source.no_unknown_keys(data, {"objectives", "budget", "uncertainty", "search", "levers"},
                           "the problem file")
    year = _year(source, data.get("objectives", {}), first_year, last_year)
    objectives = _objectives(source, data.get("objectives", {}), clusters)
    budget = source.table(data.get("budget", {}), "budget", "budget")
    source.no_unknown_keys(budget, {"kind", "limit", "discount_rate"}, "[budget]")
    kind = _choice(source, budget.get("kind", "per-year"), "kind", BUDGETS, "budget")
    limit = _positive(source, budget.get("limit"), "limit", "budget", "a cost in 100 million "
                      "USD (a year for per-year)")
    rate = source.number(budget.get("discount_rate", 0.05), "discount_rate",
                         "budget: discount_rate", "budget")
    if not 0 <= rate < 1:
        raise source.error("discount_rate", f"budget: discount_rate {rate:g} is not in [0, 1); "
                           "give a yearly rate such as 0.05", "budget")
    uncertain = source.table(data.get("uncertainty", {}), "uncertainty", "uncertainty")
    source.no_unknown_keys(uncertain, {"sample", "sets", "with_assumed", "metric", "quantile",
                                       "seed"}, "[uncertainty]")
    sample = _choice(source, uncertain.get("sample", "posterior"), "sample", SAMPLES,
                     "uncertainty")
    sets = _count(source, uncertain.get("sets", 50), "sets", "uncertainty", 1, 100_000)
    with_assumed = uncertain.get("with_assumed", False)
    if not isinstance(with_assumed, bool):
        raise source.error("with_assumed", "uncertainty: with_assumed must be true or false",
                           "uncertainty")
    if sample == "none":
        sets, with_assumed = 1, False
    metric = _choice(source, uncertain.get("metric", "mean"), "metric", METRICS, "uncertainty")
    quantile = source.number(uncertain.get("quantile", 0.1), "quantile",
                             "uncertainty: quantile", "uncertainty")
    if not 0 < quantile < 1:
        raise source.error("quantile", f"uncertainty: quantile {quantile:g} is not in (0, 1); "
                           "give the share of the worst sets to look at, such as 0.1",
                           "uncertainty")
    if metric == "satisficing" and any(o.threshold is None for o in objectives):
        raise source.error("metric", "uncertainty: metric 'satisficing' needs a threshold on "
                           "every objective; add threshold = ... to each", "uncertainty")
    uncertainty_seed = _count(source, uncertain.get("seed", 2026), "seed", "uncertainty", 0,
                              2 ** 32 - 1)
    search = source.table(data.get("search", {}), "search", "search")
    source.no_unknown_keys(search, {"algorithm", "evaluations", "population", "epsilons",
                                    "seed"}, "[search]")
    algorithm = _choice(source, search.get("algorithm", "EpsNSGAII"), "algorithm", ALGORITHMS,
                        "search")
    population = _count(source, search.get("population", 100), "population", "search", 4,
                        10_000)
    evaluations = _count(source, search.get("evaluations", 5000), "evaluations", "search",
                         population, 10_000_000)
    epsilons = _epsilons(source, search.get("epsilons"), algorithm, len(objectives))
    seed = _count(source, search.get("seed", 1), "seed", "search", 0, 2 ** 32 - 1)
    bounds = _lever_bounds(source, data.get("levers", {}), levers, first_year, last_year)
    return PolicyProblem(str(path), year, objectives, kind, limit, rate, sample, sets,
                         with_assumed, metric, quantile, uncertainty_seed, algorithm,
                         evaluations, population, epsilons, seed, bounds)


def _year(source: TomlFile, table, first: float, last: float) -> float:
    table = source.table(table, "objectives", "objectives")
    year = source.number(table.get("year", 2035), "year", "objectives: year", "objectives")
    if not first < year <= last:
        raise source.error("year", f"objectives: year {year:g} is outside the simulation "
                           f"({first:g}-{last:g}); choose a year inside it", "objectives")
    return year


def _objectives(source: TomlFile, table, clusters: list[str]) -> tuple[Objective, ...]:
    table = source.table(table, "objectives", "objectives")
    source.no_unknown_keys(table, {"year", "list"}, "[objectives]")
    entries = table.get("list")
    if not isinstance(entries, list) or not entries:
        raise source.error("list", "objectives: list must name at least one objective, as "
                           "list = [{ outcome = \"Margin\" }, { outcome = \"Cumulative Lever "
                           "Cost\" }]", "objectives")
    found = []
    for entry in entries:
        entry = source.table(entry, "list", "objectives: each entry of list")
        source.no_unknown_keys(entry, {"outcome", "cluster", "threshold"}, "an objective")
        outcome = source.text_field(entry.get("outcome"), "outcome", "objective: outcome",
                                    "objectives")
        if outcome not in DIRECTION:
            ranked = [o for o in KEY_OUTCOMES if o in DIRECTION]
            raise source.error("outcome", f"objective: {outcome!r} is not an outcome with a "
                               f"better direction; choose one of {', '.join(ranked)}",
                               "objectives")
        cluster = entry.get("cluster", TOTAL)
        if cluster not in (*clusters, TOTAL):
            raise source.error("cluster", f"objective {outcome}: cluster {cluster!r} is not "
                               f"one of {', '.join([*clusters, TOTAL])}", "objectives")
        threshold = entry.get("threshold")
        if threshold is not None:
            threshold = source.number(threshold, "threshold", f"objective {outcome}: threshold",
                                      "objectives")
        objective = Objective(outcome, cluster, DIRECTION[outcome], threshold)
        if any(o.label == objective.label for o in found):
            raise source.error("outcome", f"objective {objective.label} is given twice; give "
                               "each once", "objectives")
        found.append(objective)
    if len(found) > 6:
        raise source.error("list", f"objectives: {len(found)} objectives; give at most 6 (the "
                           "archive of a many-objective search grows with each)", "objectives")
    return tuple(found)


def _epsilons(source: TomlFile, value, algorithm: str, count: int) -> tuple[float, ...]:
    if algorithm != "EpsNSGAII":
        if value is not None:
            raise source.error("epsilons", f"search: epsilons are for EpsNSGAII, not "
                               f"{algorithm}; remove them or choose EpsNSGAII", "search")
        return ()
    if not isinstance(value, list) or len(value) != count:
        raise source.error("epsilons", f"search: EpsNSGAII needs epsilons, one per objective "
                           f"({count}), in the objectives' units: the resolution at which two "
                           "results count as the same", "search")
    epsilons = tuple(source.number(v, "epsilons", "search: epsilons", "search") for v in value)
    if any(e <= 0 for e in epsilons):
        raise source.error("epsilons", "search: every epsilon must be positive (the "
                           "resolution of its objective)", "search")
    return epsilons


def _lever_bounds(source: TomlFile, table, levers: dict[str, Lever], first: float,
                  last: float) -> tuple[LeverBounds, ...]:
    table = source.table(table, "levers", "levers")
    unknown = set(table) - set(levers)
    if unknown:
        raise source.error(sorted(unknown)[0], f"levers: {sorted(unknown)[0]!r} is not a "
                           f"lever; the levers are {', '.join(levers)}", "levers")
    bounds = []
    for lever_id, lever in levers.items():
        entry = source.table(table.get(lever_id, {}), lever_id, f"levers.{lever_id}")
        source.no_unknown_keys(entry, {"max_level", "start_years", "fixed_off"},
                               f"lever {lever_id!r}")
        if entry.get("fixed_off", False) is True:
            continue
        allowed = largest_level(lever)
        level = source.number(entry.get("max_level", allowed), "max_level",
                              f"{lever_id}: max_level", lever_id)
        if not 0 < level <= allowed + 1e-12:
            raise source.error("max_level", f"{lever_id}: max_level {level:g} is not in (0, "
                               f"{allowed:g}]; the settings' declared maxima allow at most "
                               f"{allowed:g}", lever_id)
        years = entry.get("start_years", [lever.start_year, min(lever.start_year + 14, last)])
        if not (isinstance(years, list) and len(years) == 2):
            raise source.error("start_years", f"{lever_id}: start_years must be [first, last]",
                               lever_id)
        low, high = (source.number(y, "start_years", f"{lever_id}: start_years", lever_id)
                     for y in years)
        if not first <= low <= high <= last:
            raise source.error("start_years", f"{lever_id}: start_years [{low:g}, {high:g}] "
                               f"must be ordered and inside the simulation ({first:g}-"
                               f"{last:g})", lever_id)
        bounds.append(LeverBounds(lever, level, low, high))
    if not bounds:
        raise source.error("levers", "levers: every lever is fixed off; leave at least one to "
                           "decide", "levers")
    return tuple(bounds)


def _choice(source: TomlFile, value, key: str, options: tuple[str, ...], where: str) -> str:
    if value not in options:
        raise source.error(key, f"{where}: {key} {value!r} is not one of "
                           f"{', '.join(options)}", where)
    return value


def _positive(source: TomlFile, value, key: str, where: str, what: str) -> float:
    if value is None:
        raise source.error(key, f"{where}: {key} is missing; give {what}", where)
    number = source.number(value, key, f"{where}: {key}", where)
    if number <= 0:
        raise source.error(key, f"{where}: {key} {number:g} must be positive; give {what}",
                           where)
    return number


def _count(source: TomlFile, value, key: str, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise source.error(key, f"{where}: {key} {value!r} must be a whole number from {low} "
                           f"to {high}", where)
    return value
