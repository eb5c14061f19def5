"""What the compiler builds and hands on: its result, its nodes and its snippets of code.

:class:`CompiledModel` is what :mod:`sd_runner.engine.compiler` produces; :class:`Node` is one
value the kernel computes; :class:`Code` is the Python text of one expression, at
initialisation and during the run, with what it reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sd_runner.errors import InputError


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
        The program as Python source (the first edition's numba kernel): its readable form
        and the kernel's cache key.
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
    #: The statements of one run, in order, for the native kernel (:mod:`.native`).
    program: Program | None = None


@dataclass(frozen=True)
class Program:
    """One run of the model as statements ``target = expression`` (Python syntax, over ``v``,
    ``x``, ``d``, ``c``, ``t``, ``t0``, ``dt``, ``tf``, ``saveper`` and the tables), in the order
    the kernel executes them.

    Attributes
    ----------
    values, states : int
        Lengths of the value vector ``v`` and of the state vector ``x``.
    tables : list of (numpy.ndarray, numpy.ndarray)
        Lookup table ``k`` is ``Tkx``, ``Tky``.
    init, step, derivatives : list of str
        Statements at initialisation, at every TIME STEP before saving, and after saving
        (the derivatives ``d``, and the states some delays shift first).
    discrete : list of (int, str)
        States set to an expression's value at the end of each step (SAMPLE IF TRUE).
    buffers : list of (int, int, str)
        Fixed delays: state, ring length in steps, the expression entering the ring.
    clamps : list of int
        States held non-negative after each step.
    """

    values: int
    states: int
    tables: list
    init: list
    step: list
    derivatives: list
    discrete: list
    buffers: list
    clamps: list




@dataclass
class Code:
    init: str
    step: str | None = None
    deps: set = field(default_factory=set)
    dynamic: bool = False
    init_only: bool = False
    order: int = 0  # PySD's operator order of the expression; 0 = atom or call

    def __post_init__(self):
        if self.step is None:
            self.step = self.init

    def wrap(self, template: str, order: int = 0) -> Code:
        return Code(template.format(self.init), template.format(self.step), set(self.deps),
                     self.dynamic, order=order)

    def lower(self, new_order: int) -> Code:
        """Parenthesise as PySD's builder does when operator orders conflict."""
        if self.order >= new_order and self.order != 0 and new_order != 0:
            return Code(f"({self.init})", f"({self.step})", set(self.deps), self.dynamic,
                         self.init_only, 0)
        return self

    @staticmethod
    def combine(template: str, left: Code, right: Code, order: int) -> Code:
        return Code(template.format(left=left.init, right=right.init),
                     template.format(left=left.step, right=right.step),
                     left.deps | right.deps, left.dynamic or right.dynamic, order=order)

    @staticmethod
    def call(function: str, args: list[Code]) -> Code:
        deps = set().union(*(a.deps for a in args)) if args else set()
        return Code(f"{function}({', '.join(a.init for a in args)})",
                     f"{function}({', '.join(a.step for a in args)})",
                     deps, any(a.dynamic for a in args))

    @staticmethod
    def ternary(condition: Code, yes: Code, no: Code) -> Code:
        return Code(f"(({yes.init}) if ({condition.init}) else ({no.init}))",
                     f"(({yes.step}) if ({condition.step}) else ({no.step}))",
                     condition.deps | yes.deps | no.deps,
                     condition.dynamic or yes.dynamic or no.dynamic)



def target_of(key: tuple[str, int]) -> str:
    return f"{key[0]}[{key[1]}]"


def literal(value) -> str:
    value = float(value)
    if math.isnan(value):
        return "math.nan"
    if math.isinf(value):
        return "math.inf" if value > 0 else "(-math.inf)"
    return repr(value)


def is_number(value) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)

