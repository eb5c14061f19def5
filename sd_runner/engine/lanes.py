"""Expressions of the compiled model as LLVM IR over a block of ensemble members.

Every value is a vector of ``WIDTH`` doubles, one lane per member, so each arithmetic
instruction serves ``WIDTH`` members at once (the ensemble axis innermost). The expressions are
the compiler's Python text (:class:`~sd_runner.engine.structures.Program`), read with
:mod:`ast`; each operation keeps the semantics numba gave it in the first edition (Python's
``min``, ``max`` and ``%``, IEEE division without traps, :mod:`~sd_runner.engine.runtime`'s
built-ins), so both editions compute the same numbers.
"""

from __future__ import annotations

import ast
import math

from llvmlite import ir

from sd_runner.engine import vector_exp
from sd_runner.engine.structures import UnsupportedModelError

WIDTH = 4  # members per vector: AVX2's doubles; AVX-512 machines split nothing, still fast
SMALL_VENSIM = 1e-6  # as in runtime.py: PySD's tolerance for zero denominators and times

DOUBLE = ir.DoubleType()
VECTOR = ir.VectorType(DOUBLE, WIDTH)
BOOL = ir.IntType(1)
BOOLS = ir.VectorType(BOOL, WIDTH)
I64 = ir.IntType(64)

