"""Our loop inventory against Simlin's (pysimlin), which finds loops with its own parser."""

from __future__ import annotations

import warnings

import pytest
from conftest import REPO

from sd_runner.feedback.graph import CausalGraph, _canonical, value_ranges

simlin = pytest.importorskip("simlin")

MODEL = REPO / "models" / "value_chain_capture.mdl"
POLARITY = {"R": "R", "B": "B", "U": "?"}


def _vensim_names(graph: CausalGraph, variables) -> tuple[str, ...]:
    """Simlin's names (``brand_equity[apparel]``) as Vensim names, elements dropped."""
    names = {" ".join(n.replace("_", " ").split()).lower(): n for n in graph.elements}
    return _canonical(names[v.partition("[")[0].replace("_", " ")] for v in variables)


def _simlin_loops(path, analyze: bool):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Simlin warns that it switches to loop discovery
        model = simlin.load(str(path))
        return model.analyze(timeout=None) if analyze else model.loops


def test_textbook_models_give_the_same_loops_and_polarities(tmp_path):
    from toy_models import LOGISTIC_WITH_DEATHS, write_model

    path = write_model(tmp_path, LOGISTIC_WITH_DEATHS)
    ranges = {"Population": (10, 1000), "Births": (0, 125), "Deaths": (0, 50),
              "Fractional Growth": (0, 0.5)}
    graph = CausalGraph(path, ranges)
    ours = {loop.variables: loop.polarity for loop in graph.loops()}
    theirs = {_vensim_names(graph, loop.variables): POLARITY[str(loop.polarity)]
              for loop in _simlin_loops(path, analyze=False)}
    assert ours == theirs
    assert sorted(ours.values()) == ["B", "B", "R"]


@pytest.fixture(scope="module")
def our_model_loops(model):
    frame = model.run()
    graph = CausalGraph(MODEL, value_ranges(frame))
    zero = {column.partition("[")[0] for column in frame.columns}
    zero = {name for name in zero
            if all((frame[c] == 0).all() for c in frame.columns if c.partition("[")[0] == name)}
    return graph, {loop.variables: loop for loop in graph.loops()}, zero


def test_every_loop_simlin_finds_in_our_model_is_ours_with_the_same_polarity(our_model_loops):
    graph, ours, _ = our_model_loops
    analysis = _simlin_loops(MODEL, analyze=True)
    assert analysis.enumeration_complete and analysis.loops
    for loop in analysis.loops:
        key = _vensim_names(graph, loop.variables)
        assert key in ours, loop
        assert ours[key].polarity == POLARITY[str(loop.polarity)[0]], loop


def test_loops_simlin_leaves_out_are_inactive_or_below_its_cutoff(model, our_model_loops):
    """Simlin lists the loops active in a baseline run: those through a lever's flow (zero
    without the lever) are left out, and it drops loops contributing under 0.1 %. Every other
    loop of ours is one of its enumerated ones, cluster by cluster."""
    graph, ours, zero = our_model_loops
    analysis = _simlin_loops(MODEL, analyze=True)
    active = [loop for loop in ours.values() if not set(loop.variables) & zero]
    per_element = sum(4 if any(model.variable(v).subscripts for v in loop.variables) else 1
                      for loop in active)
    # Since the model's second edition our active loops number two more than Simlin's universe
    # (518 against 516 per element); every loop it retains is ours (the test above), and which
    # two it does not count is not yet known. Held to that gap, so that any further divergence
    # of the two inventories fails.
    assert 0 <= per_element - analysis.universe_loops <= 2, (per_element, analysis.universe_loops)
    found = {_vensim_names(graph, loop.variables) for loop in analysis.loops}
    inactive = set(ours) - {loop.variables for loop in active}
    assert inactive and not found & inactive


# ---------------------------------------------------------------------- loop scores
def test_relative_loop_scores_equal_simlins_on_textbook_models(tmp_path):
    import numpy as np
    from toy_models import GOAL, LOGISTIC, TWO_LOOPS, write_model

    from sd_runner.engine import FastModel
    from sd_runner.feedback.dominance import loop_scores

    for number, equations in enumerate((GOAL, LOGISTIC, TWO_LOOPS)):
        folder = tmp_path / str(number)
        folder.mkdir()
        path = write_model(folder, equations)
        model = FastModel(path)
        graph = CausalGraph(path, value_ranges(model.run()))
        ours = loop_scores(model, graph.loops())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = simlin.load(str(path))
            with reference.simulate(enable_ltm=True) as sim:
                sim.run_to_end()
                times = sim.get_run().results.index.to_numpy()
                for loop in reference.loops:
                    key = set(_vensim_names(graph, loop.variables))
                    (column,) = [i for i, inst in enumerate(ours.instances)
                                 if set(inst.loop.variables) == key]
                    at_saved = np.interp(times, ours.times, ours.relative[:, column])
                    theirs = np.asarray(sim.get_relative_loop_score(loop.id))
                    np.testing.assert_allclose(at_saved, theirs, atol=1e-9)


def test_relative_loop_scores_equal_simlins_on_our_model_cluster_by_cluster():
    """Simlin reads the .mdl's own values, so the comparison runs the uncalibrated model."""
    import numpy as np

    from sd_runner import api as runner
    from sd_runner.feedback.dominance import loop_scores

    model = runner.bundled_model("fast", runner.UNCALIBRATED)
    loops = runner.loop_inventory(runner.UNCALIBRATED).loops
    ours = loop_scores(model, loops)
    graph = CausalGraph(MODEL)
    clusters = {e.casefold(): e for e in model.subscripts["Cluster"]}
    saved = np.searchsorted(ours.times, model.time_axis().times - 1e-9)
    analysis = _simlin_loops(MODEL, analyze=True)
    for loop in analysis.loops:
        elements = {v.partition("[")[2].rstrip("]") for v in loop.variables} - {""}
        element = clusters[elements.pop()] if elements else ""
        key = set(_vensim_names(graph, loop.variables))
        (column,) = [i for i, inst in enumerate(ours.instances)
                     if set(inst.loop.variables) == key and inst.element == element]
        np.testing.assert_allclose(ours.relative[saved, column],
                                   np.asarray(loop.behavior_time_series), atol=1e-9)
