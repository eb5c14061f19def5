"""Shared fixtures: the bundled model and runs of it, made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sd_runner import api as runner
from sd_runner.simulate.simulation import run_scenario

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def model():
    """The bundled model on the fast engine (compiled once per machine, then cached)."""
    return runner.bundled_model("fast")


@pytest.fixture(scope="session")
def levers():
    return runner.bundled_levers()


@pytest.fixture(scope="session")
def bundled_runs(model):
    """Every bundled scenario, run once with every variable returned."""
    from sd_runner.inputs.scenarios import bundled_scenario_names

    return {name: run_scenario(model, runner.scenario(name)) for name in bundled_scenario_names()}


#: Tests using these fixtures run on one xdist worker, so PySD runs once per session.
PYSD_FIXTURES = ("pysd_runs", "pysd_loop_scores")
#: Where the loop scores of the PySD run end (the lookups' later segments and the levers'
#: ramps are reached by then).
LOOP_SCORES_UNTIL = 2018


def _pysd_frame(name):
    return run_scenario(runner.bundled_model("pysd"), runner.scenario(name, "pysd")).frame


def _pysd_loop_scores():
    """Loop scores of domestic-value-chain with PySD's trajectory, saved every TIME STEP."""
    from sd_runner.feedback.dominance import loop_scores
    from sd_runner.inputs.scenarios import scenario_params

    fast = runner.bundled_model("fast")
    params = scenario_params(runner.scenario("domestic-value-chain"), fast)
    return loop_scores(fast, runner.loop_inventory().loops, params,
                       final_time=LOOP_SCORES_UNTIL, run_with=runner.bundled_model("pysd"))


def _pysd_job(name):
    return _pysd_loop_scores() if name is None else _pysd_frame(name)


@pytest.fixture(scope="session")
def pysd_work():
    """Every PySD run of the session (about a minute each), made once, on both cores: every
    bundled scenario, and the loop scores of one, the shorter job, last."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from sd_runner.inputs.scenarios import bundled_scenario_names

    names = bundled_scenario_names()
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("fork")) as pool:
        *frames, scores = pool.map(_pysd_job, [*names, None])
    return dict(zip(names, frames, strict=True)), scores


@pytest.fixture(scope="session")
def pysd_runs(pysd_work):
    """Every bundled scenario run by PySD."""
    from sd_runner.simulate.simulation import ScenarioRun

    return {name: ScenarioRun(runner.scenario(name, "pysd"), frame)
            for name, frame in pysd_work[0].items()}


@pytest.fixture(scope="session")
def pysd_loop_scores(pysd_work):
    """Loop scores of domestic-value-chain to LOOP_SCORES_UNTIL, PySD running the model."""
    return pysd_work[1]


def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (``--dist loadgroup``), each module runs on one worker, so its
    module fixtures are made once; the tests that share PySD's runs form one group."""
    for item in items:
        uses_pysd = any(name in item.fixturenames for name in PYSD_FIXTURES)
        group = "pysd" if uses_pysd else item.nodeid.partition("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def write_file(tmp_path):
    """Write a file (text, or bytes as given) in the test's folder and return its path."""

    def write(text: str | bytes, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


def settings_error(tmp_path, text: str, change: tuple[str, str], observations) -> str:
    """The one-line error of calibration settings ``text`` with ``change`` made once; the
    message must name the file and hold no newline."""
    from sd_runner.calibration.config import load_config
    from sd_runner.errors import InputError

    assert change[0] in text
    path = tmp_path / "config.toml"
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(InputError) as error:
        load_config(path, observations)
    message = str(error.value)
    assert f"{path}:" in message and "\n" not in message
    return message
