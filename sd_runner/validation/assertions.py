"""Behaviour assertions (``models/checks.toml``), in the spirit of Vensim's Reality Check.

Each assertion says: under a condition (a scenario of the lever matrix or a bundled one,
constants set, named feedback loops cut), a variable behaves so (rises, does not fall, stays
within bounds, ends above a reference run, turns within a window, ...), for each cluster.
``sd-runner check`` runs them all; this module reads them and judges runs, and knows nothing
of the bundled model: the runs come from a :class:`RunSource`.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sd_runner.errors import InputError, SDRunnerError
from sd_runner.inputs.tomlfile import TomlFile

#: What each kind of expectation means; ``window`` is where it is judged.
KINDS = {
    "rises": "ends the window higher than it starts",
    "falls": "ends the window lower than it starts",
    "does_not_rise": "never rises within the window",
    "does_not_fall": "never falls within the window",
    "within": "stays within the bounds throughout the window",
    "steady": "stays at its value at the start of the window",
    "ends_above": "ends the window above the reference run",
    "ends_below": "ends the window below the reference run",
    "not_below": "is nowhere below the reference run within the window",
    "not_above": "is nowhere above the reference run within the window",
    "equals": "equals the reference run throughout the window",
    "turns_within": "turns (a peak or trough of its path) within the window",
}
#: Kinds that compare with a reference run, and so cannot be judged on an effect.
AGAINST_REFERENCE = {"ends_above", "ends_below", "not_below", "not_above", "equals"}
TURNS = ("peak", "trough", "any")
#: Default tolerance, relative to the largest magnitude of the series judged: far above
#: round-off of a 1 000-step Euler run, far below any effect worth asserting.
DEFAULT_TOLERANCE = 1e-6

BASELINE = "baseline"
#: ``reference = "unchanged"``: the same scenario without the condition's constants and cuts.
UNCHANGED = "unchanged"

_KEYS = {"id", "title", "basis", "claim", "scenario", "constants", "cut", "variable",
         "clusters", "expect", "window", "bounds", "of", "reference", "turn", "tolerance"}


@dataclass(frozen=True)
class Condition:
    """What a run assumes: a scenario, constants set on top of it, loops cut."""

    scenario: str
    constants: tuple[tuple[str, float], ...] = ()
    cut: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [f"scenario {self.scenario}"]
        parts += [f"{name} = {value:g}" for name, value in self.constants]
        if self.cut:
            parts.append(f"loop{'s' if len(self.cut) > 1 else ''} {', '.join(self.cut)} cut")
        return ", ".join(parts)


@dataclass(frozen=True)
class Assertion:
    """One assertion of a checks file (see the file's header for the fields)."""

    id: str
    title: str
    basis: str
    claim: str
    scenarios: tuple[str, ...]
    constants: tuple[tuple[str, float], ...]
    cut: tuple[str, ...]
    variables: tuple[str, ...]
    clusters: tuple[str, ...] | None
    expect: str
    window: tuple[float, float]
    bounds: tuple[float, float] | None
    of: str
    reference: str
    turn: str
    tolerance: float
    where: str = ""

    def condition(self, scenario: str) -> Condition:
        return Condition(scenario, self.constants, self.cut)

    def reference_condition(self, scenario: str) -> Condition:
        if self.reference == UNCHANGED:
            return Condition(scenario)
        if self.reference == BASELINE:
            return Condition(BASELINE, self.constants, self.cut)
        return Condition(self.reference, self.constants, self.cut)

    def needs_reference(self) -> bool:
        return self.expect in AGAINST_REFERENCE or self.of == "effect"

    def phrase(self) -> str:
        what = "its effect (run minus reference)" if self.of == "effect" else "it"
        text = KINDS[self.expect]
        if self.expect == "within":
            text += f" [{self.bounds[0]:g}, {self.bounds[1]:g}]"
        if self.expect == "turns_within" and self.turn != "any":
            text = f"has a {self.turn} within the window"
        return f"{what} {text} ({self.window[0]:g}-{self.window[1]:g})"


@dataclass(frozen=True)
class Failure:
    """Where an assertion broke: scenario, column (variable and cluster), time, what was seen."""

    scenario: str
    column: str
    time: float
    seen: str


@dataclass(frozen=True)
class AssertionResult:
    """An assertion judged on every scenario it names and every cluster."""

    assertion: Assertion
    scenarios: tuple[str, ...]
    series: int
    failures: tuple[Failure, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.failures

    def detail(self) -> str:
        a = self.assertion
        if self.passed:
            return (f"{a.title}: {self.series} series over {len(self.scenarios)} "
                    f"scenario{'s' if len(self.scenarios) > 1 else ''} hold")
        first = self.failures[0]
        condition = a.condition(first.scenario).describe()
        more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        return (f"{a.title}: under {condition}, {first.column} broke it at {first.time:g}: "
                f"{first.seen}{more}")

    def as_dict(self) -> dict:
        a = self.assertion
        return {"id": a.id, "title": a.title, "claim": a.claim, "where": a.where,
                "passed": self.passed, "expect": a.expect, "expectation": a.phrase(),
                "variables": list(a.variables), "scenarios":
                list(self.scenarios), "series": self.series, "detail": self.detail(),
                "failures": [{"scenario": f.scenario, "column": f.column, "time": f.time,
                              "seen": f.seen} for f in self.failures]}


class RunSource:
    """Runs for the assertions, each condition run once.

    Parameters
    ----------
    scenario_names : list of str
        Every scenario an assertion may name (patterns are matched against these).
    simulate : callable
        ``simulate(condition) -> DataFrame`` (wide, index ``time``, every variable).
    """

    def __init__(self, scenario_names: list[str],
                 simulate: Callable[[Condition], pd.DataFrame]):
        self.scenario_names = list(dict.fromkeys(scenario_names))
        self._simulate = simulate
        self._runs: dict[Condition, pd.DataFrame] = {}

    def run(self, condition: Condition) -> pd.DataFrame:
        if condition not in self._runs:
            self._runs[condition] = self._simulate(condition)
        return self._runs[condition]

    def matching(self, patterns: tuple[str, ...]) -> list[str]:
        """The scenario names that match any of ``patterns`` (shell-style: ``own-brand@*``)."""
        return [name for name in self.scenario_names
                if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)]


# ---------------------------------------------------------------------- reading
def load_assertions(path: str | Path, *, variables: dict[str, tuple[str, ...]],
                    scenario_names: list[str], loop_codes: list[str], time_range:
                    tuple[float, float], constants: set[str]) -> list[Assertion]:
    """Read and check a checks file against the model it is for.

    Parameters
    ----------
    variables : dict
        Every variable of the model, by name, with the elements of its subscript (empty for
        none).
    scenario_names : list of str
        Scenario names an assertion may name or match with a pattern.
    loop_codes : list of str
        Codes of the named loops a condition may cut.
    time_range : (float, float)
        INITIAL TIME and FINAL TIME.
    constants : set of str
        Names of the model's constants (an element as ``Name[Element]`` is accepted too).
    """
    source = TomlFile(path, "checks file")
    source.no_unknown_keys(source.data, {"assertion"}, "the checks file")
    raw = source.data.get("assertion", [])
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{source.path}: no [[assertion]] tables; add at least one")
    assertions, seen = [], set()
    by_name = {name.casefold(): name for name in variables}
    for table in raw:
        assertion = _assertion(source, table, by_name, variables, scenario_names, loop_codes,
                               time_range, constants)
        if assertion.id in seen:
            raise source.error(assertion.id, f"assertion id {assertion.id!r} is used twice; "
                               "give each assertion its own id")
        seen.add(assertion.id)
        assertions.append(assertion)
    return assertions


def _assertion(source, table, by_name, variables, scenario_names, loop_codes, time_range,
               constants) -> Assertion:
    # Fields are read, and checked, in the order of the file's header, so that the first
    # error is the one a reader meets first.
    fields = _Fields(source, table)
    error, text = fields.error, fields.text
    source.no_unknown_keys(table, _KEYS, f"assertion {fields.ident!r}")
    expect = text("expect")
    if expect not in KINDS:
        raise error("expect", f"unknown expect {expect!r}; use one of {', '.join(KINDS)}")
    scenarios = fields.listed("scenario", BASELINE, "a name or pattern, or a list of them")
    for pattern in scenarios:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in scenario_names):
            raise error("scenario", f"scenario {pattern!r} matches none of: "
                        f"{', '.join(scenario_names)}")
    resolved, clusters = _variables(fields, by_name, variables)
    set_constants, cut = _changes(fields, constants, loop_codes)
    window = fields.pair("window") if "window" in table else time_range
    if window[0] < time_range[0] or window[1] > time_range[1]:
        raise error("window", f"window [{window[0]:g}, {window[1]:g}] is outside the "
                    f"simulation ({time_range[0]:g}-{time_range[1]:g})")
    bounds = fields.pair("bounds") if "bounds" in table else None
    if expect == "within" and bounds is None:
        raise error("expect", "within needs bounds = [low, high]")
    of, reference = _comparison(fields, expect, scenarios, scenario_names,
                                bool(set_constants or cut))
    turn = text("turn", "any")
    if turn not in TURNS:
        raise error("turn", f"turn must be one of {', '.join(TURNS)}, not {turn!r}")
    tolerance = source.number(table.get("tolerance", DEFAULT_TOLERANCE), "tolerance",
                              "tolerance", fields.here)
    if not 0 <= tolerance < 1:
        raise error("tolerance", f"tolerance {tolerance:g} must be at least 0 and below 1")
    return Assertion(
        id=fields.ident, title=text("title"), basis=text("basis"), claim=text("claim", ""),
        scenarios=tuple(scenarios), constants=tuple(set_constants), cut=tuple(cut),
        variables=tuple(resolved), clusters=clusters, expect=expect, window=window,
        bounds=bounds, of=of, reference=reference, turn=turn, tolerance=tolerance,
        where=source.where(fields.ident))


