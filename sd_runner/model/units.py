"""Dimensional consistency of a ``.mdl`` model: every equation's units against its variable's.

Units are parsed from each variable's units field (``USD100M/Year``, ``Patent*Year/USD100M``,
``1/Year``, ``Dmnl``) into powers of base units, and each equation's units are worked out
from PySD's abstract model of it:

- a reference has its variable's units; ``Time`` and the time controls are in ``Year``;
- ``+``, ``-``, comparisons, ``MIN``, ``MAX`` and the branches of ``IF THEN ELSE`` need equal
  units; ``*`` and ``/`` combine them; ``^`` needs a dimensionless base or a number exponent;
- a number fits any units in a sum (``1 - x``) and is dimensionless in a product, as in
  Vensim;
- ``EXP``, ``LN`` and ``SQRT``-free functions of a ratio need a dimensionless argument;
- a lookup returns its table's units; its argument must be dimensionless, as Vensim's units
  check requires (tables take normalised inputs, Sterman 2000 ch. 14), or, for a table of
  time, ``Year``;
- a stock's flows are in the stock's units per ``Year``; its initial value in its units;
- delays and smooths keep the units of their input; their times are in ``Year``.

A variable without units, or a function the checker does not know, is reported, not guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures import abstract_model as am

from sd_runner.model.mdl_text import abstract_model, clean_name

Unit = tuple[tuple[str, Fraction], ...]  # sorted (base, power) pairs; () is dimensionless
DIMENSIONLESS: Unit = ()
YEAR: Unit = (("year", Fraction(1)),)
_DIMENSIONLESS_NAMES = {"dmnl", "dimensionless", "1", "fraction"}
_TIME = {"time", "initial time", "final time", "time step", "saveper"}
_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_$][\w$]*(?:\s+[A-Za-z_$][\w$]*)*)"
                    r"|(?P<number>-?\d+(?:\.\d+)?)|(?P<op>[*/^()]))\s*")


class _Any:
    """A number: fits any units in a sum, dimensionless in a product."""


ANY = _Any()


@dataclass(frozen=True)
class UnitProblem:
    """One dimensional inconsistency: where it is and what does not match."""

    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}"


def parse_units(text: str) -> Unit:
    """``text`` (``"USD100M/(Patent*Year)"``) as sorted base powers; raises on bad syntax."""
    tokens = [m for m in _TOKEN.finditer(text.strip())]
    if "".join(m.group(0) for m in tokens).strip() != text.strip():
        raise ValueError(f"cannot read units {text!r}")
    position = 0

    def factor() -> dict[str, Fraction]:
        nonlocal position
        if position >= len(tokens):
            raise ValueError(f"units {text!r} end too early")
        token = tokens[position]
        position += 1
        if token.group("op") == "(":
            value = product()
            if position >= len(tokens) or tokens[position].group("op") != ")":
                raise ValueError(f"units {text!r}: a parenthesis is not closed")
            position += 1
        elif token.group("name"):
            name = token.group("name").strip().casefold()
            value = {} if name in _DIMENSIONLESS_NAMES else {name: Fraction(1)}
        elif token.group("number") == "1":
            value = {}
        else:
            raise ValueError(f"units {text!r}: unexpected {token.group(0).strip()!r}")
        if position < len(tokens) and tokens[position].group("op") == "^":
            if position + 1 >= len(tokens) or not tokens[position + 1].group("number"):
                raise ValueError(f"units {text!r}: ^ needs a number after it")
            power = Fraction(tokens[position + 1].group("number"))
            position += 2
            value = {k: v * power for k, v in value.items()}
        return value

    def product() -> dict[str, Fraction]:
        nonlocal position
        value = factor()
        while position < len(tokens) and tokens[position].group("op") in ("*", "/"):
            sign = 1 if tokens[position].group("op") == "*" else -1
            position += 1
            for k, v in factor().items():
                value[k] = value.get(k, Fraction(0)) + sign * v
        return value

    value = product()
    if position != len(tokens):
        raise ValueError(f"units {text!r}: unexpected {tokens[position].group(0).strip()!r}")
    return _normal(value)


def _normal(value: dict[str, Fraction]) -> Unit:
    return tuple(sorted((k, v) for k, v in value.items() if v != 0))


def _combine(a: Unit, b: Unit, sign: int) -> Unit:
    value = dict(a)
    for k, v in b:
        value[k] = value.get(k, Fraction(0)) + sign * v
    return _normal(value)


def show(unit) -> str:
    """Units as text: ``USD100M/Year``, ``Dmnl``."""
    if unit is ANY:
        return "a number"
    top = [f"{k}" + (f"^{v}" if v != 1 else "") for k, v in unit if v > 0]
    bottom = [f"{k}" + (f"^{-v}" if v != -1 else "") for k, v in unit if v < 0]
    text = "*".join(top) or ("1" if bottom else "Dmnl")
    return text + "".join(f"/{b}" for b in bottom)


class UnitChecker:
    """Checks every equation of ``mdl``; :meth:`problems` lists what does not match."""

    def __init__(self, mdl: str | Path):
        self.path = Path(mdl)
        abstract = abstract_model(self.path)
        self.elements = {e.name: e for s in abstract.sections for e in s.elements}
        self.by_clean = {_clean(name): name for name in self.elements}
        self.subscripts = {_clean(s.name) for sec in abstract.sections
                           for s in sec.subscripts}
        self.units: dict[str, Unit | None] = {}
        self.found: list[UnitProblem] = []
        for name, element in self.elements.items():
            self.units[name] = self._declared(name, element.units or "")

    def _declared(self, name: str, text: str) -> Unit | None:
        if not text.strip():
            self.found.append(UnitProblem(name, "no units; declare them (Dmnl if none)"))
            return None
        try:
            return parse_units(text)
        except ValueError as exc:
            self.found.append(UnitProblem(name, f"{exc}; write them as a*b/c, with ^ for "
                                          "powers"))
            return None

    def problems(self) -> list[UnitProblem]:
        """Every problem, in the model's order; empty when the model is consistent."""
        for name, element in self.elements.items():
            declared = self.units[name]
            for component in element.components:
                if isinstance(component, am.AbstractLookup) or declared is None:
                    continue
                self.variable = name
                ast = component.ast
                if isinstance(ast, ae.IntegStructure):
                    self._expect(ast.flow, _combine(declared, YEAR, -1),
                                 "its net flow must be in its units per Year")
                    self._expect(ast.initial, declared, "its initial value")
                else:
                    self._expect(ast, declared, "its equation")
        return self.found

    def _expect(self, ast, expected: Unit, what: str) -> None:
        found = self._units(ast)
        if found is not None and found is not ANY and found != expected:
            self._problem(f"{what} is in {show(found)}, not {show(expected)}")

    def _problem(self, message: str) -> None:
        problem = UnitProblem(self.variable, message)
        if problem not in self.found:
            self.found.append(problem)

    # ------------------------------------------------------------------ inference
    def _units(self, ast):
        """The units of ``ast``: a Unit, ANY (a number) or None (unknown, reported)."""
        if isinstance(ast, int | float | np.integer | np.floating | np.ndarray):
            return ANY
        if isinstance(ast, ae.ReferenceStructure):
            cleaned = _clean(ast.reference)
            if cleaned in _TIME:
                return YEAR
            name = self.by_clean.get(cleaned)
            if name is None:
                return DIMENSIONLESS if cleaned in self.subscripts else None
            return self.units[name]
        if isinstance(ast, ae.ArithmeticStructure):
            return self._arithmetic(ast)
        if isinstance(ast, ae.LogicStructure):
            units = [self._units(a) for a in ast.arguments]
            if ast.operators and ast.operators[0] in ("=", "<>", "<", ">", "<=", ">="):
                self._same(units, f"compares {ast.operators[0]}")
            return DIMENSIONLESS
        if isinstance(ast, ae.CallStructure):
            return self._call(ast)
        if isinstance(ast, ae.InitialStructure):
            return self._units(ast.initial)
        if isinstance(ast, ae.SmoothStructure | ae.DelayStructure | ae.DelayNStructure
                      | ae.SmoothNStructure):
            self._time_argument(ast.smooth_time if hasattr(ast, "smooth_time")
                                else ast.delay_time)
            return self._units(ast.input)
        if isinstance(ast, ae.DelayFixedStructure):
            self._time_argument(ast.delay_time)
            return self._units(ast.input)
        self._problem(f"cannot check the units of {type(ast).__name__}")
        return None

    def _time_argument(self, ast) -> None:
        found = self._units(ast)
        if found is not None and found is not ANY and found != YEAR:
            self._problem(f"a delay or smoothing time is in {show(found)}, not Year")

    def _same(self, units: list, what: str):
        known = [u for u in units if u is not None and u is not ANY]
        if any(u != known[0] for u in known[1:]):
            self._problem(f"{what} {' and '.join(show(u) for u in known)}; they must be in "
                          "the same units")
            return None
        if any(u is None for u in units):
            return None
        return known[0] if known else ANY

    def _arithmetic(self, ast):
        operators, arguments = list(ast.operators), list(ast.arguments)
        units = [self._units(a) for a in arguments]
        if len(arguments) == 1:  # negation
            return units[0]
        value = units[0]
        for operator, argument, unit in zip(operators, arguments[1:], units[1:], strict=True):
            if value is None or unit is None:
                value = None
            elif operator in ("+", "-"):
                value = self._same([value, unit], "adds")
            elif operator in ("*", "/"):
                if value is ANY and unit is ANY:
                    value = ANY
                else:
                    left = DIMENSIONLESS if value is ANY else value
                    right = DIMENSIONLESS if unit is ANY else unit
                    value = _combine(left, right, 1 if operator == "*" else -1)
            elif operator == "^":
                if unit is not ANY and unit != DIMENSIONLESS:
                    self._problem(f"raises to a power in {show(unit)}")
                if value is ANY or value == DIMENSIONLESS:
                    continue
                if isinstance(argument, int | float):
                    value = tuple((k, v * Fraction(argument).limit_denominator())
                                  for k, v in value)
                else:
                    self._problem(f"raises {show(value)} to a variable power")
                    value = None
            else:
                self._problem(f"cannot check the units of the operator {operator!r}")
                value = None
        return value

    def _call(self, ast):
        function = ast.function.reference if isinstance(ast.function, ae.ReferenceStructure) \
            else str(ast.function)
        units = [self._units(a) for a in ast.arguments]
        table = self.by_clean.get(_clean(function))
        if table is not None:  # a lookup
            argument = ast.arguments[0]
            timed = isinstance(argument, ae.ReferenceStructure) and _clean(
                argument.reference) == "time"
            wanted = YEAR if timed or units[0] == YEAR else DIMENSIONLESS  # a table over time
            if units[0] is not None and units[0] is not ANY and units[0] != wanted:
                self._problem(f"the argument of the table {table} is in {show(units[0])}, not "
                              f"{show(wanted)} (tables take normalised inputs)")
            return self.units[table]
        if function in ("exp", "ln", "log", "sin", "cos", "tan"):
            if units[0] is not None and units[0] is not ANY and units[0] != DIMENSIONLESS:
                self._problem(f"{function.upper()} of {show(units[0])}; its argument must "
                              "be dimensionless")
            return DIMENSIONLESS
        if function in ("sum", "vmin", "vmax"):  # over a subscript range: its argument's units
            return units[0]
        if function in ("min", "max"):
            return self._same(units, f"{function.upper()} of")
        if function == "if_then_else":
            return self._same(units[1:], "IF THEN ELSE chooses between")
        if function in ("abs", "integer", "active_initial"):
            return units[0] if function != "active_initial" else self._same(units, "initial")
        if function == "zidz":
            if units[0] is None or units[1] is None:
                return None
            left = DIMENSIONLESS if units[0] is ANY else units[0]
            right = DIMENSIONLESS if units[1] is ANY else units[1]
            return _combine(left, right, -1)
        if function in ("step", "ramp", "pulse", "pulse_train"):
            return ANY if function != "step" else units[0]
        self._problem(f"cannot check the units of the function {function.upper()}")
        return None


def check_units(mdl: str | Path) -> list[UnitProblem]:
    """Every dimensional inconsistency of ``mdl``; empty when it is consistent."""
    return UnitChecker(mdl).problems()


_clean = clean_name
