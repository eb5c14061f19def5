"""Factors files: the model constants an uncertainty or sensitivity analysis varies, each
uniform within declared bounds and with the basis of those bounds (``models/assumed_factors.toml``
is the bundled example)."""

from __future__ import annotations

from pathlib import Path

from sd_runner.engine.ensemble import ParameterSpace
from sd_runner.engine.fast import FastModel
from sd_runner.errors import InputError
from sd_runner.inputs.tomlfile import TomlFile
from sd_runner.model.constant_names import overlap
from sd_runner.results.sensitivity import Factors


def load_factors(path: str | Path, model: FastModel) -> Factors:
    """Read and check a factors file against ``model``; every error names file, line, fix."""
    source = TomlFile(path, "factors file")
    source.no_unknown_keys(source.data, {"factors"}, "the factors file")
    if "factors" not in source.data:
        raise InputError(f"{source.path}: no [factors] table; give each factor as "
                         '[factors."Name"] with bounds = [lower, upper] and a basis')
    table = source.table(source.data["factors"], "factors", "factors")
    names, bounds = [], []
    for name, raw in table.items():
        for other in names:
            if overlap(name, other):
                raise source.error(name, f"{name!r} varies what {other!r} already varies; "
                                   "give each constant (or element) once")
        entry = source.table(raw, name, f'factors."{name}"')
        source.no_unknown_keys(entry, {"bounds", "basis"}, f'[factors."{name}"]')
        pair = entry.get("bounds")
        if not (isinstance(pair, list) and len(pair) == 2):
            raise source.error(name, f"{name}: bounds must be [lower, upper], not {pair!r}")
        lower = source.number(pair[0], name, f"{name}: lower bound")
        upper = source.number(pair[1], name, f"{name}: upper bound")
        if not lower < upper:
            raise source.error(name, f"{name}: lower bound {lower:g} must be below upper bound "
                               f"{upper:g}; swap or fix them")
        if not source.text_field(entry.get("basis", ""), name, f"{name}: basis").strip():
            raise source.error(name, f"{name}: give a basis saying where the bounds come from")
        try:
            ParameterSpace(model, [name])
        except InputError as exc:
            raise source.error(name, f"{exc}; give a constant of the model (models/README.md "
                               "lists them)") from None
        problem = model.range_error(name, lower) or model.range_error(name, upper)
        if problem:
            raise source.error(name, f"{name}: bounds [{lower:g}, {upper:g}] reach outside the "
                               f"range the model declares ({problem}); keep them inside it")
        names.append(name)
        bounds.append((lower, upper))
    if not names:
        raise InputError(f"{source.path}: [factors] is empty; give at least one factor")
    return Factors(tuple(names), tuple(bounds))
