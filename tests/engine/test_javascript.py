"""The JavaScript back end (the lever explorer's model) against the native kernel, run in V8
(mini-racer, V8 from PyPI).

Both back ends run the same statements in the same order, so the arithmetic is the same; the
JavaScript engine's ``Math.exp``, ``Math.pow``, ... may round differently from the C library's
by an ulp. The model's feedback carries such a difference along, so the comparisons allow 1e-9
of each column's largest magnitude (a pointwise relative error means nothing where a flow
crosses zero); measured, the bundled scenarios differ by about 3e-15 of that.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_native import BUILTINS, TABLES, run, values

from sd_runner import api
from sd_runner.engine import UnsupportedModelError
from sd_runner.engine.fast import TimeAxis
from sd_runner.engine.javascript import kernel_js
from sd_runner.engine.machine_code import CompiledKernel, object_code
from sd_runner.engine.native import kernel_ir
from sd_runner.engine.structures import Program

py_mini_racer = pytest.importorskip("py_mini_racer", reason="mini-racer is not installed: "
                                    "pip install mini-racer")

TOLERANCE = 1e-9  # of each column's largest magnitude; see the module's text
#: A JSON.stringify replacer that keeps what JSON cannot say (NaN, infinities, -0) as text,
#: which Python's float() reads back.
EXACT = ("(key, value) => typeof value === 'number' && (!Number.isFinite(value) "
         "|| Object.is(value, -0)) ? String(value === 0 ? '-0' : value) : value")


def javascript(program: Program):
    """A V8 context holding ``program``'s kernel as ``runKernel``."""
    context = py_mini_racer.MiniRacer()
    context.eval(kernel_js(program))
    return context


def run_javascript(context, consts: np.ndarray, axis: TimeAxis, slots) -> np.ndarray:
    """``[member, saved time, slot]`` from the JavaScript kernel."""
    arguments = json.dumps({"c": np.atleast_2d(consts).tolist(),
                            "save": axis.save_steps[:axis.n_steps + 1].astype(int).tolist(),
                            "slots": [int(s) for s in slots]})
    text = context.eval(
        f"(function (a) {{ return JSON.stringify(a.c.map((c) => Array.from(runKernel("
        f"Float64Array.from(c), {axis.initial!r}, {axis.step!r}, {axis.final!r}, "
        f"{axis.saveper!r}, {axis.n_steps}, Uint8Array.from(a.save), "
        f"Int32Array.from(a.slots)))), {EXACT}); }})({arguments})")
    rows = np.vectorize(float)(np.array(json.loads(text), dtype=object))
    return rows.reshape(len(rows), len(axis.times), len(slots))


def worst_difference(got: np.ndarray, expected: np.ndarray) -> float:
    """The largest difference as a fraction of its column's largest magnitude (NaN and
    infinities must sit in the same places)."""
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(np.isinf(got), np.isinf(expected))
    finite = np.isfinite(expected)
    assert np.array_equal(got[~finite & ~np.isnan(expected)], expected[~finite
                                                                       & ~np.isnan(expected)])
    got, expected = np.where(finite, got, 0.0), np.where(finite, expected, 0.0)
    scale = np.abs(expected).max(axis=tuple(range(expected.ndim - 1)))
    difference = np.abs(got - expected).max(axis=tuple(range(expected.ndim - 1)))
    return float(np.max(np.where(scale > 0, difference / np.where(scale > 0, scale, 1.0),
                                 difference)))


def test_each_builtin_computes_what_the_native_kernel_computes():
    """Every built-in and operator over the rows of test_native.values(): to the last bit
    where the arithmetic is IEEE's own, within 1e-14 where a JavaScript Math function or
    ``**`` rounds on its own."""
    program = Program(values=len(BUILTINS), states=0, tables=TABLES, init=[],
                      step=[f"v[{i}] = {text}" for i, text in enumerate(BUILTINS)],
                      derivatives=[], discrete=[], buffers=[], clamps=[])
    consts = values()
    axis = TimeAxis.build(0.0, 4.0, 0.5, 0.5)
    slots = np.arange(len(BUILTINS), dtype=np.int64)
    native = run(CompiledKernel(object_code(kernel_ir(program))), consts, axis, slots)
    got = run_javascript(javascript(program), consts, axis, slots)
    for column, text in enumerate(BUILTINS):
        a, b = got[..., column], native[..., column]
        assert np.array_equal(np.isnan(a), np.isnan(b)), text
        if any(name in text for name in ("math.", "**", "power", "log_base")):
            close = np.isclose(a, b, rtol=1e-14, atol=0.0, equal_nan=True)
            assert close.all(), f"{text}: {a[~close][:3]} != {b[~close][:3]}"
        else:
            same = (a == b) | (np.isnan(a) & np.isnan(b))
            assert same.all(), f"{text}: {a[~same][:3]} != {b[~same][:3]}"
            numbers = ~np.isnan(a)
            assert np.array_equal(np.signbit(a[numbers]), np.signbit(b[numbers])), \
                f"{text}: signs of zero"


