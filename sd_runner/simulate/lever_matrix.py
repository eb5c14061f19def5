"""The lever matrix: every lever alone at zero, at half and at its full programme, and all of
them at once, as in SDEverywhere's model-check "matrix" preset.

``sd-runner check`` holds every member to the behaviour assertions of ``models/checks.toml``;
``sd-runner diff`` runs it on two versions of the model and lists what moved.
"""

from __future__ import annotations

import pandas as pd

from sd_runner.inputs.levers import Lever
from sd_runner.inputs.scenarios import LeverChoice, Scenario, scenario_params
from sd_runner.model.loading import SDModel
from sd_runner.results.matrix import ALL_LEVELS, BASELINE, LEVELS, MatrixMember


def member_name(lever: str, level: float) -> str:
    """``"own-brand@0.5"``; ``"baseline"`` for no lever."""
    return BASELINE if lever == BASELINE else f"{lever}@{level:g}"


def lever_choice(lever: Lever, level: float) -> LeverChoice:
    """``lever`` at ``level`` of its full programme, at its own start year and ramp."""
    return LeverChoice(lever=lever, level=level, start_year=lever.start_year,
                       ramp_years=lever.ramp_years,
                       values={s.variable: s.at_level(level) for s in lever.settings})


def matrix_scenario(levers: list[Lever], level: float, name: str) -> Scenario:
    """A scenario that pulls ``levers`` at ``level`` (none: the baseline)."""
    description = (f"{', '.join(lever.id for lever in levers)} at {level:g} of the full "
                   "programme" if levers else "no lever pulled")
    return Scenario(name=name, title=name, description=description, source="lever matrix",
                    levers=tuple(lever_choice(lever, level) for lever in levers))


def lever_matrix(levers: dict[str, Lever]) -> list[MatrixMember]:
    """The baseline, every lever alone at each of :data:`LEVELS`, and all at each of
    :data:`ALL_LEVELS`, in the paper's order of the levers."""
    ordered = sorted(levers.values(), key=lambda lever: lever.number)
    members = [MatrixMember(matrix_scenario([], 0.0, BASELINE), BASELINE, 0.0)]
    for lever in ordered:
        for level in LEVELS:
            name = member_name(lever.id, level)
            members.append(MatrixMember(matrix_scenario([lever], level, name), lever.id, level))
    for level in ALL_LEVELS:
        name = member_name("all", level)
        members.append(MatrixMember(matrix_scenario(ordered, level, name), "all", level))
    return members


def run_matrix(model: SDModel, members: list[MatrixMember],
               variables: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Each member's run (wide frame, index ``time``), by member name."""
    return {member.name: model.run(scenario_params(member.scenario, model),
                                   return_columns=variables)
            for member in members}
