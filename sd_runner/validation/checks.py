"""Checks of the model itself (``sd-runner check``): units, integration error, the lever matrix
held to the behaviour assertions, and the loop knockouts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sd_runner.engine.fast import FastModel
from sd_runner.errors import SDRunnerError
from sd_runner.inputs.scenarios import Scenario, scenario_params
from sd_runner.model.units import check_units
from sd_runner.results.matrix import MatrixMember
from sd_runner.results.outcomes import KEY_OUTCOMES
from sd_runner.validation.assertions import AssertionResult, Condition, RunSource

#: Largest relative change of a key outcome allowed when TIME STEP is halved.
INTEGRATION_TOLERANCE = 0.01


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, and what it found."""

    name: str
    passed: bool
    detail: str


def units_check(model: FastModel) -> CheckResult:
    """Every equation dimensionally consistent (:mod:`sd_runner.model.units`)."""
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


# ---------------------------------------------------------------------- behaviour
@dataclass(frozen=True)
class ModelCheck:
    """Everything ``sd-runner check`` found: the model's own checks (units, integration
    error), each member of the lever matrix, each behaviour assertion and each knockout."""

    checks: list[CheckResult]
    matrix: list[CheckResult]
    assertions: list[AssertionResult]
    knockouts: list[CheckResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in [*self.checks, *self.matrix, *self.assertions,
                                      *self.knockouts])

    def summary_lines(self) -> list[str]:
        """One line per check, member, assertion and knockout, then the verdict."""
        def mark(passed: bool) -> str:
            return "ok" if passed else "FAILED"

        lines = [f"{r.name}: {mark(r.passed)}, {r.detail}" for r in self.checks]
        lines += [f"lever matrix {r.name}: {mark(r.passed)}, {r.detail}" for r in self.matrix]
        lines += [f"assertion {r.assertion.id}: {mark(r.passed)}, {r.detail()}"
                  for r in self.assertions]
        lines += [f"{r.name}: {mark(r.passed)}, {r.detail}" for r in self.knockouts]
        broken = [r for r in [*self.checks, *self.matrix, *self.assertions, *self.knockouts]
                  if not r.passed]
        total = (len(self.checks) + len(self.matrix) + len(self.assertions)
                 + len(self.knockouts))
        lines.append(f"{total - len(broken)} of {total} checks pass"
                     + ("" if not broken else f"; {len(broken)} FAILED"))
        return lines

    def as_dict(self) -> dict:
        def plain(results):
            return [{"name": r.name, "passed": r.passed, "detail": r.detail} for r in results]

        return {"passed": self.passed, "checks": plain(self.checks),
                "lever_matrix": plain(self.matrix),
                "assertions": [r.as_dict() for r in self.assertions],
                "knockouts": plain(self.knockouts)}


def model_variables(model: FastModel) -> dict[str, tuple[str, ...]]:
    """Every variable the kernel computes, with the elements of its subscript (none: ``()``)."""
    variables: dict[str, list[str]] = {}
    for name, coord in model.kernel.compiled.slots:
        elements = variables.setdefault(name, [])
        if coord:
            elements.append(",".join(coord))
    return {name: tuple(elements) for name, elements in variables.items()}


def model_constants(model: FastModel) -> set[str]:
    return {name for name, _ in model.kernel.compiled.constants}


def matrix_checks(members: list[MatrixMember], results: list[AssertionResult],
                  runs: RunSource) -> list[CheckResult]:
    """Each member of the lever matrix: it ran within the declared ranges, and every
    assertion that names it holds on it."""
    checks = []
    for member in members:
        held = broken = 0
        failures = []
        for result in results:
            a = result.assertion
            if member.name not in result.scenarios or a.constants or a.cut:
                continue  # judged on a run with constants set or loops cut, not the member
            mine = [f for f in result.failures if f.scenario == member.name]
            broken += bool(mine)
            held += not mine
            failures += [f"{result.assertion.id} ({f.column}, {f.time:g})" for f in mine]
        try:
            runs.run(Condition(member.name))
            ran = "ran within the declared ranges"
        except SDRunnerError as exc:
            failures.insert(0, str(exc))
            ran = "did not run"
        detail = f"{member.scenario.description}: {ran}; {held} assertions hold"
        if failures:
            detail += f", {broken} broken: {'; '.join(failures[:3])}"
        checks.append(CheckResult(member.name, not failures, detail))
    return checks
