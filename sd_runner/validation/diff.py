"""Two versions of the model side by side: the lever matrix run on both, and every key outcome
that moves by more than a threshold, with the model changes that may explain it.

A version is a ``.mdl`` file with a parameter set on top (the committed calibration, none, or a
fit written by ``sd-runner calibrate``). The size of a move is taken against the series' own
scale, its largest magnitude over the run in either version, as ``sd-runner check`` judges
integration error: a running total that starts from zero, or a lever's cost before the lever
starts, would make a change relative to each value meaningless. The results are plain data;
:mod:`sd_runner.reports.diff` writes them as text, JSON and HTML.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sd_runner import resources
from sd_runner.errors import ArgumentError, InputError, RunError
from sd_runner.inputs.levers import Lever
from sd_runner.model.mdl_text import read_mdl
from sd_runner.progress import Progress, quiet, step
from sd_runner.results.diff import (
    DefinitionChange,
    ModelDiff,
    Move,
    NotCompared,
    Trajectory,
    ValueChange,
    Version,
)
from sd_runner.results.matrix import MatrixMember
from sd_runner.results.outcomes import KEY_OUTCOMES
from sd_runner.simulate.lever_matrix import lever_matrix, run_matrix

#: Default threshold: a move of more than 1 % of the series' largest magnitude.
DEFAULT_THRESHOLD = 0.01

#: Default floor of a series' scale, in the outcome's own units. In the matrix of the bundled
#: model every key outcome series that is not zero throughout reaches at least 0.027 of its
#: units (textile's own-brand share in the baseline), and 160 of the 1 344 are zero throughout
#: (levers' costs while they are off). The floor changes no scale but those, where rounding
#: alone would otherwise count as a 100 % move.
DEFAULT_FLOOR = 1e-6

#: Largest moves the reports draw (old against new over time).
CHARTED = 12

TIME_CONTROLS = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")

# ---------------------------------------------------------------------- versions
@dataclass(frozen=True)
class VersionSpec:
    """What one side of a diff is: a ``.mdl`` and the parameter set applied to it.

    Attributes
    ----------
    role : str
        ``"OLD"`` or ``"NEW"``, as the command line names the argument.
    mdl : pathlib.Path
        The model file.
    fit : str
        :data:`resources.CALIBRATED`, :data:`resources.UNCALIBRATED` or the path of a fit's
        ``parameters.toml``.
    label : str
        How the reports name it: the argument as given, and its parameter set.
    """

    role: str
    mdl: Path
    fit: str
    label: str


FIT_HELP = ("give a fit folder or its parameters.toml written by `sd-runner calibrate`, or "
            "calibrated or uncalibrated")


def version_spec(role: str, argument: str | None, fit: str | None = None) -> VersionSpec:
    """The version an argument names: a ``.mdl`` file (with ``fit``, default the committed
    calibration), a fit of the bundled model (a folder or ``parameters.toml``), or ``None``
    for the bundled model.

    Raises
    ------
    InputError
        For a missing file, a file that is neither, or a fit given twice.
    """
    option = f"--{role.lower()}-fit"
    what = ("give a Vensim .mdl file, or a fit folder (or its parameters.toml) written by "
            "`sd-runner calibrate`")
    if argument is None:
        chosen, shown = _fit_option(option, fit)
        return VersionSpec(role, resources.model_path(), chosen,
                           f"bundled {resources.model_path().name} ({shown})")
    path = Path(argument)
    if not path.exists():
        raise InputError(f"{role} {argument}: not found; {what}")
    if path.is_file() and path.suffix.casefold() == ".mdl":
        chosen, shown = _fit_option(option, fit)
        return VersionSpec(role, path, chosen, f"{argument} ({shown})")
    if path.is_dir() or path.suffix.casefold() == ".toml":
        if fit is not None:
            raise InputError(f"{option} {fit}: {role} {argument} is a fit already; give "
                             f"{option} only with a .mdl file")
        return VersionSpec(role, resources.model_path(), _fit_path(role, argument),
                           f"bundled {resources.model_path().name} (fit {argument})")
    raise InputError(f"{role} {argument}: neither a .mdl file nor a fit; {what}")


def _fit_option(option: str, text: str | None) -> tuple[str, str]:
    if text is None or text == resources.CALIBRATED:
        return resources.CALIBRATED, "calibrated"
    if text == resources.UNCALIBRATED:
        return resources.UNCALIBRATED, "uncalibrated"
    return _fit_path(option, text), f"fit {text}"


def _fit_path(where: str, text: str) -> str:
    from sd_runner.calibration.fitfile import fit_parameters_path

    path = fit_parameters_path(text)
    if not path.is_file():
        raise InputError(f"{where} {text}: no fitted parameters there; {FIT_HELP}")
    if path.resolve() == fit_parameters_path(resources.fit_dir()).resolve():
        return resources.CALIBRATED  # the model loaded for every other command serves
    return str(path.resolve())


@dataclass
class _Loaded:
    """A version's model, and the fit's parameters it has no constant for."""

    spec: VersionSpec
    model: object
    fit_not_applied: tuple[str, ...] = ()


def _load(spec: VersionSpec, bundled_model) -> _Loaded:
    """The model of ``spec`` on the fast engine, with its parameter set applied.

    A fit is applied to another ``.mdl`` as far as that model has the fit's constants (a
    modeller may have removed one); those it lacks are reported, not refused. A fitted value
    outside the range the ``.mdl`` declares is refused as for every run.
    """
    if spec.mdl.resolve() == resources.model_path().resolve():
        return _Loaded(spec, bundled_model("fast", spec.fit))
    from sd_runner.engine import FastModel, UnsupportedModelError

    try:
        model = FastModel(spec.mdl)
    except UnsupportedModelError as exc:
        raise InputError(f"{str(exc).removesuffix(_PYSD_FIX)}; `sd-runner diff` runs the "
                         "compiled engine only") from None
    if spec.fit == resources.UNCALIBRATED:
        return _Loaded(spec, model)
    from sd_runner.calibration.fitfile import read_fit

    fit_file = resources.fit_dir() if spec.fit == resources.CALIBRATED else spec.fit
    values = read_fit(fit_file)
    applied = {name: value for name, value in values.items() if _is_constant(model, name)}
    for name, value in applied.items():
        problem = model.range_error(name, value)
        if problem:
            raise InputError(f"{spec.role} {spec.label}: the fit's {problem}; give another "
                             f"fit with --{spec.role.lower()}-fit")
    model.set_parameters(applied)
    return _Loaded(spec, model, tuple(sorted(set(values) - set(applied))))


#: How the fast engine's refusal ends; ``diff`` has no other engine to offer.
_PYSD_FIX = "; run this model with --engine pysd"


def _is_constant(model, name: str) -> bool:
    try:
        return model.variable(name.partition("[")[0].strip()).kind == "Constant"
    except KeyError:
        return False


# ---------------------------------------------------------------------- the diff
def diff_models(old: VersionSpec, new: VersionSpec, bundled_model, levers: dict[str, Lever],
                threshold: float = DEFAULT_THRESHOLD, floor: float = DEFAULT_FLOOR,
                progress: Progress = quiet) -> ModelDiff:
    """Run the lever matrix on both versions and list what moved.

    Parameters
    ----------
    old, new : VersionSpec
        The versions (see :func:`version_spec`).
    bundled_model : callable
        ``bundled_model(engine, fit)``: the bundled model with a fit, for a version that is
        the bundled ``.mdl`` (loaded once for every command).
    levers : dict
        The levers the matrix pulls.
    threshold : float
        Fraction of a series' scale a move must exceed to be listed (0.01: 1 %).
    floor : float
        Least scale of a series, in the outcome's units.
    progress : callable, optional
        ``progress(stage, done, total)`` (:mod:`sd_runner.progress`): a stage for each
        version's runs.
    """
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ArgumentError("threshold", threshold * 100, "give a percentage of 0 or more, "
                            "e.g. 1")
    if not (math.isfinite(floor) and floor > 0):
        raise ArgumentError("floor", floor, "give a positive number, e.g. 1e-6")
    members = lever_matrix(levers)
    loaded = [_load(old, bundled_model), _load(new, bundled_model)]
    runs = []
    for side in loaded:
        step(progress, f"running the lever matrix ({len(members)} runs) on {side.spec.role} "
                       f"{side.spec.label}")
        runs.append(_run_members(side.model, members, levers))
    columns = [_outcome_columns(side.model) for side in loaded]
    common = [c for c in columns[0] if c in set(columns[1])]
    moves, trajectories, compared, not_compared = [], {}, [], []
    for member in members:
        (old_frame, old_problem), (new_frame, new_problem) = (r[member.name] for r in runs)
        if old_problem or new_problem:
            not_compared.append(NotCompared(member.name, old_problem, new_problem))
            continue
        compared.append(member.name)
        found, series = _member_moves(member.name, old_frame[common], new_frame[common],
                                      threshold, floor)
        moves += found
        trajectories.update(series)
    moves.sort(key=lambda m: (-m.size, m.member, m.outcome, m.cluster))
    charted = tuple(trajectories[(m.member, m.outcome, m.cluster)]
                    for m in _to_chart(moves, CHARTED))
    only = {"old": tuple(c for c in columns[0] if c not in set(columns[1])),
            "new": tuple(c for c in columns[1] if c not in set(columns[0]))}
    old_names, new_names = set(loaded[0].model.variables), set(loaded[1].model.variables)
    changed, masked = _constant_changes(loaded[0].model, loaded[1].model)
    return ModelDiff(
        old=_version(loaded[0]), new=_version(loaded[1]), threshold=threshold, floor=floor,
        members=tuple(compared), series_compared=len(compared) * len(common),
        moves=tuple(moves), not_compared=tuple(not_compared), outcome_columns_only=only,
        variables_added=tuple(sorted(new_names - old_names)),
        variables_removed=tuple(sorted(old_names - new_names)),
        definitions_changed=_definition_changes(old.mdl, new.mdl),
        constants_changed=changed, constants_masked=masked,
        controls_changed=tuple(
            ValueChange(c, loaded[0].model.control(c), loaded[1].model.control(c))
            for c in TIME_CONTROLS if loaded[0].model.control(c) != loaded[1].model.control(c)),
        trajectories=charted,
    )


def _to_chart(moves: list[Move], count: int) -> list[Move]:
    """The largest move of each outcome, largest first, then the next largest, up to
    ``count``: the charts show which outcomes moved, not one outcome in every cluster."""
    firsts: dict[str, Move] = {}
    for move in moves:
        firsts.setdefault(move.outcome, move)
    chosen = list(firsts.values())
    return (chosen + [m for m in moves if m not in chosen])[:count]


def _version(loaded: _Loaded) -> Version:
    from sd_runner.calibration.fitfile import fit_parameters_path

    spec = loaded.spec
    fit = {resources.CALIBRATED: "calibrated", resources.UNCALIBRATED: "uncalibrated"}.get(
        spec.fit, "fit")
    fit_file = (None if spec.fit == resources.UNCALIBRATED else fit_parameters_path(
        resources.fit_dir() if spec.fit == resources.CALIBRATED else spec.fit))
    fit_sha256 = hashlib.sha256(fit_file.read_bytes()).hexdigest() if fit_file else ""
    return Version(spec.role, spec.label, spec.mdl.name, loaded.model.file_sha256, fit,
                   fit_sha256, loaded.fit_not_applied)


def _outcome_columns(model) -> list[str]:
    """Columns of the key outcomes the model has (``"Margin[Apparel]"``, ...)."""
    present = [o for o in KEY_OUTCOMES if o in model.variables]
    return model.expand_columns(present) if present else []


def _run_members(model, members: list[MatrixMember], levers: dict[str, Lever]):
    """Each member's key outcomes in ``model``, or why it cannot be run there."""
    columns = [o for o in KEY_OUTCOMES if o in model.variables]
    results = {}
    for member in members:
        pulled = (levers.values() if member.lever == "all"
                  else [levers[member.lever]] if member.lever in levers else [])
        problem = "; ".join(filter(None, (_lever_problem(model, lever, member.level)
                                          for lever in pulled))) or None
        frame = None
        if problem is None:
            try:
                frame = run_matrix(model, [member], columns)[member.name]
            except (InputError, RunError) as exc:
                problem = str(exc)
        results[member.name] = (frame, problem)
    return results


