"""Run scenarios on the model and return tidy results."""

from __future__ import annotations

from sd_runner.inputs.scenarios import Scenario, scenario_params
from sd_runner.model.loading import SDModel
from sd_runner.results.runs import ScenarioRun


def run_scenario(
    model: SDModel,
    scenario: Scenario,
    *,
    variables: list[str] | None = None,
    time_step: float | None = None,
) -> ScenarioRun:
    """Simulate ``scenario``.

    Parameters
    ----------
    model : SDModel
        The model.
    scenario : Scenario
        Levers and constants to apply.
    variables : list of str, optional
        Vensim names to return; every variable that changes over time by default.
    time_step : float, optional
        Override the model's TIME STEP (years), e.g. to check integration error.
    """
    frame = model.run(
        scenario_params(scenario, model), return_columns=variables, time_step=time_step
    )
    return ScenarioRun(scenario=scenario, frame=frame)
