"""Shared fixtures: the bundled model and runs of it, made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sd_runner import api as runner
from sd_runner.simulate.simulation import run_scenario

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


#: The bundled settings with a short MCMC and fewer starts, so a test calibrates in seconds.
QUICK = {
    "starts = 12": "starts = 2",
    "mcmc_steps = 10000": "mcmc_steps = 200",
    "mcmc_burn = 2000": "mcmc_burn = 50",
    "mcmc_thin = 40": "mcmc_thin = 5",
    "sample_size = 1000": "sample_size = 100",
}


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
