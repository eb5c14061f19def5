"""The JavaScript back end (the lever explorer's model) against the native kernel, run in V8
(mini-racer, V8 from PyPI). The tolerance, and why, is javascript_runs.py's."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from javascript_runs import (
    EXACT,
    RUN_MIXES,
    TOLERANCE,
    as_numbers,
    native_outputs,
    random_settings,
    worst_difference,
)
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
    rows = as_numbers(json.loads(text))
    return rows.reshape(len(rows), len(axis.times), len(slots))


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


def test_every_preset_and_a_thousand_random_lever_mixes_match_sd_runner_run(page_model,
                                                                            model, tmp_path):
    """Each mix as the page runs it, against the native kernel on the scenario file the page
    writes for it, read back by the scenario reader as `sd-runner run` reads it."""
    levers = json.loads(page_model.eval("JSON.stringify(sdModel.levers)"))
    outputs = json.loads(page_model.eval("JSON.stringify(sdModel.outputs)"))
    presets = json.loads(page_model.eval("JSON.stringify(Object.values(sdModel.presets))"))
    assert len(presets) == len(api.bundled_levers()) + 2  # baseline, each lever, combined
    mixes = presets + random_settings(levers, 1000, seed=18)
    worst = 0.0
    for first in range(0, len(mixes), 100):
        answer = json.loads(page_model.eval(
            f"JSON.stringify(({RUN_MIXES})({json.dumps(mixes[first:first + 100])}), {EXACT})"))
        native = native_outputs(model, [toml for toml, _ in answer], outputs, tmp_path)
        got = np.array([as_numbers(columns).T for _toml, columns in answer])
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
