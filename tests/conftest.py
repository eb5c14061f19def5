"""Shared fixtures: the bundled model and runs of it, made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sd_runner import runner
from sd_runner.simulation import run_scenario

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def model():
    """The bundled model (translated once; PySD runs take ~20 s each, so runs are shared too)."""
    return runner.bundled_model()


@pytest.fixture(scope="session")
def levers():
    return runner.bundled_levers()


@pytest.fixture(scope="session")
def bundled_runs(model):
    """Every bundled scenario, run once with every variable returned."""
    from sd_runner.scenarios import bundled_scenario_names

    return {name: run_scenario(model, runner.scenario(name)) for name in bundled_scenario_names()}


@pytest.fixture
def write_scenario(tmp_path):
    """Write a scenario file from text and return its path."""

    def write(text: str | bytes, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write
