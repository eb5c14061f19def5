"""What the lever explorer's page carries: the model compiled to JavaScript and the numbers it
runs on.

:func:`model_script` is one JavaScript text that defines ``window.sdModel`` (or, outside a
browser, a global ``sdModel``): the kernel from :mod:`sd_runner.engine.javascript`, the
runtime of ``model.js`` beside this file, and :func:`model_spec` as JSON. The spec holds the
constants of the calibrated model (a fit's parameters applied, as ``sd-runner run`` applies
them), where each lever's settings, start year and ramp sit among them, the bundled scenarios
as presets, the outputs the page draws, and optionally sets of a fit's posterior sample for
bands. The page computes nothing of the model's own: every equation is the compiler's.
"""

from __future__ import annotations

import json
import math
from importlib import resources as package_files

from sd_runner.engine.javascript import kernel_js
from sd_runner.errors import InputError
from sd_runner.reports.outcome_info import OUTCOMES
from sd_runner.results.outcomes import BETTER, FRACTIONS, KEY_OUTCOMES

#: The outcomes the page draws, in its order.
SHOWN = ("Margin", "Total Profit", "Buyer Dependence", "Own Brand Share", "Value Added",
         "Cumulative Lever Cost", "Lever Cost")
#: Posterior sets the page carries for its bands unless asked otherwise.
BAND_MEMBERS = 200
KERNEL = "runKernel"


def model_script(model, levers: dict, scenarios: list, sets=None, fit_label: str = "") -> str:
    """JavaScript that defines ``sdModel`` (see the module's text) for ``model`` (a
    :class:`~sd_runner.engine.FastModel` with its fit applied), its ``levers`` (id -> Lever),
    the bundled ``scenarios`` as presets, and optionally posterior parameter ``sets``
    (:class:`~sd_runner.results.uncertainty.ParameterSets`) for bands."""
    spec = model_spec(model, levers, scenarios, sets, fit_label)
    runtime = package_files.files("sd_runner.explorer").joinpath("model.js").read_text(
        encoding="utf-8")
    return "\n".join([
        "(function (global) {",
        kernel_js(model.kernel.compiled.program, KERNEL),
        runtime,
        f"const spec = {json.dumps(spec, allow_nan=False, separators=(',', ':'))};",
        f"global.sdModel = createModel(spec, {KERNEL});",
        "})(typeof window !== 'undefined' ? window : globalThis);",
    ]) + "\n"


def model_spec(model, levers: dict, scenarios: list, sets=None, fit_label: str = "") -> dict:
    """The numbers the page's model runs on (see the module's text); JSON-ready."""
    compiled = model.kernel.compiled
    axis = model.time_axis()
    columns = model.expand_columns([o for o in KEY_OUTCOMES if o in SHOWN])
    by_column = {column: slot for slot, column in enumerate(model.slot_columns)}
    lever_specs = [_lever(model, lever) for lever in levers.values()]
    spec = {
        "fit": fit_label,
        "time": {"t0": axis.initial, "dt": axis.step, "tf": axis.final,
                 "saveper": axis.saveper, "nSteps": int(axis.n_steps),
                 "saveSteps": [int(s) for s in axis.save_steps[:axis.n_steps + 1]],
                 "times": [float(t) for t in axis.times]},
        "base": _numbers(model.constants_vector({})),
        "levers": lever_specs,
        "outputs": columns,
        "outputSlots": [by_column[c] for c in columns],
        "outcomes": [{"name": name, "unit": OUTCOMES[name].unit if name in OUTCOMES else "",
                      "fraction": name in FRACTIONS, "better": BETTER.get(name, 0),
                      "description": OUTCOMES[name].description if name in OUTCOMES else ""}
                     for name in SHOWN],
        "clusters": list(compiled.ranges.get("Cluster", [])),
        "presets": _presets(scenarios),
    }
    if sets is not None:
        spec["sample"] = _sample(model, sets, lever_specs)
    return spec


def _lever(model, lever) -> dict:
    constants = model.kernel.compiled.constants
    settings = []
    most = math.inf  # the largest level every setting allows
    for setting in lever.settings:
        indices = sorted(index for (name, _coord), index in constants.items()
                         if name == model.variable(setting.variable).name)
        settings.append({"variable": setting.variable, "unit": setting.unit,
                         "indices": indices, "default": setting.default,
                         "full": setting.full, "min": setting.min, "max": setting.max,
                         "description": setting.description})
        step = setting.full - setting.default
        if step > 0:
            most = min(most, (setting.max - setting.default) / step)
        elif step < 0:
            most = min(most, (setting.min - setting.default) / step)
    start = constants[("Lever Start Year", (lever.element,))]
    ramp = constants[("Lever Ramp Time", (lever.element,))]
    _low, longest = model.declared_range(f"Lever Ramp Time[{lever.element}]")
    first, last = model.control("INITIAL TIME"), model.control("FINAL TIME")
    return {"id": lever.id, "number": lever.number, "element": lever.element,
            "title": lever.title, "paper": lever.paper,
            "startYear": lever.start_year, "rampYears": lever.ramp_years,
            "startIndex": start, "rampIndex": ramp,
            "maxLevel": most if math.isfinite(most) else 1.0,
            "firstYear": first, "lastYear": last,
            "maxRampYears": longest if math.isfinite(longest) else last - first,
            "settings": settings}


def _presets(scenarios: list) -> dict:
    """The scenarios as the page's settings objects (those its controls can express)."""
    presets = {}
    for scenario in scenarios:
        if scenario.constants or any(
                choice.values != {s.variable: s.at_level(choice.level)
                                  for s in choice.lever.settings}
                for choice in scenario.levers):
            continue  # a setting set directly: not a position of the page's controls
        presets[scenario.name] = {
            "title": scenario.title, "description": scenario.description,
            "levers": {choice.lever.id: {"level": choice.level,
                                         "startYear": choice.start_year,
                                         "rampYears": choice.ramp_years}
                       for choice in scenario.levers}}
    return presets


def _sample(model, sets, levers: list[dict]) -> dict:
    """The constants the posterior ``sets`` set, and each set's values of them."""
    from sd_runner.engine.ensemble import ParameterSpace

    space = ParameterSpace(model, list(sets.names))
    indices = sorted({index for targets in space.targets for index in targets})
    pulled = {i for lever in levers for s in lever["settings"] for i in s["indices"]}
    if pulled & set(indices):
        raise InputError("the posterior sample sets a constant that a lever sets; the page "
                         "cannot draw its bands")
    rows = space.constants(sets.values, model.constants_vector({}))[:, indices]
    return {"source": sets.source, "seed": sets.seed,
            "names": list(sets.names), "indices": indices,
            "members": [_numbers(row) for row in rows]}


def _numbers(values) -> list[float]:
    values = [float(v) for v in values]
    if not all(math.isfinite(v) for v in values):
        raise InputError("the model's constants include a value that is not finite; the "
                         "page cannot carry it")
    return values
