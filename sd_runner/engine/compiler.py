"""Compile a Vensim model, through PySD's abstract model, into the source of a numba kernel.

The ``.mdl`` stays the single source of the equations: PySD's translator parses it into an
``AbstractModel`` and this module turns each equation of that structure, element by element of
its subscripts, into a scalar Python statement. Nothing here knows any particular model.

Semantics follow PySD 3.14 (Euler integration, cumulative time, its SMOOTH, DELAY and lookup
rules), so both engines give the same numbers. A construct this compiler does not handle is
refused with :class:`UnsupportedModelError` naming it and the variable that uses it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import numpy as np
from pysd.builders.python.namespace import NamespaceManager
from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures import abstract_model as am
from pysd.translators.vensim.vensim_file import VensimFile

from sd_runner.errors import InputError

CONTROLS = {"initial_time": "t0", "final_time": "tf", "time_step": "dt", "saveper": "saveper"}
MATH_1 = {"exp": "math.exp", "ln": "math.log", "sqrt": "math.sqrt", "sin": "math.sin",
          "cos": "math.cos", "tan": "math.tan", "arcsin": "math.asin", "arccos": "math.acos",
          "arctan": "math.atan", "sinh": "math.sinh", "cosh": "math.cosh", "tanh": "math.tanh",
          "abs": "abs", "integer": "rt.integer"}
OPERATORS = {  # template and PySD's operator order
    "^": ("{left}**{right}", 1), "*": ("{left}*{right}", 2), "/": ("{left}/{right}", 2),
    "+": ("{left} + {right}", 3), "-": ("{left} - {right}", 3),
    "=": ("{left} == {right}", 4), "<>": ("{left} != {right}", 4),
    ">=": ("{left} >= {right}", 4), ">": ("{left} > {right}", 4),
    "<=": ("{left} <= {right}", 4), "<": ("{left} < {right}", 4),
    ":AND:": ("(bool({left}) and bool({right}))", 0),
    ":OR:": ("(bool({left}) or bool({right}))", 0),
    ":NOT:": ("(not bool({right}))", 0), "negative": ("-{right}", 3),
}
LOOKUP_MODES = {"interpolate": 0, "extrapolate": 1, "hold_backward": 2}
AGGREGATES = {"sum": "+", "prod": "*", "vmin": "min", "vmax": "max"}


class UnsupportedModelError(InputError):
    """The model uses a construct the fast engine does not compile; run it with PySD."""


@dataclass
class Node:
    """One value the kernel computes: a slot of ``v`` or the initial value of a state."""

    target: str                 # "v[3]" or "x[7]"
    init_code: str              # expression at initialisation
    step_code: str              # expression during the run
    deps: set = field(default_factory=set)       # keys of nodes read ("v", i) / ("x", j)
    dynamic: bool = False       # depends on time or on a state
    init_only: bool = False     # INITIAL: computed once


@dataclass
class CompiledModel:
    """What the compiler produces: kernel source and the layout of its arrays.

    Attributes
    ----------
    source : str
        Python source of the module holding the numba kernel ``run_batch``.
    slots : list of tuple
        ``(vensim_name, element_tuple)`` for each slot of the value vector ``v``.
    constants : dict
        ``(vensim_name, element_tuple)`` -> index in the constants vector.
    constant_defaults : numpy.ndarray
        Default value of every constant, as the ``.mdl`` gives it.
    dims : dict
        Vensim name -> list of subscript ranges it is defined over.
    ranges : dict
        Subscript range -> its elements.
    controls : dict
        ``INITIAL TIME``, ``FINAL TIME``, ``TIME STEP``, ``SAVEPER`` as numbers.
    """

    source: str
    slots: list
    constants: dict
    constant_defaults: np.ndarray
    dims: dict
    ranges: dict
    controls: dict
    static_constants: set = field(default_factory=set)
    #: slot -> its expression during the run, for the slots that change (in ``v``, ``x``,
    #: ``c``, ``t``); state -> the expression of its derivative; and whether every state is a
    #: plain integral (no delay buffers, discrete updates or clamps). Loop analysis reads them.
    equations: dict = field(default_factory=dict)
    derivatives: dict = field(default_factory=dict)
    plain_states: bool = True


def _clean(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


class _Compiler:
    def __init__(self, model: am.AbstractModel, source_name: str):
        self.source_name = source_name
        if len(model.sections) != 1:
            raise UnsupportedModelError(
                f"{source_name}: the fast engine does not support macros; "
                "run this model with --engine pysd")
        section = model.sections[0]
        self.ranges: dict[str, list[str]] = {}
        self.mappings: set[str] = set()
        declared = {sub.name: sub.subscripts for sub in section.subscripts}

        def expand(name, seen=()):
            elements = declared[name]
            if isinstance(elements, str):  # a copy of another range
                return expand(elements, (*seen, name))
            flat = []
            for element in elements:
                if element in declared and element not in seen and element != name:
                    flat += expand(element, (*seen, name))  # a subrange listed inside
                else:
                    flat.append(element)
            return flat

        for sub in section.subscripts:
            self.ranges[sub.name] = expand(sub.name)
            if sub.mapping:
                self.mappings.add(sub.name)
        self.folded_ranges = {k.casefold(): k for k in self.ranges}
        self.main_of = {name: self._main_range(name) for name in self.ranges}
        self.elements: dict[str, am.AbstractElement] = {}
        namespace = NamespaceManager()
        self.by_ref: dict[str, str] = {}
        for element in section.elements:
            self.elements[element.name] = element
            namespace.add_to_namespace(element.name)
            self.by_ref[namespace.namespace[element.name]] = element.name
        self.by_clean = {_clean(name): name for name in self.elements}
        self.nodes: list[Node] = []
        self.slots: list[tuple[str, tuple]] = []
        self.slot_of: dict[tuple[str, tuple], int] = {}
        self.constants: dict[tuple[str, tuple], int] = {}
        self.constant_values: list[float] = []
        self.states: list[str] = []          # description of each state entry
        self.state_init: dict[int, Node] = {}
        self.derivatives: list[tuple[int, str]] = []
        self.discrete: list[tuple[int, str]] = []
        self.clamps: list[int] = []
        self.tables: list[tuple[np.ndarray, np.ndarray]] = []
        self.buffers: list[tuple] = []  # (state, delay time, input code, deps)
        self.deferred: list = []  # checks that need every equation compiled
        self.pre_derivative: list[str] = []  # statements run before the derivatives
        self.dims: dict[str, list[str]] = {}
        self.defined: dict[str, set] = {}
        self.lookup_tables: dict[tuple[str, tuple], tuple[int, int]] = {}
        self.controls = self._controls()
        self.current = ""

    # ------------------------------------------------------------------ subscripts
    def _main_range(self, name: str) -> str:
        """The first declared range holding all of ``name``'s elements that is not itself part
        of a larger range: subscripts are compared and positioned within it, as in Vensim."""
        elements = set(self.ranges[name])
        for other, values in self.ranges.items():
            if elements <= set(values) and not any(set(values) < set(v)
                                                   for v in self.ranges.values()):
                return other
        return name

    def _range_name(self, name: str) -> str | None:
        return self.folded_ranges.get(name.casefold())

    def _element_dim(self, element: str, hint: set[str]) -> str:
        candidates = [r for r, values in self.ranges.items() if element in values]
        if not candidates:
            raise self._unsupported(f"unknown subscript element {element!r}")
        for candidate in candidates:
            if candidate in hint:
                return candidate
        mains = [c for c in candidates if self.main_of[c] == c]
        return (mains or candidates)[0]

    def _variable_dims(self, element: am.AbstractElement) -> list[str]:
        lhs_lists = [component.subscripts[0] for component in element.components]
        width = {len(lhs) for lhs in lhs_lists}
        if len(width) != 1:
            raise self._unsupported("components with different numbers of subscripts")
        dims = []
        for position in range(width.pop()):
            names = [lhs[position] for lhs in lhs_lists]
            ranges = {self._range_name(n) for n in names} - {None}
            mains = {self.main_of[r] for r in ranges}
            if len(mains) > 1:
                raise self._unsupported("components over different subscript ranges")
            hint = mains or set()
            if mains:
                dims.append(mains.pop())
            else:
                dims.append(self.main_of[self._element_dim(names[0], hint)])
        return dims

    def _expand(self, subscripts: list[str]) -> list[tuple]:
        lists = []
        for name in subscripts:
            range_name = self._range_name(name)
            lists.append(self.ranges[range_name] if range_name else [name])
        return list(itertools.product(*lists))

    # ------------------------------------------------------------------ errors
    def _unsupported(self, what: str) -> UnsupportedModelError:
        where = f" in {self.current!r}" if self.current else ""
        return UnsupportedModelError(
            f"{self.source_name}: the fast engine does not support {what}{where}; "
            "run this model with --engine pysd")

    # ------------------------------------------------------------------ controls
    def _controls(self) -> dict[str, float]:
        values: dict[str, float] = {}
        names = {"initial_time": "INITIAL TIME", "final_time": "FINAL TIME",
                 "time_step": "TIME STEP", "saveper": "SAVEPER"}
        pending = dict(names)
        for _ in range(4):
            for key, name in list(pending.items()):
                element = self.elements.get(name) or self.elements.get(
                    self.by_clean.get(_clean(name), ""))
                if element is None:
                    if key == "saveper" and "time_step" in values:
                        values[key] = values["time_step"]
                        del pending[key]
                    continue
                ast = element.components[0].ast
                if isinstance(ast, int | float | np.number):
                    values[key] = float(ast)
                elif isinstance(ast, ae.ReferenceStructure) and ast.reference in values:
                    values[key] = values[ast.reference]
                else:
                    continue
                del pending[key]
        if pending:
            raise UnsupportedModelError(
                f"{self.source_name}: the fast engine does not support time controls "
                f"({', '.join(pending.values())}) that are not constants; "
                "run this model with --engine pysd")
        return {names[k]: v for k, v in values.items()}

    # ------------------------------------------------------------------ allocation
    def _slot(self, name: str, element: tuple) -> int:
        key = (name, element)
        if key not in self.slot_of:
            self.slot_of[key] = len(self.slots)
            self.slots.append(key)
        return self.slot_of[key]

    def _state(self, description: str) -> int:
        self.states.append(description)
        return len(self.states) - 1

    def compile(self) -> CompiledModel:
        control_names = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}
        work = []
        for name, element in self.elements.items():
            if name.upper() in control_names:
                continue
            self.current = name
            for component in element.components:
                if isinstance(component, am.AbstractData):
                    raise self._unsupported("data variables (GET DATA, :=)")
            self.dims[name] = self._variable_dims(element)
            if all(isinstance(c, am.AbstractLookup) for c in element.components):
                self._register_lookup(name, element)
                continue
            for component in element.components:
                if isinstance(component, am.AbstractLookup):
                    raise self._unsupported("a lookup mixed with equations")
                lhs, exceptions = component.subscripts
                excluded = {e for ex in exceptions for e in self._expand(ex)}
                coords = [c for c in self._expand(lhs) if c not in excluded]
                self.defined.setdefault(name, set()).update(coords)
                work.append((name, component, lhs, coords))
        self.work = {}
        for name, component, lhs, coords in work:
            self.work.setdefault(name, []).append((component, lhs, coords))
        self.done: set[str] = set()
        for name in list(self.work):
            self._compile_variable(name)
        self.current = ""
        return self._emit()

    def _compile_variable(self, name: str) -> None:
        """Compile every component of ``name`` once (early when a delay order needs it)."""
        if name in self.done or name not in self.work:
            return
        self.done.add(name)
        outer = self.current
        self.current = name
        for component, lhs, coords in self.work[name]:
            self._compile_component(name, component, lhs, coords)
        self.current = outer

    def _register_lookup(self, name: str, element: am.AbstractElement) -> None:
        for component in element.components:
            ast = component.ast
            if not isinstance(ast, ae.LookupsStructure):
                raise self._unsupported(f"lookup definition {type(ast).__name__}")
            for coord in self._expand(component.subscripts[0]):
                self.lookup_tables[(name, coord)] = self._table(ast)

    def _table(self, ast: ae.LookupsStructure) -> tuple[int, int]:
        if ast.type not in LOOKUP_MODES:
            raise self._unsupported(f"lookups of type {ast.type!r}")
        xs = np.asarray(ast.x, dtype=float)
        ys = np.asarray(ast.y, dtype=float)
        if xs.ndim != 1 or ys.shape != xs.shape:
            raise self._unsupported("multi-dimensional lookups")
        self.tables.append((xs, ys))
        return len(self.tables) - 1, LOOKUP_MODES[ast.type]

    def _context(self, lhs: list[str], coord: tuple, dims: list[str]) -> dict[str, str]:
        context = {}
        for sub, element in zip(lhs, coord, strict=True):
            range_name = self._range_name(sub)
            if range_name:
                context[range_name] = element
        for element, dim in zip(coord, dims, strict=True):
            context.setdefault(dim, element)
        return context

    def _compile_component(self, name, component, lhs, coords) -> None:
        dims = self.dims[name]
        ast = component.ast
        if isinstance(component, am.AbstractUnchangeableConstant) or _is_number(ast) or \
                isinstance(ast, np.ndarray):
            values = np.asarray(ast, dtype=float)
            flat = values.reshape(-1)
            if flat.size not in (1, len(coords)):
                raise self._unsupported("a constant array whose size does not match its "
                                        "subscripts")
            for index, coord in enumerate(coords):
                slot = self._slot(name, coord)
                constant = len(self.constant_values)
                self.constants[(name, coord)] = constant
                self.constant_values.append(float(flat[index if flat.size > 1 else 0]))
                code = f"c[{constant}]"
                self.nodes.append(Node(f"v[{slot}]", code, code))
            return
        for coord in coords:
            context = self._context(lhs, coord, dims)
            slot = self._slot(name, coord)
            if isinstance(ast, ae.IntegStructure):
                state = self._state(f"{name}{list(coord)}")
                init = self._expr(ast.initial, context)
                flow = self._expr(ast.flow, context)
                self.state_init[state] = Node(f"x[{state}]", init.init, init.init, init.deps,
                                              True)
                self.derivatives.append((state, flow.step, flow.deps))
                if ast.non_negative:
                    self.clamps.append(state)
                self.nodes.append(Node(f"v[{slot}]", f"x[{state}]", f"x[{state}]",
                                       {("x", state)}, True))
            else:
                value = self._expr(ast, context)
                self.nodes.append(Node(f"v[{slot}]", value.init, value.step, value.deps,
                                       value.dynamic, value.init_only))

    # ------------------------------------------------------------------ expressions
    def _expr(self, ast, context) -> _Code:
        if _is_number(ast):
            return _Code(_literal(ast))
        if isinstance(ast, np.ndarray) and ast.size == 1:
            return _Code(_literal(ast.reshape(-1)[0]))
        if isinstance(ast, ae.ArithmeticStructure | ae.LogicStructure):
            return self._operation(ast, context)
        if isinstance(ast, ae.ReferenceStructure):
            return self._reference(ast, context)
        if isinstance(ast, ae.CallStructure):
            return self._call(ast, context)
        if isinstance(ast, ae.InlineLookupsStructure):
            argument = self._expr(ast.argument, context)
            table, mode = self._table(ast.lookups)
            return argument.wrap(f"rt.lookup({{}}, T{table}x, T{table}y, {mode})")
        if isinstance(ast, ae.GameStructure):
            return self._expr(ast.expression, context)
        if isinstance(ast, ae.InitialStructure):
            inner = self._expr(ast.initial, context)
            return _Code(inner.init, inner.init, inner.deps, False, init_only=True)
        if isinstance(ast, ae.SmoothStructure | ae.SmoothNStructure):
            return self._smooth(ast, context)
        if isinstance(ast, ae.DelayStructure | ae.DelayNStructure):
            return self._delay(ast, context)
        if isinstance(ast, ae.DelayFixedStructure):
            return self._delay_fixed(ast, context)
        if isinstance(ast, ae.TrendStructure):
            return self._trend(ast, context)
        if isinstance(ast, ae.ForecastStructure):
            return self._forecast(ast, context)
        if isinstance(ast, ae.SampleIfTrueStructure):
            return self._sample_if_true(ast, context)
        if isinstance(ast, ae.IntegStructure):
            raise self._unsupported("INTEG inside an expression")
        raise self._unsupported(f"the construct {type(ast).__name__}")

    def _operation(self, ast, context) -> _Code:
        # The same string PySD's OperationBuilder writes, so Python's precedence gives the
        # same result (e.g. -2^2 is -(2**2), as in PySD).
        arguments = [self._expr(a, context) for a in ast.arguments]
        operators = list(ast.operators)
        for operator in operators:
            if operator not in OPERATORS:
                raise self._unsupported(f"the operator {operator!r}")
        order = OPERATORS[operators[-1]][1]
        arguments[-1] = arguments[-1].lower(2 if operators[-1] == "^" else order)
        if len(arguments) == 1:
            if operators[0] == "negative":
                return arguments[0].wrap("-{}", order=1)
            if operators[0] == ":NOT:":
                return arguments[0].wrap("(not bool({}))")
            raise self._unsupported(f"the unary operator {operators[0]!r}")
        right = arguments[-1]
        for index in range(len(operators) - 1, -1, -1):
            left = arguments[index].lower(order)
            right = _Code.combine(OPERATORS[operators[index]][0], left, right, order)
        return right

    def _reference(self, ast: ae.ReferenceStructure, context) -> _Code:
        reference = ast.reference
        if reference == "time":
            return _Code("t", dynamic=True)
        if reference in CONTROLS:
            return _Code(CONTROLS[reference])
        if _clean(reference) not in self.by_clean:
            position = self._subscript_value(reference, context)
            if position is not None:
                return _Code(_literal(position))
        name = self._resolve_name(reference)
        if name.upper() in {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}:
            return _Code(CONTROLS[name.lower().replace(" ", "_")])
        coord = self._coordinate(name, ast.subscripts, context)
        if (name, coord) in self.lookup_tables:
            raise self._unsupported(f"the lookup {name!r} used without an argument")
        if coord not in self.defined.get(name, set()):
            raise self._unsupported(f"the reference to {name}{list(coord)} (not defined)")
        slot = self._slot(name, coord)
        return _Code(f"v[{slot}]", deps={("v", slot)})

    def _subscript_value(self, reference: str, context) -> int | None:
        """A subscript range or element used as a number: its position (from 1) in its
        parent range, as Vensim compares subscripts."""
        range_name = self._range_name(reference.replace("_", " ")) or \
            self._range_name(reference)
        if range_name is not None:
            element = context.get(range_name, context.get(self.main_of[range_name]))
            if element is None:
                raise self._unsupported(f"the subscript range {range_name!r} used as a value "
                                        "outside an equation over it")
            return self.ranges[self.main_of[range_name]].index(element) + 1
        for name, elements in self.ranges.items():
            if self.main_of[name] != name:
                continue
            for index, element in enumerate(elements):
                if _clean(element) == _clean(reference):
                    return index + 1
        return None

    def _resolve_name(self, reference: str) -> str:
        if reference in self.by_ref:
            return self.by_ref[reference]
        name = self.by_clean.get(_clean(reference))
        if name is None:
            raise self._unsupported(f"the unknown reference {reference!r}")
        return name

    def _coordinate(self, name: str, subscripts, context) -> tuple:
        dims = self.dims.get(name, [])
        names = list(getattr(subscripts, "subscripts", []) or [])
        if len(names) != len(dims):
            raise self._unsupported(f"a reference to {name} with {len(names)} subscripts "
                                    f"where it has {len(dims)}")
        coord = []
        for sub, dim in zip(names, dims, strict=True):
            sub = sub.rstrip("!")
            if sub in self.ranges.get(dim, []):
                coord.append(sub)
                continue
            range_name = self._range_name(sub)
            if range_name is None:
                raise self._unsupported(f"the subscript {sub!r} of {name}")
            if range_name in context:
                coord.append(context[range_name])
            elif self.main_of[range_name] in context and \
                    context[self.main_of[range_name]] in self.ranges[range_name]:
                coord.append(context[self.main_of[range_name]])
            elif range_name in self.mappings or self.mappings:
                raise self._unsupported("subscript mappings")
            else:
                raise self._unsupported(f"the subscript range {range_name!r} in a reference "
                                        f"to {name} outside an equation over it")
        return tuple(coord)

    def _call(self, ast: ae.CallStructure, context) -> _Code:
        function = ast.function.reference if isinstance(ast.function,
                                                        ae.ReferenceStructure) else ""
        if function in AGGREGATES:
            return self._aggregate(function, ast.arguments[0], context)
        if function == "elmcount":
            argument = ast.arguments[0]
            range_name = self._range_name(getattr(argument, "reference", "").replace("_", " "))
            if range_name is None:
                raise self._unsupported("ELMCOUNT of something other than a subscript range")
            return _Code(_literal(len(self.ranges[range_name])))
        lookup = self.by_clean.get(_clean(function)) if function not in MATH_1 else None
        if lookup is not None and self.dims.get(lookup) is not None and any(
                key[0] == lookup for key in self.lookup_tables):
            coord = self._coordinate(lookup, ast.function.subscripts, context)
            table, mode = self.lookup_tables[(lookup, coord)]
            argument = self._expr(ast.arguments[0], context)
            return argument.wrap(f"rt.lookup({{}}, T{table}x, T{table}y, {mode})")
        args = [self._expr(a, context) for a in ast.arguments]
        if function in MATH_1:
            return args[0].wrap(f"{MATH_1[function]}({{}})")
        simple = {"min": "min", "max": "max", "zidz": "rt.zidz", "xidz": "rt.xidz",
                  "modulo": "rt.modulo", "quantum": "rt.quantum", "log": "rt.log_base",
                  "power": None}
        if function in simple:
            if function == "power":
                return _Code.call("rt.power", args)
            return _Code.call(simple[function], args)
        if function == "if_then_else":
            condition, yes, no = args
            return _Code.ternary(condition, yes, no)
        if function == "pi":
            return _Code("math.pi")
        time = _Code("t", dynamic=True)
        step = _Code("dt")
        if function == "step":
            return _Code.call("rt.step", [time, step, args[0], args[1]])
        if function == "ramp":
            return _Code.call("rt.ramp", [time, *args[:3]])
        if function == "Xramp":
            return _Code.call("rt.ramp_open", [time, *args[:2]])
        if function == "pulse":
            return _Code.call("rt.pulse", [time, step, args[0], _Code("0.0"), args[1],
                                           _Code("0.0"), _Code("0.0"), _Code("False"),
                                           _Code("False")])
        if function == "pulse_train":
            return _Code.call("rt.pulse", [time, step, args[0], args[1], args[2], _Code("0.0"),
                                           args[3], _Code("False"), _Code("True")])
        if function == "active_initial":
            expression, initial = args
            # Dynamic always: its value at the first saved time is the expression's.
            return _Code(initial.init, expression.step, expression.deps | initial.deps, True)
        raise self._unsupported(f"the function {function.upper() or type(ast.function)}")

    def _aggregate(self, function: str, argument, context) -> _Code:
        free = sorted(_bang_subscripts(argument))
        if not free:
            raise self._unsupported(f"{function.upper()} without a ! subscript")
        ranges = [self._range_name(f) for f in free]
        if None in ranges:
            raise self._unsupported(f"{function.upper()} over {free}")
        terms = []
        for elements in itertools.product(*(self.ranges[r] for r in ranges)):
            inner = dict(context)
            for range_name, element in zip(ranges, elements, strict=True):
                inner[range_name] = element
            for range_name, element in zip(ranges, elements, strict=True):
                # The parent range only where the equation's own subscripts do not name it.
                if self.main_of[range_name] not in context:
                    inner[self.main_of[range_name]] = element
            terms.append(self._expr(argument, inner))
        operator = AGGREGATES[function]
        if operator in ("min", "max"):
            return _Code.call(operator, terms) if len(terms) > 1 else terms[0]
        total = terms[0].lower(3)
        for term in terms[1:]:
            total = _Code.combine("{left} " + operator + " {right}", total, term.lower(2), 2)
        return total.wrap("({})")

    # ------------------------------------------------------------------ statefuls
    def _order(self, order, what: str) -> int:
        value = self._literal_value(order)
        if value is None:  # PySD fixes the order at initialisation
            value = self._static_value(self._expr(order, {}))
        if value != int(value) or value < 1:
            raise self._unsupported(f"{what} whose order is not a positive whole constant")
        return int(value)

    def _literal_value(self, ast) -> float | None:
        """A number written in the model, directly or as a constant it names."""
        if _is_number(ast):
            return float(ast)
        if isinstance(ast, ae.ReferenceStructure) and not getattr(ast.subscripts,
                                                                   "subscripts", None):
            element = self.elements.get(self.by_ref.get(ast.reference, ""))
            if element is not None and len(element.components) == 1:
                return self._literal_value(element.components[0].ast)
        return None

    def _static_value(self, code: _Code) -> float:
        """Value of an expression at the initial time, from the defaults (delay times)."""
        if any(key[0] == "x" for key in code.deps):
            raise self._unsupported("a delay time that depends on a stock")
        from sd_runner.engine import runtime

        nodes = {node.target: node for node in self.nodes}
        values: dict[int, float] = {}
        namespace = {"c": self.constant_values, "math": math, "rt": runtime, "v": values,
                     "t0": self.controls["INITIAL TIME"], "dt": self.controls["TIME STEP"],
                     "t": self.controls["INITIAL TIME"],
                     "tf": self.controls["FINAL TIME"], "saveper": self.controls["SAVEPER"]}

        def need(deps):
            for kind, index in sorted(deps):
                if kind == "v" and f"v[{index}]" not in nodes:
                    self._compile_variable(self.slots[index][0])
                    nodes.update({n.target: n for n in self.nodes})
                node = nodes.get(f"v[{index}]")
                if kind != "v" or node is None or any(k[0] == "x" for k in node.deps):
                    raise self._unsupported("a delay time that depends on a stock")
                if index not in values:
                    need(node.deps)
                    values[index] = eval(node.init_code, namespace)  # noqa: S307

        need(code.deps)
        return float(eval(code.init, namespace))  # noqa: S307 - the compiler's own code

    def _smooth(self, ast, context) -> _Code:
        order = self._order(ast.order, "SMOOTH")
        source = self._expr(ast.input, context)
        time = self._expr(ast.smooth_time, context)
        initial = self._expr(ast.initial, context)
        states = [self._state(f"smooth of {self.current}") for _ in range(order)]
        for position, state in enumerate(states):
            self.state_init[state] = Node(f"x[{state}]", initial.init, initial.init,
                                          initial.deps, True)
            target = source.step if position == 0 else f"x[{states[position - 1]}]"
            deps = source.deps | time.deps
            self.derivatives.append(
                (state, f"(({target}) - x[{state}]) * {order} / ({time.step})", deps))
        last = states[-1]
        return _Code(f"x[{last}]", f"x[{last}]", {("x", last)}, True)

    def _delay(self, ast, context) -> _Code:
        order = self._order(ast.order, "DELAY")
        source = self._expr(ast.input, context)
        time = self._expr(ast.delay_time, context)
        initial = self._expr(ast.initial, context)
        if isinstance(ast, ae.DelayNStructure):
            return self._delay_n(order, source, time, initial)
        if order * self.controls["TIME STEP"] > self._static_value(time):
            # PySD lowers the order (with a warning) and Vensim does not: the two disagree.
            raise self._unsupported("a DELAY whose order x TIME STEP exceeds its delay time")
        states = [self._state(f"delay of {self.current}") for _ in range(order)]
        for position, state in enumerate(states):
            self.state_init[state] = Node(
                f"x[{state}]", f"({initial.init}) * ({time.init})", "",
                initial.deps | time.deps, True)
            inflow = source.step if position == 0 else \
                f"x[{states[position - 1]}] / ({time.step})"
            self.derivatives.append(
                (state, f"(({inflow}) - x[{state}] / ({time.step})) * {order}",
                 source.deps | time.deps))
        last = states[-1]
        return _Code(f"x[{last}] / ({time.init})", f"x[{last}] / ({time.step})",
                     {("x", last)} | time.deps, True)

    def _delay_n(self, order: int, source: _Code, time: _Code, initial: _Code) -> _Code:
        """DELAY N as PySD's DelayN: each stage keeps the delay time it was entered with."""
        if order * self.controls["TIME STEP"] > self._static_value(time):
            raise self._unsupported("a DELAY N whose order x TIME STEP exceeds its delay time")
        states = [self._state(f"delay of {self.current}") for _ in range(order)]
        times = [self._state(f"delay times of {self.current}") for _ in range(order)]
        for position, state in enumerate(states):
            self.state_init[state] = Node(
                f"x[{state}]", f"({initial.init}) * ({time.init})", "",
                initial.deps | time.deps, True)
            self.state_init[times[position]] = Node(f"x[{times[position]}]", time.init, "",
                                                    set(time.deps), True)
        for position in range(order - 1, 0, -1):
            self.pre_derivative.append(f"x[{times[position]}] = x[{times[position - 1]}]")
        self.pre_derivative.append(f"x[{times[0]}] = {time.step}")
        for position, state in enumerate(states):
            inflow = source.step if position == 0 else \
                f"x[{states[position - 1]}] / x[{times[position - 1]}]"
            self.derivatives.append(
                (state, f"(({inflow}) - x[{state}] / x[{times[position]}]) * {order}",
                 source.deps | time.deps))
        return _Code(f"x[{states[-1]}] / x[{times[0]}]", f"x[{states[-1]}] / x[{times[0]}]",
                     {("x", states[-1]), ("x", times[0])}, True)

    def _delay_fixed(self, ast, context) -> _Code:
        source = self._expr(ast.input, context)
        time = self._expr(ast.delay_time, context)
        initial = self._expr(ast.initial, context)
        state = self._state(f"fixed delay of {self.current}")
        self.state_init[state] = Node(f"x[{state}]", initial.init, "", initial.deps, True)
        self.buffers.append((state, time, source.step, source.deps))
        return _Code(f"x[{state}]", f"x[{state}]", {("x", state)}, True)

    def _trend(self, ast, context) -> _Code:
        source = self._expr(ast.input, context)
        time = self._expr(ast.average_time, context)
        trend = self._expr(ast.initial_trend, context)
        state = self._state(f"trend of {self.current}")
        self.state_init[state] = Node(
            f"x[{state}]", f"({source.init}) / (1 + ({trend.init}) * ({time.init}))", "",
            source.deps | time.deps | trend.deps, True)
        self.derivatives.append((state, f"(({source.step}) - x[{state}]) / ({time.step})",
                                 source.deps | time.deps))
        return _Code(
            f"rt.zidz(({source.init}) - x[{state}], ({time.init}) * abs(x[{state}]))",
            f"rt.zidz(({source.step}) - x[{state}], ({time.step}) * abs(x[{state}]))",
            {("x", state)} | source.deps | time.deps, True)

    def _forecast(self, ast, context) -> _Code:
        source = self._expr(ast.input, context)
        time = self._expr(ast.average_time, context)
        horizon = self._expr(ast.horizon, context)
        trend = self._expr(ast.initial_trend, context)
        state = self._state(f"forecast of {self.current}")
        self.state_init[state] = Node(f"x[{state}]", f"({source.init}) / (1 + ({trend.init}))",
                                      "", source.deps | trend.deps, True)
        self.derivatives.append((state, f"(({source.step}) - x[{state}]) / ({time.step})",
                                 source.deps | time.deps))

        def output(s, a, h):
            return f"({s}) * (1 + rt.zidz(({s}) - x[{state}], ({a}) * x[{state}]) * ({h}))"

        return _Code(output(source.init, time.init, horizon.init),
                     output(source.step, time.step, horizon.step),
                     {("x", state)} | source.deps | time.deps | horizon.deps, True)

    def _sample_if_true(self, ast, context) -> _Code:
        condition = self._expr(ast.condition, context)
        source = self._expr(ast.input, context)
        initial = self._expr(ast.initial, context)
        state = self._state(f"sample of {self.current}")
        self.state_init[state] = Node(f"x[{state}]", initial.init, "", initial.deps, True)
        self.discrete.append((state, f"(({source.step}) if ({condition.step}) else x[{state}])",
                              source.deps | condition.deps))

        def output(s, c):
            return f"(({s}) if ({c}) else x[{state}])"

        return _Code(output(source.init, condition.init), output(source.step, condition.step),
                     {("x", state)} | source.deps | condition.deps, True)

    # ------------------------------------------------------------------ emission
    def _emit(self) -> CompiledModel:
        for check in self.deferred:
            check()
        self.buffers = [
            (state, round(max(self._static_value(time) / self.controls["TIME STEP"], 1) + 1e-6),
             code, deps)
            for state, time, code, deps in self.buffers]
        self.current = ""
        by_target = {node.target: node for node in self.nodes}
        for slot, key in enumerate(self.slots):
            if f"v[{slot}]" not in by_target:
                raise UnsupportedModelError(
                    f"{self.source_name}: {key[0]}{list(key[1])} is used but never defined")
        # Which values change during the run.
        # Sorted predecessors: the generated source, and so its cache key, must not depend on
        # the hash seed of the process that compiles it.
        graph = {node.target: sorted({_target(d) for d in node.deps}) for node in self.nodes}
        for state, node in self.state_init.items():
            graph[f"x[{state}]"] = sorted({_target(d) for d in node.deps})
        try:
            init_order = list(TopologicalSorter(graph).static_order())
        except CycleError as exc:
            raise UnsupportedModelError(
                f"{self.source_name}: circular initialisation through "
                f"{self._describe(exc.args[1])}; the fast engine cannot order it, "
                "run this model with --engine pysd") from None
        dynamic: set[str] = set()
        for target in init_order:
            node = by_target.get(target)
            if node is None:
                continue
            if node.init_only:
                continue
            if node.dynamic or any(_target(d) in dynamic or d[0] == "x" for d in node.deps):
                dynamic.add(target)
        step_graph = {
            node.target: sorted({_target(d) for d in node.deps if d[0] == "v"})
            for node in self.nodes if node.target in dynamic
        }
        try:
            step_order = [t for t in TopologicalSorter(step_graph).static_order()
                          if t in dynamic]
        except CycleError as exc:
            raise UnsupportedModelError(
                f"{self.source_name}: simultaneous equations (a loop without a stock) through "
                f"{self._describe(exc.args[1])}; run this model with --engine pysd") from None
        lines = [
            "import math",
            "import numpy as np",
            "from numba import njit",
            "from sd_runner.engine import runtime as rt",
            "",
        ]
        for index, (xs, ys) in enumerate(self.tables):
            lines.append(f"T{index}x = np.array({xs.tolist()!r})")
            lines.append(f"T{index}y = np.array({ys.tolist()!r})")
        n_v, n_x = len(self.slots), len(self.states)
        init_statements = []
        for target in init_order:
            if target in by_target:
                init_statements.append(f"{target} = {by_target[target].init_code}")
            elif target.startswith("x["):
                state_node = self.state_init[int(target[2:-1])]
                init_statements.append(f"{target} = {state_node.init_code}")
        step_statements = [f"{t} = {by_target[t].step_code}" for t in step_order]
        derivative_statements = list(self.pre_derivative) + [
            f"d[{state}] = {code}" for state, code, _deps in self.derivatives]
        # Several small functions compile much faster than one huge one.
        helpers, init_calls = _chunks("init", init_statements)
        more, step_calls = _chunks("step", step_statements)
        helpers += more
        more, derivative_calls = _chunks("derivatives", derivative_statements)
        helpers += more
        body = [
            "@njit(cache=True, nogil=True, error_model='numpy')",
            "def run_batch(consts, t0, dt, tf, saveper, n_steps, save_steps, out_slots, out):",
            "    for m in range(consts.shape[0]):",
            "        c = consts[m]",
            f"        v = np.empty({max(n_v, 1)})",
            f"        x = np.zeros({max(n_x, 1)})",
            f"        d = np.zeros({max(n_x, 1)})",
            "        t = t0",
        ]
        for index, (_state, length, _code, _deps) in enumerate(self.buffers):
            body.append(f"        buf{index} = np.empty({length})")
            body.append(f"        ptr{index} = 0")
        body += [f"        {call}" for call in init_calls]
        for index, (state, _length, _code, _deps) in enumerate(self.buffers):
            body.append(f"        buf{index}[:] = x[{state}]")
        body += ["        saved = 0", "        for step in range(n_steps + 1):"]
        body += [f"            {call}" for call in step_calls]
        body += [
            "            if save_steps[step]:",
            "                for k in range(out_slots.shape[0]):",
            "                    out[m, saved, k] = v[out_slots[k]]",
            "                saved += 1",
            "            if step == n_steps:",
            "                break",
        ]
        body += [f"            {call}" for call in derivative_calls]
        temporaries = []
        for number, (state, code, _deps) in enumerate(self.discrete):
            body.append(f"            s{number} = {code}")
            temporaries.append((state, f"s{number}"))
        for index, (_state, _length, code, _deps) in enumerate(self.buffers):
            body.append(f"            b{index} = {code}")
        # States that are not integrated keep a zero derivative.
        body += [f"            for j in range({max(n_x, 1)}):",
                 "                x[j] = x[j] + d[j] * dt"]
        for state in self.clamps:
            body.append(f"            x[{state}] = max(x[{state}], 0.0)")
        for state, name in temporaries:
            body.append(f"            x[{state}] = {name}")
        for index, (state, length, _code, _deps) in enumerate(self.buffers):
            body += [
                f"            buf{index}[ptr{index}] = b{index}",
                f"            ptr{index} = (ptr{index} + 1) % {length}",
                f"            x[{state}] = buf{index}[ptr{index}]",
            ]
        body.append("            t = t + dt")
        lines += helpers
        source = "\n".join(lines + [""] + body) + "\n"
        return CompiledModel(
            source=source,
            slots=list(self.slots),
            constants=dict(self.constants),
            constant_defaults=np.asarray(self.constant_values, dtype=float),
            dims=dict(self.dims),
            ranges=dict(self.ranges),
            controls=dict(self.controls),
            equations={int(t[2:-1]): by_target[t].step_code for t in step_order},
            derivatives={state: code for state, code, _deps in self.derivatives},
            plain_states=not (self.pre_derivative or self.discrete or self.buffers
                              or self.clamps),
        )

    def _describe(self, cycle) -> str:
        names = []
        for target in cycle:
            if target.startswith("v["):
                name, coord = self.slots[int(target[2:-1])]
                names.append(f"{name}{list(coord) if coord else ''}")
        return " -> ".join(dict.fromkeys(names)) or "stock initial values"


