"""Pieces the sections of the comparison report share: numbers as the tables show them, and
each scenario's colour."""

from __future__ import annotations

import math

#: Line colour of the reference run.
REFERENCE_COLOUR = "#222222"
#: Line colours of the other runs, in order (plotly's D3 palette without its grey).
SCENARIO_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#bcbd22", "#17becf",
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
