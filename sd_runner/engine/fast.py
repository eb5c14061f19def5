"""The fast engine: the compiled kernel behind the same interface as :class:`SDModel`."""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import os
import shutil
import sys
import time as clock
import types
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import xarray as xr

from sd_runner import resources
from sd_runner.engine import runtime
from sd_runner.engine.compiler import compile_mdl
from sd_runner.engine.structures import CompiledModel, UnsupportedModelError
from sd_runner.errors import InputError
from sd_runner.inputs import limits
from sd_runner.model import cache
from sd_runner.model.loading import SDModel, _cache_root, _digest, translation_folder

ENGINE_VERSION = "1"  # bump when the generated code changes meaning

# numba caches a kernel by its own file only, not by the runtime functions it calls, so the
# runtime's source is part of the cache key: editing it recompiles every kernel.
_RUNTIME_SOURCE = Path(runtime.__file__).read_text(encoding="utf-8")


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
    """The cache key of a compiled model's kernel."""
    # Content-addressed: a folder never changes once written, so numba's cache by file
    # path and time stamp cannot serve code compiled from another source.
    # numba's version and the CPU it compiles for are part of the key too, so that an entry
    # is never recompiled (and so changed) in place, as numba would do for either.
    text = "\n".join([compiled.source, ENGINE_VERSION, _RUNTIME_SOURCE, numba.__version__,
                      sys.version, repr(_codegen_magic())])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _codegen_magic() -> tuple:
    """numba's description of the machine code it generates here (target, CPU, features)."""
    return numba.core.registry.cpu_target.target_context.codegen().magic_tuple()


def kernel_folder(key: str) -> Path:
    """The cache entry of the kernel with ``key``."""
    return _cache_root() / f"engine-{key}"


class Kernel:
    """A compiled model's numba kernel, cached on disk by the hash of its generated source."""

    def __init__(self, mdl: Path, compiled: CompiledModel | None = None):
        self.compiled: CompiledModel = compiled or compile_mdl(mdl)
        self.key = kernel_key(self.compiled)
        started = clock.perf_counter()
        self.module = _load_kernel(self.compiled.source, self.key,
                                   self.compiled.constant_defaults)
        self.compile_seconds = clock.perf_counter() - started

    def warm_up(self) -> float:
        """The seconds it took to compile (or load from the cache) the machine code, which
        loading the kernel did."""
        return self.compile_seconds

    def run(self, consts: np.ndarray, axis: TimeAxis, out_slots: np.ndarray) -> np.ndarray:
        """Simulate each row of ``consts``; returns ``[member, saved time, output slot]``."""
        consts = np.ascontiguousarray(consts, dtype=float)
        out = np.empty((consts.shape[0], int(axis.save_steps.sum()), len(out_slots)))
        self.module.run_batch(consts, axis.initial, axis.step, axis.final, axis.saveper,
                              axis.n_steps, axis.save_steps, out_slots.astype(np.int64), out)
        return out


def _warm_up(module, constant_defaults: np.ndarray) -> float:
    """Call ``run_batch`` once with the argument types every run uses (so that it is compiled,
    or loaded from numba's cache, for exactly those); returns the seconds it took."""
    started = clock.perf_counter()
    axis = TimeAxis.build(0.0, 1.0, 1.0, 1.0)
    consts = np.ascontiguousarray(constant_defaults[None, :], dtype=float)
    out = np.empty((1, 1, 1))
    module.run_batch(consts, axis.initial, axis.step, axis.final, axis.saveper,
                     0, axis.save_steps[:1].copy(), np.zeros(1, dtype=np.int64), out)
    return clock.perf_counter() - started


#: The kernel's own source in a cache entry; numba's files go to its ``__pycache__``.
KERNEL_FILE = "kernel.py"


def _load_kernel(source: str, key: str, constants: np.ndarray):
    """The kernel module for ``source``, compiled for the argument types of every run: from
    the cache when its entry is sound, else built (generated source and numba's machine code,
    in a staging folder) and cached. ``constants``: values to run it with once."""
    name = f"sd_runner_kernel_{key}"
    if name in sys.modules:
        return sys.modules[name]
    folder = kernel_folder(key)
    problem = _kernel_damage(folder, source) if folder.is_dir() else None
    if problem is not None:
        cache.notice(f"the cached kernel {folder} {problem}; compiling the model again")
        cache.discard(folder)
    elif not folder.is_dir():
        cache.announce_first_build("compiling the model once (about 20 s; cached afterwards)")
    if problem is not None or not folder.is_dir():
        folder = _build_kernel(source, key, folder, constants)
    module = _import_kernel(name, folder / KERNEL_FILE)
    if not numba.config.CACHE_DIR:  # else numba keeps its files elsewhere, unchecked
        _freeze_cache(module)
    _warm_up_healing_runtime(module, constants)
    return module


