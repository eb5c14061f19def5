"""Pieces the sections of the comparison report share: numbers as the tables show them, and
each scenario's colour."""

from __future__ import annotations

import math

#: Line colour of the reference run (drawn dashed).
REFERENCE_COLOUR = "#444444"
#: Line colours of the other runs, in order: each has at least 4.3:1 contrast with the white
#: page (WCAG asks 3:1 of a graphic), unlike D3's olive, orange, pink and cyan (2.0-2.7),
#: and no two are close in hue. A scenario keeps its colour in every section of a report.
SCENARIO_COLOURS = (
    "#1f77b4", "#c35a00", "#2e8b3d", "#d62728", "#6a3d9a",
    "#8c564b", "#b5179e", "#00798c",
)

#: Attribute of the reference scenario's table rows.
REFERENCE_ROW = ' class="reference"'


def shown_decimals(values: list[float]) -> int:
    """Decimals that show about three significant digits of the largest value."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    largest = max(finite, default=0.0)
    if largest >= 100:
        return 0 if largest >= 1000 else 1
    return 2 if largest >= 1 else 3


def format_value(value: float, fraction: bool, decimals: int) -> str:
    if not math.isfinite(value):
        return "n/a"
    if fraction:
        return f"{unsigned_zero(value * 100, 1):.1f} %"
    return f"{unsigned_zero(value, decimals):,.{decimals}f}"


def format_difference(value: float, fraction: bool, decimals: int) -> str:
    if not math.isfinite(value):
        return "n/a"
    if fraction:
        return f"{unsigned_zero(value * 100, 1):+.1f} pp"
    return f"{unsigned_zero(value, decimals):+,.{decimals}f}"


def unsigned_zero(value: float, decimals: int) -> float:
    """``value``, with anything that rounds to zero made +0 so it never prints as -0."""
    return value if round(value, decimals) != 0 else 0.0


def scenario_colours(count: int) -> list[str]:
    return [REFERENCE_COLOUR] + [
        SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)] for i in range(count - 1)
    ]


def swatch(index: int, colours: list[str]) -> str:
    kind = "swatch reference" if index == 0 else "swatch"
    return f'<span class="{kind}" style="background:{colours[index]}"></span>'
