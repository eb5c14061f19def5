"""The members of the lever matrix: every lever alone at zero, at half and at its full
programme, and all of them at once."""

from __future__ import annotations

from dataclasses import dataclass

from sd_runner.inputs.scenarios import Scenario

#: Shares of the full programme each lever is run at alone, and all levers together.
LEVELS = (0.0, 0.5, 1.0)
ALL_LEVELS = (0.5, 1.0)

#: Name of the baseline member.
BASELINE = "baseline"


@dataclass(frozen=True)
class MatrixMember:
    """One run of the matrix: its scenario, and which lever (``"all"``) at which level."""

    scenario: Scenario
    lever: str
    level: float

    @property
    def name(self) -> str:
        return self.scenario.name
