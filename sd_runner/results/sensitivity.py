"""Sensitivity results: the uncertain factors and the indices of every outcome."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner.errors import InputError


@dataclass(frozen=True)
class Factors:
    """The uncertain inputs: names and ``(lower, upper)`` bounds (uniform in between)."""

    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]

    def __post_init__(self):
        if len(self.names) != len(self.bounds) or not self.names:
            raise InputError("give at least one factor, each with bounds")
        for name, (lower, upper) in zip(self.names, self.bounds, strict=True):
            if not (np.isfinite(lower) and np.isfinite(upper) and lower < upper):
                raise InputError(f"factor {name}: bounds [{lower}, {upper}] must be finite with "
                                 "lower < upper")

    def problem(self) -> dict:
        """SALib's problem dictionary."""
        return {"num_vars": len(self.names), "names": list(self.names),
                "bounds": [list(b) for b in self.bounds]}


@dataclass(frozen=True)
class SensitivityResult:
    """Indices of every outcome.

    Attributes
    ----------
    method : str
        ``"sobol"`` or ``"morris"``.
    factors : Factors
    outcomes : tuple of str
    samples : int
        Model evaluations made.
    indices : pandas.DataFrame
        Long table: ``outcome``, ``factor``, ``other`` (the second factor of a second-order
        Sobol index, else empty), ``index`` (``S1``, ``ST``, ``S2``; ``mu``, ``mu_star``,
        ``sigma``), ``value``, ``confidence`` (half-width of the interval at ``level``).
    level : float
        Confidence level of the intervals (bootstrap, SALib).
    """

    method: str
    factors: Factors
    outcomes: tuple[str, ...]
    samples: int
    indices: pd.DataFrame
    level: float = 0.95
