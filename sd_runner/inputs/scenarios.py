"""Scenario files: which levers are pulled, how hard and when, and any constant overridden.

A scenario file is TOML::

    name = "my-scenario"
    title = "One line"
    description = "What it assumes."

    [levers.own-brand]            # a lever of levers.toml
    level = 0.5                   # share of the full programme (default 1)
    start_year = 2018             # optional, default from levers.toml
    ramp_years = 3                # optional
    [levers.own-brand.set]        # optional: set settings directly
    "Extra Channel Reach[Apparel]" = 0.4

    [constants]                   # any model constant, by its Vensim name
    "Buyer Squeeze Strength" = 0.5

Each value is set once: a constant named twice (by case, or as a whole variable and one of its
elements) is refused, and so is a constant that a pulled lever sets (give it in the lever's
``set`` table, or its ``start_year`` and ``ramp_years``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr

from sd_runner import resources
from sd_runner.errors import InputError
from sd_runner.inputs.levers import Lever, load_levers
from sd_runner.inputs.tomlfile import TomlFile
from sd_runner.model.constant_names import overlap

if TYPE_CHECKING:  # only a type here: reading a scenario does not load PySD
    from sd_runner.model.loading import SDModel

_CONTROLS = {"initial time", "final time", "time step", "saveper"}
_SUBSCRIPTED = re.compile(r"^\s*(?P<name>[^\[\]]+?)\s*(\[(?P<element>[^\[\]]+)\])?\s*$")

#: Stems of the other files a folder output of ``compare`` holds (``formats.comparison_csvs``
#: and the manifest): a scenario named so would overwrite one of them.
RESERVED_NAMES = ("outcomes", "manifest", "outcome_totals", "rankings",
                  "ranking_disagreements", "equal_cost", "uncertainty_bands",
                  "uncertainty_effects", "uncertainty_excluded", "loops", "loop_scores",
                  "dominant_loops", "loop_shifts")
#: A name becomes a file name ``<name>.csv``: most file systems allow 255 bytes.
MAX_NAME_BYTES = 255 - len(".csv")
_NOT_ON_WINDOWS = '<>:"|?*'
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                    *(f"lpt{i}" for i in range(1, 10))}


@dataclass(frozen=True)
class LeverChoice:
    """A lever as a scenario pulls it.

    Attributes
    ----------
    lever : Lever
        The lever.
    level : float
        Share of the full programme applied to settings not set directly.
    start_year, ramp_years : float
        When it starts and how long it takes to phase in.
    values : dict
        Final value of every setting, keyed by Vensim name (``"Extra Channel Reach"`` or
        ``"Extra Channel Reach[Apparel]"`` for one element).
    """

    lever: Lever
    level: float
    start_year: float
    ramp_years: float
    values: dict[str, float]


@dataclass(frozen=True)
class Scenario:
    """A named set of lever choices and constant overrides.

    Attributes
    ----------
    name, title, description : str
        As written in the file.
    source : str
        ``"bundled"`` or the file's path.
    levers : tuple of LeverChoice
        The levers pulled, in the paper's order.
    constants : dict
        Constants overridden, keyed by Vensim name (optionally ``Name[Element]``).
    """

    name: str
    title: str
    description: str
    source: str
    levers: tuple[LeverChoice, ...] = ()
    constants: dict[str, float] = field(default_factory=dict)

    def settings_rows(self) -> list[dict[str, object]]:
        """One row per value the scenario sets, for tables and manifests."""
        rows = []
        for choice in self.levers:
            for variable, value in choice.values.items():
                base = _SUBSCRIPTED.match(variable)["name"]
                setting = choice.lever.setting(base)
                rows.append({
                    "lever": choice.lever.id, "variable": variable, "value": value,
                    "unit": setting.unit, "start_year": choice.start_year,
                    "ramp_years": choice.ramp_years,
                })
        for variable, value in self.constants.items():
            rows.append({"lever": "(constant)", "variable": variable, "value": value,
                         "unit": "", "start_year": None, "ramp_years": None})
        return rows


def bundled_scenario_names() -> list[str]:
    """Names of the bundled scenarios, baseline first, the combined strategy last."""
    names = {path.stem for path in resources.scenarios_dir().glob("*.toml")}
    order = ["baseline", *_bundled_lever_ids(), "domestic-value-chain"]
    known = [n for n in order if n in names]
    return known + sorted(names - set(known))


@functools.cache
def _bundled_lever_ids() -> tuple[str, ...]:
    """The bundled levers' ids in the paper's order (package files: read once a process;
    every scenario read asks for them twice)."""
    return tuple(load_levers())


def resolve_scenario_path(name_or_path: str | Path) -> tuple[Path, str]:
    """The file behind a bundled name or a path, and its source label."""
    text = str(name_or_path)
    if text in bundled_scenario_names():
        return resources.scenarios_dir() / f"{text}.toml", "bundled"
    path = Path(text)
    if path.suffix.lower() == ".toml" or path.exists() or "/" in text or "\\" in text:
        return path, str(path)
    raise InputError(
        f"unknown scenario {text!r}: give a bundled name ({', '.join(bundled_scenario_names())}) "
        "or the path of a scenario .toml file"
    )


def load_scenario(name_or_path: str | Path, levers: dict[str, Lever], model: SDModel) -> Scenario:
    """Read and check a scenario against the levers and the model.

    Parameters
    ----------
    name_or_path : str or path-like
        A bundled scenario name or a scenario file.
    levers : dict
        Lever definitions, from :func:`sd_runner.inputs.levers.load_levers`.
    model : SDModel
        The model the scenario is for; names are checked against it.
    """
    path, source_label = resolve_scenario_path(name_or_path)
    source = TomlFile(path, "scenario file")
    data = source.data
    source.no_unknown_keys(data, {"name", "title", "description", "levers", "constants"},
                           "the scenario")
    name = source.text_field(data.get("name", path.stem), "name", "name").strip()
    if not name:
        raise source.error("name", "name is empty; give the scenario a name")
    _check_name(source, name, from_file_name="name" not in data,
                bundled=source_label == "bundled" or _is_bundled_file(path))
    choices = []
    lever_tables = source.table(data.get("levers", {}), "levers", "levers")
    for lever_id, raw in lever_tables.items():
        if lever_id not in levers:
            raise source.error(lever_id, f"unknown lever {lever_id!r}; levers are: "
                               f"{', '.join(levers)}")
        choices.append(_lever_choice(source, levers[lever_id], raw, model))
    constants, origin = {}, {}
    for key, value in source.table(data.get("constants", {}), "constants", "constants").items():
        resolved = _constant_key(source, key, model)
        _refuse_twice(source, key, resolved, origin)
        _refuse_lever_setting(source, key, resolved, choices)
        constants[resolved] = _constant_value(source, key, resolved, value, model)
        origin[resolved] = key
    return Scenario(
        name=name,
        title=source.text_field(data.get("title", name), "title", "title"),
        description=source.text_field(data.get("description", ""), "description", "description"),
        source=source_label,
        levers=tuple(sorted(choices, key=lambda c: c.lever.number)),
        constants=constants,
    )


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a scenario's name, or None. A name is an identifier that also
    names a file (``<name>.csv`` in a compare folder) on any system, never a path."""
    for char in name:
        if char in "/\\":
            return f"contains {char!r}, a path separator"
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            what = "NUL" if char == "\x00" else f"the control character U+{ord(char):04X}"
            return f"contains {what}"
        if char in _NOT_ON_WINDOWS:
            return f"contains {char!r}, which file names on Windows cannot hold"
    if name.startswith("."):
        return "starts with a dot (a hidden file name, or '..', the folder above)"
    if name.endswith("."):
        return "ends with a dot, which Windows drops from file names"
    if name_key(name.split(".")[0]) in _WINDOWS_DEVICES:
        return "is the name of a device on Windows"
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        return (f"is {size} bytes long; with '.csv' a file name holds at most "
                f"{MAX_NAME_BYTES} bytes")
    if name_key(name) in RESERVED_NAMES:
        return f"is the name of another file compare writes ({', '.join(RESERVED_NAMES)})"
    return None