@dataclass
class _Code:
    init: str
    step: str | None = None
    deps: set = field(default_factory=set)
    dynamic: bool = False
    init_only: bool = False
    order: int = 0  # PySD's operator order of the expression; 0 = atom or call

    def __post_init__(self):
        if self.step is None:
            self.step = self.init

    def wrap(self, template: str, order: int = 0) -> _Code:
        return _Code(template.format(self.init), template.format(self.step), set(self.deps),
                     self.dynamic, order=order)

    def lower(self, new_order: int) -> _Code:
        """Parenthesise as PySD's builder does when operator orders conflict."""
        if self.order >= new_order and self.order != 0 and new_order != 0:
            return _Code(f"({self.init})", f"({self.step})", set(self.deps), self.dynamic,
                         self.init_only, 0)
        return self

    @staticmethod
    def combine(template: str, left: _Code, right: _Code, order: int) -> _Code:
        return _Code(template.format(left=left.init, right=right.init),
                     template.format(left=left.step, right=right.step),
                     left.deps | right.deps, left.dynamic or right.dynamic, order=order)

    @staticmethod
    def call(function: str, args: list[_Code]) -> _Code:
        deps = set().union(*(a.deps for a in args)) if args else set()
        return _Code(f"{function}({', '.join(a.init for a in args)})",
                     f"{function}({', '.join(a.step for a in args)})",
                     deps, any(a.dynamic for a in args))

    @staticmethod
    def ternary(condition: _Code, yes: _Code, no: _Code) -> _Code:
        return _Code(f"(({yes.init}) if ({condition.init}) else ({no.init}))",
                     f"(({yes.step}) if ({condition.step}) else ({no.step}))",
                     condition.deps | yes.deps | no.deps,
                     condition.dynamic or yes.dynamic or no.dynamic)


