"""PySD and the fast engine agree on the bundled model: every variable of every bundled
scenario, the command line's CSV, and the loop scores.

A PySD run of the model takes about a minute, so this module makes every PySD run it needs
once, on both cores, and its tests share them (the tests run a file to a worker).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from numerics import RELATIVE_SCORE_ATOL, SCORE_ATOL_PER_LOOP_MAX, assert_trajectories_close

from sd_runner import api as runner
from sd_runner.feedback.dominance import dominant_periods, loop_scores
from sd_runner.inputs.scenarios import bundled_scenario_names, scenario_params
from sd_runner.results.runs import ScenarioRun
from sd_runner.simulate.simulation import run_scenario

pytestmark = pytest.mark.slow

#: The loop scores end here: the run reaches the lookups' later segments and the levers'
#: ramps (2016-), at a third of the cost of the whole run saved every TIME STEP.
LOOP_SCORES_UNTIL = 2018
LOOP_SCENARIO = "domestic-value-chain"


def _pysd_frame(name):
    return run_scenario(runner.bundled_model("pysd"), runner.scenario(name, "pysd")).frame


def _loop_scores(engine: str):
    """Loop scores of LOOP_SCENARIO, ``engine`` making the trajectory (every TIME STEP)."""
    fast = runner.bundled_model("fast")
    params = scenario_params(runner.scenario(LOOP_SCENARIO), fast)
    return loop_scores(fast, runner.loop_inventory().loops, params,
                       final_time=LOOP_SCORES_UNTIL,
                       run_with=None if engine == "fast" else runner.bundled_model(engine))


def _pysd_job(name):
    return _loop_scores("pysd") if name is None else _pysd_frame(name)


@pytest.fixture(scope="module")
def pysd_work():
    """Every PySD run of the module, made once, in two processes: every bundled scenario,
    then the loop scores, the shorter job, in the last round."""
    names = bundled_scenario_names()
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("fork")) as pool:
        *frames, scores = pool.map(_pysd_job, [*names, None])
    runs = {name: ScenarioRun(runner.scenario(name, "pysd"), frame)
            for name, frame in zip(names, frames, strict=True)}
    return runs, scores


@pytest.mark.parametrize("name", ["baseline", "own-brand", "patent-pool", "market-platform",
                                  "going-out", "industrial-policy", "regional-cooperation",
                                  "market-chain", "domestic-value-chain"])
def test_every_variable_matches_pysd_to_1e9(bundled_runs, pysd_work, name):
    fast, slow = bundled_runs[name].frame, pysd_work[0][name].frame
    assert list(fast.columns) == list(slow.columns)
    assert np.array_equal(fast.index.to_numpy(), slow.index.to_numpy())
    assert_trajectories_close(fast.to_numpy(dtype=float), slow.to_numpy(dtype=float))


def test_both_engines_write_the_same_csv(tmp_path, pysd_work):
    """The same columns and times, and values within the engines' tolerance (numerics.py):
    the engines agree to the last bit on some CPUs, not on all."""
    from sd_runner.cli import cli
    from sd_runner.reports import formats

    fast = tmp_path / "fast.csv"
    result = CliRunner().invoke(cli, ["run", "domestic-value-chain", "--out", str(fast)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    slow = tmp_path / "pysd.csv"
    slow.write_text(formats.wide_csv(pysd_work[0]["domestic-value-chain"]), encoding="utf-8")
    ours, theirs = pd.read_csv(fast), pd.read_csv(slow)
    assert list(ours.columns) == list(theirs.columns)
    assert ours["time"].tolist() == theirs["time"].tolist()
    assert_trajectories_close(ours.to_numpy(), theirs.to_numpy())


def test_loop_scores_agree_whichever_engine_runs_the_model(pysd_work):
    """The PySD run, saved every TIME STEP, gives the kernel's trajectory within rounding, so
    the same scores within the bounds of numerics.py and the same dominant loops in every
    window."""
    ours, pysd_run = _loop_scores("fast"), pysd_work[1]
    assert ([(i.loop.id, i.element) for i in pysd_run.instances]
            == [(i.loop.id, i.element) for i in ours.instances])
    assert np.abs(ours.scores).max() > 0
    np.testing.assert_array_equal(pysd_run.times, ours.times)
    np.testing.assert_allclose(pysd_run.relative, ours.relative, rtol=0,
                               atol=RELATIVE_SCORE_ATOL)
    largest = np.abs(ours.scores).max(axis=0)
    assert (np.abs(pysd_run.scores - ours.scores) <= SCORE_ATOL_PER_LOOP_MAX * largest).all()

    def who(result):  # the shares themselves differ within the tolerance above
        return [(p.element, p.start, p.end, p.polarity, p.loops)
                for p in dominant_periods(result, window=2.0)]

    assert who(pysd_run) == who(ours)
