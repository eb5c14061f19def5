"""The calibration problem: observations compared with the model, as weighted residuals.

A row observed over a period is compared with the model over the same period: a flow with
the integral of the model's rate over it, a ratio with the model's average over it, a growth
rate with 100 x (the average over it / the average over the same dates a year earlier - 1).
A flow row for an aggregate cluster (``[aggregate_clusters]``) is compared with the sum of its
members' integrals. The model is saved every TIME STEP (not SAVEPER: half a year is far
coarser than a month) and read as the straight line between saved points (the trapezoid rule,
exact for that line), so any period, a month included, can be compared: a TIME STEP of
1/32 year puts two or three saved intervals inside a month, and partial intervals at its ends
are integrated exactly.

Rows of ``check`` series are simulated like the rest but carry no weight in the payoff; every
row not compared is kept with its reason (:mod:`sd_runner.calibration.row_accounting`).

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

from sd_runner.calibration.config import CalibrationConfig, SeriesMap
from sd_runner.calibration.row_accounting import (
    AFTER_FINAL_TIME,
    CHECK,
    FITTED,
    NOT_COMPARED,
    decide,
)
from sd_runner.engine.ensemble import ParameterSpace
from sd_runner.engine.fast import FastModel
from sd_runner.errors import InputError
from sd_runner.inputs import limits
from sd_runner.inputs.observations import Observation, decimal_year
from sd_runner.inputs.tomlfile import TomlFile

__all__ = ["AFTER_FINAL_TIME", "CalibrationProblem", "Skipped", "Target"]

#: Floor for simulated values compared on a log scale (a non-positive flow is a bad fit).
LOG_FLOOR = 1e-9


@dataclass(frozen=True)
class Target:
    """One observation row compared with the model."""

    observation: Observation
    series: SeriesMap
    column: str  # the model column, or the members' columns joined by " + " (an aggregate)
    weights: np.ndarray  # quadrature weights over the saved times
    season_base: float  # seasonal factor = season_base + season_slope * share
    season_slope: float
    columns: tuple[str, ...] = ()  # the model columns summed (one unless an aggregate)
    weights_before: np.ndarray | None = None  # a growth row: the same dates a year earlier

    @property
    def status(self) -> str:
        """``fitted`` (in the payoff) or ``check`` (reported only)."""
        return CHECK if self.series.role == "check" else FITTED


@dataclass(frozen=True)
class Skipped:
    """A row left out of the comparison, and why (``status`` ``prior`` or
    ``not compared``)."""

    observation: Observation
    reason: str
    status: str = NOT_COMPARED


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
        self.observations = list(observations)
        self._sort_rows(observations)
        self._row_arrays()
        priors = [(i, p.prior) for i, p in enumerate(config.parameters) if p.prior is not None]
        self._prior_index = np.array([i for i, _ in priors], dtype=int)
        self._prior_mean = np.array([p.mean for _, p in priors])
        self._prior_sd = np.array([p.sd for _, p in priors])

    def _sort_rows(self, observations: list[Observation]) -> None:
        """Each row into ``targets`` (compared) or ``skipped``; refuse a problem with no
        target."""
        config = self.config
        self.targets: list[Target] = []
        self.skipped: list[Skipped] = []
        for row in observations:
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

    def _row_arrays(self) -> None:
        """What the residuals need of every target, as arrays over the targets."""
        config, model = self.config, self.model
        columns = sorted({c for t in self.targets for c in t.columns})
        self.columns = columns
        self.out_slots = np.asarray(model._column_slots(columns), dtype=np.int64)
        # Which columns each row sums: one, or an aggregate's members.
        self._mix = np.zeros((len(self.targets), len(columns)))
        for r, target in enumerate(self.targets):
            self._mix[r, [columns.index(c) for c in target.columns]] = 1.0
        self._weights = np.stack([t.weights for t in self.targets])
        self._growth = np.array([t.series.kind == "growth" for t in self.targets])
        self._weights_before = np.stack([np.zeros_like(t.weights) if t.weights_before is None
                                         else t.weights_before for t in self.targets])
        self._factor = np.array([t.series.factor for t in self.targets])
        self._kind_ratio = np.array([t.series.kind != "flow" for t in self.targets])
        self._length = np.array([t.observation.end_year - t.observation.start_year
                                 for t in self.targets])
        self._length_before = np.array([_year_earlier(t.observation)[1]
                                        - _year_earlier(t.observation)[0]
                                        for t in self.targets])
        self._fitted = np.array([t.status == FITTED for t in self.targets])
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

    # ------------------------------------------------------------------ building
    def after_final_time(self) -> list[Observation]:
        """The rows left out because they end after ``final_time``."""
        return [s.observation for s in self.skipped if s.reason.startswith(AFTER_FINAL_TIME)]

    @property
    def fitted(self) -> np.ndarray:
        """Which targets are in the payoff (the others are ``check`` rows)."""
        return self._fitted

    def _target(self, row: Observation) -> Target | Skipped:
        config = self.config
        status, reason = decide(row, config, self.model.control("INITIAL TIME"),
                                self.final_time)
        if status not in (FITTED, CHECK):
            mapping = config.series.get(row.series)
            if mapping is not None and mapping.role != "prior":
                # Not compared (another cluster, region or time), but a value no variable can
                # take (a share above 1) is still a mistake in the file.
                members = config.aggregates.get(row.cluster, (row.cluster,))
                _check_value_range(self.model, mapping, row, len(members))
            return Skipped(row, reason, status)
        mapping = config.series[row.series]
        members = config.aggregates.get(row.cluster, (row.cluster,))
        _check_value_range(self.model, mapping, row, len(members))
        name = self.model.variable(mapping.variable).name
        columns = tuple(f"{name}[{config.clusters[m]}]" for m in members)
        self.model._column_slots(list(columns))  # raises if the model has no such column
        base, slope = 1.0, 0.0
        if mapping.kind == "flow" and mapping.seasonal_share:
            base, slope = _season_factor(row)
        before = None
        if mapping.kind == "growth":
            before = _quadrature(self.axis.times, *_year_earlier(row))
        return Target(row, mapping, " + ".join(columns),
                      _quadrature(self.axis.times, row.start_year, row.end_year), base, slope,
                      columns, before)

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
                                     * (len(self.columns) + 3 * len(self.targets)))

    def simulate(self, theta: np.ndarray) -> np.ndarray:
        """Simulated values of every compared row (fitted and check), in data units:
        ``[member, row]``."""
        theta = np.atleast_2d(theta)
        consts = self.space.constants(theta, self.base)
        with np.errstate(all="ignore"):
            out = self.model.kernel.run(consts, self.axis, self.out_slots)
            series = out @ self._mix.T  # [member, time, row]: a column, or a members' sum
            integral = np.einsum("mtr,rt->mr", series, self._weights)
            value = np.where(self._kind_ratio, integral / self._length, integral)
            value = value * self._factor * self._seasonal(theta)
            if self._growth.any():
                before = np.einsum("mtr,rt->mr", series, self._weights_before)
                growth = 100 * (value / (before / np.where(self._growth, self._length_before,
                                                           1.0)) - 1)
                value = np.where(self._growth, growth, value)
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
        """Weighted residuals ``[member, fitted row + prior]``: fitted rows, then one per
        prior (``check`` rows carry no weight, so they are left out).

        Non-finite simulations give large finite residuals, so optimisers step away.
        """
        theta = np.atleast_2d(theta)
        simulated = self.simulate(theta)[:, self._fitted]
        scaled = np.where(self._log[self._fitted], np.log(np.maximum(simulated, LOG_FLOOR)),
                          simulated)
        data = (scaled - self._observed_scaled[self._fitted]) * self.row_scale[self._fitted]
        data = np.where(np.isfinite(data), data, 1e6)
        prior = (theta[:, self._prior_index] - self._prior_mean) / self._prior_sd
        return np.concatenate([data, prior], axis=1)

    def as_rates(self, values: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Row values comparable with the model's path: flows as average rates per year over
        their period with the seasonality taken out; ratios and growth rates unchanged."""
        season = self._seasonal(np.atleast_2d(theta))[0]
        return np.where(self._kind_ratio, values, values / (self._length * season))

    def trajectories(self, theta: np.ndarray) -> pd.DataFrame:
        """The compared variables over time (data units, flows per year) for one set."""
        consts = self.space.constants(np.atleast_2d(theta), self.base)
        out = self.model.kernel.run(consts, self.axis, self.out_slots)[0]
        factor = {c: t.series.factor for t in self.targets for c in t.columns}
        frame = pd.DataFrame(out, columns=self.columns,
                             index=pd.Index(self.axis.times, name="time"))
        frame = frame * pd.Series(factor)[self.columns]
        for target in self.targets:  # an aggregate's path is its members' sum
            if len(target.columns) > 1 and target.column not in frame:
                frame[target.column] = frame[list(target.columns)].sum(axis=1)
        return frame

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
        """Rows in the payoff (fitted rows; ``check`` rows are not counted)."""
        return int(self._fitted.sum())

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


def _year_earlier(row: Observation) -> tuple[float, float]:
    """Start and end (decimal years) of ``row``'s dates one year earlier (29 February is
    taken as 28 February)."""
    def back(day: dt.date) -> dt.date:
        return day.replace(year=day.year - 1, day=min(day.day, 28) if day.month == 2
                           else day.day)

    return decimal_year(back(row.start)), decimal_year(back(row.end) + dt.timedelta(days=1))


def _check_value_range(model: FastModel, mapping: SeriesMap, row: Observation,
                       members: int = 1) -> None:
    """Refuse a row whose value, in the model's terms, lies outside the range its variable
    declares: a ratio's value over ``factor``, a flow's over ``factor`` and the period's
    length (its average rate), an aggregate's within ``members`` times the range. A
    dimensionless ratio without a declared range is a share, within [0, 1]. Growth rates
    are not levels of the variable, so they are not checked."""
    if mapping.kind == "growth":
        return
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
    low = -np.inf if np.isnan(lower) else lower * members
    high = np.inf if np.isnan(upper) else upper * members
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
