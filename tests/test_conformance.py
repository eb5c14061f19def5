"""The fast engine against the SDXorg test models (Vensim's own outputs).

Each model is either reproduced at PySD's tolerance (rtol = atol = 1e-4) or refused with an
error that names the construct; none may give a wrong answer. The models live beside the
project in ``../shared/conformance``; without them these tests are skipped.
"""

from __future__ import annotations

import json
import warnings

import pytest
from conftest import SHARED

CONFORMANCE = SHARED / "conformance"
TESTS = CONFORMANCE / "test-models" / "tests"


def _cases():
    if not TESTS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{TESTS} is absent"))]
    cases = []
    for folder in sorted(p for p in TESTS.iterdir() if p.is_dir()):
        models = sorted(folder.glob("*.mdl"))
        canon = [folder / n for n in ("output.csv", "output.tab") if (folder / n).is_file()]
        if models and canon:
            cases.append(pytest.param((models[0], canon[0]), id=folder.name))
    return cases


@pytest.mark.slow
@pytest.mark.parametrize("case", _cases())
def test_model_is_reproduced_or_refused(case, tmp_path, monkeypatch):
    from pysd.py_backend.utils import detect_encoding
    from pysd.tools.benchmarking import assert_frames_close, load_outputs

    from sd_runner.engine import FastModel, UnsupportedModelError
    from sd_runner.errors import InputError

    model_file, canon_file = case
    monkeypatch.setenv("SD_RUNNER_CACHE", str(tmp_path / "cache"))
    canon = load_outputs(canon_file, encoding=detect_encoding(canon_file))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PySD's own warnings about these test models
            model = FastModel(model_file)
            output = model.run(return_columns=list(canon.columns), check_finite=False)
    except UnsupportedModelError as exc:
        message = str(exc)
        assert "\n" not in message and "--engine pysd" in message
        pytest.skip(f"refused: {message}")
    except InputError as exc:  # PySD itself cannot read it (external files, broken model)
        baseline = json.loads((CONFORMANCE / "pysd_baseline.json").read_text())["results"]
        assert baseline.get(case[0].parent.name, {}).get("status") != "pass" or \
            "not found" in str(exc), str(exc)
        pytest.skip(f"unreadable: {exc}")
    assert_frames_close(output, canon, rtol=1e-4, atol=1e-4)