class _Fields:
    """The fields of one ``[[assertion]]`` table, read so that an error names the assertion
    and points at the line of the field."""

    def __init__(self, source: TomlFile, table):
        if not isinstance(table, dict) or "id" not in table:
            raise InputError(f"{source.path}: every [[assertion]] needs an id")
        self.source, self.table = source, table
        self.ident = source.text_field(table["id"], "id", "id")
        self.here = f'"{self.ident}"'

    def error(self, key: str, message: str) -> InputError:
        return self.source.error(key, f"assertion {self.ident!r}: {message}", self.here)

    def text(self, key: str, default: str | None = None) -> str:
        if key not in self.table:
            if default is None:
                raise self.error("id", f"{key} is missing; give it")
            return default
        return self.source.text_field(self.table[key], key, key, self.here).strip()

    def listed(self, key: str, default, what: str) -> list[str]:
        """A name or a list of names (``default`` when the key is absent)."""
        value = self.table.get(key, default)
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(
                isinstance(v, str) for v in value):
            raise self.error(key, f"{key} must be {what}")
        return value

    def pair(self, key: str) -> tuple[float, float]:
        """Two numbers ``[low, high]``; either may be infinite."""
        value = self.table[key]
        if not isinstance(value, list) or len(value) != 2:
            raise self.error(key, f"{key} must be two numbers [low, high], not {value!r}")
        low, high = (self.source.number(v, key, key, self.here) if not (isinstance(v, float)
                     and math.isinf(v)) else v for v in value)
        if low > high:
            raise self.error(key, f"{key} [{low:g}, {high:g}] is reversed; write [low, high]")
        return low, high


