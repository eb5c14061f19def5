"""The compiled model as JavaScript: a second back end of the compiler, for the browser.

The :class:`~sd_runner.engine.structures.Program` the native kernel is built from (:mod:`.native`)
is written out as one JavaScript function that runs one member through the same Euler steps,
statement by statement, in the same order: the values, saving, the derivatives, then every
state moved on. Each operation keeps the first edition's semantics (Python's ``min``, ``max``
and ``%``, IEEE division, :mod:`.runtime`'s built-ins, written once below in JavaScript), so
the two back ends differ only where the JavaScript engine's ``Math.exp``, ``Math.pow`` and
the like round differently from the C library's, by an ulp or so.

No equation is written by hand: every statement comes from the compiler. An expression this
translator does not know is refused with :class:`UnsupportedModelError`, as the native back
end refuses it.
"""

from __future__ import annotations

import ast
import json
import math

from sd_runner.engine.structures import Program, UnsupportedModelError

#: math.* functions and their JavaScript ``Math`` names.
MATH = {"exp": "exp", "log": "log", "sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin",
        "acos": "acos", "atan": "atan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
        "sqrt": "sqrt"}
COMPARISONS = {ast.Lt: "<", ast.Gt: ">", ast.LtE: "<=", ast.GtE: ">=", ast.Eq: "===",
               ast.NotEq: "!=="}
SCALARS = ("t", "t0", "dt", "tf", "saveper")
CHUNK = 40  # statements per function (see _Writer.function)

#: runtime.py in JavaScript: the same operations in the same order.
RUNTIME = """\
const SMALL_VENSIM = 1e-6;
function pyMin(a, b) { return b < a ? b : a; }
function pyMax(a, b) { return b > a ? b : a; }
function pyMod(a, b) {
  const r = a % b;
  if (r === 0) { return (b < 0 || Object.is(b, -0)) ? -0 : 0; }
  return (r !== 0 && ((r < 0) !== (b < 0))) ? r + b : r;
}
function lookup(x, xs, ys, mode) {
  const n = xs.length;
  if (x <= xs[0]) {
    if (mode === 1 && x < xs[0] && n > 1) {
      return ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (x - xs[0]);
    }
    return ys[0];
  }
  if (x >= xs[n - 1]) {
    if (mode === 1 && x > xs[n - 1] && n > 1) {
      return ys[n - 1] + (ys[n - 1] - ys[n - 2]) / (xs[n - 1] - xs[n - 2]) * (x - xs[n - 1]);
    }
    return ys[n - 1];
  }
  let low = 0, high = n;  // numpy.searchsorted(xs, x, "right") - 1
  while (low < high) {
    const middle = (low + high) >> 1;
    if (xs[middle] <= x) { low = middle + 1; } else { high = middle; }
  }
  const i = low - 1;
  if (xs[i] === x || mode === 2) { return ys[i]; }
  const slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]);
  return slope * (x - xs[i]) + ys[i];
}
function step(t, dt, value, start) { return t + dt / 2 > start ? value : 0.0; }
function ramp(t, slope, start, finish) {
  if (!(t + SMALL_VENSIM > start)) { return 0.0; }
  return slope * (pyMin(finish, t) - start);
}
function rampOpen(t, slope, start) {
  if (!(t + SMALL_VENSIM > start)) { return 0.0; }
  return slope * (t - start);
}
function pulse(t, dt, start, repeatTime, width, magnitude, end, hasMagnitude, hasEnd) {
  if (width < 0) { width = 0.5 * dt; }
  const out = hasMagnitude !== 0 ? magnitude / dt : 1.0;
  if (repeatTime === 0) { return (start - SMALL_VENSIM <= t && t < start + width) ? out : 0.0; }
  if (start <= t && (hasEnd === 0 || t < end)) {
    return pyMod(t - start + SMALL_VENSIM, repeatTime) < width ? out : 0.0;
  }
  return 0.0;
}
function zidz(numerator, denominator) {
  return Math.abs(denominator) < SMALL_VENSIM ? 0.0 : numerator / denominator;
}
function xidz(numerator, denominator, x) {
  return Math.abs(denominator) < SMALL_VENSIM ? x : numerator / denominator;
}
function integer(x) { return Math.trunc(x); }
function quantum(a, b) { return b < SMALL_VENSIM ? a : b * Math.trunc(a / b); }
function modulo(x, m) { return x - quantum(x, m); }
function logBase(x, base) { return Math.log(x) / Math.log(base); }
function power(base, exponent) { return Math.pow(base, exponent); }
"""