def test_every_bundled_scenario_matches_the_native_kernel_in_every_value(model):
    from sd_runner.inputs.scenarios import bundled_scenario_names, scenario_params

    compiled = model.kernel.compiled
    axis = model.time_axis()
    slots = np.arange(compiled.program.values, dtype=np.int64)
    consts = np.array([model.constants_vector(scenario_params(api.scenario(name), model))
                       for name in bundled_scenario_names()])
    native = model.kernel.run(consts, axis, slots)
    got = run_javascript(javascript(compiled.program), consts, axis, slots)
    assert worst_difference(got, native) <= TOLERANCE


@pytest.fixture(scope="module")
def page_model():
    """The explorer's sdModel in V8, without a posterior sample."""
    context = py_mini_racer.MiniRacer()
    context.eval(api.explorer_script(members=0))
    return context


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


def test_a_thousand_random_lever_mixes_match_sd_runner_run(page_model, model, tmp_path):
    """Each mix as the page runs it, against the native kernel on the scenario file the page
    writes for it, read back by the scenario reader as `sd-runner run` reads it."""
    from sd_runner.inputs.scenarios import load_scenario, scenario_params

    levers = json.loads(page_model.eval("JSON.stringify(sdModel.levers)"))
    outputs = json.loads(page_model.eval("JSON.stringify(sdModel.outputs)"))
    mixes = random_settings(levers, 1000, seed=18)
    axis = model.time_axis()
    by_column = {column: slot for slot, column in enumerate(model.slot_columns)}
    out_slots = np.array([by_column[c] for c in outputs], dtype=np.int64)
    worst = 0.0
    for first in range(0, len(mixes), 100):
        batch = mixes[first:first + 100]
        answer = json.loads(page_model.eval(
            f"JSON.stringify({json.dumps(batch)}.map((s) => {{ const r = sdModel.run(s); "
            f"return [sdModel.scenarioToml(s, 'mix'), sdModel.outputs.map((o) => "
            f"r.columns[o])]; }}), {EXACT})"))
        consts = []
        for number, (toml, _columns) in enumerate(answer):
            path = tmp_path / f"mix-{first + number}.toml"
            path.write_text(toml, encoding="utf-8")
            scenario = load_scenario(path, api.bundled_levers(), model)
            consts.append(model.constants_vector(scenario_params(scenario, model)))
        native = model.kernel.run(np.array(consts), axis, out_slots)
        got = np.array([np.vectorize(float)(np.array(columns, dtype=object)).T
                        for _toml, columns in answer])
        worst = max(worst, worst_difference(got, native))
    assert worst <= TOLERANCE


def test_the_page_refuses_a_setting_outside_its_range(page_model):
    message = page_model.eval(
        "(function () { try { sdModel.run({levers: {'own-brand': {level: 99}}}); "
        "return 'ran'; } catch (e) { return e.message; } })()")
    assert message.startswith("own-brand: level 99 is outside 0-")
    message = page_model.eval(
        "(function () { try { sdModel.run({levers: {'no-such': {}}}); return 'ran'; } "
        "catch (e) { return e.message; } })()")
    assert message.startswith('unknown lever "no-such"')


@pytest.mark.parametrize("statement", [
    "v[0] = c[0] // c[1]",            # floor division: no Vensim function gives it
    "v[0] = rt.no_such(c[0])",        # a built-in neither back end has
    "v[0] = math.floor(c[0])",        # a math function outside the list
    "v[0] = (c[0] and c[1])",         # Python's and returns an operand, not a truth value
    "v[0] = c[0] if c[1] else 'text'",
    "v[0] = rt.zidz(c[0], c[1], key=1)",
])
def test_an_expression_the_native_kernel_refuses_is_refused_here_too(statement):
    program = Program(values=1, states=0, tables=[], init=[], step=[statement],
                      derivatives=[], discrete=[], buffers=[], clamps=[])
    with pytest.raises(UnsupportedModelError, match="cannot compile"):
        kernel_ir(program)
    with pytest.raises(UnsupportedModelError, match="the JavaScript back end cannot compile"):
        kernel_js(program)


def test_javascript_numbers_read_back_as_the_same_doubles():
    from sd_runner.engine.javascript import number_text

    context = py_mini_racer.MiniRacer()
    numbers = [0.1, 1e-300, 5e-324, 1.7976931348623157e308, -2.5, 1e21, 123456789.123456789]
    for number in numbers:
        assert context.eval(f"({number_text(number)}) === {number!r}")
    assert context.eval(f"Number.isNaN({number_text(math.nan)})")
    assert context.eval(f"{number_text(-math.inf)} === -Infinity")