def _variables(fields: _Fields, by_name, variables) -> tuple[list[str], tuple | None]:
    """The model variables the assertion judges, and the clusters it judges them in (None:
    every element)."""
    table, error = fields.table, fields.error
    resolved = []
    for name in fields.listed("variable", None, "a name or a list of names"):
        if name.strip().casefold() not in by_name:
            raise error("variable", f"{name!r} is not a variable of the model")
        resolved.append(by_name[name.strip().casefold()])
    clusters = None
    if "clusters" in table:
        clusters = tuple(table["clusters"]) if isinstance(table["clusters"], list) else None
        if not clusters or not all(isinstance(c, str) for c in clusters):
            raise error("clusters", "clusters must be a list of element names")
        for variable in resolved:
            missing = [c for c in clusters if c not in variables[variable]]
            if missing:
                raise error("clusters", f"{variable} has no element {missing[0]!r}; its "
                            f"elements are: {', '.join(variables[variable]) or 'none'}")
    return resolved, clusters


def _changes(fields: _Fields, constants, loop_codes) -> tuple[list, list[str]]:
    """The condition's constants set and named loops cut."""
    source, table, error = fields.source, fields.table, fields.error
    set_constants = []
    for key, value in source.table(table.get("constants", {}), "constants",
                                   "constants").items():
        if key.partition("[")[0].strip() not in constants:
            raise error(key, f"{key!r} is not a constant of the model")
        set_constants.append((key, source.number(value, key, key, fields.here)))
    cut = table.get("cut", [])
    if not isinstance(cut, list) or not all(isinstance(c, str) for c in cut):
        raise error("cut", "cut must be a list of loop codes such as [\"R1\"]")
    for code in cut:
        if code not in loop_codes:
            raise error("cut", f"no named loop {code!r}; named loops are: "
                        f"{', '.join(loop_codes)}")
    return set_constants, cut


