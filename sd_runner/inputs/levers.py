"""The paper's seven countermeasures as levers, read from ``models/levers.toml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sd_runner import resources
from sd_runner.errors import InputError
from sd_runner.inputs.tomlfile import TomlFile


@dataclass(frozen=True)
class LeverSetting:
    """One model constant a lever sets.

    Attributes
    ----------
    variable : str
        Vensim name of the constant (subscripted by Cluster or not).
    unit : str
        Its unit, as the ``.mdl`` declares it.
    min, max : float
        Allowed range.
    default : float
        Value when the lever is off.
    full : float
        Value of the full programme that a lever at level 1 applies.
    description : str
        What the setting means.
    basis : str
        Where the full-programme value comes from (a source, or "Assumed" and why).
    """

    variable: str
    unit: str
    min: float
    max: float
    default: float
    full: float
    description: str
    basis: str = ""

    def at_level(self, level: float) -> float:
        """The setting's value at ``level`` (0 = off, 1 = full programme)."""
        return self.default + level * (self.full - self.default)


@dataclass(frozen=True)
class Lever:
    """One countermeasure of the paper.

    Attributes
    ----------
    id : str
        Short name used in scenario files, e.g. ``"own-brand"``.
    number : int
        Its number in the paper (1-7).
    element : str
        Its element of the model's ``Lever`` subscript, e.g. ``"Own Brand"``.
    title, paper : str
        Short title, and what the paper proposes.
    start_year : float
        Default year the lever starts.
    ramp_years : float
        Default years over which it phases in.
    settings : tuple of LeverSetting
        The constants it sets.
    cost_to_firms, cost_to_government : str
        Which of the model's cost terms carry the lever's cost to each (the model computes
        the costs: ``Firm Lever Cost``, ``Government Lever Cost``).
    """

    id: str
    number: int
    element: str
    title: str
    paper: str
    start_year: float
    ramp_years: float
    settings: tuple[LeverSetting, ...]
    cost_to_firms: str = ""
    cost_to_government: str = ""

    def setting(self, variable: str) -> LeverSetting:
        """The setting for ``variable`` (case-insensitive), or ``KeyError``."""
        for setting in self.settings:
            if setting.variable.casefold() == variable.casefold():
                return setting
        raise KeyError(variable)


_LEVER_KEYS = {"number", "lever", "title", "paper", "start_year", "ramp_years", "settings",
               "cost_to_firms", "cost_to_government"}
_SETTING_KEYS = {"variable", "unit", "min", "max", "default", "full", "description", "basis"}


def load_levers(path: str | Path | None = None) -> dict[str, Lever]:
    """Read lever definitions.

    Parameters
    ----------
    path : path-like, optional
        A levers TOML file; the bundled ``levers.toml`` by default.

    Returns
    -------
    dict
        Lever id to :class:`Lever`, in the paper's order.
    """
    source = TomlFile(path or resources.levers_path(), "levers file")
    levers = [_lever(source, lever_id, raw) for lever_id, raw in source.data.items()]
    if not levers:
        raise InputError(f"{source.path}: defines no lever; see the bundled levers.toml")
    return {lever.id: lever for lever in sorted(levers, key=lambda lever: lever.number)}


def _lever(source: TomlFile, lever_id: str, raw) -> Lever:
    """One ``[lever]`` table, checked."""
    table = source.table(raw, lever_id, lever_id)
    source.no_unknown_keys(table, _LEVER_KEYS, f"lever {lever_id!r}")
    for key in ("number", "lever", "title", "start_year", "ramp_years", "settings"):
        if key not in table:
            raise source.error(lever_id, f"lever {lever_id!r} lacks {key!r}; add it")
    settings = [_setting(source, lever_id, raw_setting) for raw_setting in table["settings"]]
    ramp = source.number(table["ramp_years"], lever_id, f"{lever_id}: ramp_years")
    if ramp < 0:
        raise source.error(lever_id,
                           f"{lever_id}: ramp_years {ramp} is negative; use 0 or more")
    return Lever(
        id=lever_id,
        number=int(source.number(table["number"], lever_id, f"{lever_id}: number")),
        element=source.text_field(table["lever"], lever_id, "lever"),
        title=source.text_field(table["title"], lever_id, "title"),
        paper=source.text_field(table.get("paper", ""), lever_id, "paper"),
        cost_to_firms=source.text_field(table.get("cost_to_firms", ""), lever_id,
                                        "cost_to_firms"),
        cost_to_government=source.text_field(table.get("cost_to_government", ""), lever_id,
                                             "cost_to_government"),
        start_year=source.number(table["start_year"], lever_id, f"{lever_id}: start_year"),
        ramp_years=ramp,
        settings=tuple(settings),
    )


def _setting(source: TomlFile, lever_id: str, raw) -> LeverSetting:
    """One of a lever's ``settings``, checked: its default and full values lie within its
    [min, max]."""
    setting_table = source.table(raw, lever_id, f"{lever_id}.settings")
    source.no_unknown_keys(setting_table, _SETTING_KEYS, f"a setting of {lever_id!r}")
    variable = source.text_field(setting_table.get("variable"), lever_id, "variable")
    numbers = {
        key: source.number(setting_table.get(key), variable, f"{variable}: {key}")
        for key in ("min", "max", "default", "full")
    }
    if numbers["min"] > numbers["max"]:
        raise source.error(variable, f"{variable}: min {numbers['min']} is above max "
                           f"{numbers['max']}; swap them")
    for key in ("default", "full"):
        if not numbers["min"] <= numbers[key] <= numbers["max"]:
            raise source.error(variable, f"{variable}: {key} {numbers[key]} is outside "
                               f"[{numbers['min']}, {numbers['max']}]; move it inside")
    return LeverSetting(
        variable=variable,
        unit=source.text_field(setting_table.get("unit", ""), variable, "unit"),
        description=source.text_field(
            setting_table.get("description", ""), variable, "description"),
        basis=source.text_field(setting_table.get("basis", ""), variable, "basis"),
        **numbers,
    )
