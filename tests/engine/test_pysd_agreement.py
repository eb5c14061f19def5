"""PySD and the fast engine agree on the bundled model: every variable of every bundled
scenario, the command line's CSV, and the loop scores.

PySD's runs are stored (tests/pysd_runs.py says why and how): the tests refuse them when the
model, a lever or scenario file, or PySD's version has changed since, and one slow test makes a
PySD run afresh and holds it to the stored one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from numerics import RELATIVE_SCORE_ATOL, SCORE_ATOL_PER_LOOP_MAX, assert_trajectories_close
from pysd_runs import LOOP_RUN, LOOP_SCENARIO, LOOP_SCORES_UNTIL, StoredRuns, pysd_frame

from sd_runner import api as runner
from sd_runner.feedback.dominance import dominant_periods, loop_scores
from sd_runner.inputs.scenarios import scenario_params
from sd_runner.results.runs import ScenarioRun


@pytest.fixture(scope="module")
def pysd_runs() -> dict[str, pd.DataFrame]:
    stored = StoredRuns()
    stale = stored.stale()
    assert stale is None, stale
    return stored.frames


class _StoredPySD:
    """The stored PySD run of LOOP_SCENARIO as the loop scores' ``run_with`` engine: it gives
    back that run when asked for exactly it."""

    engine = "pysd"

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.path = runner.bundled_model("fast").path

    def run(self, params, *, return_columns, saveper, final_time):
        fast = runner.bundled_model("fast")
        expected = scenario_params(runner.scenario(LOOP_SCENARIO), fast)
        assert params.keys() == expected.keys()
        assert all(np.array_equal(params[k], expected[k]) for k in params)
        assert saveper == fast.control("TIME STEP") and final_time == LOOP_SCORES_UNTIL
        assert set(return_columns) == {c.split("[")[0] for c in self.frame.columns}
        return self.frame


def _loop_scores(run_with=None):
    """Loop scores of LOOP_SCENARIO to LOOP_SCORES_UNTIL, ``run_with`` making the trajectory
    (every TIME STEP; default the fast engine)."""
    fast = runner.bundled_model("fast")
    params = scenario_params(runner.scenario(LOOP_SCENARIO), fast)
    return loop_scores(fast, runner.loop_inventory().loops, params,
                       final_time=LOOP_SCORES_UNTIL, run_with=run_with)


@pytest.mark.slow
@pytest.mark.parametrize("name", [LOOP_SCENARIO])
def test_pysd_computes_today_what_is_stored(pysd_runs, name):
    """A fresh PySD run of the scenario that moves every lever matches the stored one within
    the engines' tolerance (numerics.py: the store may come from a CPU with other SIMD paths)."""
    fresh, stored = pysd_frame(name), pysd_runs[name]
    assert list(fresh.columns) == list(stored.columns)
    assert np.array_equal(fresh.index.to_numpy(), stored.index.to_numpy())
    assert_trajectories_close(fresh.to_numpy(dtype=float), stored.to_numpy(dtype=float))


@pytest.mark.parametrize("name", ["baseline", "own-brand", "patent-pool", "market-platform",
                                  "going-out", "industrial-policy", "regional-cooperation",
                                  "market-chain", "domestic-value-chain"])
def test_every_variable_matches_pysd_to_1e9(bundled_runs, pysd_runs, name):
    fast, slow = bundled_runs[name].frame, pysd_runs[name]
    assert list(fast.columns) == list(slow.columns)
    assert np.array_equal(fast.index.to_numpy(), slow.index.to_numpy())
    assert_trajectories_close(fast.to_numpy(dtype=float), slow.to_numpy(dtype=float))


def test_both_engines_write_the_same_csv(tmp_path, pysd_runs):
    """The same columns and times, and values within the engines' tolerance (numerics.py):
    the engines agree to the last bit on some CPUs, not on all."""
    from sd_runner.cli import cli
    from sd_runner.reports import formats

    fast = tmp_path / "fast.csv"
    result = CliRunner().invoke(cli, ["run", "domestic-value-chain", "--out", str(fast)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    slow = tmp_path / "pysd.csv"
    pysd_run = ScenarioRun(runner.scenario("domestic-value-chain", "pysd"),
                           pysd_runs["domestic-value-chain"])
    slow.write_text(formats.wide_csv(pysd_run), encoding="utf-8")
    ours, theirs = pd.read_csv(fast), pd.read_csv(slow)
    assert list(ours.columns) == list(theirs.columns)
    assert ours["time"].tolist() == theirs["time"].tolist()
    assert_trajectories_close(ours.to_numpy(), theirs.to_numpy())


def test_loop_scores_agree_whichever_engine_runs_the_model(pysd_runs):
    """The PySD run, saved every TIME STEP, gives the kernel's trajectory within rounding, so
    the same scores within the bounds of numerics.py and the same dominant loops in every
    window."""
    ours, pysd_run = _loop_scores(), _loop_scores(_StoredPySD(pysd_runs[LOOP_RUN]))
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
