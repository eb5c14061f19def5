"""The model's feedback loops: its causal graph and every loop in it, with polarities.

The graph comes from PySD's abstract model of the ``.mdl`` (the structure PySD builds every
model from): an edge ``x -> z`` for every variable ``x`` that ``z``'s equation references,
marked ``"flow"`` when ``z`` is a stock and ``x`` one of its flows (an edge into a stock
through its integral) and ``"aux"`` otherwise. Initial values do not make edges: they act
once, not in the feedback of a run. Subscripts are not expanded: a loop through
``Buyer Dependence[Cluster]`` is one loop, repeated in every cluster.

Each edge's polarity is the sign of the partial derivative of ``z``'s equation in ``x``,
worked out on the equation's syntax: sums and differences, products and quotients (signed
with the interval each factor stays in: its values over a baseline run for variables, its own
values for constants), the saturating ``x / (x + k)``, ``EXP``, ``LN``, ``SQRT``, ``MIN``,
``MAX``, lookups by the slope of their table, and the branches of ``IF THEN ELSE``. Where the
sign is not fixed (``x`` in a condition, a factor whose sign changes, a table that rises and
falls, logistic growth written in one equation) the edge, and every loop through it, is
undetermined (``"?"``): its polarity changes with the state. A loop's polarity is the
product of its edges' (``R`` reinforcing, ``B`` balancing).

Every loop is found (Johnson's algorithm, :func:`networkx.simple_cycles`) up to
``max_loops``; its identifier is a hash of its variables in canonical order (starting from
the alphabetically first), so it does not change when other loops are added or removed.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import numpy as np
from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures import abstract_model as am

from sd_runner.errors import InputError
from sd_runner.model.mdl_text import abstract_model, clean_name
from sd_runner.results.loops import Link, Loop, LoopName, loop_id
from sd_runner.results.loops import canonical as _canonical

#: Loops beyond this count are not enumerated (the model has a few hundred).
MAX_LOOPS = 100_000

_MONOTONE_UP = {"exp", "ln", "log", "sqrt", "integer", "min", "max", "smooth", "smooth3",
                "smooth_n", "delay1", "delay3", "delay_n", "delay_fixed", "active_initial"}
_TIME = {"time", "initial time", "final time", "time step", "saveper"}


class TooManyLoops(InputError):
    """The model has more loops than exhaustive enumeration will list."""


class CausalGraph:
    """The causal graph of a ``.mdl`` model.

    Parameters
    ----------
    mdl : path-like
        The model.
    value_ranges : dict, optional
        Vensim name -> (lowest, highest) value it takes (over a run, all elements); used to
        sign products and quotients. A constant not listed takes its own values; any other
        variable not listed may take any value.
    """

    def __init__(self, mdl: str | Path,
                 value_ranges: dict[str, tuple[float, float]] | None = None):
        import networkx as nx

        self.path = Path(mdl)
        abstract = abstract_model(self.path)
        self.elements = {e.name: e for s in abstract.sections for e in s.elements}
        self.by_clean = {_clean(name): name for name in self.elements}
        self.value_ranges = dict(value_ranges or {})
        self.tables = {name: _table_slope(e) for name, e in self.elements.items()
                       if e.components and all(isinstance(c, am.AbstractLookup)
                                               for c in e.components)}
        self.stocks: set[str] = set()
        self.graph = nx.DiGraph()
        for name, element in self.elements.items():
            for component in element.components:
                if isinstance(component, am.AbstractLookup):
                    continue
                self._add_component(name, component.ast)

    def _add_component(self, name: str, ast) -> None:
        kind = "aux"
        if isinstance(ast, ae.IntegStructure):
            self.stocks.add(name)
            ast, kind = ast.flow, "flow"
        for source in self._references(ast):
            if source == name and kind == "aux":
                continue
            polarity = self._sign(ast, source)[0]
            if self.graph.has_edge(source, name):  # another component (element) of ``name``
                old = self.graph.edges[source, name]["polarity"]
                polarity = polarity if polarity == old else 0
            self.graph.add_edge(source, name, kind=kind, polarity=polarity)

    # ------------------------------------------------------------------ references
    def _references(self, ast) -> set[str]:
        found: set[str] = set()
        self._collect(ast, found)
        return found

    def _collect(self, ast, found: set[str]) -> None:
        if isinstance(ast, ae.ReferenceStructure):
            name = self.by_clean.get(_clean(ast.reference))
            if name is not None and name not in self.tables:
                found.add(name)
            return
        if isinstance(ast, ae.CallStructure):
            for argument in ast.arguments:
                self._collect(argument, found)
            return
        if isinstance(ast, ae.InitialStructure):
            return  # a value fixed at the start is not a causal link during the run
        for child in _children(ast):
            self._collect(child, found)

    # ------------------------------------------------------------------ signs
    def _range(self, name: str) -> tuple[float, float]:
        if name in self.value_ranges:
            return self.value_ranges[name]
        values = [c.ast for c in self.elements[name].components
                  if not isinstance(c, am.AbstractLookup)]
        if values and all(isinstance(v, int | float | np.integer | np.floating | np.ndarray)
                          for v in values):  # a constant: its own values
            numbers = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values])
            return float(numbers.min()), float(numbers.max())
        return _ANY

    def _sign(self, ast, source: str) -> tuple[int | None, tuple[float, float]]:
        """``(d, (low, high))``: the sign of the derivative of ``ast`` in ``source`` (None:
        does not depend on it, 0: unknown) and the interval its value stays in."""
        if isinstance(ast, int | float | np.integer | np.floating):
            return None, (float(ast), float(ast))
        if isinstance(ast, np.ndarray):
            return None, (float(ast.min()), float(ast.max()))
        if isinstance(ast, ae.ReferenceStructure):
            cleaned = _clean(ast.reference)
            if cleaned in _TIME:
                return None, (0.0, np.inf)
            name = self.by_clean.get(cleaned)
            if name is None:  # a subscript element used as a number
                return None, (1.0, np.inf)
            return (1 if name == source else None), self._range(name)
        if isinstance(ast, ae.ArithmeticStructure):
            return self._arithmetic(ast, source)
        if isinstance(ast, ae.LogicStructure):
            depends = source in self._references(ast)
            return (0 if depends else None), (0.0, 1.0)
        if isinstance(ast, ae.CallStructure):
            return self._call(ast, source)
        if isinstance(ast, ae.InitialStructure):
            return None, self._sign(ast.initial, source)[1]
        depends = source in self._references(ast)
        return (0 if depends else None), _ANY

    def _arithmetic(self, ast, source):
        operators, arguments = list(ast.operators), list(ast.arguments)
        if len(arguments) == 1:
            d, v = self._sign(arguments[0], source)
            if operators[0] == "negative":
                return _neg(d), (-v[1], -v[0])
            return (0 if d is not None else None), _ANY
        d, v = self._sign(arguments[0], source)
        for operator, argument in zip(operators, arguments[1:], strict=True):
            d2, v2 = self._sign(argument, source)
            if operator == "+":
                d, v = _add(d, d2), (v[0] + v2[0], v[1] + v2[1])
            elif operator == "-":
                d, v = _add(d, _neg(d2)), (v[0] - v2[1], v[1] - v2[0])
            elif operator == "*":
                d, v = _add(_times(d, _sign_of(v2)), _times(d2, _sign_of(v))), _product(v, v2)
            elif operator == "/":
                saturating = self._saturation(arguments, argument, source)
                d = saturating if saturating is not None else _add(
                    _times(d, _sign_of(v2)), _neg(_times(d2, _sign_of(v))))
                v = _product(v, _reciprocal(v2))
            elif operator == "^" and d2 is None and v[0] >= 0 and v2[0] == v2[1]:
                d = _times(d, 1 if v2[0] > 0 else -1)
                v = (0.0, np.inf)
            else:
                d = 0 if (d is not None or d2 is not None) else None
                v = _ANY
        return d, v

    def _saturation(self, arguments, denominator, source) -> int | None:
        """The sign of ``x / (x + k)`` in the source when ``k`` does not depend on it: that of
        ``x`` times that of ``k`` (the quotient saturates toward 1). None for other forms."""
        if len(arguments) != 2 or not isinstance(denominator, ae.ArithmeticStructure):
            return None
        numerator = arguments[0]
        terms = list(denominator.arguments)
        if set(denominator.operators) != {"+"} or numerator not in terms:
            return None
        rest = [term for term in terms if term is not numerator and term != numerator]
        if len(rest) != len(terms) - 1:
            return None
        signs = [self._sign(term, source) for term in rest]
        if any(d is not None for d, _ in signs):
            return None
        rest_sign = 1
        for _, interval in signs:
            rest_sign *= _sign_of(interval)
        return _times(self._sign(numerator, source)[0], rest_sign)

    def _call(self, ast, source):
        function = ast.function.reference if isinstance(ast.function, ae.ReferenceStructure) \
            else ""
        signs = [self._sign(a, source) for a in ast.arguments]
        table = self.by_clean.get(_clean(function))
        if table in self.tables:
            slope, low, high = self.tables[table]
            d, _ = signs[0]
            return (_times(d, slope) if slope else (0 if d is not None else None)), (low, high)
        if function in _MONOTONE_UP:
            d = None
            for argument_d, _ in signs:
                d = _add(d, argument_d)
            lows, highs = [v[0] for _, v in signs], [v[1] for _, v in signs]
            if function == "exp":
                return d, (float(np.exp(lows[0])), float(np.exp(highs[0])))
            if function == "min":
                return d, (min(lows), min(highs))
            if function == "max":
                return d, (max(lows), max(highs))
            return d, (_ANY if function in ("ln", "log") else (min(lows), max(highs)))
        if function == "if_then_else":
            (dc, _), (da, va), (db, vb) = signs
            hull = (min(va[0], vb[0]), max(va[1], vb[1]))
            return (0 if dc is not None else _add(da, db)), hull
        if function in ("zidz", "xidz"):
            (da, va), (db, vb) = signs[:2]
            d = _add(_times(da, _sign_of(vb)), _neg(_times(db, _sign_of(va))))
            return d, _product(va, _reciprocal(vb))
        if function == "abs":
            d, v = signs[0]
            sign = _sign_of(v)
            return (_times(d, sign) if sign else (0 if d is not None else None)), \
                (0.0, max(abs(v[0]), abs(v[1])))
        depends = any(d is not None for d, _ in signs)
        return (0 if depends else None), _ANY

    # ------------------------------------------------------------------ loops
    def links(self) -> list[Link]:
        return [Link(s, t, a["kind"], a["polarity"]) for s, t, a in self.graph.edges(data=True)]

    def loops(self, max_loops: int = MAX_LOOPS) -> list[Loop]:
        """Every feedback loop, sorted by length then identifier.

        Raises
        ------
        TooManyLoops
            When there are more than ``max_loops``: enumerating them all would not end, and
            :func:`sd_runner.feedback.discovery.strongest_path_loops` finds the ones that matter.
        """
        import networkx as nx

        found = []
        for number, cycle in enumerate(nx.simple_cycles(self.graph), start=1):
            if number > max_loops:
                raise TooManyLoops(f"{self.path.name}: more than {max_loops} feedback loops; "
                                   "too many to enumerate exhaustively")
            found.append(self.loop(cycle))
        return sorted(found, key=lambda loop: (len(loop.variables), loop.id))

    def loop(self, cycle) -> Loop:
        """The loop through the variables ``cycle`` (in causal order, any rotation)."""
        variables = _canonical(cycle)
        links = []
        for source, target in zip(variables, variables[1:] + variables[:1], strict=True):
            data = self.graph.edges[source, target]
            links.append(Link(source, target, data["kind"], data["polarity"]))
        signs = [link.polarity for link in links]
        polarity = "?" if 0 in signs else ("R" if np.prod(signs) > 0 else "B")
        return Loop(loop_id(variables), variables, polarity, tuple(links))


#: Fields of an expression's syntax whose references make causal links (a call's function
#: name and a stateful's order, for example, do not).
CHILD_FIELDS = ("arguments", "flow", "expression", "argument", "input", "initial",
                "smooth_time", "delay_time")


def _children(ast):
    for name in CHILD_FIELDS:
        value = getattr(ast, name, None)
        if value is None:
            continue
        if isinstance(value, tuple | list):
            yield from value
        else:
            yield value


def _neg(d):
    return None if d is None else -d


def _times(d, sign):
    return None if d is None else d * sign


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a if a == b else 0


_ANY = (-np.inf, np.inf)


def _sign_of(interval) -> int:
    low, high = interval
    return 1 if low >= 0 else (-1 if high <= 0 else 0)


def _product(a, b):
    with np.errstate(invalid="ignore"):
        corners = [x * y for x in a for y in b]
    corners = [c for c in corners if not np.isnan(c)]  # 0 x inf: the interval is open
    return (min(corners), max(corners)) if corners else _ANY


def _reciprocal(interval):
    low, high = interval
    return (1 / high, 1 / low) if low > 0 or high < 0 else _ANY


def _table_slope(element) -> tuple[int, float, float]:
    """(+1 for a table that never falls, -1 for one that never rises, 0 otherwise; its
    lowest and highest value)."""
    ys = np.asarray(element.components[0].ast.y, dtype=float)
    steps = np.diff(ys)
    slope = 1 if (steps >= 0).all() else (-1 if (steps <= 0).all() else 0)
    return slope, float(ys.min()), float(ys.max())


def value_ranges(frame) -> dict[str, tuple[float, float]]:
    """Lowest and highest value of every variable over a run (all elements): the wide
    DataFrame of :meth:`SDModel.run`, columns named ``Name`` or ``Name[Element]``."""
    ranges: dict[str, tuple[float, float]] = {}
    for column in frame.columns:
        name = column.partition("[")[0]
        values = frame[column].to_numpy(dtype=float)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        old = ranges.get(name, (low, high))
        ranges[name] = (min(old[0], low), max(old[1], high))
    return ranges


_clean = clean_name


# ---------------------------------------------------------------------- names
def load_loop_names(path: str | Path) -> list[LoopName]:
    """Read a loop names file (TOML: ``[loops.CODE]`` with ``name``, ``variables``,
    ``description`` and optionally ``cut``, two consecutive variables of the loop, and
    ``keeps_in_range``, one of its variables)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read the loop names ({exc}); fix the file") from None
    names = []
    for code, table in data.get("loops", {}).items():
        variables = table.get("variables")
        if not (isinstance(variables, list) and variables
                and all(isinstance(v, str) for v in variables)):
            raise InputError(f"{path}: loop {code}: variables must be a list of names")
        names.append(LoopName(code, str(table.get("name", code)), tuple(variables),
                              str(table.get("description", "")),
                              _cut(path, code, table.get("cut"), variables),
                              _kept(path, code, table.get("keeps_in_range", ""), variables)))
    return names


