"""Loops That Matter: how much each feedback loop drives the behaviour, at every time step.

Link scores follow Schoenberg, Davidsen and Eberlein (2020), with the flow-to-stock score as
corrected by Schoenberg, Hayward and Eberlein (2023), written with flow rates so that it does
not scale with TIME STEP:

- ``x -> z``, ``z`` not a stock: ``|dx_z / dz| * sign(dx_z / dx)``, where ``dz`` is the change
  of ``z`` over the last step and ``dx_z`` the change ``z`` would have made had only ``x``
  changed (``z``'s equation re-evaluated with ``x`` at its new value, every other input and
  time at their previous ones); 0 when ``dz`` or ``dx`` is 0.
- ``f -> S``, ``f`` a flow of stock ``S``: ``+-|df_net / dnet|``, ``+`` for an inflow and
  ``-`` for an outflow, where ``net`` is the stock's net flow and ``df_net`` the change of the
  net flow due to ``f`` alone.

A loop's score is the product of its links' scores; its relative score is its score over the
sum of the absolute scores of the loops in its partition (the loops that share stocks, here
each cluster's own), so relative scores lie in [-1, 1]. Scores are computed every TIME STEP
from the model's trajectory; the score at ``t`` describes the step that ends at ``t`` and is
0 at the initial time.
"""

from __future__ import annotations

import re

import numpy as np

from sd_runner.engine.fast import FastModel
from sd_runner.errors import InputError, RunError
from sd_runner.inputs import limits
from sd_runner.model.loading import SDModel
from sd_runner.results.loop_scores import DominantPeriod, LoopInstance, LoopScores
from sd_runner.results.loops import Loop

_SLOT = re.compile(r"^x\[(\d+)\]$")


def loop_scores(model: FastModel, loops: list[Loop], params: dict | None = None,
                final_time: float | None = None, run_with: SDModel | None = None) -> LoopScores:
    """Loops That Matter scores of ``loops`` in a run of ``model`` with ``params``.

    ``run_with``: the engine whose trajectory is scored (default ``model``'s own kernel);
    see :class:`LinkScores`.
    """
    links = LinkScores(model, params, final_time, run_with)
    instances = _instances(model, loops)
    scores = np.ones((len(links.times), len(instances)))
    for column, instance in enumerate(instances):
        slots = instance.slots
        for index, (source, target) in enumerate(zip(slots, slots[1:] + slots[:1],
                                                     strict=True)):
            scores[:, column] *= links.score(source, target, instance.loop.links[index].polarity)
    scores[0] = 0.0
    relative = np.zeros_like(scores)
    partitions = np.array([i.partition for i in instances])
    for partition in set(partitions.tolist()):
        members = partitions == partition
        total = np.abs(scores[:, members]).sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            relative[:, members] = np.where(total > 0, scores[:, members] / total, 0.0)
    return LoopScores(links.times, instances, scores, relative)


class LinkScores:
    """Link scores of one run, every TIME STEP, computed when first asked for and kept.

    The trajectory comes from ``run_with`` (either engine, saved every TIME STEP; default
    ``model``'s kernel); the one-input-changed re-evaluations use the equations ``model``
    compiled from the same ``.mdl``. Scores therefore depend on the engine only through its
    trajectory, and the engines' trajectories are the same (tests hold them equal).
    """

    def __init__(self, model: FastModel, params: dict | None = None,
                 final_time: float | None = None, run_with: SDModel | None = None):
        compiled = model.kernel.compiled
        if not compiled.plain_states:
            raise InputError(f"{model.path.name}: loop scores need stocks that are plain "
                             "integrals; this model has delays, discrete states or "
                             "non-negative stocks")
        axis = model.time_axis(saveper=model.control("TIME STEP"), final_time=final_time)
        constants = model.constants_vector(params)
        self.times = axis.times
        self.path = _trajectory(model, run_with or model, params, axis, constants)
        self.stock_state = {}
        for slot, code in compiled.equations.items():
            match = _SLOT.match(code)
            if match:
                self.stock_state[slot] = int(match.group(1))
        self._evaluator = _Evaluator(model, constants, axis)
        self._scores: dict[tuple[int, int], np.ndarray] = {}

    def score(self, source: int, target: int, polarity: int = 1) -> np.ndarray:
        """Scores of the link from slot ``source`` to slot ``target`` at every step.

        ``polarity`` signs a flow-to-stock link (+1 inflow, -1 outflow); other links take
        their sign from the equation.
        """
        key = (source, target)
        if key not in self._scores:
            if target in self.stock_state:
                self._scores[key] = self._evaluator.flow_scores(
                    self.path, source, self.stock_state[target], polarity)
            else:
                self._scores[key] = self._evaluator.aux_scores(self.path, source, target)
        return self._scores[key]