def _comparison(fields: _Fields, expect: str, scenarios: list[str], scenario_names,
                changes: bool) -> tuple[str, str]:
    """``of`` (the level, or the effect against the reference) and the reference run;
    ``changes``: whether the condition sets constants or cuts loops."""
    error, text = fields.error, fields.text
    of = text("of", "level")
    if of not in ("level", "effect"):
        raise error("of", f"of must be \"level\" or \"effect\", not {of!r}")
    if of == "effect" and expect in AGAINST_REFERENCE:
        raise error("of", f"{expect} already compares with the reference; use of = \"level\"")
    default_reference = UNCHANGED if scenarios == [BASELINE] else BASELINE
    reference = text("reference", default_reference)
    if reference not in (BASELINE, UNCHANGED) and reference not in scenario_names:
        raise error("reference", f"reference {reference!r} is none of baseline, unchanged or "
                    "a scenario name")
    if reference == UNCHANGED and not changes and (
            expect in AGAINST_REFERENCE or of == "effect"):
        raise error("reference", "reference \"unchanged\" compares the run with itself: set "
                    "constants or cut loops, or use reference = \"baseline\"")
    return of, reference


# ---------------------------------------------------------------------- judging
def run_assertions(assertions: list[Assertion], runs: RunSource) -> list[AssertionResult]:
    """Judge every assertion on the runs it needs."""
    return [judge(assertion, runs) for assertion in assertions]


def judge(assertion: Assertion, runs: RunSource) -> AssertionResult:
    """One assertion on each scenario it matches and each of its variables' columns."""
    scenarios = runs.matching(assertion.scenarios)
    failures, count = [], 0
    for scenario in scenarios:
        try:
            frame = runs.run(assertion.condition(scenario))
            reference = (runs.run(assertion.reference_condition(scenario))
                         if assertion.needs_reference() else None)
        except SDRunnerError as exc:  # a run that leaves the model's declared ranges
            failures.append(Failure(scenario, ", ".join(assertion.variables), math.nan,
                                    str(exc)))
            continue
        for column in _columns(frame, assertion):
            count += 1
            seen = judge_series(assertion, frame[column],
                                None if reference is None else reference[column])
            if seen is not None:
                failures.append(Failure(scenario, column, seen[0], seen[1]))
    return AssertionResult(assertion, tuple(scenarios), count, tuple(failures))


