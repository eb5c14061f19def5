"""Order the compiled equations into the run's program (the compiler's last step), and write
it out as Python source.

The order of evaluation comes from the equations' dependencies (a topological sort, with sorted
predecessors: the program, and so its cache key, must not depend on the hash seed of the
process that compiles it). The :class:`~sd_runner.engine.structures.Program` is what the native
kernel is built from; the source is the first edition's numba kernel, kept as the program's
readable form, the kernel's cache key, and the reference the tests hold the native kernel to.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import numpy as np

from sd_runner.engine.structures import CompiledModel, Program, UnsupportedModelError, target_of

CHUNK = 100  # statements per compiled helper function
ARGUMENTS = "v, x, d, c, t, t0, dt, tf, saveper"
HEADER = [
    "import math",
    "import numpy as np",
    "from numba import njit",
    "from sd_runner.engine import runtime as rt",
    "",
]


def emit(compiler) -> CompiledModel:
    """The :class:`CompiledModel` of a compiler that has compiled every equation."""
    for check in compiler.deferred:
        check()
    compiler.buffers = [
        (state, round(max(compiler._static_value(time) / compiler.controls["TIME STEP"], 1)
                      + 1e-6), code, deps)
        for state, time, code, deps in compiler.buffers]
    compiler.current = ""
    by_target = {node.target: node for node in compiler.nodes}
    for slot, key in enumerate(compiler.slots):
        if f"v[{slot}]" not in by_target:
            raise UnsupportedModelError(
                f"{compiler.source_name}: {key[0]}{list(key[1])} is used but never defined")
    init_order = _init_order(compiler)
    step_order = _step_order(compiler, by_target, init_order)
    program = _program(compiler, by_target, init_order, step_order)
    return CompiledModel(
        source=_source(compiler, program),
        slots=list(compiler.slots),
        constants=dict(compiler.constants),
        constant_defaults=np.asarray(compiler.constant_values, dtype=float),
        dims=dict(compiler.dims),
        ranges=dict(compiler.ranges),
        controls=dict(compiler.controls),
        equations={int(t[2:-1]): by_target[t].step_code for t in step_order},
        derivatives={state: code for state, code, _deps in compiler.derivatives},
        plain_states=not (compiler.pre_derivative or compiler.discrete or compiler.buffers
                          or compiler.clamps),
        program=program,
    )


def _init_order(compiler) -> list[str]:
    """Every value and state initial value, each after those it reads."""
    graph = {node.target: sorted({target_of(d) for d in node.deps}) for node in compiler.nodes}
    for state, node in compiler.state_init.items():
        graph[f"x[{state}]"] = sorted({target_of(d) for d in node.deps})
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise UnsupportedModelError(
            f"{compiler.source_name}: circular initialisation through "
            f"{_describe(compiler, exc.args[1])}; the fast engine cannot order it, "
            "run this model with --engine pysd") from None


def _step_order(compiler, by_target: dict, init_order: list[str]) -> list[str]:
    """The values that change during the run, each after those it reads."""
    dynamic: set[str] = set()
    for target in init_order:
        node = by_target.get(target)
        if node is None:
            continue
        if node.init_only:
            continue
        if node.dynamic or any(target_of(d) in dynamic or d[0] == "x" for d in node.deps):
            dynamic.add(target)
    step_graph = {
        node.target: sorted({target_of(d) for d in node.deps if d[0] == "v"})
        for node in compiler.nodes if node.target in dynamic
    }
    try:
        return [t for t in TopologicalSorter(step_graph).static_order() if t in dynamic]
    except CycleError as exc:
        raise UnsupportedModelError(
            f"{compiler.source_name}: simultaneous equations (a loop without a stock) through "
            f"{_describe(compiler, exc.args[1])}; run this model with --engine pysd") from None


def _describe(compiler, cycle) -> str:
    names = []
    for target in cycle:
        if target.startswith("v["):
            name, coord = compiler.slots[int(target[2:-1])]
            names.append(f"{name}{list(coord) if coord else ''}")
    return " -> ".join(dict.fromkeys(names)) or "stock initial values"


def _program(compiler, by_target: dict, init_order: list[str], step_order: list[str]) -> Program:
    init_statements = []
    for target in init_order:
        if target in by_target:
            init_statements.append(f"{target} = {by_target[target].init_code}")
        elif target.startswith("x["):
            state_node = compiler.state_init[int(target[2:-1])]
            init_statements.append(f"{target} = {state_node.init_code}")
    return Program(
        values=len(compiler.slots), states=len(compiler.states),
        tables=[(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
                for xs, ys in compiler.tables],
        init=init_statements,
        step=[f"{t} = {by_target[t].step_code}" for t in step_order],
        derivatives=list(compiler.pre_derivative) + [
            f"d[{state}] = {code}" for state, code, _deps in compiler.derivatives],
        discrete=[(state, code) for state, code, _deps in compiler.discrete],
        buffers=[(state, length, code) for state, length, code, _deps in compiler.buffers],
        clamps=list(compiler.clamps))


def _source(compiler, program: Program) -> str:
    """The kernel module: lookup tables, helper functions and ``run_batch``."""
    lines = list(HEADER)
    for index, (xs, ys) in enumerate(program.tables):
        lines.append(f"T{index}x = np.array({xs.tolist()!r})")
        lines.append(f"T{index}y = np.array({ys.tolist()!r})")
    helpers, init_calls = _chunks("init", program.init)
    more, step_calls = _chunks("step", program.step)
    helpers += more
    more, derivative_calls = _chunks("derivatives", program.derivatives)
    helpers += more
    body = _run_batch(compiler, init_calls, step_calls, derivative_calls)
    return "\n".join(lines + helpers + [""] + body) + "\n"


def _run_batch(compiler, init_calls, step_calls, derivative_calls) -> list[str]:
    """Lines of ``run_batch``: initialise each member, then step it and save its outputs."""
    n_v, n_x = len(compiler.slots), len(compiler.states)
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
    for index, (_state, length, _code, _deps) in enumerate(compiler.buffers):
        body.append(f"        buf{index} = np.empty({length})")
        body.append(f"        ptr{index} = 0")
    body += [f"        {call}" for call in init_calls]
    for index, (state, _length, _code, _deps) in enumerate(compiler.buffers):
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
    return body + _advance(compiler, n_x)


def _advance(compiler, n_x: int) -> list[str]:
    """Lines that move every state one TIME STEP on: integrals, clamps, discrete updates and
    the ring buffers of fixed delays."""
    body, temporaries = [], []
    for number, (state, code, _deps) in enumerate(compiler.discrete):
        body.append(f"            s{number} = {code}")
        temporaries.append((state, f"s{number}"))
    for index, (_state, _length, code, _deps) in enumerate(compiler.buffers):
        body.append(f"            b{index} = {code}")
    # States that are not integrated keep a zero derivative.
    body += [f"            for j in range({max(n_x, 1)}):",
             "                x[j] = x[j] + d[j] * dt"]
    for state in compiler.clamps:
        body.append(f"            x[{state}] = max(x[{state}], 0.0)")
    for state, name in temporaries:
        body.append(f"            x[{state}] = {name}")
    for index, (state, length, _code, _deps) in enumerate(compiler.buffers):
        body += [
            f"            buf{index}[ptr{index}] = b{index}",
            f"            ptr{index} = (ptr{index} + 1) % {length}",
            f"            x[{state}] = buf{index}[ptr{index}]",
        ]
    body.append("            t = t + dt")
    return body


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
