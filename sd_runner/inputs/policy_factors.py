"""Policy factors files: per lever, a multiplier of its full programme and one of its unit
costs, each uniform within declared bounds with the basis of those bounds
(``models/policy_factors.toml`` is the bundled one)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sd_runner.engine.ensemble import ParameterSpace
from sd_runner.engine.fast import FastModel
from sd_runner.errors import InputError
from sd_runner.inputs.levers import Lever
from sd_runner.inputs.tomlfile import TomlFile
from sd_runner.model.constant_names import overlap
from sd_runner.model.mdl_text import clean_name, read_mdl

#: The model's cost of the levers: its unit costs are the constants it is computed from.
COST_OUTCOME = "Lever Cost"

_FACTOR_KEYS = {"magnitude": {"bounds", "basis"}, "cost": {"bounds", "constants", "basis"}}


@dataclass(frozen=True)
class LeverFactors:
    """The two multipliers of one lever.

    Attributes
    ----------
    lever : str
        Lever id (``"own-brand"``).
    magnitude, cost : tuple of float
        ``(lower, upper)`` of the multiplier of its full programme and of its unit costs.
    constants : tuple of str
        The unit costs the cost multiplier scales (Vensim names).
    """

    lever: str
    magnitude: tuple[float, float]
    cost: tuple[float, float]
    constants: tuple[str, ...]


@dataclass(frozen=True)
class PolicyFactors:
    """Every lever's factors, in the paper's order of the levers."""

    levers: tuple[LeverFactors, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """``"own-brand magnitude"``, ``"own-brand cost"``, ... in :meth:`draw`'s columns."""
        return tuple(f"{f.lever} {kind}" for f in self.levers for kind in ("magnitude", "cost"))

    def draw(self, members: int, seed: int) -> np.ndarray:
        """``[member, factor]`` multipliers (columns as :attr:`names`): a Latin hypercube
        from its own stream of ``seed``, so other draws from the same seed stay independent."""
        from scipy.stats import qmc

        bounds = np.array([b for f in self.levers for b in (f.magnitude, f.cost)])
        unit = qmc.LatinHypercube(d=len(bounds), seed=np.random.default_rng([seed, 2]))
        return bounds[:, 0] + unit.random(members) * (bounds[:, 1] - bounds[:, 0])


def load_policy_factors(path: str | Path, model: FastModel,
                        levers: dict[str, Lever]) -> PolicyFactors:
    """Read and check a policy factors file against ``model`` and ``levers``; every error
    names file, line and fix."""
    source = TomlFile(path, "policy factors file")
    for lever_id in source.data:
        if lever_id not in levers:
            raise source.error(lever_id, f"{lever_id!r} is not a lever; give one of "
                               f"{', '.join(levers)}")
    unit_costs = lever_unit_costs(model, levers)
    found = []
    for lever_id in levers:
        if lever_id not in source.data:
            raise InputError(f"{source.path}: gives no factors for lever {lever_id!r}; add "
                             f"[{lever_id}.magnitude] and [{lever_id}.cost]")
        table = source.table(source.data[lever_id], lever_id, lever_id)
        source.no_unknown_keys(table, set(_FACTOR_KEYS), f"[{lever_id}]")
        bounds = {}
        for kind, keys in _FACTOR_KEYS.items():
            if kind not in table:
                raise source.error(lever_id, f"{lever_id}: no [{lever_id}.{kind}]; add it with "
                                   "bounds = [lower, upper] and a basis")
            entry = source.table(table[kind], kind, f"{lever_id}.{kind}")
            source.no_unknown_keys(entry, keys, f"[{lever_id}.{kind}]")
            bounds[kind] = _bounds(source, entry, lever_id, kind)
        constants = _constants(source, table["cost"], lever_id, model, unit_costs,
                               bounds["cost"])
        found.append(LeverFactors(lever_id, bounds["magnitude"], bounds["cost"], constants))
    claimed = {clean_name(c) for f in found for c in f.constants}
    for cost in unit_costs:
        if clean_name(cost) not in claimed:
            raise InputError(f"{source.path}: {cost!r} prices a lever in the model's "
                             f"{COST_OUTCOME} but no lever's cost names it; add it to the "
                             "constants of the lever it prices")
    return PolicyFactors(tuple(found))


