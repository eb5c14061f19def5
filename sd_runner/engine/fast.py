"""The fast engine: the compiled kernel behind the same interface as :class:`SDModel`."""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import math
import os
import time as clock
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import llvmlite
import numpy as np
import pandas as pd
import xarray as xr

from sd_runner import resources
from sd_runner.engine import lanes, machine_code, native, vector_exp
from sd_runner.engine.compiled_cache import compile_cached
from sd_runner.engine.structures import CompiledModel, UnsupportedModelError
from sd_runner.errors import InputError
from sd_runner.inputs import limits
from sd_runner.model import cache
from sd_runner.model.loading import SDModel, _cache_root, _digest, translation_folder

ENGINE_VERSION = "2"  # bump when the generated code changes meaning

# The machine code depends on the modules that write its IR, so their source is part of the
# cache key: editing them recompiles every kernel.
_NATIVE_SOURCES = "".join(Path(module.__file__).read_text(encoding="utf-8")
                          for module in (lanes, vector_exp, native, machine_code))


@dataclass(frozen=True)
class TimeAxis:
    """Euler steps and saved times, computed as PySD computes them.

    PySD adds TIME STEP to the time at every step and saves a step when its distance from
    INITIAL TIME is a multiple of SAVEPER within 1e-5 TIME STEP; the kernel follows the same
    arithmetic so both engines save the same instants.
    """

    initial: float
    final: float
    step: float
    saveper: float
    n_steps: int
    save_steps: np.ndarray
    times: np.ndarray

    @classmethod
    def build(cls, initial: float, final: float, step: float, saveper: float) -> TimeAxis:
        """The axis for these controls; built once per distinct controls (it loops over every
        step in Python, which would otherwise cost more than a run), its arrays read-only."""
        return _build_axis(cls, float(initial), float(final), float(step), float(saveper))

    @classmethod
    def _build(cls, initial: float, final: float, step: float, saveper: float) -> TimeAxis:
        if not step > 0 or not saveper > 0:
            raise InputError(f"TIME STEP ({step}) and SAVEPER ({saveper}) must be positive")
        if final < initial:
            raise InputError(f"FINAL TIME ({final}) is before INITIAL TIME ({initial})")
        if not (final - initial) / step <= limits.MAX_TIME_STEPS:  # also refuses inf and NaN
            raise InputError(f"{initial:g} to {final:g} in steps of {step:g} is "
                             f"{(final - initial) / step:.3g} steps, more than the "
                             f"{limits.MAX_TIME_STEPS:.0e} a run may take; shorten the run or "
                             "lengthen the step")
        precision = step * 1e-5
        times = [initial]
        now = initial
        while now + precision < final:
            now = now + step
            times.append(now)
        elapsed = np.asarray(times) - initial
        save = ((elapsed % saveper) < precision) | ((-elapsed % saveper) < precision)
        # PySD labels outputs with time rounded to the precision of 1e-5 TIME STEP.
        labels = np.round(np.asarray(times)[save], -int(np.log10(precision)))
        return cls(initial, final, step, saveper, len(times) - 1, save, labels)


@functools.lru_cache(maxsize=64)
def _build_axis(cls, initial: float, final: float, step: float, saveper: float) -> TimeAxis:
    axis = cls._build(initial, final, step, saveper)
    axis.save_steps.setflags(write=False)
    axis.times.setflags(write=False)
    return axis


def kernel_key(compiled: CompiledModel) -> str:
    """The cache key of a compiled model's kernel on this machine."""
    # Content-addressed: a folder never changes once written. The CPU and its features are
    # part of the key, since the machine code uses whatever this CPU has.
    text = "\n".join([compiled.source, ENGINE_VERSION, _NATIVE_SOURCES, llvmlite.__version__,
                      machine_code.machine_description()])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def kernel_folder(key: str) -> Path:
    """The cache entry of the kernel with ``key``."""
    return _cache_root() / f"native-{key}"


