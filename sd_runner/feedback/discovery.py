"""Strongest-path loop discovery, for models with too many loops to enumerate.

The heuristic of Eberlein and Schoenberg (2020, "Finding the loops that matter"): at each
TIME STEP, every link's score is computed (:class:`~sd_runner.feedback.dominance.LinkScores`) and,
from a starting variable, a depth-first search follows outgoing links strongest first,
multiplying ``|link score|`` as it goes. A variable reached with a smaller product than it was
reached with before, from the same start, is not explored again (the pruning that makes the
search fast, and a heuristic: it can miss a loop behind a weaker first link). Returning to the
start records a loop. The union over time steps and subscript elements is the loop set.

Where we depart from the paper, and why:

- Searches start from every variable that is on some loop, not only from stocks, and the best
  products are reset for each start. On our model, starting from stocks alone missed two loops
  whose relative score passes 10 %; starting everywhere finds every loop that ever passes
  0.1 % (tested), in a few seconds.
- Links scoring 0 at a step are not followed: a loop through them scores 0 then.
- Long runs are searched at up to ``MAX_SEARCHED_STEPS`` evenly spaced steps, as the paper
  allows; on our model 64 steps already find the same loops as every one of the 1 024.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from sd_runner.engine.fast import FastModel
from sd_runner.errors import InputError
from sd_runner.feedback.dominance import LinkScores
from sd_runner.feedback.graph import CausalGraph
from sd_runner.model.loading import SDModel
from sd_runner.results.loops import Loop

#: Time steps searched at most; a longer run is searched at evenly spaced steps.
MAX_SEARCHED_STEPS = 128


def strongest_path_loops(graph: CausalGraph, model: FastModel, params: dict | None = None,
                         final_time: float | None = None, run_with: SDModel | None = None,
                         max_steps: int = MAX_SEARCHED_STEPS) -> list[Loop]:
    """Loops found by the strongest-path search over a run of ``model`` with ``params``.

    Returns the loops sorted by length then identifier, like :meth:`CausalGraph.loops`.
    """
    links = LinkScores(model, params, final_time, run_with)
    steps = np.arange(1, len(links.times))
    if len(steps) > max_steps:
        steps = np.unique(np.linspace(1, len(links.times) - 1, max_steps).round().astype(int))
    # Only links inside a strongly connected component can be on a loop.
    edges = [(s, t, data["polarity"]) for component in nx.strongly_connected_components(
             graph.graph) if len(component) > 1
             for s, t, data in graph.graph.subgraph(component).edges(data=True)]
    variables = sorted({name for edge in edges for name in edge[:2]})
    found: set[tuple[str, ...]] = set()
    for element in _elements(model, variables, graph.path.name):
        slot = {name: _slot(model, name, element) for name in variables}
        scores = {(s, t): np.abs(links.score(slot[s], slot[t], polarity))
                  for s, t, polarity in edges}
        for k in steps:
            outgoing: dict[str, list[tuple[float, str]]] = {}
            for (s, t), series in scores.items():
                if series[k] > 0:
                    outgoing.setdefault(s, []).append((float(series[k]), t))
            for choices in outgoing.values():
                choices.sort(key=lambda choice: (-choice[0], choice[1]))
            for start in variables:
                _search(start, outgoing, found)
    loops = [graph.loop(cycle) for cycle in found]
    return sorted({loop.id: loop for loop in loops}.values(),
                  key=lambda loop: (len(loop.variables), loop.id))


def _search(start: str, outgoing: dict[str, list[tuple[float, str]]],
            found: set[tuple[str, ...]]) -> None:
    """One strongest-first search from ``start`` (iterative: large models recurse deeply)."""
    best = {start: 1.0}
    path, products = [start], [1.0]
    pending = [iter(outgoing.get(start, ()))]
    while pending:
        choice = next(pending[-1], None)
        if choice is None:
            pending.pop()
            path.pop()
            products.pop()
            continue
        weight, target = choice
        product = products[-1] * weight
        if target == start:
            found.add(tuple(path))
        elif target in path or product < best.get(target, 0.0):
            continue
        else:
            best[target] = product
            path.append(target)
            products.append(product)
            pending.append(iter(outgoing.get(target, ())))


def _elements(model: FastModel, variables: list[str], source: str) -> list[str]:
    """The elements of the one subscript range ``variables`` run over ("" if none)."""
    compiled = model.kernel.compiled
    ranges = {tuple(compiled.dims.get(model.variable(v).name, [])) for v in variables}
    ranges.discard(())
    if len(ranges) > 1 or any(len(r) > 1 for r in ranges):
        raise InputError(f"{source}: loop discovery handles loops over at most one "
                         f"subscript range, not {sorted(ranges)}")
    return list(compiled.ranges[next(iter(ranges))[0]]) if ranges else [""]


def _slot(model: FastModel, variable: str, element: str) -> int:
    compiled = model.kernel.compiled
    name = model.variable(variable).name
    return compiled.slots.index((name, (element,)) if compiled.dims.get(name) else (name, ()))
