"""The calibration settings file (TOML): what is estimated, against which series, how.

The bundled file is ``calibration/config.toml``; its comments document every key. Every
error names the file, the line and the fix.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

from sd_runner.errors import InputError
from sd_runner.inputs import limits
from sd_runner.inputs.observations import DEFAULT_REGION, Observation
from sd_runner.inputs.tomlfile import TomlFile
from sd_runner.model.constant_names import first_overlap

#: The optimisers :mod:`sd_runner.calibration.optimize` offers (settings name one).
METHODS = ("least-squares", "differential-evolution")

KINDS = ("flow", "ratio", "growth")
SCALES = ("log", "linear")
#: ``target``: in the payoff; ``check``: simulated and reported, not in the payoff;
#: ``prior``: its rows only feed priors.
ROLES = ("target", "check", "prior")


@dataclass(frozen=True)
class SeriesMap:
    """How one observed series is compared with the model.

    Attributes
    ----------
    name : str
        Series name as the observation files give it (``"exports"``).
    role : str
        ``"target"`` (in the payoff), ``"check"`` (simulated and reported, no weight in the
        payoff: an out-of-sample check) or ``"prior"`` (its rows only feed priors).
    variable : str
        The model variable (Vensim name, subscripted by Cluster) it corresponds to.
    kind : str
        ``"flow"``: the row is compared with the integral of the variable over the period;
        ``"ratio"``: with the variable's average over the period (an intensive variable: a
        share, or a level such as USD per pair); ``"growth"``: with the year-on-year growth
        in percent, 100 x (average over the period / average over the same dates one year
        earlier - 1).
    unit : str
        Unit the rows must carry.
    factor : float
        Data units per model unit (100 for a fraction reported in percent).
    scale : str
        ``"log"`` or ``"linear"``: the scale on which errors are measured.
    sigma : float
        Error scale on that scale (log points, or data units); a row's weight is
        ``weight / sigma**2``.
    weight : float
        Extra weight of the series (1 = none).
    seasonal_share : str or None
        Model constant giving the January-June share of a year's flow, for flows observed
        over parts of a year.
    mapping : str
        Why the variable is the series' counterpart, and what differs.
    regions : tuple of str or None
        The regions whose rows the series compares; ``None``: the fit's ``regions``.
    """

    name: str
    role: str
    variable: str = ""
    kind: str = "ratio"
    unit: str = ""
    factor: float = 1.0
    scale: str = "linear"
    sigma: float = 1.0
    weight: float = 1.0
    seasonal_share: str | None = None
    mapping: str = ""
    regions: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Prior:
    """A normal prior on an estimated parameter, from outside evidence."""

    mean: float
    sd: float
    source: str


@dataclass(frozen=True)
class EstimatedParameter:
    """One model constant (or one element of it) the calibration estimates.

    Attributes
    ----------
    name : str
        ``"Name"`` (every element takes the one value) or ``"Name[Element]"``.
    lower, upper : float
        Bounds, in the model's units.
    prior : Prior or None
        Outside evidence, if any; otherwise the prior is uniform within the bounds.
    basis : str
        Why these bounds.
    """

    name: str
    lower: float
    upper: float
    prior: Prior | None
    basis: str


@dataclass(frozen=True)
class CalibrationConfig:
    """Everything a calibration run needs besides the model and the data."""

    path: Path
    digest: str
    final_time: float
    method: str
    seed: int
    starts: int
    max_evaluations: int
    generations: int
    derived_weight: float
    clusters: dict[str, str]
    excluded_clusters: dict[str, str]
    series: dict[str, SeriesMap]
    parameters: list[EstimatedParameter]
    confidence: float
    mcmc_walkers: int
    mcmc_steps: int
    mcmc_burn: int
    mcmc_thin: int
    sample_size: int
    regions: tuple[str, ...] = (DEFAULT_REGION,)
    aggregates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Series with no model counterpart, each with the reason (``[uncompared_series]``).
    uncompared_series: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def regions_of(self, series: SeriesMap) -> tuple[str, ...]:
        """The regions whose rows ``series`` compares: its own, else the fit's."""
        return self.regions if series.regions is None else series.regions