class Kernel:
    """A compiled model's machine code, cached on disk by the hash of the model's program."""

    def __init__(self, mdl: Path, compiled: CompiledModel | None = None):
        self.compiled: CompiledModel = compiled or compile_cached(mdl)
        self.key = kernel_key(self.compiled)
        started = clock.perf_counter()
        self.module = load_kernel(self.compiled, self.key)
        self.compile_seconds = clock.perf_counter() - started

    def warm_up(self) -> float:
        """The seconds it took to compile (or load from the cache) the machine code, which
        loading the kernel did."""
        return self.compile_seconds

    @functools.cached_property
    def namespace(self) -> dict:
        """The names the compiled expressions read besides the arrays (``math``, ``rt``, the
        tables ``Tkx``, ``Tky``), for evaluating single equations in Python."""
        from sd_runner.engine import runtime

        names = {"math": math, "np": np, "rt": runtime}
        for index, (xs, ys) in enumerate(self.compiled.program.tables):
            names[f"T{index}x"], names[f"T{index}y"] = xs, ys
        return names

    def run(self, consts: np.ndarray, axis: TimeAxis, out_slots: np.ndarray) -> np.ndarray:
        """Simulate each row of ``consts``; returns ``[member, saved time, output slot]``.

        From ``THREADS_FROM`` members the rows are shared among threads, one per core (the
        kernel releases the GIL), in blocks of whole vectors: each member's numbers are the
        same whichever thread runs it.
        """
        consts = np.ascontiguousarray(consts, dtype=float)
        out = np.empty((consts.shape[0], int(axis.save_steps.sum()), len(out_slots)))
        slots = out_slots.astype(np.int64)

        def part(start: int, stop: int) -> None:
            self.module.run_batch(consts[start:stop], axis.initial, axis.step, axis.final,
                                  axis.saveper, axis.n_steps, axis.save_steps, slots,
                                  out[start:stop])

        members, threads = consts.shape[0], _cores()
        if members < THREADS_FROM or threads == 1:
            part(0, members)
            return out
        share = -(-members // (threads * lanes.WIDTH)) * lanes.WIDTH
        bounds = [(start, min(start + share, members)) for start in range(0, members, share)]
        list(_thread_pool().map(lambda bound: part(*bound), bounds))
        return out


#: Batches of at least this many members run on every core (a batch of 32 members, one MCMC
#: step, took 5.9 ms on one core and 4.3 ms on two: benchmarks/bench_engines.py).
THREADS_FROM = 16


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)


@functools.cache
def _thread_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_cores(), thread_name_prefix="sd-runner-kernel")


# A forked child has none of the pool's threads: it makes a pool of its own.
os.register_at_fork(after_in_child=_thread_pool.cache_clear)


#: The kernel's machine code in a cache entry.
OBJECT_FILE = "kernel.o"
_LOADED: dict[str, machine_code.CompiledKernel] = {}


def load_kernel(compiled: CompiledModel, key: str | None = None) -> machine_code.CompiledKernel:
    """The kernel of ``compiled``, loaded into this process: from the cache when its entry is
    sound, else compiled (in a staging folder) and cached."""
    key = key or kernel_key(compiled)
    if key not in _LOADED:
        path = cache.entry_file(
            kernel_folder(key), OBJECT_FILE,
            lambda: machine_code.object_code(native.kernel_ir(compiled.program)),
            "kernel", "compiling the model again", "kernel-",
            first_build="compiling the model once (a few seconds; cached afterwards)")
        _LOADED[key] = machine_code.CompiledKernel(path.read_bytes())
    return _LOADED[key]


#: What the first run on a machine says.
FIRST_BUILD = "translating and compiling the model once (a few seconds; cached afterwards)"


def _is_cached(mdl: Path, compiled: CompiledModel) -> bool:
    """Whether the translation and the kernel of ``mdl`` are both in the cache."""
    return (translation_folder(_digest(Path(mdl))).is_dir()
            and kernel_folder(kernel_key(compiled)).is_dir())


