"""Compile a Vensim model, through PySD's abstract model, into the program of a kernel.

The ``.mdl`` stays the single source of the equations: PySD's translator parses it into an
``AbstractModel`` and this module turns each equation of that structure, element by element of
its subscripts, into a scalar Python statement. Nothing here knows any particular model.

Semantics follow PySD 3.14 (Euler integration, cumulative time, its SMOOTH, DELAY and lookup
rules), so both engines give the same numbers. A construct this compiler does not handle is
refused with :class:`UnsupportedModelError` naming it and the variable that uses it.

The compiler is one class in four modules, one job each: this one reads the model's
subscripts, controls and equations; :mod:`~sd_runner.engine.expressions` translates an
expression, :mod:`~sd_runner.engine.statefuls` the stateful functions and
:mod:`~sd_runner.engine.emission` writes the kernel.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from pysd.builders.python.namespace import NamespaceManager
from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures import abstract_model as am

from sd_runner.engine.emission import emit
from sd_runner.engine.expressions import Expressions
from sd_runner.engine.statefuls import Statefuls
from sd_runner.engine.structures import CompiledModel, Node, UnsupportedModelError, is_number
from sd_runner.model.mdl_text import abstract_model, clean_name

LOOKUP_MODES = {"interpolate": 0, "extrapolate": 1, "hold_backward": 2}


class Compiler(Expressions, Statefuls):
    """Compiles one abstract model (:func:`compile_abstract`); see the module's text."""

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
        self.by_clean = {clean_name(name): name for name in self.elements}
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
                    self.by_clean.get(clean_name(name), ""))
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
        return emit(self)

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
        if isinstance(component, am.AbstractUnchangeableConstant) or is_number(ast) or \
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


def compile_mdl(path: str | Path) -> CompiledModel:
    """Compile the ``.mdl`` at ``path`` from PySD's abstract model of it (parsed once per
    content, :func:`sd_runner.model.mdl_text.parsed_mdl`).

    Raises
    ------
    InputError
        When PySD cannot parse the model.
    UnsupportedModelError
        For a construct the engine does not compile, naming it and where.
    """
    path = Path(path)
    return compile_abstract(abstract_model(path), path.name)


def compile_abstract(abstract: am.AbstractModel, source_name: str) -> CompiledModel:
    """Compile PySD's abstract model of a ``.mdl`` (named ``source_name`` in messages), for
    example one that :mod:`sd_runner.engine.cuts` has rewritten. ``abstract`` is only read."""
    return Compiler(abstract, source_name).compile()


__all__ = ["CompiledModel", "UnsupportedModelError", "compile_abstract", "compile_mdl"]