def _trajectory(model: FastModel, engine: SDModel, params, axis, constants) -> np.ndarray:
    """Every slot's value at every TIME STEP (``[time, slot]``), as ``engine`` runs it."""
    compiled = model.kernel.compiled
    every_slot = np.arange(len(compiled.slots), dtype=np.int64)
    if engine is model:
        return model.kernel.run(constants[None, :], axis, every_slot)[0]
    names = list(dict.fromkeys(name for name, _ in compiled.slots))
    frame = engine.run(params, return_columns=names, saveper=axis.step,
                       final_time=axis.final)
    if len(frame.index) != len(axis.times) or not np.allclose(frame.index, axis.times):
        raise RunError(f"{engine.path.name}: the {engine.engine} engine did not save every "
                       "TIME STEP, so its run cannot be scored")
    columns = [f"{name}[{','.join(elements)}]" if elements else name
               for name, elements in compiled.slots]
    return frame[columns].to_numpy(dtype=float)


class _Evaluator:
    """Re-evaluates single equations of the compiled model with chosen inputs."""

    def __init__(self, model: FastModel, constants: np.ndarray, axis):
        compiled = model.kernel.compiled
        self.equations = {slot: compile(code, f"<{slot}>", "eval")
                          for slot, code in compiled.equations.items()}
        self.derivatives = {state: compile(code, f"<d{state}>", "eval")
                            for state, code in compiled.derivatives.items()}
        self.names = dict(model.kernel.namespace)
        self.names.update(c=constants, t0=axis.initial, dt=axis.step, tf=axis.final,
                          saveper=axis.saveper)
        self.times = axis.times

    def _eval(self, code, values, time):
        self.names["v"] = values
        self.names["t"] = time
        return eval(code, self.names)  # noqa: S307 - code the compiler generated from the .mdl

    def aux_scores(self, path, source: int, target: int) -> np.ndarray:
        code = self.equations.get(target)
        out = np.zeros(len(path))
        if code is None:  # a value fixed for the run: it never changes
            return out
        for k in range(1, len(path)):
            dz = path[k, target] - path[k - 1, target]
            dx = path[k, source] - path[k - 1, source]
            if dz == 0 or dx == 0:
                continue
            mixed = path[k - 1].copy()
            mixed[source] = path[k, source]
            partial = self._eval(code, mixed, self.times[k - 1]) - path[k - 1, target]
            out[k] = abs(partial / dz) * np.sign(partial / dx)
        return out

    def flow_scores(self, path, flow: int, state: int, polarity: int) -> np.ndarray:
        code = self.derivatives[state]
        out = np.zeros(len(path))
        net = np.array([self._eval(code, path[k], self.times[k]) for k in range(len(path))])
        sign = 1.0 if polarity >= 0 else -1.0
        for k in range(1, len(path)):
            dnet = net[k] - net[k - 1]
            if dnet == 0 or path[k, flow] == path[k - 1, flow]:
                continue
            mixed = path[k - 1].copy()
            mixed[flow] = path[k, flow]
            partial = self._eval(code, mixed, self.times[k - 1]) - net[k - 1]
            out[k] = sign * abs(partial / dnet)
        return out


