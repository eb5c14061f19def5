"""The compiler's stateful functions: SMOOTH, DELAY, DELAY N, DELAY FIXED, TREND, FORECAST and
SAMPLE IF TRUE, each turned into states of the kernel as PySD 3.14 defines them (part of its
compiler)."""

from __future__ import annotations

import math

from pysd.translators.structures import abstract_expressions as ae

from sd_runner.engine import runtime
from sd_runner.engine.structures import Code, Node, is_number


class Statefuls:
    """Stateful functions of :class:`sd_runner.engine.compiler.Compiler`, which mixes this in
    and supplies the states, derivatives and nodes these methods add to."""

    def _order(self, order, what: str) -> int:
        value = self._literal_value(order)
        if value is None:  # PySD fixes the order at initialisation
            value = self._static_value(self._expr(order, {}))
        if value != int(value) or value < 1:
            raise self._unsupported(f"{what} whose order is not a positive whole constant")
        return int(value)

    def _literal_value(self, ast) -> float | None:
        """A number written in the model, directly or as a constant it names."""
        if is_number(ast):
            return float(ast)
        if isinstance(ast, ae.ReferenceStructure) and not getattr(ast.subscripts,
                                                                   "subscripts", None):
            element = self.elements.get(self.by_ref.get(ast.reference, ""))
            if element is not None and len(element.components) == 1:
                return self._literal_value(element.components[0].ast)
        return None

    def _static_value(self, code: Code) -> float:
        """Value of an expression at the initial time, from the defaults (delay times)."""
        if any(key[0] == "x" for key in code.deps):
            raise self._unsupported("a delay time that depends on a stock")
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

    def _smooth(self, ast, context) -> Code:
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
        return Code(f"x[{last}]", f"x[{last}]", {("x", last)}, True)

    def _delay(self, ast, context) -> Code:
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
        return Code(f"x[{last}] / ({time.init})", f"x[{last}] / ({time.step})",
                     {("x", last)} | time.deps, True)

    def _delay_n(self, order: int, source: Code, time: Code, initial: Code) -> Code:
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
        return Code(f"x[{states[-1]}] / x[{times[0]}]", f"x[{states[-1]}] / x[{times[0]}]",
                     {("x", states[-1]), ("x", times[0])}, True)

    def _delay_fixed(self, ast, context) -> Code:
        source = self._expr(ast.input, context)
        time = self._expr(ast.delay_time, context)
        initial = self._expr(ast.initial, context)
        state = self._state(f"fixed delay of {self.current}")
        self.state_init[state] = Node(f"x[{state}]", initial.init, "", initial.deps, True)
        self.buffers.append((state, time, source.step, source.deps))
        return Code(f"x[{state}]", f"x[{state}]", {("x", state)}, True)

    def _trend(self, ast, context) -> Code:
        source = self._expr(ast.input, context)
        time = self._expr(ast.average_time, context)
        trend = self._expr(ast.initial_trend, context)
        state = self._state(f"trend of {self.current}")
        self.state_init[state] = Node(
            f"x[{state}]", f"({source.init}) / (1 + ({trend.init}) * ({time.init}))", "",
            source.deps | time.deps | trend.deps, True)
        self.derivatives.append((state, f"(({source.step}) - x[{state}]) / ({time.step})",
                                 source.deps | time.deps))
        return Code(
            f"rt.zidz(({source.init}) - x[{state}], ({time.init}) * abs(x[{state}]))",
            f"rt.zidz(({source.step}) - x[{state}], ({time.step}) * abs(x[{state}]))",
            {("x", state)} | source.deps | time.deps, True)

    def _forecast(self, ast, context) -> Code:
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

        return Code(output(source.init, time.init, horizon.init),
                     output(source.step, time.step, horizon.step),
                     {("x", state)} | source.deps | time.deps | horizon.deps, True)

    def _sample_if_true(self, ast, context) -> Code:
        condition = self._expr(ast.condition, context)
        source = self._expr(ast.input, context)
        initial = self._expr(ast.initial, context)
        state = self._state(f"sample of {self.current}")
        self.state_init[state] = Node(f"x[{state}]", initial.init, "", initial.deps, True)
        self.discrete.append((state, f"(({source.step}) if ({condition.step}) else x[{state}])",
                              source.deps | condition.deps))

        def output(s, c):
            return f"(({s}) if ({c}) else x[{state}])"

        return Code(output(source.init, condition.init), output(source.step, condition.step),
                     {("x", state)} | source.deps | condition.deps, True)
