"""Checks of the model itself (``sd-runner check``): units and integration error."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sd_runner.engine.fast import FastModel
from sd_runner.scenarios import Scenario, scenario_params
from sd_runner.simulation import KEY_OUTCOMES
from sd_runner.units import check_units

#: Largest relative change of a key outcome allowed when TIME STEP is halved.
INTEGRATION_TOLERANCE = 0.01


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, and what it found."""

    name: str
    passed: bool
    detail: str


def units_check(model: FastModel) -> CheckResult:
    """Every equation dimensionally consistent (:mod:`sd_runner.units`)."""
    problems = check_units(model.path)
    if problems:
        return CheckResult("units", False, "; ".join(str(p) for p in problems))
    return CheckResult("units", True, "every equation is dimensionally consistent")


def integration_check(model: FastModel, scenarios: list[Scenario]) -> CheckResult:
    """Halving TIME STEP moves no key outcome of any scenario by more than 1 % of its largest
    magnitude over the run."""
    step = model.control("TIME STEP")
    worst = (0.0, "", "", 0.0)
    for scenario in scenarios:
        params = scenario_params(scenario, model)
        coarse = model.run(params, return_columns=list(KEY_OUTCOMES))
        fine = model.run(params, return_columns=list(KEY_OUTCOMES), time_step=step / 2)
        # Relative to each outcome's largest magnitude over the run: a running total that
        # starts from zero when a lever starts has an Euler error of order TIME STEP over its
        # age, which is large against its own first values whatever the step.
        scale = np.maximum(np.abs(coarse).max(axis=0), 1e-9)
        relative = (np.abs(fine - coarse) / scale).to_numpy()
        row, column = np.unravel_index(np.argmax(relative), relative.shape)
        if relative[row, column] > worst[0]:
            worst = (float(relative[row, column]), scenario.name,
                     str(coarse.columns[column]), float(coarse.index[row]))
    size, name, column, time = worst
    passed = size <= INTEGRATION_TOLERANCE
    detail = (f"halving TIME STEP ({step:g} to {step / 2:g} Year) moves the key outcomes of "
              f"{len(scenarios)} scenarios by at most {size:.2%} ({column} in {name}, "
              f"{time:g}); the limit is {INTEGRATION_TOLERANCE:.0%}")
    return CheckResult("integration error", passed, detail)