def _kept(path: Path, code: str, kept, variables: list[str]) -> str:
    """A loop's ``keeps_in_range``: one of its variables, or empty."""
    if kept and kept not in variables:
        raise InputError(f"{path}: loop {code}: keeps_in_range must be one of the loop's "
                         f"variables ({', '.join(variables)}), not {kept!r}")
    return kept


def _cut(path: Path, code: str, cut, variables: list[str]) -> tuple[str, str] | None:
    """A loop's ``cut``: one of its links, ``[source, target]``."""
    if cut is None:
        return None
    links = list(zip(variables, variables[1:] + variables[:1], strict=True))
    if not (isinstance(cut, list) and len(cut) == 2 and tuple(cut) in links):
        raise InputError(f"{path}: loop {code}: cut must be two consecutive variables of the "
                         f"loop, [source, target], not {cut!r}")
    return cut[0], cut[1]


def named_loops(loops: list[Loop], names: list[LoopName],
                graph: CausalGraph | None = None) -> list[Loop]:
    """``loops`` with the names file's names attached.

    ``graph``: when ``loops`` are not every loop of the model (found by the strongest-path
    search), each name is checked against the graph's links instead, and names of loops not
    in ``loops`` are left unused.

    Raises
    ------
    InputError
        When a named loop is not a loop of the model (a variable renamed or a link removed):
        the names file must then be updated.
    """
    by_id = {loop.id: loop for loop in loops}
    result = dict(by_id)
    for entry in names:
        key = loop_id(entry.variables)
        variables = entry.variables
        if key in by_id:
            result[key] = dataclasses.replace(by_id[key], name=f"{entry.code} {entry.name}")
        elif graph is None or not all(graph.graph.has_edge(a, b) for a, b in zip(
                variables, variables[1:] + variables[:1], strict=True)):
            raise InputError(f"loop {entry.code} ({entry.name}): "
                             f"{' -> '.join(entry.variables)} is not a feedback loop of the "
                             "model; update the loop names file")
    return [result[loop.id] for loop in loops]