#: rt.* names and their JavaScript functions (above), with the number of arguments.
RUNTIME_CALLS = {"step": ("step", 4), "ramp": ("ramp", 4), "ramp_open": ("rampOpen", 3),
                 "pulse": ("pulse", 9), "zidz": ("zidz", 2), "xidz": ("xidz", 3),
                 "integer": ("integer", 1), "quantum": ("quantum", 2),
                 "modulo": ("modulo", 2), "log_base": ("logBase", 2),
                 "power": ("power", 2)}


def kernel_js(program: Program, name: str = "runKernel") -> str:
    """JavaScript source that defines ``name(c, t0, dt, tf, saveper, nSteps, saveSteps,
    outSlots)``: one run of the model with constants ``c``, saving ``v[outSlots[k]]`` at each
    step whose ``saveSteps`` entry is true; returns a ``Float64Array`` of ``[saved time,
    output]``. The numbers match :mod:`.native`'s kernel within an ulp or so per operation."""
    return _Writer(program).function(name)


def number_text(value: float) -> str:
    """A JavaScript literal of the double ``value`` (the same bits when read back)."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


class _Writer:
    """Writes the kernel's text; see :func:`kernel_js`."""

    def __init__(self, program: Program):
        self.program = program

    def function(self, name: str) -> str:
        program = self.program
        lines = [f"const {name} = (function () {{", '"use strict";', RUNTIME]
        for index, (xs, ys) in enumerate(program.tables):
            lines.append(f"const T{index}x = new Float64Array({_array(xs)});")
            lines.append(f"const T{index}y = new Float64Array({_array(ys)});")
        # The statements in functions of at most CHUNK each: V8 optimises a function only
        # below a size, and the whole step is far above it (a run took 10 ms unoptimised).
        init = self.chunks("init", program.init, lines)
        step = self.chunks("step", program.step, lines)
        derivatives = self.chunks("derivatives", program.derivatives, lines)
        lines += [
            "return function (c, t0, dt, tf, saveper, nSteps, saveSteps, outSlots) {",
            f"  const v = new Float64Array({max(program.values, 1)});",
            f"  const x = new Float64Array({max(program.states, 1)});",
            f"  const d = new Float64Array({max(program.states, 1)});",
            "  let t = t0;",
        ]
        lines += [f"  {call}" for call in init]
        for number, (state, length, _code) in enumerate(program.buffers):
            lines += [f"  const ring{number} = new Float64Array({length}).fill(x[{state}]);"]
        lines += [
            "  let position = 0, saved = 0;",
            "  const nOut = outSlots.length;",
            "  let rows = 0;",
            "  for (let n = 0; n <= nSteps; n++) { if (saveSteps[n]) { rows++; } }",
            "  const out = new Float64Array(rows * nOut);",
            "  for (let n = 0; n <= nSteps; n++) {",
        ]
        lines += [f"    {call}" for call in step]
        lines += [
            "    if (saveSteps[n]) {",
            "      for (let k = 0; k < nOut; k++) { out[saved * nOut + k] = v[outSlots[k]]; }",
            "      saved++;",
            "    }",
            "    if (n === nSteps) { break; }",
        ]
        lines += [f"    {call}" for call in derivatives]
        lines += self.advance()
        lines += ["    t = t + dt;", "  }", "  return out;", "};", "})();"]
        return "\n".join(lines) + "\n"

    def chunks(self, kind: str, statements: list[str], lines: list[str]) -> list[str]:
        """Functions of at most CHUNK statements each, appended to ``lines``; the calls to
        them, in order."""
        calls = []
        for number, first in enumerate(range(0, len(statements), CHUNK)):
            lines.append(f"function {kind}{number}(v, x, d, c, t, t0, dt, tf, saveper) {{")
            lines += [f"  {self.statement(text)}" for text in statements[first:first + CHUNK]]
            lines.append("}")
            calls.append(f"{kind}{number}(v, x, d, c, t, t0, dt, tf, saveper);")
        return calls

    def advance(self) -> list[str]:
        """Every state moved one TIME STEP on, in the first edition's order."""
        program, lines = self.program, []
        for number, (_state, code) in enumerate(program.discrete):
            lines.append(f"    const next{number} = {self.value(code)};")
        for number, (_state, _length, code) in enumerate(program.buffers):
            lines.append(f"    const entering{number} = {self.value(code)};")
        lines.append(f"    for (let j = 0; j < {program.states}; j++) "
                     "{ x[j] = x[j] + d[j] * dt; }")
        for state in program.clamps:  # Python's max(x, 0.0): x unless 0.0 is larger
            lines.append(f"    x[{state}] = 0.0 > x[{state}] ? 0.0 : x[{state}];")
        for number, (state, _code) in enumerate(program.discrete):
            lines.append(f"    x[{state}] = next{number};")
        for number, (state, length, _code) in enumerate(program.buffers):
            lines += [f"    ring{number}[position % {length}] = entering{number};",
                      f"    x[{state}] = ring{number}[(position + 1) % {length}];"]
        if program.buffers:
            lines.append("    position++;")
        return lines

    def statement(self, text: str) -> str:
        target, expression = (part.strip() for part in text.split("=", 1))
        if target[0] not in "vxd" or target[1] != "[" or not target[2:-1].isdigit():
            raise UnsupportedModelError(
                f"the JavaScript back end cannot compile the statement {text!r}")
        return f"{target} = {self.value(expression)};"

    # ------------------------------------------------------------------ expressions
    def value(self, text: str) -> str:
        """The JavaScript number of the Python expression ``text``."""
        return self.number(*self.expression(ast.parse(text, mode="eval").body))

    def expression(self, node: ast.AST) -> tuple[str, str]:
        """``(text, kind)``: kind ``"number"`` or ``"boolean"`` (comparisons, ``bool()``)."""
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.unsupported(node)
        return method(node)

    def unsupported(self, node: ast.AST) -> UnsupportedModelError:
        return UnsupportedModelError(
            f"the JavaScript back end cannot compile {ast.unparse(node)!r}")

    @staticmethod
    def number(text: str, kind: str) -> str:
        return f"({text} ? 1 : 0)" if kind == "boolean" else text

    @staticmethod
    def truth(text: str, kind: str) -> str:
        """Python's truth of a double: anything but zero (NaN is true)."""
        return text if kind == "boolean" else f"({text} !== 0)"

    def _Constant(self, node: ast.Constant) -> tuple[str, str]:
        if isinstance(node.value, bool):
            return ("true" if node.value else "false"), "boolean"
        if isinstance(node.value, int | float):
            return f"({number_text(node.value)})", "number"
        raise self.unsupported(node)

    def _Name(self, node: ast.Name) -> tuple[str, str]:
        if node.id in SCALARS:
            return node.id, "number"
        raise self.unsupported(node)

    def _Attribute(self, node: ast.Attribute) -> tuple[str, str]:
        if isinstance(node.value, ast.Name) and node.value.id == "math" \
                and node.attr in ("pi", "e", "inf", "nan"):
            return f"({number_text(getattr(math, node.attr))})", "number"
        raise self.unsupported(node)

    def _Subscript(self, node: ast.Subscript) -> tuple[str, str]:
        if isinstance(node.value, ast.Name) and node.value.id in "vxdc" \
                and isinstance(node.slice, ast.Constant) and type(node.slice.value) is int:
            return f"{node.value.id}[{node.slice.value}]", "number"
        raise self.unsupported(node)

    def _BinOp(self, node: ast.BinOp) -> tuple[str, str]:
        left = self.number(*self.expression(node.left))
        right = self.number(*self.expression(node.right))
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}.get(type(node.op))
        if symbol is not None:
            return f"({left} {symbol} {right})", "number"
        if isinstance(node.op, ast.Pow):
            return f"Math.pow({left}, {right})", "number"
        if isinstance(node.op, ast.Mod):
            return f"pyMod({left}, {right})", "number"
        raise self.unsupported(node)

    def _UnaryOp(self, node: ast.UnaryOp) -> tuple[str, str]:
        operand = self.expression(node.operand)
        if isinstance(node.op, ast.USub):
            return f"(-{self.number(*operand)})", "number"
        if isinstance(node.op, ast.UAdd):
            return self.number(*operand), "number"
        if isinstance(node.op, ast.Not):
            return f"(!{self.truth(*operand)})", "boolean"
        raise self.unsupported(node)

    def _Compare(self, node: ast.Compare) -> tuple[str, str]:
        # Each operand is pure, so a chain may read a middle operand twice.
        parts, left = [], self.number(*self.expression(node.left))
        for operator, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.number(*self.expression(comparator))
            symbol = COMPARISONS.get(type(operator))
            if symbol is None:
                raise self.unsupported(node)
            parts.append(f"({left} {symbol} {right})")
            left = right
        return "(" + " && ".join(parts) + ")", "boolean"

    def _BoolOp(self, node: ast.BoolOp) -> tuple[str, str]:
        values = [self.expression(v) for v in node.values]
        if any(kind != "boolean" for _text, kind in values):  # Python returns an operand
            raise self.unsupported(node)
        joiner = " && " if isinstance(node.op, ast.And) else " || "
        return "(" + joiner.join(text for text, _kind in values) + ")", "boolean"

    def _IfExp(self, node: ast.IfExp) -> tuple[str, str]:
        condition = self.truth(*self.expression(node.test))
        yes, no = self.expression(node.body), self.expression(node.orelse)
        kind = yes[1] if yes[1] == no[1] else "number"
        if yes[1] != no[1]:
            yes, no = (self.number(*yes), "number"), (self.number(*no), "number")
        return f"({condition} ? {yes[0]} : {no[0]})", kind

    def _Call(self, node: ast.Call) -> tuple[str, str]:
        name = ast.unparse(node.func)
        if node.keywords:
            raise self.unsupported(node)
        if name == "rt.lookup":
            return self.table_lookup(node)
        args = [self.expression(a) for a in node.args]
        if name == "bool" and len(args) == 1:
            return self.truth(*args[0]), "boolean"
        if name == "float" and len(args) == 1:
            return self.number(*args[0]), "number"
        numbers = [self.number(*a) for a in args]
        if name == "abs" and len(numbers) == 1:
            return f"Math.abs({numbers[0]})", "number"
        if name in ("min", "max") and len(numbers) >= 2:
            # Python's min/max: keep the first unless a later one is smaller/larger.
            best = numbers[0]
            for other in numbers[1:]:
                best = f"{'pyMin' if name == 'min' else 'pyMax'}({best}, {other})"
            return best, "number"
        if name.startswith("math.") and name[5:] in MATH:
            return f"Math.{MATH[name[5:]]}({', '.join(numbers)})", "number"
        if name.startswith("rt.") and name[3:] in RUNTIME_CALLS:
            function, count = RUNTIME_CALLS[name[3:]]
            if len(numbers) == count:
                return f"{function}({', '.join(numbers)})", "number"
        raise self.unsupported(node)

    def table_lookup(self, node: ast.Call) -> tuple[str, str]:
        argument, xs, ys, mode = node.args
        if not (isinstance(xs, ast.Name) and xs.id.startswith("T") and xs.id.endswith("x")
                and isinstance(ys, ast.Name) and ys.id == xs.id[:-1] + "y"
                and xs.id[1:-1].isdigit() and int(xs.id[1:-1]) < len(self.program.tables)
                and isinstance(mode, ast.Constant) and mode.value in (0, 1, 2)):
            raise self.unsupported(node)
        x = self.number(*self.expression(argument))
        return f"lookup({x}, {xs.id}, {ys.id}, {mode.value})", "number"


def _array(values) -> str:
    return json.dumps([float(v) for v in values], allow_nan=False) \
        if all(math.isfinite(float(v)) for v in values) \
        else "[" + ", ".join(number_text(v) for v in values) + "]"
