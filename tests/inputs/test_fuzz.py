"""Fuzzing the file parsers: whatever bytes a scenario or observation file holds, reading it
either gives a result or one InputError naming the file; nothing else escapes. Bounded in time
(a fixed number of examples, derandomised so CI runs the same cases every time)."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sd_runner import api as runner
from sd_runner.errors import InputError
from sd_runner.inputs.observations import load_observations
from sd_runner.inputs.scenarios import load_scenario

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text that looks like the formats, so the fuzzer reaches past the first syntax check.
TOML_PIECES = st.sampled_from([
    'name = "x"\n', 'title = "t"\n', "[levers.own-brand]\n", "level = 0.5\n", "level = nan\n",
    'level = "lots"\n', "start_year = 2016\n", "ramp_years = -1\n", "[constants]\n",
    '"Patent Yield" = 80\n', '"Warp" = 1\n', "[levers.nope]\n", "description = 1\n", "=\n",
    "[[x]]\n", "\x00", "\ufeff", "level = 1e400\n",
])
CSV_PIECES = st.sampled_from([
    "series,cluster,start,end,value,unit,basis,source\n",
    "exports,textile,2003-01-01,2003-12-31,63.86,USD100M,reported,customs\n",
    "exports,textile,2004-12-31,2004-01-01,1,USD100M,reported,x\n",
    "exports,textile,2003-01-01,2003-12-31,nan,USD100M,reported,x\n",
    "exports,,,,,,,\n", ",,,\n", '"unclosed,\n', "\x00\n", "\ufeff", "a;b;c\n",
    "exports,textile,2003-02-30,2003-12-31,1,USD100M,derived,x\n",
])


def _check(read, path):
    try:
        read(path)
    except InputError as exc:
        assert str(path) in str(exc) or path.name in str(exc)
        assert "\n" not in str(exc).strip()


@FUZZ
@given(data=st.one_of(st.binary(max_size=400),
                      st.lists(TOML_PIECES, max_size=12).map("".join).map(str.encode),
                      st.text(string.printable, max_size=300).map(str.encode)))
def test_scenario_files_never_raise_anything_but_a_one_line_input_error(tmp_path, data):
    path = tmp_path / "scenario.toml"
    path.write_bytes(data)
    model = runner.bundled_model("fast")
    _check(lambda p: load_scenario(p, runner.bundled_levers(), model), path)


@FUZZ
@given(data=st.one_of(st.binary(max_size=400),
                      st.lists(CSV_PIECES, max_size=10).map("".join).map(str.encode),
                      st.text(string.printable, max_size=300).map(str.encode)))
def test_observation_files_never_raise_anything_but_a_one_line_input_error(tmp_path, data):
    path = tmp_path / "observations.csv"
    path.write_bytes(data)
    _check(load_observations, path)
