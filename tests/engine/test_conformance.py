"""The fast engine against the SDXorg test models (Vensim's own outputs).

Each model is either reproduced at PySD's tolerance (rtol = atol = 1e-4) or refused with an
error that names the construct; none may give a wrong answer. Every model the native kernel
runs, the JavaScript back end (the lever explorer's) must run too, to the native numbers.
The models live beside the project in ``../shared/conformance``; without them these tests are
skipped. Compiling ~140 kernels dominates the time, so the models are run once, on both
cores, and each test reads its model's outcome (forked workers, each model in its own cache
folder).
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import os
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor

import pytest
from conftest import SHARED

CONFORMANCE = SHARED / "conformance"
TESTS = CONFORMANCE / "test-models" / "tests"


def _cases():
    if not TESTS.is_dir():
        return []
    cases = {}
    for folder in sorted(p for p in TESTS.iterdir() if p.is_dir()):
        models = sorted(folder.glob("*.mdl"))
        canon = [folder / n for n in ("output.csv", "output.tab") if (folder / n).is_file()]
        if models and canon:
            cases[folder.name] = (models[0], canon[0])
    return cases


CASES = _cases()


def _check(case) -> tuple[str, str]:
    """Run one model on the fast engine: ("pass" | "refused" | "unreadable" | "wrong", detail)."""
    from pysd.py_backend.utils import detect_encoding
    from pysd.tools.benchmarking import assert_frames_close, load_outputs

    from sd_runner.engine import FastModel, UnsupportedModelError
    from sd_runner.errors import InputError

    model_file, canon_file = case
    os.environ["SD_RUNNER_CACHE"] = tempfile.mkdtemp(prefix="conformance-")
    canon = load_outputs(canon_file, encoding=detect_encoding(canon_file))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PySD's own warnings about these test models
            model = FastModel(model_file)
            output = model.run(return_columns=list(canon.columns), check_finite=False)
            assert_frames_close(output, canon, rtol=1e-4, atol=1e-4)
    except UnsupportedModelError as exc:
        return "refused", str(exc)
    except InputError as exc:  # PySD itself cannot read it
        return "unreadable", str(exc)
    except AssertionError as exc:
        return "wrong", str(exc)
    return _javascript_agrees(model)


def _javascript_agrees(model) -> tuple[str, str]:
    """The JavaScript back end (the lever explorer's) on a model the native kernel runs: it
    must compile it and give every value within 1e-9 of its column's largest magnitude
    (test_javascript.py says why that scale)."""
    import numpy as np

    from sd_runner.engine import UnsupportedModelError
    from sd_runner.engine.javascript import kernel_js

    if importlib.util.find_spec("py_mini_racer") is None:
        return "pass", ""  # mini-racer is not installed: test_javascript.py says so
    from test_javascript import py_mini_racer, run_javascript, worst_difference

    program = model.kernel.compiled.program
    try:
        context = py_mini_racer.MiniRacer()
        context.eval(kernel_js(program))
    except UnsupportedModelError as exc:
        return "javascript refused", str(exc)
    axis = model.time_axis()
    slots = np.arange(program.values, dtype=np.int64)
    consts = model.constants_vector({})
    native = model.kernel.run(consts[None, :], axis, slots)
    try:
        worst = worst_difference(run_javascript(context, consts, axis, slots), native)
    except AssertionError:
        return "javascript wrong", "NaN or infinities in other places than the native kernel's"
    if worst > 1e-9:
        return "javascript wrong", f"differs by {worst:.3g} of a column's largest magnitude"
    return "pass", ""


@pytest.fixture(scope="session")
def outcomes():
    names = list(CASES)
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("fork")) as pool:
        return dict(zip(names, pool.map(_check, [CASES[n] for n in names]), strict=True))


@pytest.mark.slow
@pytest.mark.skipif(not CASES, reason=f"{TESTS} is absent")
@pytest.mark.parametrize("name", list(CASES) or ["none"])
def test_model_is_reproduced_or_refused(outcomes, name):
    status, detail = outcomes[name]
    if status == "refused":
        assert "\n" not in detail and "--engine pysd" in detail, detail
        pytest.skip(f"refused: {detail}")
    if status == "unreadable":
        baseline = json.loads((CONFORMANCE / "pysd_baseline.json").read_text())["results"]
        assert baseline.get(name, {}).get("status") != "pass", detail
        pytest.skip(f"PySD cannot read it either: {detail}")
    assert status == "pass", detail
