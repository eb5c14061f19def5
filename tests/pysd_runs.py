"""PySD's runs of the bundled model, stored with what made them, for the agreement tests.

A PySD run of the bundled model takes about two minutes (xarray's overhead on every operation
of every TIME STEP), and the agreement tests need ten: every bundled scenario, and one run saved
every TIME STEP for the loop scores. Making them afresh in every test run cost CI over ten
minutes, so they are made once per model, by this script, and stored in ``pysd_runs.npz`` with
the sha256 of the ``.mdl`` and of each scenario file and PySD's version. The tests refuse a
stored run whose inputs have changed, and one test makes a run afresh and compares it with the
stored one, so a stored run cannot drift from what PySD computes today.

Regenerate after any change to the model or a bundled scenario (about ten minutes on two
cores)::

    python tests/pysd_runs.py
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sys
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

STORE = Path(__file__).with_name("pysd_runs.npz")

#: The loop scores end here: the run reaches the lookups' later segments and the levers'
#: ramps (2016-), at a third of the cost of the whole run saved every TIME STEP.
LOOP_SCORES_UNTIL = 2018
LOOP_SCENARIO = "domestic-value-chain"
#: The key of the run saved every TIME STEP to LOOP_SCORES_UNTIL.
LOOP_RUN = "loop-scores"


def provenance() -> dict:
    """What a stored run depends on: the model, the lever and scenario files, PySD's version."""
    import pysd

    from sd_runner import resources
    from sd_runner.inputs.scenarios import bundled_scenario_names

    def sha256(path) -> str:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()

    return {"pysd": pysd.__version__, "model_sha256": sha256(resources.model_path()),
            "levers_sha256": sha256(resources.levers_path()),
            "scenarios_sha256": {name: sha256(resources.scenarios_dir() / f"{name}.toml")
                                 for name in bundled_scenario_names()}}


def pysd_frame(name: str) -> pd.DataFrame:
    """A PySD run of bundled scenario ``name``, every variable, saved as the scenario says."""
    from sd_runner import api
    from sd_runner.simulate.simulation import run_scenario

    return run_scenario(api.bundled_model("pysd"), api.scenario(name, "pysd")).frame


def loop_run_frame() -> pd.DataFrame:
    """A PySD run of LOOP_SCENARIO to LOOP_SCORES_UNTIL, every slot saved every TIME STEP,
    as the loop scores ask their ``run_with`` engine for it."""
    from sd_runner import api
    from sd_runner.inputs.scenarios import scenario_params

    fast, pysd_model = api.bundled_model("fast"), api.bundled_model("pysd")
    params = scenario_params(api.scenario(LOOP_SCENARIO), fast)
    step = fast.control("TIME STEP")
    names = list(dict.fromkeys(name for name, _ in fast.kernel.compiled.slots))
    return pysd_model.run(params, return_columns=names, saveper=step,
                          final_time=LOOP_SCORES_UNTIL)


def _job(name: str) -> pd.DataFrame:
    return loop_run_frame() if name == LOOP_RUN else pysd_frame(name)


class StoredRuns:
    """The stored runs, by scenario name (and LOOP_RUN), as data frames."""

    def __init__(self, path: Path = STORE):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: make it with python tests/pysd_runs.py")
        with np.load(path, allow_pickle=False) as store:
            self.provenance = json.loads(str(store["provenance"]))
            columns, times = store["columns"].tolist(), pd.Index(store["times"], name="time")
            self.frames = {str(name): pd.DataFrame(values, columns=columns, index=times)
                           for name, values in zip(store["names"], store["values"],
                                                   strict=True)}
            self.frames[LOOP_RUN] = pd.DataFrame(
                store["loop_values"], columns=store["loop_columns"].tolist(),
                index=pd.Index(store["loop_times"], name="time"))

    def stale(self) -> str | None:
        """Why the stored runs no longer belong to the bundled model, or None."""
        now = provenance()
        changed = [key for key in now if now[key] != self.provenance.get(key)]
        if not changed:
            return None
        return (f"{STORE.name} was made from other inputs ({', '.join(changed)} changed): "
                "regenerate it with python tests/pysd_runs.py")


def write(frames: dict[str, pd.DataFrame], path: Path = STORE) -> None:
    """Store ``frames`` with their provenance, atomically. The scenarios share their columns
    and times and are stacked in one array, which LZMA compresses to a third (their early
    years are alike); ``numpy.load`` reads the archive as any ``.npz``."""
    loop = frames[LOOP_RUN]
    scenarios = {name: frame for name, frame in frames.items() if name != LOOP_RUN}
    first = next(iter(scenarios.values()))
    for name, frame in scenarios.items():
        if not (frame.columns.equals(first.columns) and frame.index.equals(first.index)):
            raise ValueError(f"{name}: other columns or times than the other scenarios")
    arrays = {
        "provenance": np.array(json.dumps(provenance(), sort_keys=True)),
        "names": np.array(list(scenarios)),
        "columns": np.array([str(c) for c in first.columns]),
        "times": first.index.to_numpy(dtype=float),
        "values": np.stack([frame.to_numpy(dtype=float) for frame in scenarios.values()]),
        "loop_columns": np.array([str(c) for c in loop.columns]),
        "loop_times": loop.index.to_numpy(dtype=float),
        "loop_values": loop.to_numpy(dtype=float),
    }
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_LZMA) as archive:
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", "w") as handle:
                np.lib.format.write_array(handle, array, allow_pickle=False)
    partial.replace(path)


def main() -> int:
    from sd_runner.inputs.scenarios import bundled_scenario_names

    names = [*bundled_scenario_names(), LOOP_RUN]
    # Two processes, the shorter loop run last; fork keeps the compiled models.
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("fork")) as pool:
        frames = dict(zip(names, pool.map(_job, names), strict=True))
    write(frames)
    print(f"wrote {STORE} ({STORE.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
