"""The manifest written beside every output: what produced it, so a result can be traced and
rerun. It holds the model's file name and hash, the parameter set applied (the fit's values),
each scenario's levers and constants, seeds and the versions of the packages that computed it,
and nothing that changes from one run to the next (no times, no machine paths), so the same
command twice writes the same bytes."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from typing import TYPE_CHECKING

import xarray as xr

from sd_runner.inputs.scenarios import Scenario

if TYPE_CHECKING:  # only a type here: the reports read PACKAGES without loading PySD
    from sd_runner.model.loading import SDModel

#: Packages whose versions can change a number.
PACKAGES = ("sd-runner", "pysd", "numpy", "scipy", "pandas", "xarray", "llvmlite", "numba", "SALib",
            "emcee", "networkx")


def manifest(command: str, model: SDModel, fit_label: str,
             scenarios: tuple[Scenario, ...] | list[Scenario] = (),
             seeds: dict[str, int] | None = None, settings: dict | None = None) -> dict:
    """The manifest of one output (see the module docstring)."""
    return {
        "command": command,
        "model": {"file": model.path.name, "sha256": model.file_sha256},
        "parameters": {"source": fit_label, "values": _values(model)},
        "scenarios": [_scenario(s) for s in scenarios],
        "seeds": dict(seeds or {}),
        "settings": dict(settings or {}),
        "versions": {"python": platform.python_version(),
                     **{name: _version(name) for name in PACKAGES}},
    }


def manifest_json(*args, **kwargs) -> str:
    """:func:`manifest` as JSON text."""
    return json.dumps(manifest(*args, **kwargs), indent=1, sort_keys=True) + "\n"


def _values(model: SDModel) -> dict[str, float]:
    """The parameter values every run of ``model`` starts from, beyond the ``.mdl``'s own."""
    values = {}
    for name, value in sorted(model._base.items()):
        if isinstance(value, xr.DataArray) and value.dims:
            dim = value.dims[0]
            for element in value.coords[dim].values:
                values[f"{name}[{element}]"] = float(value.sel({dim: element}))
        else:
            values[name] = float(value)
    return values


def _scenario(scenario: Scenario) -> dict:
    return {
        "name": scenario.name, "source": scenario.source,
        "levers": [{"lever": c.lever.id, "level": c.level, "start_year": c.start_year,
                    "ramp_years": c.ramp_years, "values": dict(sorted(c.values.items()))}
                   for c in scenario.levers],
        "constants": dict(sorted(scenario.constants.items())),
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