class FastModel(SDModel):
    """The model run by the compiled kernel; PySD still supplies names, units and defaults.

    Parameters
    ----------
    path : path-like, optional
        The ``.mdl`` file; the bundled model by default.
    """

    engine = "fast"

    def __init__(self, path: str | os.PathLike | None = None):
        mdl = Path(path) if path is not None else resources.model_path()
        compiled = compile_cached(mdl)  # refuse what the kernel cannot run before PySD loads
        if not _is_cached(mdl, compiled):
            cache.announce_first_build(FIRST_BUILD)
        super().__init__(path)
        self.kernel = Kernel(self.path, compiled)
        self.compile_seconds = self.kernel.warm_up()
        self._columns: list[str] | None = None

    # ------------------------------------------------------------------ parameters
    def constants_vector(self, params: dict | None = None) -> np.ndarray:
        """Constants of the kernel with ``params`` (PySD-style) applied."""
        consts = self._base_constants().copy()
        for name, value in (params or {}).items():
            self._apply(consts, name, value)
        return consts

    def _base_constants(self) -> np.ndarray:
        """The ``.mdl``'s constants with :meth:`set_parameters`' values applied, made again
        only when the kernel or one of those values changed (applying a calibrated set's
        subscripted values took 35 ms, more than a run). A copy made by :meth:`with_kernel`
        shares the values, and they may be set after it is made: the cache keeps the value
        objects it was made from, so comparing identities is exact."""
        made = self.__dict__.get("_base_consts")
        values = list(self._base.items())
        if made is None or made[0] is not self.kernel or len(made[1]) != len(values) or any(
                name != old_name or value is not old_value
                for (name, value), (old_name, old_value) in zip(values, made[1], strict=True)):
            consts = self.kernel.compiled.constant_defaults.copy()
            for name, value in values:
                self._apply(consts, name, value)
            consts.setflags(write=False)
            made = (self.kernel, values, consts)
            self.__dict__["_base_consts"] = made
        return made[2]

    def _apply(self, consts: np.ndarray, name: str, value) -> None:
        compiled = self.kernel.compiled
        try:
            canonical = self.variable(name).name
        except KeyError:
            raise InputError(f"{name!r} is not a variable of the model") from None
        dims = compiled.dims.get(canonical)
        keys = [k for k in compiled.constants if k[0] == canonical]
        if dims is None or not keys:
            raise InputError(f"{canonical} is not a constant of the model; the fast engine "
                             "sets constants only")
        if isinstance(value, xr.DataArray):
            # Positions by element, read once: DataArray.sel per element cost 0.4 ms each.
            numbers = value.to_numpy()
            where = [(value.dims.index(d), {e: i for i, e in enumerate(
                value.coords[d].values.tolist())}) for d in value.dims]
            for key in keys:
                element = dict(zip(dims, key[1], strict=True))
                at = [0] * numbers.ndim
                for (axis, positions), dim in zip(where, value.dims, strict=True):
                    at[axis] = positions[element[dim]]
                consts[compiled.constants[key]] = float(numbers[tuple(at)])
        else:
            for key in keys:
                consts[compiled.constants[key]] = float(value)

    # ------------------------------------------------------------------ outputs
    def output_columns(self) -> list[str]:
        """Column names PySD returns by default, in its order (read once from a short run)."""
        if self._columns is None:
            frame = super().run(final_time=self.control("INITIAL TIME"))
            self._columns = list(frame.columns)
        return self._columns

    def _column_slots(self, columns: list[str]) -> list[int | str]:
        by_column = self._slot_by_column()
        resolved = []
        for column in columns:
            if column in by_column:
                resolved.append(by_column[column])
            elif column.upper() in ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"):
                resolved.append(column.upper())
            else:
                raise InputError(f"the fast engine cannot return {column!r}")
        return resolved

    def _slot_by_column(self) -> dict[str, int]:
        if not hasattr(self, "_by_column"):
            self._by_column = {
                (f"{name}[{','.join(coord)}]" if coord else name): index
                for index, (name, coord) in enumerate(self.kernel.compiled.slots)
            }
        return self._by_column

    def select(self, label: str, keys) -> tuple[str, list[tuple[str, tuple]]]:
        """The canonical name in ``label`` (``"Name"`` or ``"Name[E1,E2]"``) and the
        ``(name, elements)`` keys among ``keys`` that it covers."""
        base, _, rest = label.partition("[")
        try:
            canonical = self.variable(base.strip()).name
        except KeyError:
            raise self.not_a_variable(label) from None
        chosen = [k for k in keys if k[0] == canonical]
        if rest:
            wanted = tuple(e.strip().casefold() for e in rest.rstrip("]").split(","))
            chosen = [k for k in chosen if tuple(e.casefold() for e in k[1]) == wanted]
        return canonical, chosen

    def expand_columns(self, variables: list[str] | None) -> list[str]:
        """Column names for ``variables`` (Vensim names, subscripted ones expanded)."""
        if variables is None:
            return self.output_columns()
        columns = []
        for variable in variables:
            canonical, keys = self.select(variable, self.kernel.compiled.slots)
            if not keys and "[" in variable:
                raise self._no_such_element(variable, canonical)
            if not keys and canonical.upper() not in (
                    "INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"):
                raise InputError(f"the fast engine cannot return {variable!r}")
            columns += [f"{canonical}[{','.join(c)}]" if c else canonical
                        for _, c in keys] or [canonical]
        return columns

    def _no_such_element(self, label: str, canonical: str) -> InputError:
        """The error for ``Name[Element]`` whose element ``Name`` does not have, with the
        nearest of those it has as the fix."""
        elements = [",".join(c) for name, c in self.kernel.compiled.slots
                    if name == canonical and c]
        if not elements:
            return InputError(f"{canonical} has no subscripts; write {canonical!r} alone")
        wanted = label.partition("[")[2].rstrip().removesuffix("]").strip()
        nearest = difflib.get_close_matches(wanted, elements, n=1, cutoff=0.5)
        fix = (f"did you mean '{canonical}[{nearest[0]}]'?" if nearest
               else f"give one of {', '.join(elements)}")
        return InputError(f"{label!r}: {canonical} has no element {wanted!r}; {fix}")

    def time_axis(self, time_step=None, saveper=None, final_time=None) -> TimeAxis:
        """The time axis of a run with the given overrides."""
        step = time_step if time_step is not None else self.control("TIME STEP")
        save = saveper if saveper is not None else self.control("SAVEPER")
        final = final_time if final_time is not None else self.control("FINAL TIME")
        return TimeAxis.build(self.control("INITIAL TIME"), final, step, save)

    def run(self, params=None, *, return_columns=None, time_step=None, saveper=None,
            final_time=None, check_finite=True) -> pd.DataFrame:
        """Run once; same arguments and result layout as :meth:`SDModel.run`."""
        return self.run_constants(self.constants_vector(params), return_columns=return_columns,
                                  time_step=time_step, saveper=saveper, final_time=final_time,
                                  check_finite=check_finite)

    def run_constants(self, consts: np.ndarray, *, return_columns=None, time_step=None,
                      saveper=None, final_time=None, check_finite=True) -> pd.DataFrame:
        """Run once with the kernel's constants vector ``consts`` (see
        :meth:`constants_vector`); otherwise as :meth:`run`."""
        columns = self.expand_columns(return_columns)
        axis = self.time_axis(time_step, saveper, final_time)
        frame = self._frame(consts, columns, axis)
        if check_finite:
            self.check_run(frame, lambda end: self._frame(consts, columns, every_step(axis, end)))
        return frame

    @functools.cached_property
    def slot_columns(self) -> tuple[str, ...]:
        """The column of each slot of the kernel's value vector (``"Margin[Apparel]"``)."""
        return tuple(f"{name}[{','.join(coord)}]" if coord else name
                     for name, coord in self.kernel.compiled.slots)

    def with_kernel(self, kernel: Kernel) -> FastModel:
        """This model (names, units, parameters set so far and later, checks) run by
        ``kernel``, compiled from a rewritten copy of its equations that keeps every name of
        the original (:mod:`sd_runner.engine.cuts`)."""
        variant = copy.copy(self)  # shares the PySD metadata and the calibrated base
        variant.kernel = kernel
        for slots_of_the_other_kernel in ("_by_column", "slot_columns"):
            variant.__dict__.pop(slots_of_the_other_kernel, None)
        return variant

    def _frame(self, consts: np.ndarray, columns: list[str], axis: TimeAxis) -> pd.DataFrame:
        targets = self._column_slots(columns)
        slots = np.asarray([t for t in targets if isinstance(t, int)], dtype=np.int64)
        result = self.kernel.run(consts[None, :], axis, slots)[0]
        controls = {"INITIAL TIME": axis.initial, "FINAL TIME": axis.final,
                    "TIME STEP": axis.step, "SAVEPER": axis.saveper}
        data, position = {}, 0
        for column, target in zip(columns, targets, strict=True):
            if isinstance(target, str):
                data[column] = np.full(len(axis.times), controls[target])
            else:
                data[column] = result[:, position]
                position += 1
        return pd.DataFrame(data, index=pd.Index(axis.times, name="time"))


def every_step(axis: TimeAxis, end: float) -> TimeAxis:
    """``axis`` saving every TIME STEP up to its saved time ``end``, to find when a run first
    went wrong; FINAL TIME and SAVEPER keep their values, since equations may use them."""
    full = TimeAxis.build(axis.initial, axis.final, axis.step, axis.step)
    last = int(np.argmin(np.abs(full.times - end)))
    return TimeAxis(axis.initial, axis.final, axis.step, axis.saveper, last,
                    np.ones(last + 1, dtype=bool), full.times[:last + 1])


__all__ = ["FastModel", "Kernel", "TimeAxis", "UnsupportedModelError"]