def _kernel_damage(folder: Path, source: str) -> str | None:
    problem = cache.damage(folder, (KERNEL_FILE,))
    if problem is None and (folder / KERNEL_FILE).read_text(encoding="utf-8") != source:
        problem = f"holds a {KERNEL_FILE} of another model"  # a collision of hash prefixes
    return problem


def _build_kernel(source: str, key: str, folder: Path, constants: np.ndarray) -> Path:
    """Write and compile the kernel in a staging folder, then publish it as ``folder``."""
    staging = cache.staging_folder(folder.parent, "kernel-")
    try:
        (staging / KERNEL_FILE).write_text(source, encoding="utf-8")
        if not numba.config.CACHE_DIR:
            # numba writes its cache beside the source: compile here so that its files are
            # covered by the checksums. (With NUMBA_CACHE_DIR it keeps them there, by path.)
            # Under the module name the published entry is loaded with: numba's cache names it.
            name = f"sd_runner_kernel_{key}"
            module = _import_kernel(name, staging / KERNEL_FILE)
            try:
                _warm_up_healing_runtime(module, constants)
            finally:
                del sys.modules[name]
        cache.write_checksums(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return cache.publish(staging, folder, (KERNEL_FILE,))


def _warm_up_healing_runtime(module, constants: np.ndarray) -> None:
    """Compile ``module``; if numba's cache of the runtime functions it calls is damaged,
    empty that cache and compile again."""
    try:
        _warm_up(module, constants)
    except Exception as exc:  # noqa: BLE001 - numba reports unreadable caches in many ways
        damaged = [fn for fn in _dispatchers(runtime) if not _cache_loads(fn)]
        if not damaged:
            raise
        cache.notice(f"numba's cache of {', '.join(fn.__name__ for fn in damaged)} (sd-runner's "
                     f"runtime) is damaged ({type(exc).__name__}); compiling them again")
        for fn in damaged:
            fn._cache.flush()
        _warm_up(module, constants)


def _import_kernel(name: str, path: Path):
    """Execute the kernel's source as module ``name`` (without writing bytecode next to it)."""
    module = types.ModuleType(name)
    module.__file__ = str(path)
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)  # noqa: S102 - the source the compiler generated
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _dispatchers(module) -> list:
    return [fn for fn in vars(module).values()
            if isinstance(fn, numba.core.registry.CPUDispatcher)
            and fn.__module__ == module.__name__]


def _cache_loads(fn) -> bool:
    """Whether numba's cache index and data of ``fn`` can be read."""
    cache_file = fn._cache._cache_file
    try:
        overloads = cache_file._load_index()
        for data_name in overloads.values():
            cache_file._load_data(data_name)
    except FileNotFoundError:
        return True
    except Exception:  # noqa: BLE001 - whatever unpickling a damaged file raises
        return False
    return True


def _freeze_cache(module) -> None:
    """Stop numba from writing to the kernel's cache entry once it is published (it still
    reads it), so that its checksums stay true; new argument types compile in memory."""
    for fn in _dispatchers(module):
        fn._cache.save_overload = _no_save


def _no_save(_signature, _data) -> None:
    pass


#: What the first run on a machine says (timed on a 2-core machine: 21 s idle, 53 s busy).
FIRST_BUILD = "translating and compiling the model once (about 30 s; cached afterwards)"


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
        compiled = compile_mdl(mdl)  # refuse what the kernel cannot run before PySD loads
        if not _is_cached(mdl, compiled):
            cache.announce_first_build(FIRST_BUILD)
        super().__init__(path)
        self.kernel = Kernel(self.path, compiled)
        self.compile_seconds = self.kernel.warm_up()
        self._columns: list[str] | None = None

    # ------------------------------------------------------------------ parameters
    def constants_vector(self, params: dict | None = None) -> np.ndarray:
        """Constants of the kernel with ``params`` (PySD-style) applied."""
        consts = self.kernel.compiled.constant_defaults.copy()
        for name, value in {**self._base, **(params or {})}.items():
            self._apply(consts, name, value)
        return consts

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
            if value.dims and list(value.dims) != dims:
                value = value.transpose(*[d for d in dims if d in value.dims])
            for key in keys:
                selection = {d: e for d, e in zip(dims, key[1], strict=True)
                             if d in value.dims}
                consts[compiled.constants[key]] = float(value.sel(selection))
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

    def with_kernel(self, kernel: Kernel) -> FastModel:
        """This model (names, units, parameters set so far and later, checks) run by
        ``kernel``, compiled from a rewritten copy of its equations that keeps every name of
        the original (:mod:`sd_runner.engine.cuts`)."""
        variant = copy.copy(self)  # shares the PySD metadata and the calibrated base
        variant.kernel = kernel
        variant.__dict__.pop("_by_column", None)  # slots of the other kernel
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