def load_config(path: str | Path, observations: list[Observation] | None) -> CalibrationConfig:
    """Read and check a calibration settings file.

    ``observations`` supply the rows that priors refer to (``prior = {series = ...}``); with
    ``None`` (comparing a fit with data, not fitting) priors are left out.
    """
    source = TomlFile(path, "calibration settings file")
    data = source.data
    fit, uncertainty = _main_tables(source, data)
    clusters = _string_table(source, data["clusters"], "clusters")
    excluded = _string_table(source, data.get("excluded_clusters", {}), "excluded_clusters")
    both = set(clusters) & set(excluded)
    if both:
        raise source.error(sorted(both)[0], f"cluster {sorted(both)[0]!r} is both mapped and "
                           "excluded; keep one")
    regions = _regions(source, fit.get("regions", [DEFAULT_REGION]), "regions", "fit")
    aggregates = _aggregates(source, data.get("aggregate_clusters", {}), clusters, excluded)
    series, uncompared = _series_tables(source, data)
    parameters = [_parameter(source, name, raw, observations)
                  for name, raw in source.table(data["parameters"], "parameters",
                                                "parameters").items()]
    if not parameters:
        raise source.error("parameters", "no parameters to estimate; list at least one")
    _refuse_overlaps(source, [p.name for p in parameters])
    confidence = source.number(uncertainty.get("confidence", 0.95), "confidence", "confidence")
    if not 0.5 <= confidence < 1:
        raise source.error("confidence", f"confidence {confidence} must be in [0.5, 1), "
                           "e.g. 0.95")
    derived_weight = source.number(fit.get("derived_weight", 1.0), "derived_weight",
                                   "derived_weight")
    if derived_weight < 0:
        raise source.error("derived_weight", "derived_weight must be 0 or more")
    mcmc = _mcmc_settings(source, uncertainty, len(parameters))
    method = source.text_field(fit.get("method", "least-squares"), "method", "method")
    if method not in METHODS:
        raise source.error("method", f"unknown method {method!r}; use one of "
                           f"{', '.join(METHODS)}")
    return CalibrationConfig(
        path=source.path,
        digest=hashlib.sha256(source.text.encode()).hexdigest(),
        final_time=source.number(fit.get("final_time"), "final_time", "final_time"),
        method=method,
        seed=_integer(source, fit, "seed", 0, 0, "fit", limits.LEGACY_SEED_MAX),
        starts=_integer(source, fit, "starts", 16, 1, "fit"),
        max_evaluations=_integer(source, fit, "max_evaluations", 400, 10, "fit"),
        generations=_integer(source, fit, "generations", 100, 1, "fit"),
        derived_weight=derived_weight,
        clusters=clusters,
        excluded_clusters=excluded,
        series=series,
        parameters=parameters,
        confidence=confidence,
        regions=regions,
        aggregates=aggregates,
        uncompared_series=uncompared,
        **mcmc,
    )


def _main_tables(source: TomlFile, data: dict) -> tuple[dict, dict]:
    """The file's top level checked, and its ``[fit]`` and ``[uncertainty]`` tables."""
    source.no_unknown_keys(data, {"fit", "clusters", "excluded_clusters", "aggregate_clusters",
                                  "uncompared_series", "series", "parameters", "uncertainty"},
                           "the settings file")
    for table in ("fit", "clusters", "series", "parameters"):
        if table not in data:
            raise InputError(f"{source.path}: missing table [{table}]; see the bundled "
                             "calibration/config.toml")
    fit = source.table(data["fit"], "fit", "fit")
    source.no_unknown_keys(fit, {"final_time", "method", "seed", "starts", "max_evaluations",
                                 "generations", "derived_weight", "regions"}, "[fit]")
    uncertainty = source.table(data.get("uncertainty", {}), "uncertainty", "uncertainty")
    source.no_unknown_keys(uncertainty, {"confidence", "mcmc_walkers", "mcmc_steps",
                                         "mcmc_burn", "mcmc_thin", "sample_size"},
                           "[uncertainty]")
    return fit, uncertainty


