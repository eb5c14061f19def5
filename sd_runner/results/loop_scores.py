"""Loops That Matter results: loop scores of a run, the periods each group of loops
dominates, and those of every scenario of a comparison with the tables read from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd_runner.inputs.scenarios import Scenario
from sd_runner.results.loops import Loop

#: Loops listed per scenario and cluster in the table of shifts.
SHIFTS_SHOWN = 3

#: Relative scores are reported for loops whose interval mean reaches this size at least once
#: (in that scenario and cluster); Simlin applies the same 0.1 % cutoff.
MIN_REPORTED = 0.001


@dataclass(frozen=True)
class LoopInstance:
    """One loop in one element of the subscript it runs over (``element`` empty if none)."""

    loop: Loop
    element: str
    partition: int
    slots: tuple[int, ...]


@dataclass(frozen=True)
class LoopScores:
    """Loop scores over time.

    Attributes
    ----------
    times : numpy.ndarray
        Every TIME STEP of the run.
    instances : list of LoopInstance
        The loops scored, per element.
    scores, relative : numpy.ndarray
        ``[time, instance]`` loop scores and relative loop scores.
    """

    times: np.ndarray
    instances: list[LoopInstance]
    scores: np.ndarray
    relative: np.ndarray


@dataclass(frozen=True)
class DominantPeriod:
    """A run of windows in which the same loops dominate one partition."""

    element: str
    start: float
    end: float
    polarity: str  # "R" or "B": the polarity of the dominating group
    loops: tuple[str, ...]  # their ids, strongest first
    share: float  # their mean summed |relative score| over the period


@dataclass(frozen=True)
class ScenarioLoops:
    """Loop scores and dominant periods of one scenario's run."""

    scenario: Scenario
    scores: LoopScores
    periods: tuple[DominantPeriod, ...]

    @property
    def since(self) -> float:
        """The year its first lever starts (its initial time if it moves no lever)."""
        starts = [choice.start_year for choice in self.scenario.levers if choice.level > 0]
        return min(starts) if starts else float(self.scores.times[0])