def _bounds(source: TomlFile, entry: dict, lever_id: str, kind: str) -> tuple[float, float]:
    where = f"{lever_id}.{kind}"
    pair = entry.get("bounds")
    if not (isinstance(pair, list) and len(pair) == 2):
        raise source.error("bounds", f"{where}: bounds must be [lower, upper], not {pair!r}",
                           within=where)
    lower = source.number(pair[0], "bounds", f"{where}: lower bound", within=where)
    upper = source.number(pair[1], "bounds", f"{where}: upper bound", within=where)
    if not 0 <= lower <= upper:
        raise source.error("bounds", f"{where}: bounds [{lower:g}, {upper:g}] must be "
                           "multipliers with 0 <= lower <= upper (equal ends pin the factor); "
                           "fix them", within=where)
    if not source.text_field(entry.get("basis", ""), "basis", f"{where}: basis",
                             within=where).strip():
        raise source.error("basis", f"{where}: give a basis saying where the bounds come from",
                           within=where)
    return lower, upper


def _constants(source: TomlFile, entry: dict, lever_id: str, model: FastModel,
               unit_costs: tuple[str, ...], bounds: tuple[float, float]) -> tuple[str, ...]:
    where = f"{lever_id}.cost"
    names = entry.get("constants")
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise source.error("constants", f"{where}: constants must be a list of the unit costs "
                           f"the multiplier scales, not {names!r}", within=where)
    base = model.constants_vector()
    for position, name in enumerate(names):
        if any(overlap(name, other) for other in names[:position]):
            raise source.error(name, f"{where}: {name!r} is named twice; give it once",
                               within=where)
        try:
            space = ParameterSpace(model, [name])
        except InputError as exc:
            raise source.error(name, f"{where}: {exc}; give a constant of the model",
                               within=where) from None
        if clean_name(name.partition("[")[0]) not in {clean_name(c) for c in unit_costs}:
            raise source.error(name, f"{where}: {name!r} does not price a lever in the model's "
                               f"{COST_OUTCOME}; give one of {', '.join(unit_costs)}",
                               within=where)
        for value in {float(base[i]) for i in space.targets[0]}:
            problem = (model.range_error(name, value * bounds[0])
                       or model.range_error(name, value * bounds[1]))
            if problem:
                raise source.error(name, f"{where}: {name} {value:g} times bounds "
                                   f"[{bounds[0]:g}, {bounds[1]:g}] leaves the range the model "
                                   f"declares ({problem}); narrow the bounds", within=where)
    return tuple(names)


def lever_unit_costs(model: FastModel, levers: dict[str, Lever]) -> tuple[str, ...]:
    """The constants the model prices its levers with, read from the ``.mdl``: those that
    :data:`COST_OUTCOME` is computed from through the auxiliaries of its own group, other than
    the settings of ``levers``."""
    settings = frozenset(clean_name(s.variable) for lever in levers.values()
                         for s in lever.settings)
    return _unit_costs(str(model.path), model.file_sha256, settings)


@functools.lru_cache(maxsize=4)
def _unit_costs(mdl: str, _digest: str, settings: frozenset[str]) -> tuple[str, ...]:
    from sd_runner.feedback.graph import CausalGraph

    entries = {clean_name(e.name): e for e in read_mdl(mdl)}
    graph = CausalGraph(mdl).graph
    group = entries[clean_name(COST_OUTCOME)].group
    found, seen, todo = set(), set(), [COST_OUTCOME]
    while todo:
        for source in graph.predecessors(todo.pop()):
            entry = entries.get(clean_name(source))
            if entry is None or source in seen:
                continue
            seen.add(source)
            if entry.kind == "constant" and clean_name(source) not in settings:
                found.add(entry.name)
            elif entry.kind == "auxiliary" and entry.group == group:
                todo.append(source)
    return tuple(sorted(found))