def _series_tables(source: TomlFile, data: dict) -> tuple[dict[str, SeriesMap], dict[str, str]]:
    """``[series]`` and ``[uncompared_series]``, which may not name one series twice."""
    series_tables = source.table(data["series"], "series", "series")
    _refuse_case_twins(source, list(series_tables), "series")
    series = {name: _series(source, name, raw) for name, raw in series_tables.items()}
    uncompared = _string_table(source, data.get("uncompared_series", {}), "uncompared_series")
    mapped = sorted(set(uncompared) & set(series))
    if mapped:
        raise source.error(mapped[0], f"series {mapped[0]!r} is both mapped ([series]) and "
                           "uncompared ([uncompared_series]); keep one")
    return series, uncompared


def _mcmc_settings(source: TomlFile, uncertainty: dict, parameters: int) -> dict[str, int]:
    """The MCMC keys of ``[uncertainty]``, checked against each other and the number of
    estimated ``parameters``."""
    walkers = _integer(source, uncertainty, "mcmc_walkers", 64, 2, "uncertainty")
    if walkers < 2 * parameters or walkers % 2:
        raise source.error("mcmc_walkers", f"mcmc_walkers {walkers} must be even and at least "
                           f"twice the {parameters} estimated parameters", "uncertainty")
    steps = _integer(source, uncertainty, "mcmc_steps", 3000, 1, "uncertainty")
    burn = _integer(source, uncertainty, "mcmc_burn", steps // 3, 0, "uncertainty")
    if burn >= steps:
        raise source.error("mcmc_burn", f"mcmc_burn {burn} must be below mcmc_steps {steps}",
                           "uncertainty")
    thin = _integer(source, uncertainty, "mcmc_thin", 10, 1, "uncertainty")
    if thin > steps - burn:
        raise source.error("mcmc_thin", f"mcmc_thin {thin} keeps no step of the "
                           f"{steps - burn} after burn-in; give at most {steps - burn}",
                           "uncertainty")
    kept = (steps - burn) // thin * walkers
    sample_size = _integer(source, uncertainty, "sample_size", 1000, 1, "uncertainty")
    if sample_size > kept:  # the sample is drawn from the kept draws, without repeats
        raise source.error("sample_size", f"sample_size {sample_size} is more than the {kept} "
                           "draws the MCMC keeps ((mcmc_steps - mcmc_burn) // mcmc_thin * "
                           f"mcmc_walkers); give at most {kept}", "uncertainty")
    return {"mcmc_walkers": walkers, "mcmc_steps": steps, "mcmc_burn": burn,
            "mcmc_thin": thin, "sample_size": sample_size}


def _integer(source: TomlFile, table: dict, key: str, default: int, low: int, where: str,
             high: int | None = None) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise source.error(key, f"{key} must be a whole number of at least {low}, not "
                           f"{value!r}", where)
    if high is not None and value > high:
        raise source.error(key, f"{key} {value} must be at most {high}", where)
    return value


def _string_table(source: TomlFile, raw, name: str) -> dict[str, str]:
    table = source.table(raw, name, name)
    _refuse_case_twins(source, list(table), f"[{name}]")
    result = {}
    for key, value in table.items():
        result[key.casefold()] = source.text_field(value, key, f"{name}.{key}")
    return result


def _regions(source: TomlFile, raw, key: str, where: str) -> tuple[str, ...]:
    """A non-empty list of region names, as observation files spell them."""
    if not (isinstance(raw, list) and raw and all(isinstance(r, str) and r.strip() == r and r
                                                  for r in raw)):
        raise source.error(key, f"{key} in [{where}] must be a list of region names in quotes, "
                           f'e.g. ["{DEFAULT_REGION}"], not {raw!r}', where)
    folded = [r.casefold() for r in raw]
    twice = next((r for r, f in zip(raw, folded, strict=True) if folded.count(f) > 1), None)
    if twice is not None:
        raise source.error(key, f"region {twice!r} appears twice in {key} of [{where}] (names "
                           "ignore case); keep one", where)
    return tuple(raw)


def _aggregates(source: TomlFile, raw, clusters: dict[str, str],
                excluded: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """``[aggregate_clusters]``: a data cluster that is the sum of two or more model clusters
    (data cluster names of ``[clusters]``)."""
    table = source.table(raw, "aggregate_clusters", "aggregate_clusters")
    _refuse_case_twins(source, list(table), "[aggregate_clusters]")
    result = {}
    for key, members in table.items():
        name = key.casefold()
        where = "aggregate_clusters"
        if name in clusters or name in excluded:
            raise source.error(key, f"aggregate {key!r} is also in [clusters] or "
                               "[excluded_clusters]; keep it in one table", where)
        if not (isinstance(members, list) and len(members) >= 2
                and all(isinstance(m, str) for m in members)):
            raise source.error(key, f"aggregate {key!r} must list two or more clusters of "
                               f'[clusters] in quotes, e.g. ["textile", "apparel"], not '
                               f"{members!r}", where)
        folded = [m.casefold() for m in members]
        unknown = next((m for m in members if m.casefold() not in clusters), None)
        if unknown is not None:
            raise source.error(key, f"aggregate {key!r}: {unknown!r} is not a cluster of "
                               f"[clusters] ({', '.join(clusters)}); list model clusters only",
                               where)
        if len(set(folded)) < len(folded):
            raise source.error(key, f"aggregate {key!r} lists a cluster twice; list each "
                               "once", where)
        result[name] = tuple(folded)
    return result


def _series(source: TomlFile, name: str, raw) -> SeriesMap:
    table = source.table(raw, name, f"series.{name}")
    where = f"series.{name}"
    role = source.text_field(table.get("role", "target"), name, f"series.{name}.role")
    if role not in ROLES:
        raise source.error(name, f"role {role!r} of series {name} must be one of "
                           f"{', '.join(ROLES)}")
    mapping = source.text_field(table.get("mapping", ""), name, f"series.{name}.mapping")
    if not mapping.strip():
        raise source.error(name, f"series {name} needs a mapping text saying how the model "
                           "variable corresponds to it")
    if role == "prior":
        source.no_unknown_keys(table, {"role", "mapping"}, f"[{where}]")
        return SeriesMap(name=name.casefold(), role=role, mapping=mapping)
    source.no_unknown_keys(table, {"role", "variable", "kind", "unit", "factor", "scale",
                                   "sigma", "weight", "seasonal_share", "mapping", "regions"},
                           f"[{where}]")
    regions = (None if "regions" not in table
               else _regions(source, table["regions"], "regions", where))
    for key in ("variable", "kind", "unit", "sigma"):
        if key not in table:
            raise source.error(name, f"series {name} needs {key}; add it to [{where}]")
    kind = source.text_field(table["kind"], "kind", "kind", where)
    if kind not in KINDS:
        raise source.error("kind", f"kind {kind!r} must be one of {', '.join(KINDS)}", where)
    scale = source.text_field(table.get("scale", "linear"), "scale", "scale", where)
    if scale not in SCALES:
        raise source.error("scale", f"scale {scale!r} must be one of {', '.join(SCALES)}",
                           where)
    sigma = source.number(table["sigma"], "sigma", "sigma", where)
    factor = source.number(table.get("factor", 1.0), "factor", "factor", where)
    weight = source.number(table.get("weight", 1.0), "weight", "weight", where)
    if sigma <= 0 or factor <= 0 or weight < 0:
        raise source.error("sigma", f"series {name}: sigma and factor must be positive and "
                           "weight 0 or more", where)
    if kind == "growth" and scale == "log":
        raise source.error("scale", f"series {name}: a growth rate can be negative; use scale "
                           '= "linear"', where)
    if kind == "growth" and "factor" in table:
        raise source.error("factor", f"series {name}: a growth rate is in percent whatever "
                           "the variable's unit; remove factor", where)
    seasonal = table.get("seasonal_share")
    if seasonal is not None:
        seasonal = source.text_field(seasonal, "seasonal_share", "seasonal_share", where)
        if kind != "flow":
            raise source.error("seasonal_share", "seasonal_share applies to flows only", where)
    return SeriesMap(
        name=name.casefold(), role=role,
        variable=source.text_field(table["variable"], "variable", "variable", where),
        kind=kind, unit=source.text_field(table["unit"], "unit", "unit", where),
        factor=factor, scale=scale, sigma=sigma, weight=weight, seasonal_share=seasonal,
        mapping=mapping, regions=regions,
    )


def _parameter(source: TomlFile, name: str, raw, observations) -> EstimatedParameter:
    table = source.table(raw, name, f"parameters.{name}")
    source.no_unknown_keys(table, {"bounds", "prior", "basis"}, f'[parameters."{name}"]')
    bounds = table.get("bounds")
    if not (isinstance(bounds, list) and len(bounds) == 2):
        raise source.error(name, f"{name}: bounds must be [lower, upper], not {bounds!r}")
    lower = source.number(bounds[0], name, f"{name}: lower bound")
    upper = source.number(bounds[1], name, f"{name}: upper bound")
    if not lower < upper:
        raise source.error(name, f"{name}: lower bound {lower:g} must be below upper bound "
                           f"{upper:g}; swap or fix them")
    basis = source.text_field(table.get("basis", ""), name, f"{name}: basis")
    if not basis.strip():
        raise source.error(name, f"{name}: give a basis saying where the bounds come from")
    prior = None
    if "prior" in table and observations is not None:
        prior = _prior(source, name, table["prior"], observations)
        if not lower <= prior.mean <= upper:
            raise source.error(name, f"{name}: prior mean {prior.mean:g} is outside the bounds "
                               f"[{lower:g}, {upper:g}]; widen the bounds")
    return EstimatedParameter(name=name, lower=lower, upper=upper, prior=prior, basis=basis)


def _prior(source: TomlFile, name: str, raw, observations: list[Observation]) -> Prior:
    table = source.table(raw, name, f'parameters."{name}".prior')
    source.no_unknown_keys(table, {"series", "cluster", "factor", "relative_sd", "mean", "sd",
                                   "source"}, f'the prior of "{name}"')
    if "series" in table:
        series = source.text_field(table["series"], name, f"{name}: prior series").casefold()
        cluster = source.text_field(table.get("cluster", ""), name,
                                    f"{name}: prior cluster").casefold()
        rows = [o for o in observations if o.series == series and o.cluster == cluster]
        if len(rows) != 1:
            raise source.error(name, f"{name}: the prior refers to {series}/{cluster}, which "
                               f"matches {len(rows)} rows of the observation file; it must "
                               "match one: fix the file or the prior")
        factor = source.number(table.get("factor", 1.0), name, f"{name}: prior factor")
        relative = source.number(table.get("relative_sd"), name, f"{name}: prior relative_sd")
        mean = rows[0].value * factor
        sd = abs(mean) * relative
        origin = f"{rows[0].label()} (line {rows[0].line}), x{factor:g}, sd {relative:g} x mean"
    else:
        mean = source.number(table.get("mean"), name, f"{name}: prior mean")
        sd = source.number(table.get("sd"), name, f"{name}: prior sd")
        origin = source.text_field(table.get("source", ""), name, f"{name}: prior source")
        if not origin.strip():
            raise source.error(name, f"{name}: a prior given by mean and sd needs a source")
    if not (sd > 0 and math.isfinite(sd)):
        raise source.error(name, f"{name}: the prior's sd must be positive")
    return Prior(mean=mean, sd=sd, source=origin)


def _refuse_case_twins(source: TomlFile, keys: list[str], where: str) -> None:
    """Refuse two keys of ``where`` that differ only by case: both would name one thing."""
    seen: dict[str, str] = {}
    for key in keys:
        if key.casefold() in seen:
            raise source.error(key, f"{key!r} in {where} repeats {seen[key.casefold()]!r} "
                               "(names ignore case); keep one")
        seen[key.casefold()] = key


def _refuse_overlaps(source: TomlFile, names: list[str]) -> None:
    """Refuse a parameter given twice: by case or spacing (``"Buyer Squeeze Strength"`` and
    ``"buyer squeeze strength"``), or as a whole variable and one of its elements."""
    twice = first_overlap(names)
    if twice is not None:
        name, other = twice
        raise source.error(name, f"{name!r} sets what {other!r} already sets; "
                           "estimate each constant (or element) once")