CHUNK = 100  # statements per compiled helper function
ARGUMENTS = "v, x, d, c, t, t0, dt, tf, saveper"


def _chunks(kind: str, statements: list[str]) -> tuple[list[str], list[str]]:
    """Helper functions of at most CHUNK statements each, and the calls to them in order."""
    helpers, calls = [], []
    for number, first in enumerate(range(0, len(statements), CHUNK)):
        name = f"_{kind}_{number}"
        helpers += ["", "@njit(cache=True, nogil=True, error_model='numpy')",
                    f"def {name}({ARGUMENTS}):"]
        helpers += [f"    {statement}" for statement in statements[first:first + CHUNK]]
        calls.append(f"{name}({ARGUMENTS})")
    return helpers, calls


def _target(key: tuple[str, int]) -> str:
    return f"{key[0]}[{key[1]}]"


def _literal(value) -> str:
    value = float(value)
    if math.isnan(value):
        return "math.nan"
    if math.isinf(value):
        return "math.inf" if value > 0 else "(-math.inf)"
    return repr(value)


def _is_number(value) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _bang_subscripts(ast) -> set[str]:
    found = set()
    if isinstance(ast, ae.ReferenceStructure):
        for sub in getattr(ast.subscripts, "subscripts", []) or []:
            if sub.endswith("!"):
                found.add(sub[:-1])
        return found
    for value in getattr(ast, "__dict__", {}).values():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, ae.AbstractSyntax):
                found |= _bang_subscripts(item)
    return found


def compile_mdl(path: str | Path) -> CompiledModel:
    """Parse ``path`` with PySD's Vensim translator and compile it.

    Raises
    ------
    UnsupportedModelError
        For a construct the engine does not compile, naming it and where.
    """
    path = Path(path)
    try:
        vensim = VensimFile(path)
        vensim.parse()
        abstract = vensim.get_abstract_model()
    except Exception as exc:  # noqa: BLE001 - PySD raises many types for bad models
        raise InputError(f"{path}: PySD cannot parse this model ({exc})") from None
    return compile_abstract(abstract, path.name)


def compile_abstract(abstract: am.AbstractModel, source_name: str) -> CompiledModel:
    """Compile PySD's abstract model of a ``.mdl`` (named ``source_name`` in messages), for
    example one that :mod:`sd_runner.engine.cuts` has rewritten."""
    return _Compiler(abstract, source_name).compile()