@dataclass(frozen=True)
class LoopComparison:
    """Loops That Matter for every scenario of a comparison, the reference first.

    Attributes
    ----------
    loops : tuple of Loop
        The loops scored (the model's inventory).
    method : str
        How the inventory was found: ``"exhaustive"`` or ``"strongest-path"``.
    window : float
        Years per window over which dominance is judged.
    interval : float
        Years per reporting interval: relative scores are shown as their means over each.
    scenarios : tuple of ScenarioLoops
    """

    loops: tuple[Loop, ...]
    method: str
    window: float
    interval: float
    scenarios: tuple[ScenarioLoops, ...]

    @property
    def clusters(self) -> list[str]:
        """The elements scored, in model order."""
        return list(dict.fromkeys(i.element for i in self.scenarios[0].scores.instances))

    def relative_scores(self) -> pd.DataFrame:
        """Mean relative loop scores per reporting interval, long.

        Columns ``scenario``, ``cluster``, ``loop``, ``time`` (the interval's end),
        ``relative``; loops whose mean never reaches :data:`MIN_REPORTED` in a scenario and
        cluster are left out of it.
        """
        frames = []
        for entry in self.scenarios:
            ends, means = interval_means(entry.scores, self.interval)
            for column, instance in enumerate(entry.scores.instances):
                if not (np.abs(means[:, column]) >= MIN_REPORTED).any():
                    continue
                frames.append(pd.DataFrame({
                    "scenario": entry.scenario.name, "cluster": instance.element,
                    "loop": instance.loop.id, "time": ends, "relative": means[:, column]}))
        return pd.concat(frames, ignore_index=True)

    def inventory(self) -> pd.DataFrame:
        """The loops scored: ``loop`` (id), ``name``, ``polarity``, ``variables`` (in causal
        order, joined by `` -> ``)."""
        return pd.DataFrame([{"loop": loop.id, "name": loop.name, "polarity": loop.polarity,
                              "variables": " -> ".join(loop.variables)} for loop in self.loops],
                            columns=["loop", "name", "polarity", "variables"])

    def dominance(self) -> pd.DataFrame:
        """Dominant periods: ``scenario``, ``cluster``, ``start``, ``end``, ``polarity``,
        ``share`` (their summed mean ``|relative score|``), ``loops`` (ids, strongest
        first, space-separated) and ``names`` (the same, named where named, ``; ``)."""
        label = {loop.id: loop.name or loop.id for loop in self.loops}
        rows = [{"scenario": entry.scenario.name, "cluster": p.element, "start": p.start,
                 "end": p.end, "polarity": p.polarity, "share": p.share,
                 "loops": " ".join(p.loops), "names": "; ".join(label[i] for i in p.loops)}
                for entry in self.scenarios for p in entry.periods]
        return pd.DataFrame(rows, columns=["scenario", "cluster", "start", "end", "polarity",
                                           "share", "loops", "names"])

    def shifts(self, shown: int = SHIFTS_SHOWN) -> pd.DataFrame:
        """How each scenario moves the loops against the reference.

        For every scenario but the reference and every cluster, the ``shown`` loops whose mean
        relative score, from the scenario's first lever on, differs most from the
        reference's over the same years. Columns ``scenario``, ``cluster``, ``since``,
        ``loop``, ``name``, ``reference``, ``value``, ``change``.
        """
        label = {loop.id: loop.name for loop in self.loops}
        reference = self.scenarios[0]
        rows = []
        for entry in self.scenarios[1:]:
            since = entry.since
            after = entry.scores.times >= since
            for cluster in self.clusters:
                ours = _cluster_means(entry.scores, cluster, after)
                theirs = _cluster_means(reference.scores, cluster, after)
                changes = {loop: ours.get(loop, 0.0) - theirs.get(loop, 0.0)
                           for loop in ours.keys() | theirs.keys()}
                ranked = sorted(changes, key=lambda loop: (-abs(changes[loop]), loop))
                for loop in ranked[:shown]:
                    if changes[loop] == 0:
                        break
                    rows.append({"scenario": entry.scenario.name, "cluster": cluster,
                                 "since": since, "loop": loop, "name": label[loop],
                                 "reference": theirs.get(loop, 0.0),
                                 "value": ours.get(loop, 0.0), "change": changes[loop]})
        return pd.DataFrame(rows, columns=["scenario", "cluster", "since", "loop", "name",
                                           "reference", "value", "change"])

    def window_means(self, scenario: str, cluster: str, start: float, end: float
                     ) -> tuple[dict[str, float], dict[str, float]]:
        """Each loop's mean relative score in ``cluster`` over the TIME STEPs in
        ``(start, end]``: in the reference's run, then in ``scenario``'s (loop id -> mean;
        empty when no step falls in the window)."""
        entries = {entry.scenario.name: entry for entry in self.scenarios}
        means = []
        for entry in (self.scenarios[0], entries[scenario]):
            times = entry.scores.times
            means.append(_cluster_means(entry.scores, cluster, (times > start) & (times <= end)))
        return means[0], means[1]


def interval_means(scores: LoopScores, interval: float) -> tuple[np.ndarray, np.ndarray]:
    """Relative scores averaged over each ``interval`` of the run, ``(t - interval, t]``.

    Returns the intervals' ends and ``[interval, instance]`` means. The initial time, which
    has no scores, starts the first interval.
    """
    times = scores.times
    # A small tolerance for the float grid; a last, shorter interval ends with the run.
    count = int(np.ceil((times[-1] - times[0]) / interval - 1e-9))
    ends = np.minimum(times[0] + interval * np.arange(1, count + 1), times[-1])
    which = np.ceil((times[1:] - times[0]) / interval - 1e-9).astype(int) - 1
    means = np.zeros((count, scores.relative.shape[1]))
    np.add.at(means, which, scores.relative[1:])
    counts = np.bincount(which, minlength=count)
    return ends, means / np.maximum(counts, 1)[:, None]


def _cluster_means(scores: LoopScores, cluster: str, rows: np.ndarray) -> dict[str, float]:
    rows = rows.copy()
    rows[0] = False  # the initial time has no scores
    return {instance.loop.id: float(scores.relative[rows, column].mean())
            for column, instance in enumerate(scores.instances)
            if instance.element == cluster and rows.any()}
