"""The fast engine: identical to PySD on our model, and explicit about what it cannot compile."""

from __future__ import annotations

import numpy as np
import pytest
from toy_models import TINY

from sd_runner.engine import FastModel, TimeAxis, UnsupportedModelError
from sd_runner.engine.compiler import compile_mdl
from sd_runner.model.loading import SDModel


@pytest.fixture
def tiny_path(tmp_path, monkeypatch):
    monkeypatch.setenv("SD_RUNNER_CACHE", str(tmp_path / "cache"))

    def write(text: str) -> str:
        path = tmp_path / "tiny.mdl"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_tiny_model_matches_pysd_with_an_uneven_time_step(tiny_path):
    path = tiny_path(TINY.replace("TIME STEP  = 0.25", "TIME STEP  = 0.1")
                     .replace("SAVEPER  = 1", "SAVEPER  = 0.3"))
    fast, slow = FastModel(path).run(), SDModel(path).run()
    assert np.array_equal(fast.index.to_numpy(), slow.index.to_numpy())
    assert np.allclose(fast["Stock"], slow["Stock"], rtol=1e-12, atol=0)


def test_time_axis_counts_steps_as_pysd_does():
    axis = TimeAxis.build(0.0, 1.0, 0.1, 0.5)
    assert axis.n_steps == 10
    assert axis.times.tolist() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("equation, construct", [
    ("Stock * ALLOCATE BY PRIORITY(Rate, Rate, 1, 1, 1)", "ALLOCATE"),
    ("GET XLS CONSTANTS('x.xlsx', 'a', 'B1')", "GetConstantsStructure"),
    ("INVERT MATRIX(Rate, 1)", "INVERT_MATRIX"),
])
def test_unsupported_constructs_are_refused_by_name(tiny_path, equation, construct):
    path = tiny_path(TINY.replace("Inflow= Stock * Rate", f"Inflow= {equation}"))
    with pytest.raises(UnsupportedModelError) as caught:
        compile_mdl(path)
    message = str(caught.value)
    assert "fast engine does not support" in message and "--engine pysd" in message
    assert construct.casefold().replace(" ", "_") in message.casefold().replace(" ", "_")
    assert "Inflow" in message


def test_params_set_constants_by_element(model):
    consts = model.constants_vector({"Reference Export Growth Rate": 0.3})
    compiled = model.kernel.compiled
    index = compiled.constants[("Reference Export Growth Rate", ("Apparel",))]
    assert consts[index] == 0.3
    with pytest.raises(Exception, match="not a constant"):
        model.constants_vector({"Margin": 0.1})


def test_generated_source_does_not_depend_on_the_hash_seed(tmp_path):
    # The kernel cache is keyed by the source: a seed-dependent source would recompile the
    # kernel (about 20 s) in every new process.
    import hashlib
    import os
    import subprocess
    import sys

    from sd_runner import resources

    code = ("import hashlib, sys; from sd_runner.engine.compiler import compile_mdl; "
            "print(hashlib.sha256(compile_mdl(sys.argv[1]).source.encode()).hexdigest())")
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code, str(resources.model_path())],
                              capture_output=True, text=True, env=env, check=True)
        digests.add(done.stdout.strip())
    assert len(digests) == 1
    assert hashlib.sha256(b"").hexdigest() not in digests


def test_constants_follow_parameters_set_later_in_the_model_and_its_variants():
    """The calibrated constants are made once and kept: a value set afterwards, and a copy
    run by another kernel (loop knockouts make one) sharing the parameters, must not see a
    stale copy."""
    from sd_runner import api

    model = api.load_model()
    index = model.kernel.compiled.constants[("Patent Yield", ())]
    before = model.constants_vector()[index]
    variant = model.with_kernel(model.kernel)
    variant.constants_vector()
    model.set_parameters({"Patent Yield": before / 2})
    assert model.constants_vector()[index] == variant.constants_vector()[index] == before / 2
    assert model.constants_vector({"Patent Yield": before})[index] == before
    assert model.constants_vector()[index] == before / 2  # a run's params change no cache
    assert api.bundled_model().constants_vector()[index] == before
