"""Values a run may not take: not finite, or outside the range the variable declares in the
``.mdl``. Found here for one run or many at once, and named at the first time they occur."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Relative slack for rounding when comparing a value with a declared limit.
SLACK = 1e-9


@dataclass(frozen=True)
class Breach:
    """The first value of a run that it may not take.

    Attributes
    ----------
    member : int
        The run (parameter set) it occurred in; 0 for a single run.
    column : str
        Variable and element, as Vensim names them (``"Export Sales[Textile]"``).
    time : float
        When, in the model's time units.
    value : float
        The value.
    limit : float
        The declared limit it crossed (``nan`` for a value that is not finite).
    """

    member: int
    column: str
    time: float
    value: float
    limit: float

    @property
    def kind(self) -> str:
        """``"below"``, ``"above"`` or ``"not finite"``."""
        if not np.isfinite(self.value):
            return "not finite"
        return "below" if self.value < self.limit else "above"

    def describe(self) -> str:
        """``Stock[North] is -2 at time 3, below its declared minimum 0``."""
        if self.kind == "not finite":
            return f"{self.column} is {self.value} at time {self.time:g}"
        side = "minimum" if self.kind == "below" else "maximum"
        return (f"{self.column} is {self.value:.6g} at time {self.time:g}, {self.kind} its "
                f"declared {side} {self.limit:g}")

    def record(self) -> dict:
        """The breach as a flat row for CSV and JSON (``limit`` ``None`` when not finite)."""
        finite = bool(np.isfinite(self.value))
        return {"set": self.member, "variable": self.column, "time": self.time,
                "value": float(self.value) if finite else str(self.value),
                "breach": self.kind, "limit": float(self.limit) if finite else None}


def bounds(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)``: a value is sound exactly when ``low <= value <= high``. The declared
    limits widened by :data:`SLACK`; NaN fails both comparisons, and an infinite value passes
    no bound (the largest float stands for "none declared")."""
    biggest = np.finfo(float).max
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    with np.errstate(invalid="ignore"):
        low = np.maximum(lower - SLACK * np.maximum(1.0, np.abs(lower)), -biggest)
        high = np.minimum(upper + SLACK * np.maximum(1.0, np.abs(upper)), biggest)
    return low, high


def first_breaches(values: np.ndarray, times: np.ndarray, columns: list[str],
                   lower: np.ndarray, upper: np.ndarray) -> list[Breach | None]:
    """The first breach of each member of ``values[member, time, column]``, or ``None``.

    At the first time anything is wrong, a value outside its range is named before a value
    that is not finite: the range breach is the cause the modeller can act on.
    """
    values = np.asarray(values, dtype=float)
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    low, high = bounds(lower, upper)
    with np.errstate(invalid="ignore"):  # fast path for the usual case, one pass
        if ((values >= low) & (values <= high)).all():
            return [None] * values.shape[0]
    # Only columns with a declared limit are compared with it (most have none).
    limited = np.flatnonzero(np.isfinite(lower) | np.isfinite(upper))
    low, high = lower[limited], upper[limited]
    with np.errstate(invalid="ignore"):
        below = values[:, :, limited] < low - SLACK * np.maximum(1.0, np.abs(low))
        above = values[:, :, limited] > high + SLACK * np.maximum(1.0, np.abs(high))
    out_of_range = below | above
    not_finite = ~np.isfinite(values)
    wrong_at = out_of_range.any(axis=2) | not_finite.any(axis=2)  # [member, time]
    found: list[Breach | None] = [None] * values.shape[0]
    for member in np.flatnonzero(wrong_at.any(axis=1)):
        step = int(np.argmax(wrong_at[member]))
        if out_of_range[member, step].any():
            which = int(np.argmax(out_of_range[member, step]))
            column = int(limited[which])
            limit = low[which] if below[member, step, which] else high[which]
        else:
            column, limit = int(np.argmax(not_finite[member, step])), np.nan
        found[member] = Breach(int(member), columns[column], float(times[step]),
                               float(values[member, step, column]), float(limit))
    return found
