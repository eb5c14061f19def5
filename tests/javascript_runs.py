"""The lever explorer's JavaScript model set beside the native kernel, for the tests that run
it in V8 (tests/engine/test_javascript.py) and in Chromium (tests/explorer/).

Both back ends run the same statements in the same order, so the arithmetic is the same; the
JavaScript engine's ``Math.exp``, ``Math.pow``, ... may round differently from the C library's
by an ulp. The model's feedback carries such a difference along, so the comparisons allow 1e-9
of each column's largest magnitude (a pointwise relative error means nothing where a flow
crosses zero); measured, the bundled scenarios differ by about 3e-15 of that.
"""

from __future__ import annotations

import numpy as np

from sd_runner import api

TOLERANCE = 1e-9  # of each column's largest magnitude; see the module's text
#: A JSON.stringify replacer that keeps what JSON cannot say (NaN, infinities, -0) as text,
#: which Python's float() reads back.
EXACT = ("(key, value) => typeof value === 'number' && (!Number.isFinite(value) "
         "|| Object.is(value, -0)) ? String(value === 0 ? '-0' : value) : value")
#: JavaScript: each settings object of ``mixes`` as [its scenario file, the page's outputs].
RUN_MIXES = ("(mixes) => mixes.map((s) => { const r = sdModel.run(s); "
             "return [sdModel.scenarioToml(s, 'mix'), sdModel.outputs.map((o) => "
             "r.columns[o])]; })")


def random_settings(levers: list[dict], count: int, seed: int) -> list[dict]:
    """Lever mixes: each lever pulled with probability 0.6, at any level, start year and
    ramp its ranges allow (not only whole years)."""
    rng = np.random.default_rng(seed)
    mixes = []
    for _ in range(count):
        chosen = {}
        for lever in levers:
            if rng.random() < 0.6:
                chosen[lever["id"]] = {
                    "level": float(rng.uniform(0.0, lever["maxLevel"])),
                    "startYear": float(np.round(rng.uniform(lever["firstYear"],
                                                            lever["lastYear"]), 2)),
                    "rampYears": float(np.round(rng.uniform(0.0, 10.0), 3))}
        mixes.append({"levers": chosen})
    return mixes


def worst_difference(got: np.ndarray, expected: np.ndarray) -> float:
    """The largest difference as a fraction of its column's largest magnitude (the last axis
    is the column; NaN and infinities must sit in the same places)."""
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(np.isinf(got), np.isinf(expected))
    infinite = np.isinf(expected)
    assert np.array_equal(got[infinite], expected[infinite])
    finite = np.isfinite(expected)
    got, expected = np.where(finite, got, 0.0), np.where(finite, expected, 0.0)
    scale = np.abs(expected).max(axis=tuple(range(expected.ndim - 1)))
    difference = np.abs(got - expected).max(axis=tuple(range(expected.ndim - 1)))
    return float(np.max(np.where(scale > 0, difference / np.where(scale > 0, scale, 1.0),
                                 difference)))


def as_numbers(values) -> np.ndarray:
    """An array of floats from JSON that may hold EXACT's texts ("NaN", "-0", ...)."""
    return np.vectorize(float, otypes=[float])(np.array(values, dtype=object))


def native_outputs(model, files: list[str], outputs: list[str], folder) -> np.ndarray:
    """``[mix, saved time, output]`` of each scenario file text, read as `sd-runner run` reads
    it (written to ``folder``), run on the native kernel."""
    from sd_runner.inputs.scenarios import load_scenario, scenario_params

    consts = []
    for number, text in enumerate(files):
        path = folder / f"mix-{number}.toml"
        path.write_text(text, encoding="utf-8")
        scenario = load_scenario(path, api.bundled_levers(), model)
        consts.append(model.constants_vector(scenario_params(scenario, model)))
    by_column = {column: slot for slot, column in enumerate(model.slot_columns)}
    slots = np.array([by_column[c] for c in outputs], dtype=np.int64)
    return model.kernel.run(np.array(consts), model.time_axis(), slots)
