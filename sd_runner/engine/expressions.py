"""The compiler's translation of an expression into Python text (part of its compiler).

Each method turns a node of PySD's abstract syntax into a :class:`Code`: the same text PySD's
builder writes, so that Python's precedence gives the same numbers in both engines.
"""

from __future__ import annotations

import itertools

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from sd_runner.engine.structures import Code, is_number, literal
from sd_runner.model.mdl_text import clean_name

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
AGGREGATES = {"sum": "+", "prod": "*", "vmin": "min", "vmax": "max"}


class Expressions:
    """Expressions of :class:`sd_runner.engine.compiler.Compiler`, which mixes this in and
    supplies the subscripts, names and slots these methods read."""

    def _expr(self, ast, context) -> Code:
        if is_number(ast):
            return Code(literal(ast))
        if isinstance(ast, np.ndarray) and ast.size == 1:
            return Code(literal(ast.reshape(-1)[0]))
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
            return Code(inner.init, inner.init, inner.deps, False, init_only=True)
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

    def _operation(self, ast, context) -> Code:
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
            right = Code.combine(OPERATORS[operators[index]][0], left, right, order)
        return right

    def _reference(self, ast: ae.ReferenceStructure, context) -> Code:
        reference = ast.reference
        if reference == "time":
            return Code("t", dynamic=True)
        if reference in CONTROLS:
            return Code(CONTROLS[reference])
        if clean_name(reference) not in self.by_clean:
            position = self._subscript_value(reference, context)
            if position is not None:
                return Code(literal(position))
        name = self._resolve_name(reference)
        if name.upper() in {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}:
            return Code(CONTROLS[name.lower().replace(" ", "_")])
        coord = self._coordinate(name, ast.subscripts, context)
        if (name, coord) in self.lookup_tables:
            raise self._unsupported(f"the lookup {name!r} used without an argument")
        if coord not in self.defined.get(name, set()):
            raise self._unsupported(f"the reference to {name}{list(coord)} (not defined)")
        slot = self._slot(name, coord)
        return Code(f"v[{slot}]", deps={("v", slot)})

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
                if clean_name(element) == clean_name(reference):
                    return index + 1
        return None

    def _resolve_name(self, reference: str) -> str:
        if reference in self.by_ref:
            return self.by_ref[reference]
        name = self.by_clean.get(clean_name(reference))
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

    def _call(self, ast: ae.CallStructure, context) -> Code:
        function = ast.function.reference if isinstance(ast.function,
                                                        ae.ReferenceStructure) else ""
        if function in AGGREGATES:
            return self._aggregate(function, ast.arguments[0], context)
        if function == "elmcount":
            argument = ast.arguments[0]
            range_name = self._range_name(getattr(argument, "reference", "").replace("_", " "))
            if range_name is None:
                raise self._unsupported("ELMCOUNT of something other than a subscript range")
            return Code(literal(len(self.ranges[range_name])))
        lookup = self.by_clean.get(clean_name(function)) if function not in MATH_1 else None
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
                return Code.call("rt.power", args)
            return Code.call(simple[function], args)
        if function == "if_then_else":
            condition, yes, no = args
            return Code.ternary(condition, yes, no)
        if function == "pi":
            return Code("math.pi")
        time = Code("t", dynamic=True)
        step = Code("dt")
        if function == "step":
            return Code.call("rt.step", [time, step, args[0], args[1]])
        if function == "ramp":
            return Code.call("rt.ramp", [time, *args[:3]])
        if function == "Xramp":
            return Code.call("rt.ramp_open", [time, *args[:2]])
        if function == "pulse":
            return Code.call("rt.pulse", [time, step, args[0], Code("0.0"), args[1],
                                           Code("0.0"), Code("0.0"), Code("False"),
                                           Code("False")])
        if function == "pulse_train":
            return Code.call("rt.pulse", [time, step, args[0], args[1], args[2], Code("0.0"),
                                           args[3], Code("False"), Code("True")])
        if function == "active_initial":
            expression, initial = args
            # Dynamic always: its value at the first saved time is the expression's.
            return Code(initial.init, expression.step, expression.deps | initial.deps, True)
        raise self._unsupported(f"the function {function.upper() or type(ast.function)}")

    def _aggregate(self, function: str, argument, context) -> Code:
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
            return Code.call(operator, terms) if len(terms) > 1 else terms[0]
        total = terms[0].lower(3)
        for term in terms[1:]:
            total = Code.combine("{left} " + operator + " {right}", total, term.lower(2), 2)
        return total.wrap("({})")


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

