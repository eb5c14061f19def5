"""Load a Vensim model through PySD, with the translation cached by the file's content hash."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import math
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pysd
import xarray as xr

from sd_runner import resources
from sd_runner.errors import InputError, RunError
from sd_runner.model import cache
from sd_runner.model.breaches import Breach, first_breaches
from sd_runner.model.mdl_text import abstract_model, parsed_mdl


@dataclass(frozen=True)
class VariableInfo:
    """What the model says of one variable.

    Attributes
    ----------
    name : str
        Vensim name, e.g. ``"Buyer Dependence"``.
    subscripts : tuple of str
        Subscript ranges it is defined over, e.g. ``("Cluster",)``.
    units : str
        Units as written in the ``.mdl``.
    lower, upper : float
        Declared range (``nan`` where none is declared).
    kind : str
        PySD's type: ``Constant``, ``Stateful``, ``Auxiliary``, ``Lookup``, ...
    comment : str
        The variable's documentation.
    """

    name: str
    subscripts: tuple[str, ...]
    units: str
    lower: float
    upper: float
    kind: str
    comment: str


def _cache_root() -> Path:
    return cache.cache_root()


def _digest(path: Path) -> str:
    payload = path.read_bytes() + pysd.__version__.encode()
    return hashlib.sha256(payload).hexdigest()


#: The translation's own file in a cache entry.
TRANSLATION = "model.py"


def translation_folder(digest: str) -> Path:
    """The cache entry of the translation of a model with ``digest``."""
    return _cache_root() / digest[:20]


def _translate(mdl: Path, digest: str) -> Path:
    """Return the translated ``.py`` for ``mdl``, translating only on a cache miss (or when
    the cached translation is damaged: see :mod:`sd_runner.model.cache`)."""
    target = translation_folder(digest)
    if target.is_dir():
        problem = cache.damage(target, (TRANSLATION,))
        if problem is None:
            return target / TRANSLATION
        cache.notice(f"the cached translation {target} {problem}; translating the model again")
        cache.discard(target)
    else:
        cache.announce_first_build("translating the model once (about 5 s; cached afterwards)")
    workdir = cache.staging_folder(target.parent, "translating-")
    try:
        _build_translation(mdl, workdir)
    except Exception as exc:  # PySD raises many types for unreadable models
        shutil.rmtree(workdir, ignore_errors=True)
        if isinstance(exc, InputError):
            raise
        raise InputError(
            f"{mdl}: PySD cannot translate this model ({exc}); fix the equation it names"
        ) from None
    cache.write_checksums(workdir)
    return cache.publish(workdir, target, (TRANSLATION,)) / TRANSLATION


def _build_translation(mdl: Path, workdir: Path) -> None:
    """PySD's Python translation of ``mdl``, written in ``workdir`` as :data:`TRANSLATION`
    (what ``pysd.read_vensim`` writes), from the abstract model the fast engine's compiler
    reads too: the model is parsed once, not once for each."""
    from pysd.builders.python.python_model_builder import ModelBuilder

    abstract = abstract_model(mdl, private=True)  # a copy of one's own: its paths change
    main, *macros = abstract.sections
    sections = (dataclasses.replace(main, path=workdir / TRANSLATION),
                *(dataclasses.replace(macro, path=workdir / macro.path.name)
                  for macro in macros))
    ModelBuilder(dataclasses.replace(abstract, sections=sections,
                                     original_path=workdir / "model.mdl")).build_model()


def _load_translation(py_file: Path):
    """PySD's model from its translation, leaving no bytecode in the cache (a ``.pyc`` would
    be a cached file that no checksum covers)."""
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        return pysd.load(str(py_file))
    finally:
        sys.dont_write_bytecode = before


class SDModel:
    """A translated Vensim model, ready to run with PySD.

    Parameters
    ----------
    path : path-like, optional
        The ``.mdl`` file; the bundled value-chain capture model by default.
    """

    engine = "pysd"

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else resources.model_path()
        if not self.path.is_file():
            raise InputError(
                f"{self.path}: model file not found; give the path of a Vensim .mdl file"
            )
        self.digest = _digest(self.path)
        self._py_file = _translate(self.path, self.digest)
        self._pysd = _load_translation(self._py_file)
        self.subscripts: dict[str, list[str]] = {
            k: list(v) for k, v in self._pysd.subscripts.items()
        }
        self.variables: dict[str, VariableInfo] = {
            row["Real Name"]: _variable_info(row) for _, row in self._pysd.doc.iterrows()
        }
        # PySD keeps the last run's parameters in the model object, so the defaults are read
        # once here, before any run.
        self._defaults = {
            name: _as_float(self._pysd[name])
            for name, info in self.variables.items()
            if info.kind == "Constant"
        }
        self._base: dict[str, xr.DataArray | float] = {}  # set by set_parameters
        self._frozen = False  # a model shared by every caller refuses set_parameters
        clock = self._pysd.time
        self._controls = {
            "INITIAL TIME": float(clock.initial_time()), "FINAL TIME": float(clock.final_time()),
            "TIME STEP": float(clock.time_step()), "SAVEPER": float(clock.saveper()),
        }

    # ------------------------------------------------------------------ metadata
    @property
    def file_sha256(self) -> str:
        """The sha256 of the ``.mdl`` file's bytes (``digest`` also covers PySD's version)."""
        return parsed_mdl(self.path).sha256

    def variable(self, name: str) -> VariableInfo:
        """Look a variable up by its Vensim name (case-insensitive)."""
        if name in self.variables:
            return self.variables[name]
        folded = {k.casefold(): v for k, v in self.variables.items()}
        if name.casefold() in folded:
            return folded[name.casefold()]
        raise KeyError(name)

    def declared_range(self, name: str) -> tuple[float, float]:
        """``(lower, upper)`` that the ``.mdl`` declares for ``name`` (``"Name"`` or
        ``"Name[Element]"``, case-insensitive); ``-inf``/``inf`` where it declares none.
        Raises ``KeyError`` for a name that is not a variable."""
        info = self.variable(name.partition("[")[0].strip())
        lower = -math.inf if math.isnan(info.lower) else info.lower
        upper = math.inf if math.isnan(info.upper) else info.upper
        return lower, upper

    def range_error(self, name: str, value: float) -> str | None:
        """Why ``value`` cannot be given to the constant ``name``: ``None`` when it lies within
        the declared range, else a message naming the value and the range."""
        lower, upper = self.declared_range(name)
        if lower <= value <= upper:
            return None
        return (f"{name} = {value:g} is outside the range the model declares "
                f"[{lower:g}, {upper:g}]")

    def nearest_names(self, name: str, count: int = 3) -> list[str]:
        """The variables whose names are closest to ``name``, for a message about a misspelt
        one (case-insensitive; none when nothing is close)."""
        folded = {k.casefold(): k for k in self.variables}
        close = difflib.get_close_matches(name.strip().casefold(), folded, n=count, cutoff=0.6)
        return [folded[match] for match in close]

    def not_a_variable(self, label: str, where: str = "") -> InputError:
        """The error for ``label`` (``"Name"`` or ``"Name[Element]"``) naming no variable,
        with the nearest names as the fix."""
        nearest = self.nearest_names(label.partition("[")[0])
        fix = (f"did you mean {' or '.join(repr(n) for n in nearest)}?" if nearest
               else "models/README.md lists the model's variables")
        return InputError(f"{where}{label!r} is not a variable of the model; {fix}")

    def default_value(self, name: str) -> xr.DataArray | float:
        """The value a run gives a constant unless told otherwise: the ``.mdl``'s value, or
        the one set by :meth:`set_parameters` (a copy: safe to modify)."""
        value = self._defaults[self.variable(name).name]
        return value.copy() if isinstance(value, xr.DataArray) else value

    def freeze(self) -> None:
        """Refuse :meth:`set_parameters` from now on: the model is shared."""
        self._frozen = True

    def copy(self) -> SDModel:
        """A model of one's own: the same equations and parameter values, whose
        :meth:`set_parameters` changes no other copy."""
        twin = copy.copy(self)
        twin._defaults, twin._base, twin._frozen = dict(self._defaults), dict(self._base), False
        return twin

    def set_parameters(self, assignments: dict[str, float]) -> None:
        """Make ``assignments`` the values every later run starts from (a calibrated set).

        Keys are Vensim names of constants, ``"Name"`` (every element) or
        ``"Name[Element]"``; values are in the model's units.
        """
        if self._frozen:
            raise InputError("this model is shared by every caller and cannot be changed; "
                             "take a model of your own with sd_runner.load_model() or its "
                             "copy()")
        for key, value in sorted(assignments.items(), key=lambda item: "[" in item[0]):
            base, _, rest = key.partition("[")
            try:
                name = self.variable(base.strip()).name
            except KeyError:
                raise InputError(f"{key!r} is not a variable of the model") from None
            if name not in self._defaults:
                raise InputError(f"{key!r} is not a constant of the model, so it cannot be set")
            current = self._defaults[name]
            if not rest:
                current = (xr.full_like(current, float(value), dtype=float)
                           if isinstance(current, xr.DataArray) else float(value))
            else:
                element = rest.rstrip("]").strip()
                if not isinstance(current, xr.DataArray) or len(current.dims) != 1:
                    raise InputError(f"{key!r}: {name} has no single subscript to select from")
                elements = {e.casefold(): e for e in current.coords[current.dims[0]].values}
                if element.casefold() not in elements:
                    raise InputError(f"{key!r}: {element!r} is not an element of "
                                     f"{current.dims[0]}")
                current = current.copy()
                current.loc[{current.dims[0]: elements[element.casefold()]}] = float(value)
            self._defaults[name] = current
            self._base[name] = current

    def control(self, name: str) -> float:
        """A time control (``INITIAL TIME``, ``FINAL TIME``, ``TIME STEP``, ``SAVEPER``)."""
        return self._controls[name]

    # ------------------------------------------------------------------ running
    def run(
        self,
        params: dict[str, float | xr.DataArray] | None = None,
        *,
        return_columns: list[str] | None = None,
        time_step: float | None = None,
        saveper: float | None = None,
        final_time: float | None = None,
    ) -> pd.DataFrame:
        """Run the model from its original state with ``params`` applied.

        Returns
        -------
        pandas.DataFrame
            Indexed by time in years; one column per variable and subscript element, named as
            Vensim names them (``"Margin[Apparel]"``).
        """
        kwargs = {}
        if time_step is not None:
            kwargs["time_step"] = time_step
            kwargs["saveper"] = saveper if saveper is not None else self.control("SAVEPER")
        elif saveper is not None:
            kwargs["saveper"] = saveper
        if final_time is not None:
            kwargs["final_time"] = final_time
        frame = self._simulate(params, return_columns, kwargs)
        step = kwargs.get("time_step", self.control("TIME STEP"))
        if kwargs.get("saveper", self.control("SAVEPER")) == step:
            self.check_run(frame)
        else:
            self.check_run(frame, lambda end: self._simulate(
                params, return_columns, {**kwargs, "saveper": step, "final_time": end}))
        return frame

    def _simulate(self, params, return_columns, kwargs: dict) -> pd.DataFrame:
        try:
            with warnings.catch_warnings():
                # Division by zero inside a run becomes inf/nan, checked by check_run.
                warnings.simplefilter("ignore", RuntimeWarning)
                frame = self._pysd.run(
                    params={**self._base, **(params or {})}, return_columns=return_columns,
                    reload=True, **kwargs
                )
        except Exception as exc:  # any PySD failure is a run failure
            raise RunError(f"{self.path.name}: the run failed{self._where(exc)}: {exc}; "
                           "check the parameter values that feed it") from None
        frame.index.name = "time"
        return frame

    def _where(self, exc: Exception) -> str:
        """`` in <variable> at time <t>``: the innermost equation of the translated model in
        ``exc``'s traceback, and the time the run had reached."""
        names = dict(zip(self._pysd.doc["Py Name"], self._pysd.doc["Real Name"], strict=True))
        variable = None
        trace = exc.__traceback__
        while trace is not None:
            code = trace.tb_frame.f_code
            if Path(code.co_filename) == self._py_file and code.co_name in names:
                variable = names[code.co_name]
            trace = trace.tb_next
        try:
            time = f" at time {float(self._pysd.time()):g}"
        except Exception:  # noqa: BLE001 - the clock itself may be what failed
            time = ""
        return f" in {variable}{time}" if variable else time

    def check_run(self, frame: pd.DataFrame, every_step=None) -> None:
        """Stop a run that went numerically wrong: a value that is not finite, or one outside
        the range its variable declares in the ``.mdl`` (``[0,?]`` for a stock that cannot
        go negative), named with its variable, element and time.

        ``every_step(end)``, if given, reruns the model saving every TIME STEP up to ``end``:
        between two saved times a stock can leave its range and turn everything into NaN by
        the next one, so the error names the first step anything went wrong, not that NaN.
        """
        breach = self.first_breach(frame)
        if breach is None:
            return
        if every_step is not None and breach.time > frame.index[0]:
            breach = self.first_breach(every_step(breach.time)) or breach
        raise RunError(f"the run went numerically wrong: {breach.describe()}; check the "
                       "parameter values that feed it")

    def first_breach(self, frame: pd.DataFrame) -> Breach | None:
        """The first value of ``frame`` that is not finite or leaves its declared range."""
        frame = frame.select_dtypes("number")
        lower, upper = self.declared_limits(frame.columns)
        return first_breaches(frame.to_numpy(dtype=float)[None], frame.index.to_numpy(),
                              list(frame.columns), lower, upper)[0]

    def declared_limits(self, columns) -> tuple[np.ndarray, np.ndarray]:
        """Declared lower and upper limits of each column (-inf and inf where none)."""
        columns = tuple(columns)
        answers = self.__dict__.setdefault("_limits_of_columns", {})  # asked at every run
        if columns not in answers:
            answers[columns] = self._limits(columns)
        return answers[columns]

    def _limits(self, columns: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        def declared(column: str) -> tuple[float, float]:
            try:
                return self.declared_range(column)
            except KeyError:  # not a model variable (a time control): no limits
                return -np.inf, np.inf

        lower, upper = zip(*map(declared, columns), strict=True) if columns else ((), ())
        limits = np.asarray(lower), np.asarray(upper)
        for array in limits:
            array.setflags(write=False)  # shared by every run that asks for these columns
        return limits


def _as_float(value: object) -> xr.DataArray | float:
    if isinstance(value, xr.DataArray):
        return value.astype(float)
    return float(value)


def _variable_info(row: pd.Series) -> VariableInfo:
    subs = row["Subscripts"]
    limits = row["Limits"]
    lower, upper = (limits[0], limits[1]) if isinstance(limits, tuple) and len(limits) == 2 \
        else (float("nan"), float("nan"))
    return VariableInfo(
        name=row["Real Name"],
        subscripts=tuple(subs) if isinstance(subs, list) else (),
        units=str(row["Units"] or ""),
        lower=float(lower) if lower is not None else float("nan"),
        upper=float(upper) if upper is not None else float("nan"),
        kind=str(row["Type"]),
        comment=str(row["Comment"] or ""),
    )

