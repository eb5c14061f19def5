"""Run scenarios on the model and return tidy results."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sd_runner.inputs.scenarios import Scenario, scenario_params
from sd_runner.model.loading import SDModel

#: The outcomes the comparison and the report show, per cluster.
KEY_OUTCOMES = (
    "Margin",
    "Total Profit",
    "Value Added",
    "Buyer Dependence",
    "Asset Specificity",
    "Own Brand Share",
    "Export Sales",
    "R and D Capital",
    "Patent Pool Stock",
    "Brand Equity",
    "Lever Cost",
    "Firm Lever Cost",
    "Government Lever Cost",
    "Cumulative Lever Cost",
)

#: Key outcomes that are fractions of a cluster (Dmnl): their sum over clusters means nothing.
FRACTIONS = ("Margin", "Buyer Dependence", "Asset Specificity", "Own Brand Share")

#: Outcomes whose sum over the clusters means something (flows and stocks in USD or patents).
TOTALLED = tuple(outcome for outcome in KEY_OUTCOMES if outcome not in FRACTIONS)

#: The ``cluster`` of all-cluster totals in comparisons.
TOTAL = "All clusters"

#: Outcomes that are better when higher (+1) or lower (-1), by which scenarios are ranked.
#: Costs are reported but not ranked: the equal-cost reading weighs them against gains.
BETTER = {"Margin": 1, "Total Profit": 1, "Value Added": 1, "Own Brand Share": 1,
          "Buyer Dependence": -1}


@dataclass(frozen=True)
class ScenarioRun:
    """One scenario's simulation.

    Attributes
    ----------
    scenario : Scenario
        What was run.
    frame : pandas.DataFrame
        Wide results: index ``time`` (years), one column per variable and element, named as
        Vensim names them (``"Buyer Dependence[Apparel]"``).
    """

    scenario: Scenario
    frame: pd.DataFrame

    def series(self, variable: str, element: str | None = None) -> pd.Series:
        """One column, by variable name and (for subscripted variables) element."""
        column = f"{variable}[{element}]" if element else variable
        return self.frame[column]

    def tidy(self) -> pd.DataFrame:
        """Long results with columns ``time``, ``variable``, ``element``, ``value``.

        ``element`` is empty for variables without a subscript.
        """
        long = self.frame.reset_index().melt(id_vars="time", var_name="column")
        parts = long["column"].str.extract(r"^(?P<variable>[^\[]+?)(?:\[(?P<element>.*)\])?$")
        long = long.assign(variable=parts["variable"], element=parts["element"].fillna(""))
        return long[["time", "variable", "element", "value"]]


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