def _lever_problem(model, lever: Lever, level: float) -> str | None:
    """Why ``lever`` cannot be pulled to ``level`` in ``model``: a setting that is not a
    constant of it, or a value outside the range it declares; ``None`` if it can."""
    for setting in lever.settings:
        if not _is_constant(model, setting.variable):
            return f"lever {lever.id}: {setting.variable!r} is not a constant of this model"
        problem = model.range_error(setting.variable, setting.at_level(level))
        if problem:
            return f"lever {lever.id} at {level:g}: {problem}"
    return None


def _member_moves(member: str, old: pd.DataFrame, new: pd.DataFrame, threshold: float,
                  floor: float) -> tuple[list[Move], dict]:
    """The moves beyond ``threshold`` between two runs of one member (columns alike), over
    the saved times both have, and their trajectories."""
    times = np.intersect1d(old.index.to_numpy(dtype=float), new.index.to_numpy(dtype=float))
    before = old.loc[times].to_numpy(dtype=float)
    after = new.loc[times].to_numpy(dtype=float)
    scale = np.maximum(np.maximum(np.abs(before).max(axis=0, initial=0.0),
                                  np.abs(after).max(axis=0, initial=0.0)), floor)
    relative = np.abs(after - before) / scale
    moves, series = [], {}
    for index in np.flatnonzero(relative.max(axis=0, initial=0.0) > threshold):
        at = int(np.argmax(relative[:, index]))
        outcome, _, cluster = old.columns[index].partition("[")
        cluster = cluster.removesuffix("]")
        moves.append(Move(member, outcome, cluster, float(times[at]), float(before[at, index]),
                          float(after[at, index]), float(relative[at, index]),
                          float(scale[index])))
        series[(member, outcome, cluster)] = Trajectory(
            member, outcome, cluster, tuple(times.tolist()),
            tuple(before[:, index].tolist()), tuple(after[:, index].tolist()))
    return moves, series