#: math.* functions computed by an LLVM instruction for the whole vector.
INTRINSICS = {"sqrt": "llvm.sqrt"}
#: math.* functions of the C library, called lane by lane as numba does.
LIBM = {"exp", "log", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh"}
COMPARISONS = {ast.Lt: "<", ast.Gt: ">", ast.LtE: "<=", ast.GtE: ">=", ast.Eq: "==",
               ast.NotEq: "!="}


def _pure(function: ir.Function) -> ir.Function:
    """Declared free of side effects (the C library's maths, with errno unused), so that LLVM
    computes a call repeated with the same arguments once."""
    function.attributes.add("nounwind")
    function.attributes.add("readnone")
    return function


def broadcast(builder: ir.IRBuilder, value: ir.Value) -> ir.Value:
    """A scalar, or lane 0 of a vector, in every lane."""
    if value.type == DOUBLE:
        value = builder.insert_element(ir.Constant(VECTOR, ir.Undefined), value,
                                       ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(value, ir.Constant(VECTOR, ir.Undefined),
                                  ir.Constant(ir.VectorType(ir.IntType(32), WIDTH), [0] * WIDTH))


def splat(value: float) -> ir.Constant:
    return ir.Constant(VECTOR, [float(value)] * WIDTH)


class Lanes:
    """Writes the IR of expressions into ``builder``; ``read`` gives a name's vector.

    Parameters
    ----------
    builder : llvmlite.ir.IRBuilder
    read : callable
        ``read(array, index)`` -> the vector of ``v``, ``x``, ``d`` or ``c`` element
        ``index``; ``read(name, None)`` -> the vector of ``t``, ``t0``, ``dt``, ``tf`` or
        ``saveper``.
    tables : list of (numpy.ndarray, numpy.ndarray, GlobalVariable, GlobalVariable,
    GlobalVariable)
        Each table's abscissae and ordinates, as numbers and as constant globals, and the
        slopes of its segments as a constant global.
    """

    def __init__(self, builder: ir.IRBuilder, read, tables: list):
        self.b = builder
        self.read = read
        self.tables = tables
        self.module = builder.module
        self.known: dict[str, ir.Value] = {}

    # ------------------------------------------------------------------ entry
    def value(self, text: str) -> ir.Value:
        """The vector of doubles of the expression ``text``."""
        return self.number(self.expression(ast.parse(text, mode="eval").body))

    def expression(self, node: ast.AST) -> ir.Value:
        """A vector of doubles, or of booleans for comparisons and ``bool()``."""
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.unsupported(node)
        if not (isinstance(node, ast.Call)
                or isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)):
            return method(node)
        # A call made again with the same arguments (the model's equations repeat some, as
        # x ** y in four elements) is the first call's value: LLVM cannot merge calls that
        # sit in branches of their own.
        key = ast.dump(node)
        if key not in self.known:
            self.known[key] = method(node)
        return self.known[key]

    def forget(self) -> None:
        """Forget the calls made so far: what they read may change from here on."""
        self.known = {}

    def unsupported(self, node: ast.AST) -> UnsupportedModelError:
        return UnsupportedModelError(f"the native kernel cannot compile {ast.unparse(node)!r}")

    # ------------------------------------------------------------------ conversions
    def number(self, value: ir.Value) -> ir.Value:
        if value.type == BOOLS:
            return self.b.uitofp(value, VECTOR)
        return value

    def truth(self, value: ir.Value) -> ir.Value:
        """Python's truth of a double: anything but zero (NaN is true)."""
        if value.type == BOOLS:
            return value
        return self.b.fcmp_unordered("!=", value, splat(0.0))

    # ------------------------------------------------------------------ atoms
    def _Constant(self, node: ast.Constant) -> ir.Value:
        if isinstance(node.value, bool):
            return ir.Constant(BOOLS, [int(node.value)] * WIDTH)
        if isinstance(node.value, int | float):
            return splat(node.value)
        raise self.unsupported(node)

    def _Name(self, node: ast.Name) -> ir.Value:
        if node.id in ("t", "t0", "dt", "tf", "saveper"):
            return self.read(node.id, None)
        raise self.unsupported(node)

    def _Attribute(self, node: ast.Attribute) -> ir.Value:
        if isinstance(node.value, ast.Name) and node.value.id == "math" \
                and node.attr in ("pi", "e", "inf", "nan"):
            return splat(getattr(math, node.attr))
        raise self.unsupported(node)

    def _Subscript(self, node: ast.Subscript) -> ir.Value:
        if isinstance(node.value, ast.Name) and node.value.id in "vxdc" \
                and isinstance(node.slice, ast.Constant):
            return self.read(node.value.id, node.slice.value)
        raise self.unsupported(node)

    # ------------------------------------------------------------------ operators
    def _BinOp(self, node: ast.BinOp) -> ir.Value:
        left = self.number(self.expression(node.left))
        right = self.number(self.expression(node.right))
        operator = type(node.op)
        if operator is ast.Add:
            return self.b.fadd(left, right)
        if operator is ast.Sub:
            return self.b.fsub(left, right)
        if operator is ast.Mult:
            return self.b.fmul(left, right)
        if operator is ast.Div:
            return self.b.fdiv(left, right)
        if operator is ast.Pow:
            return self.math("pow", [left, right])
        if operator is ast.Mod:
            return self.python_mod(left, right)
        raise self.unsupported(node)

    def python_mod(self, left: ir.Value, right: ir.Value) -> ir.Value:
        """Python's float ``%``: the remainder takes the sign of the divisor."""
        remainder = self.b.frem(left, right)
        nonzero = self.b.fcmp_ordered("!=", remainder, splat(0.0))
        signs_differ = self.b.xor(self.b.fcmp_ordered("<", remainder, splat(0.0)),
                                  self.b.fcmp_ordered("<", right, splat(0.0)))
        adjusted = self.b.select(self.b.and_(nonzero, signs_differ),
                                 self.b.fadd(remainder, right), remainder)
        # A zero remainder takes the divisor's sign, as Python's copysign(0.0, right).
        zero = self.intrinsic("llvm.copysign", splat(0.0), right)
        return self.b.select(self.b.fcmp_ordered("==", remainder, splat(0.0)), zero, adjusted)

    def _UnaryOp(self, node: ast.UnaryOp) -> ir.Value:
        operand = self.expression(node.operand)
        if isinstance(node.op, ast.USub):
            return self.b.fneg(self.number(operand))
        if isinstance(node.op, ast.UAdd):
            return self.number(operand)
        if isinstance(node.op, ast.Not):
            return self.b.not_(self.truth(operand))
        raise self.unsupported(node)

    def _Compare(self, node: ast.Compare) -> ir.Value:
        result = None
        left = self.number(self.expression(node.left))
        for operator, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.number(self.expression(comparator))
            symbol = COMPARISONS.get(type(operator))
            if symbol is None:
                raise self.unsupported(node)
            # Python's != is true for NaN; every other comparison with NaN is false.
            test = (self.b.fcmp_unordered(symbol, left, right) if symbol == "!="
                    else self.b.fcmp_ordered(symbol, left, right))
            result = test if result is None else self.b.and_(result, test)
            left = right
        return result

    def _BoolOp(self, node: ast.BoolOp) -> ir.Value:
        values = [self.expression(v) for v in node.values]
        if any(v.type != BOOLS for v in values):  # Python would return an operand itself
            raise self.unsupported(node)
        combine = self.b.and_ if isinstance(node.op, ast.And) else self.b.or_
        result = values[0]
        for value in values[1:]:
            result = combine(result, value)
        return result

    def _IfExp(self, node: ast.IfExp) -> ir.Value:
        # Both branches are computed (no traps, no side effects) and one is selected.
        condition = self.truth(self.expression(node.test))
        yes, no = self.expression(node.body), self.expression(node.orelse)
        if yes.type != no.type:
            yes, no = self.number(yes), self.number(no)
        return self.b.select(condition, yes, no)

    # ------------------------------------------------------------------ calls
    def _Call(self, node: ast.Call) -> ir.Value:
        name = ast.unparse(node.func)
        if node.keywords:
            raise self.unsupported(node)
        if name == "rt.lookup":
            return self.table_lookup(node)
        args = [self.expression(a) for a in node.args]
        if name == "bool" and len(args) == 1:
            return self.truth(args[0])
        if name == "float" and len(args) == 1:
            return self.number(args[0])
        args = [self.number(a) for a in args]
        if name == "abs" and len(args) == 1:
            return self.intrinsic("llvm.fabs", *args)
        if name in ("min", "max") and len(args) >= 2:
            return self.extreme(name, args)
        if name.startswith("math."):
            function = name[5:]
            if function in INTRINSICS:
                return self.intrinsic(INTRINSICS[function], *args)
            if function in LIBM:
                return self.math(function, args)
        if name.startswith("rt."):
            method = getattr(self, f"rt_{name[3:]}", None)
            if method is not None:
                return method(*args)
        raise self.unsupported(node)

    def extreme(self, name: str, args: list[ir.Value]) -> ir.Value:
        """Python's ``min``/``max``: keep the first unless a later one is smaller/larger."""
        symbol = "<" if name == "min" else ">"
        best = args[0]
        for arg in args[1:]:
            best = self.b.select(self.b.fcmp_ordered(symbol, arg, best), arg, best)
        return best

    def intrinsic(self, name: str, *args: ir.Value) -> ir.Value:
        """An LLVM intrinsic over the vector (llvmlite declares only scalar ones)."""
        full = f"{name}.v{WIDTH}f64"
        function = self.module.globals.get(full)
        if function is None:
            function = ir.Function(self.module, ir.FunctionType(VECTOR, [VECTOR] * len(args)),
                                   full)
        return self.b.call(function, list(args))

    def math(self, function: str, args: list[ir.Value]) -> ir.Value:
        """The C library's scalar ``function`` of each lane, as numba called it: the first
        edition's numbers to the last bit. ``exp`` is computed for the whole vector by the C
        library's own algorithm (:mod:`.vector_exp`) where this process's C library is one it
        reproduces. (glibc's vector functions, libmvec, would differ by an ulp or so, which
        the model's feedback carries to 3e-11 in flows near zero.) Other functions are called
        once when every lane has the same arguments (a function of time and of constants the
        members share)."""
        scalar = self.module.globals.get(function)
        if scalar is None:
            scalar = _pure(ir.Function(
                self.module, ir.FunctionType(DOUBLE, [DOUBLE] * len(args)), function))
        if function == "exp" and vector_exp.variant() is not None:
            result, computed = vector_exp.exp(self.b, args[0], vector_exp.variant())
            return self.either(computed, lambda: result, lambda: self.each_lane(scalar, args))
        b = self.b
        alike = None
        for arg in args:
            equal = b.fcmp_ordered("==", arg, broadcast(b, arg))
            alike = equal if alike is None else b.and_(alike, equal)
        every = b.icmp_unsigned("==", b.bitcast(alike, ir.IntType(WIDTH)),
                                ir.Constant(ir.IntType(WIDTH), (1 << WIDTH) - 1))
        zero = ir.Constant(ir.IntType(32), 0)
        return self.either(
            every,
            lambda: broadcast(b, b.call(scalar, [b.extract_element(a, zero) for a in args])),
            lambda: self.each_lane(scalar, args))

    def either(self, condition: ir.Value, yes, no) -> ir.Value:
        """``yes()`` if the boolean ``condition`` holds else ``no()``, each written in a
        branch of its own so that only one is computed."""
        b = self.b
        with b.if_else(condition) as (then, otherwise):
            with then:
                first = yes()
                first_block = b.block
            with otherwise:
                second = no()
                second_block = b.block
        merged = b.phi(VECTOR)
        merged.add_incoming(first, first_block)
        merged.add_incoming(second, second_block)
        return merged

    def each_lane(self, scalar: ir.Function, args: list[ir.Value]) -> ir.Value:
        """``scalar`` called on each lane's arguments."""
        result = ir.Constant(VECTOR, ir.Undefined)
        for lane in range(WIDTH):
            index = ir.Constant(ir.IntType(32), lane)
            value = self.b.call(scalar, [self.b.extract_element(a, index) for a in args])
            result = self.b.insert_element(result, value, index)
        return result

    def table_lookup(self, node: ast.Call) -> ir.Value:
        """runtime.lookup for every lane at once: the segment of each lane is the number of
        inner abscissae at or below it (numpy.searchsorted(xs, x, "right") - 1), and the
        arithmetic is numpy.interp's, as in the first edition. A lookup of the same argument
        in every lane (of time, say) is computed once, with the same operations."""
        argument, xs, _ys, mode = node.args
        if not (isinstance(xs, ast.Name) and xs.id.startswith("T") and xs.id.endswith("x")
                and isinstance(mode, ast.Constant)):
            raise self.unsupported(node)
        table = self.tables[int(xs.id[1:-1])]
        x, b = self.number(self.expression(argument)), self.b
        if len(table[0]) == 1:
            return splat(table[1][0])
        alike = b.icmp_unsigned("==", b.bitcast(b.fcmp_ordered("==", x, broadcast(b, x)),
                                                ir.IntType(WIDTH)),
                                ir.Constant(ir.IntType(WIDTH), (1 << WIDTH) - 1))
        lane_zero = ir.Constant(ir.IntType(32), 0)
        return self.either(
            alike,
            lambda: broadcast(b, self.interpolate(b.extract_element(x, lane_zero), table,
                                                  mode.value, vector=False)),
            lambda: self.interpolate(x, table, mode.value, vector=True))

    def interpolate(self, x: ir.Value, table: tuple, mode: int, vector: bool) -> ir.Value:
        """The lookup of ``x``, a vector or (``vector`` false) one double."""
        abscissae, ordinates, xs_table, ys_table, slopes_table = table
        b = self.b
        ints = ir.VectorType(I64, WIDTH) if vector else I64

        def constant(value: float) -> ir.Constant:
            return splat(value) if vector else ir.Constant(DOUBLE, float(value))

        def fetch(table: ir.GlobalVariable, shift: int) -> ir.Value:
            if vector:
                return self.gather(table, count, shift)
            return b.load(b.gep(table, [ir.Constant(I64, 0),
                                        b.add(count, ir.Constant(I64, shift))]))

        count = ir.Constant(ints, [0] * WIDTH) if vector else ir.Constant(I64, 0)
        for inner in abscissae[1:-1]:
            count = b.add(count, b.zext(b.fcmp_ordered("<=", constant(inner), x), ints))
        x0, y0 = fetch(xs_table, 0), fetch(ys_table, 0)
        inside = b.fadd(b.fmul(fetch(slopes_table, 0), b.fsub(x, x0)), y0)
        if mode == 2:
            inside = y0
        else:
            inside = b.select(b.fcmp_ordered("==", x0, x), y0, inside)
        first, last = constant(abscissae[0]), constant(abscissae[-1])
        low, high = constant(ordinates[0]), constant(ordinates[-1])
        if mode == 1:
            below = (ordinates[1] - ordinates[0]) / (abscissae[1] - abscissae[0])
            above = (ordinates[-1] - ordinates[-2]) / (abscissae[-1] - abscissae[-2])
            low = b.select(b.fcmp_ordered("<", x, first),
                           b.fadd(low, b.fmul(constant(below), b.fsub(x, first))), low)
            high = b.select(b.fcmp_ordered(">", x, last),
                            b.fadd(high, b.fmul(constant(above), b.fsub(x, last))), high)
        result = b.select(b.fcmp_ordered(">=", x, last), high, inside)
        return b.select(b.fcmp_ordered("<=", x, first), low, result)

    def gather(self, table: ir.GlobalVariable, index: ir.Value, shift: int) -> ir.Value:
        """``table[index + shift]`` lane by lane."""
        result = ir.Constant(VECTOR, ir.Undefined)
        for lane in range(WIDTH):
            at = ir.Constant(ir.IntType(32), lane)
            position = self.b.add(self.b.extract_element(index, at), ir.Constant(I64, shift))
            element = self.b.load(self.b.gep(table, [ir.Constant(I64, 0), position]))
            result = self.b.insert_element(result, element, at)
        return result

    # ------------------------------------------------------------------ runtime.py
    def _below_small(self, value: ir.Value) -> ir.Value:
        return self.b.fcmp_ordered("<", self.intrinsic("llvm.fabs", value), splat(SMALL_VENSIM))

    def rt_zidz(self, numerator, denominator):
        return self.b.select(self._below_small(denominator), splat(0.0),
                             self.b.fdiv(numerator, denominator))

    def rt_xidz(self, numerator, denominator, fallback):
        return self.b.select(self._below_small(denominator), fallback,
                             self.b.fdiv(numerator, denominator))

    def rt_step(self, t, dt, value, start):
        after = self.b.fcmp_ordered(">", self.b.fadd(t, self.b.fdiv(dt, splat(2.0))), start)
        return self.b.select(after, value, splat(0.0))

    def _started(self, t, start):
        return self.b.fcmp_ordered(">", self.b.fadd(t, splat(SMALL_VENSIM)), start)

    def rt_ramp(self, t, slope, start, finish):
        final = self.extreme("min", [finish, t])
        return self.b.select(self._started(t, start),
                             self.b.fmul(slope, self.b.fsub(final, start)), splat(0.0))

    def rt_ramp_open(self, t, slope, start):
        return self.b.select(self._started(t, start),
                             self.b.fmul(slope, self.b.fsub(t, start)), splat(0.0))

    def rt_integer(self, value):
        return self.intrinsic("llvm.trunc", value)

    def rt_quantum(self, a, b):
        whole = self.b.fmul(b, self.intrinsic("llvm.trunc", self.b.fdiv(a, b)))
        return self.b.select(self.b.fcmp_ordered("<", b, splat(SMALL_VENSIM)), a, whole)

    def rt_modulo(self, value, divisor):
        return self.b.fsub(value, self.rt_quantum(value, divisor))

    def rt_log_base(self, value, base):
        return self.b.fdiv(self.math("log", [value]), self.math("log", [base]))

    def rt_power(self, base, exponent):
        return self.math("pow", [base, exponent])

    def rt_pulse(self, t, dt, start, repeat_time, width, magnitude, end, has_magnitude,
                 has_end):
        b = self.b
        width = b.select(b.fcmp_ordered("<", width, splat(0.0)), b.fmul(splat(0.5), dt), width)
        out = b.select(self.truth(has_magnitude), b.fdiv(magnitude, dt), splat(1.0))
        single = b.and_(b.fcmp_ordered("<=", b.fsub(start, splat(SMALL_VENSIM)), t),
                        b.fcmp_ordered("<", t, b.fadd(start, width)))
        running = b.and_(b.fcmp_ordered("<=", start, t),
                         b.or_(b.not_(self.truth(has_end)), b.fcmp_ordered("<", t, end)))
        phase = self.python_mod(b.fadd(b.fsub(t, start), splat(SMALL_VENSIM)), repeat_time)
        train = b.and_(running, b.fcmp_ordered("<", phase, width))
        once = b.fcmp_ordered("==", repeat_time, splat(0.0))
        return b.select(b.select(once, single, train), out, splat(0.0))
