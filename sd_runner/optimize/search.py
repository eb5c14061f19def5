"""The many-objective search: platypus's NSGA-II or epsilon-NSGA-II (as EMA Workbench uses
it), each generation evaluated as one batch, with a checkpoint after every generation.

Reproducible and resumable: platypus draws from Python's :mod:`random`, which is seeded from
the problem and saved in the checkpoint with the whole algorithm (population, archive, the
restarts of epsilon-NSGA-II's adaptive time continuation), so a run resumed from its checkpoint
continues exactly as the uninterrupted run would have, to the same final archive.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import platypus

from sd_runner.errors import InputError
from sd_runner.progress import Progress, quiet

#: A batch evaluation: decisions ``[candidate, decision]`` -> objectives
#: ``[candidate, objective]`` and constraint values ``[candidate]`` (<= 0 is feasible).
Evaluate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class SearchSettings:
    """How the search runs: ``algorithm`` (``"EpsNSGAII"`` or ``"NSGAII"``), the number of
    evaluations, the population, the epsilons (EpsNSGAII) and the seed; ``directions`` of the
    objectives (+1 maximise, -1 minimise); ``bounds`` of the decisions; ``seeds``, decision
    vectors put in the first population (known policies)."""

    algorithm: str
    evaluations: int
    population: int
    epsilons: tuple[float, ...]
    seed: int
    directions: tuple[int, ...]
    bounds: tuple[tuple[float, float], ...]
    seeds: tuple[tuple[float, ...], ...] = ()


@dataclass
class SearchResult:
    """The non-dominated feasible candidates found (``decisions``, ``objectives``,
    ``constraint``), and the convergence after each generation: evaluations so far, archive
    size, epsilon progress (improvements of the epsilon archive; EpsNSGAII) and hypervolume
    (of the archive, objectives scaled to the first generation's ranges)."""

    decisions: np.ndarray
    objectives: np.ndarray
    constraint: np.ndarray
    convergence: list[dict] = field(default_factory=list)


class _Problem(platypus.Problem):
    """The decisions, objectives and one budget constraint; values come from the batch
    evaluator, which stores each solution's before platypus asks for it."""

    def __init__(self, settings: SearchSettings):
        super().__init__(len(settings.bounds), len(settings.directions), 1)
        self.types[:] = [platypus.Real(low, high) for low, high in settings.bounds]
        self.directions[:] = [platypus.Direction.MAXIMIZE if d > 0 else
                              platypus.Direction.MINIMIZE for d in settings.directions]
        self.constraints[:] = "<=0"
        self.pending: dict[int, tuple] = {}

    def evaluate(self, solution):
        objectives, constraint = self.pending.pop(id(solution))
        solution.objectives[:] = list(objectives)
        solution.constraints[:] = [constraint]


class _BatchEvaluator(platypus.Evaluator):
    """Evaluates a generation at once (one ensemble on the compiled engine)."""

    def __init__(self, evaluate: Evaluate):
        super().__init__()
        self.batch = evaluate

    def evaluate_all(self, jobs, **kwargs):
        jobs = list(jobs)
        if not jobs:
            return jobs
        decisions = np.array([list(job.solution.variables) for job in jobs], dtype=float)
        # The search's random stream is Python's global one (platypus draws from it): what
        # the evaluation draws (a Dask client does) must not move it.
        state = random.getstate()
        try:
            objectives, constraint = self.batch(decisions)
        finally:
            random.setstate(state)
        for job, row, value in zip(jobs, objectives, constraint, strict=True):
            # A candidate every set of which left a declared range is infeasible.
            bad = not np.isfinite(row).all() or not np.isfinite(value)
            job.solution.problem.pending[id(job.solution)] = (
                [0.0] * len(row) if bad else row.tolist(), 1e30 if bad else float(value))
            job.run()
        return jobs


class _Seeded(platypus.Generator):
    """The first population: the seeds first, then random candidates."""

    def __init__(self, seeds):
        super().__init__()
        self.seeds = [list(s) for s in seeds]
        self.random = platypus.RandomGenerator()

    def generate(self, problem):
        if not self.seeds:
            return self.random.generate(problem)
        solution = platypus.Solution(problem)
        solution.variables[:] = self.seeds.pop(0)
        return solution


def run_search(settings: SearchSettings, evaluate: Evaluate, checkpoint: Path | None = None,
               identity: str = "", resume: bool = False,
               progress: Progress = quiet) -> SearchResult:
    """Search until ``settings.evaluations`` candidates are evaluated; after each generation
    save a checkpoint to ``checkpoint`` (atomically). With ``resume``, continue from it: it
    must have been written for the same ``identity`` (what the caller says the problem is)."""
    callers = random.getstate()  # given back at the end: the search's stream is its own
    try:
        return _search(settings, evaluate, checkpoint, identity, resume, progress)
    finally:
        random.setstate(callers)


def _search(settings: SearchSettings, evaluate: Evaluate, checkpoint: Path | None,
            identity: str, resume: bool, progress: Progress) -> SearchResult:
    if resume:
        algorithm, history = _load(checkpoint, identity)
    else:
        random.seed(settings.seed)
        algorithm, history = _algorithm(settings), []
        for extension in algorithm._extensions:
            extension.start_run(algorithm)
    algorithm.evaluator = _BatchEvaluator(evaluate)
    scale = None if not history else np.array(history[0]["scale"])
    stage = f"searching ({settings.algorithm}, {settings.evaluations} candidates)"
    progress(stage, min(algorithm.nfe, settings.evaluations), settings.evaluations)
    while algorithm.nfe < settings.evaluations:
        for extension in algorithm._extensions:
            extension.pre_step(algorithm)
        algorithm.step()
        for extension in algorithm._extensions:
            extension.post_step(algorithm)
        front = _front(algorithm)
        if scale is None:
            scale = _scale(algorithm.population, settings)
        history.append(_progress_row(algorithm, front, settings, scale))
        if checkpoint is not None:
            _save(checkpoint, algorithm, history, identity)
        progress(stage, min(algorithm.nfe, settings.evaluations), settings.evaluations)
    for extension in algorithm._extensions:
        extension.end_run(algorithm)
    front = _front(algorithm)
    return SearchResult(np.array([list(s.variables) for s in front], dtype=float),
                        np.array([list(s.objectives) for s in front], dtype=float),
                        np.array([s.constraints[0] for s in front], dtype=float),
                        [{k: v for k, v in row.items() if k != "scale"} for row in history])


def _algorithm(settings: SearchSettings):
    problem = _Problem(settings)
    generator = _Seeded(settings.seeds)
    if settings.algorithm == "EpsNSGAII":
        return platypus.EpsNSGAII(problem, list(settings.epsilons),
                                  population_size=settings.population, generator=generator)
    return platypus.NSGAII(problem, population_size=settings.population, generator=generator)


def _front(algorithm) -> list:
    """The feasible non-dominated candidates: the epsilon archive, or the population's best
    rank, in a fixed order (by their objectives)."""
    found = algorithm.archive if getattr(algorithm, "archive", None) is not None \
        else algorithm.population
    feasible = [s for s in found if s.feasible]
    front = platypus.nondominated(feasible)
    return sorted(front, key=lambda s: (list(s.objectives), list(s.variables)))


def _scale(population, settings: SearchSettings) -> list[list[float]]:
    """Each objective's range in the first generation, which fixes the hypervolume's box."""
    values = np.array([list(s.objectives) for s in population if s.feasible], dtype=float)
    if values.size == 0:
        return [[0.0, 1.0]] * len(settings.directions)
    low, high = values.min(axis=0), values.max(axis=0)
    high = np.where(high > low, high, low + 1.0)
    return np.column_stack([low, high]).tolist()


def _progress_row(algorithm, front, settings: SearchSettings, scale) -> dict:
    """One generation's convergence: epsilon progress only where there is an epsilon archive
    (EpsNSGAII; NSGA-II has none)."""
    scale = np.asarray(scale, dtype=float)
    archive = getattr(algorithm, "archive", None)
    return {"evaluations": int(algorithm.nfe), "archive": len(front),
            "epsilon_progress": None if archive is None else int(archive.improvements),
            "hypervolume": _hypervolume(front, settings, scale), "scale": scale.tolist()}


def _hypervolume(front, settings: SearchSettings, scale: np.ndarray) -> float:
    """The share of the first generation's objective box the front dominates (each objective
    turned to "lower is better" and scaled to [0, 1] there; points outside are clipped)."""
    if not front:
        return 0.0
    values = np.array([list(s.objectives) for s in front], dtype=float)
    directions = np.array(settings.directions, dtype=float)
    scaled = (values - scale[:, 0]) / (scale[:, 1] - scale[:, 0])
    lower_better = np.where(directions > 0, 1.0 - scaled, scaled)
    points = np.clip(lower_better, 0.0, 1.0)
    return _dominated_volume(points)


def _dominated_volume(points: np.ndarray) -> float:
    """The volume of [0, 1]^k dominated by ``points`` (minimisation), by slicing the first
    axis: exact, fine for the few objectives and archives of hundreds a policy problem has."""
    if points.shape[1] == 1:
        return float(1.0 - points[:, 0].min())
    order = np.argsort(points[:, 0])
    points = points[order]
    volume = 0.0
    for i, x in enumerate(points[:, 0]):
        following = points[i + 1, 0] if i + 1 < len(points) else 1.0
        if following > x:
            volume += (following - x) * _dominated_volume(points[:i + 1, 1:])
    return float(volume)


# ---------------------------------------------------------------------- checkpoints
def _save(path: Path, algorithm, history: list, identity: str) -> None:
    evaluator, algorithm.evaluator = algorithm.evaluator, None
    try:
        payload = pickle.dumps({"identity": identity, "random": random.getstate(),
                                "algorithm": algorithm, "history": history},
                               protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        algorithm.evaluator = evaluator
    # Written beside, then renamed over: a run killed mid-write leaves the last checkpoint.
    handle, staged = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.replace(staged, path)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise


def _load(path: Path | None, identity: str):
    if path is None or not path.is_file():
        raise InputError(f"{path}: no checkpoint to resume from; run without --resume first")
    try:
        state = pickle.loads(path.read_bytes())  # noqa: S301 - our own checkpoint file
    except Exception as exc:  # noqa: BLE001 - a damaged file, whatever pickle raises
        raise InputError(f"{path}: the checkpoint cannot be read ({type(exc).__name__}); "
                         "run again without --resume") from None
    if not isinstance(state, dict) or state.get("identity") != identity:
        raise InputError(f"{path}: the checkpoint is of another problem, model or fit; run "
                         "again without --resume, or resume with the files it was made with")
    random.setstate(state["random"])
    return state["algorithm"], state["history"]


def identity_of(*parts: str) -> str:
    """A short fingerprint of what a checkpoint belongs to."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]