def _constants(model) -> tuple[dict[str, float], dict[str, float]]:
    """Every constant element of ``model`` (``"Name[E1,E2]"``): its ``.mdl`` value, and the
    value runs start from (the fit's, where it sets one)."""
    compiled = model.kernel.compiled
    used = model.constants_vector()
    mdl, run = {}, {}
    for (name, coord), index in compiled.constants.items():
        label = f"{name}[{','.join(coord)}]" if coord else name
        mdl[label] = float(compiled.constant_defaults[index])
        run[label] = float(used[index])
    return mdl, run


def _constant_changes(old_model, new_model) -> tuple[tuple[ValueChange, ...],
                                                       tuple[ValueChange, ...]]:
    """Constants whose value as runs use it differs (an element present in one version only
    too, when its variable is in both), and those whose ``.mdl`` value differs but which the
    fit sets alike in both versions."""
    (old_mdl, old_run), (new_mdl, new_run) = _constants(old_model), _constants(new_model)
    both = set(old_model.variables) & set(new_model.variables)
    changed, masked = [], []
    for label in sorted(set(old_run) | set(new_run)):
        if label.partition("[")[0] not in both:
            continue  # a variable added or removed is listed as such
        before, after = old_run.get(label), new_run.get(label)
        if before != after:
            changed.append(ValueChange(label, before, after))
        elif old_mdl.get(label) != new_mdl.get(label):
            masked.append(ValueChange(label, old_mdl[label], new_mdl[label]))
    return tuple(changed), tuple(masked)


def _definition_changes(old: Path, new: Path) -> tuple[DefinitionChange, ...]:
    """Variables in both ``.mdl`` files whose equation text (numbers aside: constants are
    compared by value), units or declared range differ."""
    before = {entry.label: entry for entry in read_mdl(old)}
    after = {entry.label: entry for entry in read_mdl(new)}
    changes = []
    for label in sorted(set(before) & set(after)):
        a, b = before[label], after[label]
        aspects = []
        if a.expression != b.expression and not (a.kind == b.kind == "constant"):
            aspects.append("equation")
        if a.units != b.units:
            aspects.append("units")
        if a.value_range != b.value_range:
            aspects.append("range")
        if aspects:
            changes.append(DefinitionChange(label, tuple(aspects)))
    return tuple(changes)