def _columns(frame: pd.DataFrame, assertion: Assertion) -> list[str]:
    columns = []
    for variable in assertion.variables:
        if assertion.clusters is not None:
            columns += [f"{variable}[{cluster}]" for cluster in assertion.clusters]
        elif variable in frame.columns:
            columns.append(variable)
        else:
            columns += [c for c in frame.columns if c.startswith(f"{variable}[")]
    return columns


def judge_series(assertion: Assertion, values: pd.Series,
                 reference: pd.Series | None = None) -> tuple[float, str] | None:
    """``None`` when ``values`` behaves as asserted, else ``(time, what was seen)``."""
    low, high = assertion.window
    kind = assertion.expect
    if kind == "turns_within":  # a turn is judged on the whole run, its time in the window
        series = values if assertion.of == "level" else values - reference
        return _turns(series, assertion, low, high)
    inside = (values.index >= low - 1e-9) & (values.index <= high + 1e-9)
    times = values.index[inside].to_numpy(dtype=float)
    v = values.to_numpy(dtype=float)[inside]
    r = None if reference is None else reference.to_numpy(dtype=float)[inside]
    if assertion.of == "effect":
        v = v - r
    scale = max(np.abs(v).max(), 0.0 if r is None else np.abs(r).max(), 1e-300)
    tol = assertion.tolerance * scale
    if kind in ("rises", "falls"):
        change = v[-1] - v[0]
        ok = change > tol if kind == "rises" else change < -tol
        return None if ok else (times[-1], f"from {v[0]:.6g} at {times[0]:g} to {v[-1]:.6g}")
    if kind == "steady":
        bad = np.flatnonzero(np.abs(v - v[0]) > tol)
        return None if not bad.size else (times[bad[0]], f"{v[bad[0]]:.6g} against "
                                          f"{v[0]:.6g} at {times[0]:g}")
    if kind in ("does_not_rise", "does_not_fall"):
        steps = np.diff(v) if kind == "does_not_rise" else -np.diff(v)
        bad = np.flatnonzero(steps > tol)
        return None if not bad.size else (
            times[bad[0] + 1], f"{v[bad[0]]:.6g} to {v[bad[0] + 1]:.6g}")
    if kind == "within":
        lower, upper = assertion.bounds
        bad = np.flatnonzero((v < lower - tol) | (v > upper + tol) | ~np.isfinite(v))
        return None if not bad.size else (times[bad[0]], f"{v[bad[0]]:.6g}")
    if kind in ("ends_above", "ends_below"):
        gap = v[-1] - r[-1]
        ok = gap > tol if kind == "ends_above" else gap < -tol
        return None if ok else (times[-1], f"{v[-1]:.6g} against the reference's {r[-1]:.6g}")
    gap = v - r
    bad = np.flatnonzero({"not_below": gap < -tol, "not_above": gap > tol,
                          "equals": np.abs(gap) > tol}[kind])
    return None if not bad.size else (
        times[bad[0]], f"{v[bad[0]]:.6g} against the reference's {r[bad[0]]:.6g}")


def _turns(series: pd.Series, assertion: Assertion, low: float,
           high: float) -> tuple[float, str] | None:
    """A turn of the asked kind whose time falls within [low, high].

    Steps smaller than the tolerance count as flat, so round-off cannot make a turn; a turn
    is where the sign of the last non-flat step changes, dated at the extreme point.
    """
    v = series.to_numpy(dtype=float)
    times = series.index.to_numpy(dtype=float)
    steps = np.diff(v)
    tol = assertion.tolerance * max(np.abs(v).max(), 1e-300)
    sign = np.where(steps > tol, 1, np.where(steps < -tol, -1, 0))
    moving = np.flatnonzero(sign)
    turns = []
    for before, after in zip(moving[:-1], moving[1:], strict=True):
        if sign[before] != sign[after]:
            kind = "peak" if sign[before] > 0 else "trough"
            turns.append((times[before + 1], kind))
    wanted = [t for t, kind in turns if assertion.turn in ("any", kind) and low <= t <= high]
    if wanted:
        return None
    found = ", ".join(f"{kind} at {t:g}" for t, kind in turns) or "no turn"
    return high, f"{found}"