def _instances(model: FastModel, loops: list[Loop]) -> list[LoopInstance]:
    """Each loop once per element of the one subscript range its variables run over."""
    compiled = model.kernel.compiled
    slot_of = {(name, element): slot for slot, (name, element) in enumerate(compiled.slots)}
    instances, partitions = [], {}
    for loop in loops:
        ranges = {tuple(compiled.dims.get(model.variable(v).name, [])) for v in loop.variables}
        ranges.discard(())
        if len(ranges) > 1 or any(len(r) > 1 for r in ranges):
            raise InputError(f"loop {loop.id} runs over {sorted(ranges)}; loop scores handle "
                             "loops over at most one subscript range")
        elements = compiled.ranges[next(iter(ranges))[0]] if ranges else [""]
        for element in elements:
            slots = []
            for variable in loop.variables:
                name = model.variable(variable).name
                key = (name, (element,)) if compiled.dims.get(name) else (name, ())
                slots.append(slot_of[key])
            partition = partitions.setdefault(element, len(partitions))
            instances.append(LoopInstance(loop, element, partition, tuple(slots)))
    return instances


def dominant_periods(scores: LoopScores, window: float = 1.0) -> list[DominantPeriod]:
    """Which loops dominate each partition, window by window.

    Relative scores are averaged over windows of ``window`` years (so one noisy step does
    not flip the answer); in each window the loops of each polarity are taken strongest first
    until their summed ``|relative score|`` reaches one half, and the polarity whose group
    reaches it with the larger sum dominates (the rule of Schoenberg et al. 2020, as Simlin
    applies it). Consecutive windows with the same dominating loops merge into one period.
    """
    # Shorter windows than the saved interval hold no scores, and would be too many to list.
    limits.check_window("window", window, float(scores.times[1] - scores.times[0]),
                        float(scores.times[-1] - scores.times[0]))
    times = scores.times[1:]  # the initial time has no scores
    relative = scores.relative[1:]
    # Windows (edge, edge + window] from the initial time; the score at t covers the step
    # ending at t, so a window's steps span its two edges exactly.
    count = int(np.ceil((times[-1] - scores.times[0]) / window - 1e-9))
    edges = scores.times[0] + window * np.arange(count + 1)
    periods: list[DominantPeriod] = []
    by_element: dict[str, list[int]] = {}
    for column, instance in enumerate(scores.instances):
        by_element.setdefault(instance.element, []).append(column)
    for element, columns in by_element.items():
        current, merged = None, 0
        for low, high in zip(edges[:-1], edges[1:], strict=True):
            inside = (times > low + 1e-9) & (times <= high + 1e-9)
            if not inside.any():
                continue
            mean = relative[inside][:, columns].mean(axis=0)
            group = _dominant_group(mean, [scores.instances[c].loop.id for c in columns])
            if group is None:
                current = None
                continue
            polarity, loops, share = group
            start, end = float(low), float(min(high, times[-1]))
            if current and (current.polarity, current.loops) == (polarity, loops):
                # The period's share: the mean of its windows' shares.
                merged += 1
                current = DominantPeriod(element, current.start, end, polarity, loops,
                                         current.share + (share - current.share) / merged)
                periods[-1] = current
            else:
                current, merged = DominantPeriod(element, start, end, polarity, loops, share), 1
                periods.append(current)
    return periods


def _dominant_group(mean: np.ndarray, ids: list[str]):
    best = None
    for polarity, sign in (("R", 1), ("B", -1)):
        chosen, total = [], 0.0
        for index in np.argsort(-np.abs(mean)):
            if np.sign(mean[index]) != sign or mean[index] == 0:
                continue
            chosen.append(ids[index])
            total += abs(mean[index])
            if total >= 0.5:
                break
        if total > 0 and (best is None or total > best[2]):
            best = (polarity, tuple(chosen), total)
    return best
