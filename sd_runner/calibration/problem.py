"""The calibration problem: observations compared with the model, as weighted residuals.

A row observed over a period is compared with the model over the same period: a flow with
the integral of the model's rate over it, a ratio with the model's average over it. The
model is saved every TIME STEP and read as the straight line between saved points (the
trapezoid rule, exact for that line), so any period, not only half years, can be compared.

Flows observed over part of a year carry seasonality that the model's smooth annual rates
lack (customs exports ship more in the second half of the year). The series' seasonal share
(a model constant, estimated with the rest) is the January-June share of a year's flow in a
year without growth; a period inside one calendar year gets the factor

    (share * covered part of January-June + (1 - share) * covered part of July-December)
    / (fraction of the year the period covers)

which is 1 for a whole year, so whole-year rows are untouched. Periods that cross a year
boundary must cover whole years.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner import limits
from sd_runner.calibration.config import CalibrationConfig, SeriesMap
from sd_runner.engine.ensemble import ParameterSpace
from sd_runner.engine.fast import FastModel
from sd_runner.errors import InputError
from sd_runner.observations import Observation, check_periods, decimal_year
from sd_runner.tomlfile import TomlFile

#: How the reason of a row skipped for ending after ``final_time`` starts.
AFTER_FINAL_TIME = "ends after final_time"

#: Floor for simulated values compared on a log scale (a non-positive flow is a bad fit).
LOG_FLOOR = 1e-9


@dataclass(frozen=True)
class Target:
    """One observation row compared with the model."""

    observation: Observation
    series: SeriesMap
    column: str
    weights: np.ndarray  # quadrature weights over the saved times
    season_base: float  # seasonal factor = season_base + season_slope * share
    season_slope: float


@dataclass(frozen=True)
class Skipped:
    """A row left out of the comparison, and why."""

    observation: Observation
    reason: str


class CalibrationProblem:
    """Residuals of the model against observations, for many parameter sets at once.

    Parameters
    ----------
    model : FastModel
        The compiled model; its values (``model.default_value``) fill every constant that is
        not estimated.
    config : CalibrationConfig
        Parameters, bounds, priors and series mappings.
    observations : list of Observation
        The rows to compare.
    final_time : float, optional
        Simulate to this year instead of the settings' ``final_time`` (to compare with rows
        after the fitting period).
    """

    def __init__(self, model: FastModel, config: CalibrationConfig,
                 observations: list[Observation], final_time: float | None = None):
        self.model = model
        self.config = config
        self.final_time = config.final_time if final_time is None else final_time
        self.names = config.names
        self.space = ParameterSpace(model, self.names)
        self.lower = np.array([p.lower for p in config.parameters])
        self.upper = np.array([p.upper for p in config.parameters])
        self.base = model.constants_vector()
        self.axis = model.time_axis(saveper=model.control("TIME STEP"),
                                    final_time=self.final_time)
        self.targets: list[Target] = []
        self.skipped: list[Skipped] = []
        check_periods(observations, model.control("INITIAL TIME"), model.control("FINAL TIME"))
        for row in observations:
            _check_value_range(model, config.series.get(row.series), row)
            target = self._target(row)
            if isinstance(target, Skipped):
                self.skipped.append(target)
            else:
                self.targets.append(target)
        if not self.targets and self.after_final_time():
            raise TomlFile(config.path, "calibration settings file").error(
                "final_time", f"final_time {self.final_time:g} leaves no observation row to "
                "compare (every row ends after it); give the year the last row to fit ends",
                "fit")
        if not self.targets:
            raise InputError("no observation row can be compared with the model; check the "
                             "series and clusters of the observation file against the "
                             "calibration settings")
        columns = sorted({t.column for t in self.targets})
        self.columns = columns
        self.out_slots = np.asarray(model._column_slots(columns), dtype=np.int64)
        self._column_index = np.array([columns.index(t.column) for t in self.targets])
        self._weights = np.stack([t.weights for t in self.targets])
        self._factor = np.array([t.series.factor for t in self.targets])
        self._kind_ratio = np.array([t.series.kind == "ratio" for t in self.targets])
        self._length = np.array([t.observation.end_year - t.observation.start_year
                                 for t in self.targets])
        self._log = np.array([t.series.scale == "log" for t in self.targets])
        observed = np.array([t.observation.value for t in self.targets])
        self.observed = observed
        self._observed_scaled = np.where(self._log, np.log(np.maximum(observed, LOG_FLOOR)),
                                         observed)
        derived = np.array([t.observation.basis == "derived" for t in self.targets])
        weight = np.array([t.series.weight for t in self.targets])
        weight = weight * np.where(derived, config.derived_weight, 1.0)
        sigma = np.array([t.series.sigma for t in self.targets])
        self.row_scale = np.sqrt(weight) / sigma
        self._season_base = np.array([t.season_base for t in self.targets])
        self._season_slope = np.array([t.season_slope for t in self.targets])
        self._season_source = [self._seasonal_getter(t.series.seasonal_share)
                               for t in self.targets]
        priors = [(i, p.prior) for i, p in enumerate(config.parameters) if p.prior is not None]
        self._prior_index = np.array([i for i, _ in priors], dtype=int)
        self._prior_mean = np.array([p.mean for _, p in priors])
        self._prior_sd = np.array([p.sd for _, p in priors])

    # ------------------------------------------------------------------ building
    def after_final_time(self) -> list[Observation]:
        """The rows left out because they end after ``final_time``."""
        return [s.observation for s in self.skipped if s.reason.startswith(AFTER_FINAL_TIME)]

    def _target(self, row: Observation) -> Target | Skipped:
        config = self.config
        mapping = config.series.get(row.series)
        if mapping is None:
            raise InputError(f"{row.where}: series {row.series!r} has no mapping in "
                             f"{config.path.name}; add a [series.{row.series}] table or "
                             "remove the row")
        if mapping.role == "prior":
            return Skipped(row, f"series {row.series} only feeds priors")
        if row.cluster in config.excluded_clusters:
            return Skipped(row, config.excluded_clusters[row.cluster])
        if row.cluster not in config.clusters:
            raise InputError(f"{row.where}: cluster {row.cluster!r} is neither mapped nor "
                             f"excluded in {config.path.name}; add it to [clusters] or "
                             "[excluded_clusters]")
        if row.unit != mapping.unit:
            raise InputError(f"{row.where}: unit {row.unit!r} of {row.series} must be "
                             f"{mapping.unit!r}; convert the value")
        if mapping.scale == "log" and row.value <= 0:
            raise InputError(f"{row.where}: {row.series} value {row.value:g} must be "
                             "positive, since it is compared on a log scale")
        start, end = row.start_year, row.end_year
        first = self.model.control("INITIAL TIME")
        if start < first or end > self.final_time + 1e-9:
            return Skipped(row, f"{AFTER_FINAL_TIME} {self.final_time:g} (simulated "
                           f"{first:g}-{self.final_time:g})")
        column = f"{self.model.variable(mapping.variable).name}[{config.clusters[row.cluster]}]"
        self.model._column_slots([column])  # raises if the model has no such column
        base, slope = 1.0, 0.0
        if mapping.kind == "flow" and mapping.seasonal_share:
            base, slope = _season_factor(row)
        return Target(row, mapping, column, _quadrature(self.axis.times, start, end), base,
                      slope)

    def _seasonal_getter(self, name: str | None):
        if name is None:
            return None
        if name in self.names:
            return ("estimated", self.names.index(name))
        _, keys = self.model.select(name, list(self.model.kernel.compiled.constants))
        if len(keys) != 1:
            raise InputError(f"seasonal_share {name!r} must name one model constant")
        return ("fixed", float(self.base[self.model.kernel.compiled.constants[keys[0]]]))

    # ------------------------------------------------------------------ evaluating
    @property
    def current(self) -> np.ndarray:
        """The model's values of the estimated parameters (a whole-variable parameter whose
        elements differ takes their mean)."""
        return np.array([float(np.mean(self.base[targets])) for targets in self.space.targets])

    @property
    def start(self) -> np.ndarray:
        """The model's values of the estimated parameters, clipped into the bounds."""
        return np.clip(self.current, self.lower, self.upper)

    def run_bytes(self) -> int:
        """Memory one parameter set takes in a batch: its constants, its saved series and
        the rows' weights over time."""
        return limits.FLOAT_BYTES * (len(self.base) + len(self.axis.times)
                                     * (len(self.columns) + self.n_rows))

    def simulate(self, theta: np.ndarray) -> np.ndarray:
        """Simulated values of every target row, in data units: ``[member, row]``."""
        theta = np.atleast_2d(theta)
        consts = self.space.constants(theta, self.base)
        with np.errstate(all="ignore"):
            out = self.model.kernel.run(consts, self.axis, self.out_slots)
            series = out[:, :, self._column_index]  # [member, time, row]
            integral = np.einsum("mtr,rt->mr", series, self._weights)
            value = np.where(self._kind_ratio, integral / self._length, integral)
            value = value * self._factor * self._seasonal(theta)
        return value

    def _seasonal(self, theta: np.ndarray) -> np.ndarray:
        factor = np.ones((theta.shape[0], len(self.targets)))
        for j, source in enumerate(self._season_source):
            if source is None:
                continue
            kind, ref = source
            share = theta[:, ref] if kind == "estimated" else ref
            factor[:, j] = self._season_base[j] + self._season_slope[j] * share
        return factor

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """Weighted residuals ``[member, row + prior]``: data rows, then one per prior.

        Non-finite simulations give large finite residuals, so optimisers step away.
        """
        theta = np.atleast_2d(theta)
        simulated = self.simulate(theta)
        scaled = np.where(self._log, np.log(np.maximum(simulated, LOG_FLOOR)), simulated)
        data = (scaled - self._observed_scaled) * self.row_scale
        data = np.where(np.isfinite(data), data, 1e6)
        prior = (theta[:, self._prior_index] - self._prior_mean) / self._prior_sd
        return np.concatenate([data, prior], axis=1)

    def as_rates(self, values: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Row values comparable with the model's path: flows as average rates per year over
        their period with the seasonality taken out; ratios unchanged."""
        season = self._seasonal(np.atleast_2d(theta))[0]
        return np.where(self._kind_ratio, values, values / (self._length * season))

    def trajectories(self, theta: np.ndarray) -> pd.DataFrame:
        """The compared variables over time (data units, flows per year) for one set."""
        consts = self.space.constants(np.atleast_2d(theta), self.base)
        out = self.model.kernel.run(consts, self.axis, self.out_slots)[0]
        factor = {t.column: t.series.factor for t in self.targets}
        frame = pd.DataFrame(out, columns=self.columns,
                             index=pd.Index(self.axis.times, name="time"))
        return frame * pd.Series(factor)[self.columns]

    def scaled(self, values: np.ndarray) -> np.ndarray:
        """Row values (data units) on the payoff's scale: log or linear, times
        ``sqrt(weight) / sigma``."""
        values = np.where(self._log, np.log(np.maximum(values, LOG_FLOOR)), values)
        return values * self.row_scale

    def cost(self, theta: np.ndarray) -> np.ndarray:
        """Sum of squared weighted residuals (chi-square) per member."""
        return np.sum(self.residuals(theta) ** 2, axis=1)

    @property
    def n_rows(self) -> int:
        return len(self.targets)

    @property
    def n_priors(self) -> int:
        return len(self._prior_index)

    def in_bounds(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        return np.all((theta >= self.lower) & (theta <= self.upper), axis=1)


def _quadrature(times: np.ndarray, start: float, end: float) -> np.ndarray:
    """Weights ``w`` with ``sum(w * f(times)) = integral from start to end`` of the straight
    line through the saved values (trapezoid rule, exact for partial steps too)."""
    weights = np.zeros(len(times))
    for k in range(len(times) - 1):
        left, right = max(start, times[k]), min(end, times[k + 1])
        if right <= left:
            continue
        width = times[k + 1] - times[k]
        a_left = (left - times[k]) / width
        a_right = (right - times[k]) / width
        half = (right - left) / 2
        weights[k] += half * ((1 - a_left) + (1 - a_right))
        weights[k + 1] += half * (a_left + a_right)
    return weights


def _check_value_range(model: FastModel, mapping: SeriesMap | None, row: Observation) -> None:
    """Refuse a row whose value, in the model's terms, lies outside the range its variable
    declares: a ratio's value over ``factor``, a flow's over ``factor`` and the period's
    length (its average rate). A dimensionless ratio without a declared range is a share,
    within [0, 1]."""
    if mapping is None or mapping.role != "target" or row.unit != mapping.unit:
        return  # _target names an unmapped series or a wrong unit
    try:
        info = model.variable(mapping.variable)
    except KeyError:
        return  # the settings check names an unknown variable
    lower, upper = info.lower, info.upper
    if mapping.kind == "ratio" and np.isnan(lower) and np.isnan(upper) \
            and info.units.strip().casefold() in ("dmnl", "1", "fraction"):
        lower, upper, what = 0.0, 1.0, "a share's range"
    else:
        what = f"the range {info.name} declares"
    length = row.end_year - row.start_year if mapping.kind == "flow" else 1.0
    value = row.value / mapping.factor / length
    low = -np.inf if np.isnan(lower) else lower
    high = np.inf if np.isnan(upper) else upper
    if low - 1e-12 <= value <= high + 1e-12:
        return
    per = " a year" if mapping.kind == "flow" else ""
    raise InputError(
        f"{row.where}: field value {row.value:g} of {row.series} is {value:.6g}{per} in the "
        f"model's terms (value / {mapping.factor:g}{' / years' if per else ''}), outside "
        f"{what} [{_limit(lower)}, {_limit(upper)}]; check the value and its unit")


def _limit(value: float) -> str:
    return "?" if np.isnan(value) else f"{value:g}"


def _season_factor(row: Observation) -> tuple[float, float]:
    """``(base, slope)`` with seasonal factor ``base + slope * share`` for ``row``."""
    if row.start.year != row.end.year:
        whole = (row.start == dt.date(row.start.year, 1, 1)
                 and row.end == dt.date(row.end.year, 12, 31))
        if not whole:
            raise InputError(f"{row.where}: the period {row.start}..{row.end} crosses a "
                             "year boundary without covering whole years; split it by year")
        return 1.0, 0.0
    year = row.start.year
    middle = decimal_year(dt.date(year, 7, 1))
    start, end = row.start_year, row.end_year
    first_half = (max(0.0, min(end, middle) - start)) / (middle - year)
    second_half = (max(0.0, end - max(start, middle))) / (year + 1 - middle)
    covered = end - start
    return second_half / covered, (first_half - second_half) / covered
