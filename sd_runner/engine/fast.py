"""The fast engine: the compiled kernel behind the same interface as :class:`SDModel`."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import time as clock
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from sd_runner import limits
from sd_runner.engine import runtime
from sd_runner.engine.compiler import CompiledModel, UnsupportedModelError, compile_mdl
from sd_runner.errors import InputError
from sd_runner.model import SDModel, _cache_root

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


class Kernel:
    """A compiled model's numba kernel, cached on disk by the hash of its generated source."""

    def __init__(self, mdl: Path, compiled: CompiledModel | None = None):
        self.compiled: CompiledModel = compiled or compile_mdl(mdl)
        # Content-addressed: a folder never changes once written, so numba's cache by file
        # path and time stamp cannot serve code compiled from another source.
        key = hashlib.sha256((self.compiled.source + ENGINE_VERSION + _RUNTIME_SOURCE).encode()
                             ).hexdigest()[:20]
        self.key = key
        self.module = _load_kernel(self.compiled.source, key)
        self.compile_seconds = 0.0

    def warm_up(self) -> float:
        """Compile (or load from the cache) the machine code; returns the seconds it took."""
        started = clock.perf_counter()
        axis = TimeAxis.build(0.0, 1.0, 1.0, 1.0)
        consts = self.compiled.constant_defaults[None, :]
        out = np.empty((1, int(axis.save_steps.sum()), 1))
        self.module.run_batch(consts, axis.initial, axis.step, axis.final, axis.saveper,
                              0, axis.save_steps[:1], np.zeros(1, dtype=np.int64), out[:, :1])
        self.compile_seconds = clock.perf_counter() - started
        return self.compile_seconds

    def run(self, consts: np.ndarray, axis: TimeAxis, out_slots: np.ndarray) -> np.ndarray:
        """Simulate each row of ``consts``; returns ``[member, saved time, output slot]``."""
        consts = np.ascontiguousarray(consts, dtype=float)
        out = np.empty((consts.shape[0], int(axis.save_steps.sum()), len(out_slots)))
        self.module.run_batch(consts, axis.initial, axis.step, axis.final, axis.saveper,
                              axis.n_steps, axis.save_steps, out_slots.astype(np.int64), out)
        return out


def _load_kernel(source: str, key: str):
    folder = _cache_root() / f"engine-{key}"
    path = folder / "kernel.py"
    if not (path.is_file() and path.read_text(encoding="utf-8") == source):
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix="kernel-", dir=folder.parent))
        except OSError:
            folder = Path(tempfile.mkdtemp(prefix="sd-runner-kernel-"))
            path = folder / "kernel.py"
            staging = None
        if staging is not None:
            (staging / "kernel.py").write_text(source, encoding="utf-8")
            try:
                os.replace(staging, folder)
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
                if not path.is_file():
                    raise
        else:
            path.write_text(source, encoding="utf-8")
    name = f"sd_runner_kernel_{key}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class FastModel(SDModel):
    """The model run by the compiled kernel; PySD still supplies names, units and defaults.

    Parameters
    ----------
    path : path-like, optional
        The ``.mdl`` file; the bundled model by default.
    """

    engine = "fast"

    def __init__(self, path: str | os.PathLike | None = None):
        compiled = compile_mdl(path) if path is not None else None  # refuse before PySD loads
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
            raise InputError(f"{label!r} is not a variable of the model") from None
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
            if not keys and ("[" in variable or canonical.upper() not in (
                    "INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")):
                raise InputError(f"the fast engine cannot return {variable!r}")
            columns += [f"{canonical}[{','.join(c)}]" if c else canonical
                        for _, c in keys] or [canonical]
        return columns

    def time_axis(self, time_step=None, saveper=None, final_time=None) -> TimeAxis:
        """The time axis of a run with the given overrides."""
        step = time_step if time_step is not None else self.control("TIME STEP")
        save = saveper if saveper is not None else self.control("SAVEPER")
        final = final_time if final_time is not None else self.control("FINAL TIME")
        return TimeAxis.build(self.control("INITIAL TIME"), final, step, save)

    def run(self, params=None, *, return_columns=None, time_step=None, saveper=None,
            final_time=None, check_finite=True) -> pd.DataFrame:
        """Run once; same arguments and result layout as :meth:`SDModel.run`."""
        columns = self.expand_columns(return_columns)
        targets = self._column_slots(columns)
        axis = self.time_axis(time_step, saveper, final_time)
        slots = np.asarray([t for t in targets if isinstance(t, int)], dtype=np.int64)
        result = self.kernel.run(self.constants_vector(params)[None, :], axis, slots)[0]
        controls = {"INITIAL TIME": axis.initial, "FINAL TIME": axis.final,
                    "TIME STEP": axis.step, "SAVEPER": axis.saveper}
        data, position = {}, 0
        for column, target in zip(columns, targets, strict=True):
            if isinstance(target, str):
                data[column] = np.full(len(axis.times), controls[target])
            else:
                data[column] = result[:, position]
                position += 1
        frame = pd.DataFrame(data, index=pd.Index(axis.times, name="time"))
        if check_finite:
            self.check_run(frame)
        return frame


__all__ = ["FastModel", "Kernel", "TimeAxis", "UnsupportedModelError"]
