"""How the calibration fit report writes numbers, and the colours its figures share.

Numbers are given to a few significant digits; a missing one is a dash, an infinite one ∞.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sd_runner.reports.html_page import text as _text

if TYPE_CHECKING:
    from sd_runner.calibration.calibrate import Calibration

#: Colours of the model's path, the observations, the simulated period values and flagged
#: parameters.
TRAJECTORY_COLOUR = "#555555"
OBSERVED_COLOUR = "#1f77b4"
SIMULATED_COLOUR = "#ff7f0e"
FLAGGED_COLOUR = "#d62728"
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def level(calibration: Calibration) -> int:
    """The confidence level in percent, as the parameter table's column names carry it."""
    return int(round(calibration.config.confidence * 100))


def finite(value: object) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def number(value: object, significant: int = 4) -> str:
    """``value`` to ``significant`` digits; a dash when missing, ∞ when infinite."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "—" if value is None else _text(value)
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = f"{value:,.{significant}g}"
    return "0" if text == "-0" else text


def fixed(value: object, decimals: int) -> str:
    if not finite(value):
        return "—"
    value = float(value)
    return f"{value if round(value, decimals) != 0 else 0.0:.{decimals}f}"


def signed(value: object, decimals: int = 1) -> str:
    if not finite(value):
        return "—"
    value = float(value)
    return f"{value if round(value, decimals) != 0 else 0.0:+.{decimals}f}"


def span(low: object, high: object) -> str:
    if not (finite(low) and finite(high)):
        return "—"
    return f"{number(low)} – {number(high)}"