def name_key(name: str) -> str:
    """The form in which two names are one file name on some system: case folded (macOS,
    Windows) and Unicode-normalised (macOS stores "café" composed or not as one name)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _check_name(source: TomlFile, name: str, from_file_name: bool, bundled: bool) -> None:
    problem = name_problem(name)
    if problem is None and not bundled:
        taken = {name_key(n): n for n in bundled_scenario_names()}.get(name_key(name))
        if taken is not None:
            problem = (f"is the name of the bundled scenario {taken!r}, which it would "
                       "replace in a comparison")
    if problem is None:
        return
    if from_file_name:
        raise source.error("name", f"the file name gives the scenario name {name!r}, which "
                           f"{problem}; add a line name = \"...\" with a plain name such as "
                           "\"my-scenario\"")
    raise source.error("name", f"name {name!r} {problem}; give a plain name such as "
                       "\"my-scenario\" (letters, digits, '-', '_')")


def _is_bundled_file(path: Path) -> bool:
    try:
        return path.resolve().parent == resources.scenarios_dir().resolve()
    except OSError:
        return False


def check_distinct_names(scenarios: list[Scenario]) -> list[Scenario]:
    """``scenarios`` with repeats of the same one dropped; two different scenarios with one
    name (as ``name_key`` folds it, as some file systems do) are refused, since each names a
    file."""
    kept: dict[str, Scenario] = {}
    for scenario in scenarios:
        other = kept.get(name_key(scenario.name))
        if other is None:
            kept[name_key(scenario.name)] = scenario
        elif other != scenario:
            where = (TomlFile(scenario.source, "scenario file").where("name")
                     if scenario.source != "bundled" else "bundled")
            theirs = ("the bundled scenario" if other.source == "bundled"
                      else f"the scenario in {other.source}")
            raise InputError(f"{where}: name {scenario.name!r} is also the name of {theirs}; "
                             "give each compared scenario its own name")
    return list(kept.values())


def _lever_choice(source: TomlFile, lever: Lever, raw: object, model: SDModel) -> LeverChoice:
    table = source.table(raw, lever.id, f"levers.{lever.id}")
    source.no_unknown_keys(table, {"level", "start_year", "ramp_years", "set"},
                           f"lever {lever.id!r}")
    here = lever.id
    level = source.number(table.get("level", 1.0), "level", f"{lever.id}: level", here)
    if level < 0:
        raise source.error("level", f"{lever.id}: level {level} is negative; use 0 (off) to 1 "
                           "(full programme) or more", here)
    start = source.number(table.get("start_year", lever.start_year), "start_year",
                          f"{lever.id}: start_year", here)
    first, last = model.control("INITIAL TIME"), model.control("FINAL TIME")
    if not first <= start <= last:
        raise source.error("start_year", f"{lever.id}: start_year {start:g} is outside the "
                           f"simulation ({first:g}-{last:g}); choose a year inside it", here)
    ramp = source.number(table.get("ramp_years", lever.ramp_years), "ramp_years",
                         f"{lever.id}: ramp_years", here)
    if ramp < 0:
        raise source.error("ramp_years", f"{lever.id}: ramp_years {ramp:g} is negative; "
                           "use 0 (a step) or more", here)
    values = {}
    for setting in lever.settings:
        values[setting.variable] = _within(source, "level", setting.variable,
                                           setting.at_level(level), setting, here)
    explicit = source.table(table.get("set", {}), "set", f"levers.{lever.id}.set")
    origin = {}  # the key that set each value directly
    for key, value in explicit.items():
        parsed = _SUBSCRIPTED.match(key)
        base = parsed["name"] if parsed else key
        try:
            setting = lever.setting(base)
        except KeyError:
            raise source.error(key, f"{key!r} is not a setting of lever {lever.id!r}; its "
                               f"settings are: {', '.join(s.variable for s in lever.settings)}",
                               here) from None
        element = parsed["element"]
        if element is not None:
            _check_element(source, key, setting.variable, element.strip(), model)
            full_key = f"{setting.variable}[{_element_name(setting.variable, element, model)}]"
        else:
            full_key = setting.variable
        _refuse_twice(source, key, full_key, origin, here)
        number = source.number(value, key, key, here)
        values[full_key] = _within(source, key, key, number, setting, here)
        origin[full_key] = key
    timing = {"start_year": ("Lever Start Year", start), "ramp_years": ("Lever Ramp Time", ramp)}
    for key, (variable, value) in timing.items():
        _within_model(source, key, f"{variable}[{lever.element}]", value, model, here,
                      label=f"{lever.id}: {key}")
    for variable, value in values.items():
        key = origin.get(variable, "level")
        _within_model(source, key, variable, value, model, here)
    return LeverChoice(lever=lever, level=level, start_year=start, ramp_years=ramp, values=values)


def _refuse_twice(source: TomlFile, key: str, resolved: str, earlier: dict[str, str],
                  within: str | None = None) -> None:
    """Refuse a key that sets what an earlier key set (``earlier`` maps what each set to the
    key): the same name by case, or a whole variable and one of its elements."""
    for other, other_key in earlier.items():
        if not overlap(resolved, other):
            continue
        how = ("" if resolved == other else " as a whole" if "[" not in other
               else " for one element")
        raise source.error(key, f"{key!r} sets {resolved}, which the file already sets{how} "
                           f"({other_key!r}); keep one", within)


def _refuse_lever_setting(source: TomlFile, key: str, resolved: str,
                          choices: list[LeverChoice]) -> None:
    """Refuse a constant that a lever the scenario pulls also sets: which value would win
    depends on the order they are applied in, so the file must say it once."""
    for choice in choices:
        lever = choice.lever.id
        for variable in choice.values:
            if overlap(resolved, variable):
                raise source.error(key, f"{key!r} sets {resolved}, which lever {lever} sets "
                                   f"([levers.{lever}]); give the value in "
                                   f"[levers.{lever}.set] instead and remove it here")
        for option, variable in (("start_year", "Lever Start Year"),
                                 ("ramp_years", "Lever Ramp Time")):
            element = f"{variable}[{choice.lever.element}]"
            if overlap(resolved, element):
                here = ("remove it here" if "[" in resolved
                        else "set only the other levers' elements here")
                raise source.error(key, f"{key!r} sets {resolved}, which lever {lever} sets "
                                   f"by its {option} ({element}); give {option} in "
                                   f"[levers.{lever}] instead and {here}")


def _within_model(source: TomlFile, key: str, variable: str, value: float, model: SDModel,
                  within: str | None = None, label: str = "") -> None:
    """Refuse ``value`` for ``variable`` outside the range the ``.mdl`` declares."""
    problem = model.range_error(variable, value)
    if problem:
        prefix = f"{label} sets " if label else ""
        raise source.error(key, f"{prefix}{problem}; use a value inside it", within)


def _within(source: TomlFile, key: str, label: str, value: float, setting,
            within: str | None = None) -> float:
    if not setting.min <= value <= setting.max:
        raise source.error(key, f"{label} = {value:g} is outside its range [{setting.min:g}, "
                           f"{setting.max:g}] ({setting.unit}); use a value inside it", within)
    return value


def _element_name(variable: str, element: str, model: SDModel) -> str:
    info = model.variable(variable)
    for subscript in info.subscripts:
        for candidate in model.subscripts.get(subscript, []):
            if candidate.casefold() == element.strip().casefold():
                return candidate
    return element.strip()


def _check_element(source: TomlFile, key: str, variable: str, element: str, model: SDModel):
    info = model.variable(variable)
    if not info.subscripts:
        raise source.error(key, f"{variable} has no subscript; drop [{element}]")
    allowed = [e for s in info.subscripts for e in model.subscripts.get(s, [])]
    if element.casefold() not in {e.casefold() for e in allowed}:
        raise source.error(key, f"{element!r} is not an element of {variable}'s subscript; "
                           f"use one of: {', '.join(allowed)}")


def _constant_key(source: TomlFile, key: str, model: SDModel) -> str:
    parsed = _SUBSCRIPTED.match(key)
    if not parsed:
        raise source.error(key, f"{key!r} is not a Vensim name; write Name or Name[Element]")
    base = parsed["name"]
    if base.casefold() in _CONTROLS:
        raise source.error(key, f"{base} is a time control, not a scenario constant; scenarios "
                           "share one time axis")
    try:
        info = model.variable(base)
    except KeyError:
        raise source.error(key, f"{base!r} is not a variable of the model; check the spelling "
                           "against the .mdl (sd-runner scenarios lists the levers)") from None
    if info.kind != "Constant":
        raise source.error(key, f"{info.name} is computed by the model ({info.kind}), not a "
                           "constant; set a constant it depends on instead")
    if parsed["element"] is None:
        return info.name
    _check_element(source, key, info.name, parsed["element"], model)
    return f"{info.name}[{_element_name(info.name, parsed['element'], model)}]"


def _constant_value(source: TomlFile, key: str, resolved: str, value: object,
                    model: SDModel) -> float:
    number = source.number(value, key, key)
    _within_model(source, key, resolved, number, model)
    return number


def scenario_params(scenario: Scenario, model: SDModel) -> dict[str, float | xr.DataArray]:
    """PySD parameters that put ``scenario`` into ``model``.

    Whole-variable values are applied first, then single elements, so a lever's
    ``set`` of ``"X[Apparel]"`` refines the ``"X"`` its level gives.
    """
    assignments: dict[str, float] = {}
    for choice in scenario.levers:
        assignments.update(choice.values)
    assignments.update(scenario.constants)
    params: dict[str, float | xr.DataArray] = {}
    ordered = sorted(assignments.items(), key=lambda item: "[" in item[0])
    for key, value in ordered:
        parsed = _SUBSCRIPTED.match(key)
        name, element = parsed["name"], parsed["element"]
        current = params.get(name)
        if current is None:
            current = model.default_value(name)
        if element is None:
            if isinstance(current, xr.DataArray):
                current = xr.full_like(current, value, dtype=float)
            else:
                current = float(value)
        else:
            current = current.copy()
            dim = current.dims[0]
            current.loc[{dim: element}] = value
        params[name] = current
    timing = [c for c in scenario.levers
              if (c.start_year, c.ramp_years) != (c.lever.start_year, c.lever.ramp_years)]
    if timing:
        start = params.get("Lever Start Year", model.default_value("Lever Start Year")).copy()
        ramp = params.get("Lever Ramp Time", model.default_value("Lever Ramp Time")).copy()
        for choice in timing:
            start.loc[{"Lever": choice.lever.element}] = choice.start_year
            ramp.loc[{"Lever": choice.lever.element}] = choice.ramp_years
        params["Lever Start Year"] = start
        params["Lever Ramp Time"] = ramp
    return params
