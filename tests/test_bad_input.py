"""Bad input, across every kind of file and option: each case must give one line naming the
file, line or field and the fix, exit code 2, no traceback, and leave no output behind.

Each case is (id, command line, files to write, text the message must hold). ``{name}`` in the
command line is the path of the written file ``name``; ``OUT`` is an output path that must
not exist afterwards.
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from sd_runner import resources
from sd_runner.cli import cli

HEADER = "series,cluster,period_start,period_end,value,unit,basis,source\n"
ROW = "exports,textile,2003-01-01,2003-12-31,63.86,100 million USD,reported,customs\n"
CONFIG = resources.calibration_config_path().read_text(encoding="utf-8")
HUGE = b"# " + b"x" * (11 * 1024 * 1024) + b"\n"

SCENARIO = ["run", "{s.toml}", "--out", "OUT"]
DATA = ["calibrate", "--data", "{d.csv}", "--out", "OUT"]
SETTINGS = ["calibrate", "--config", "{c.toml}", "--out", "OUT"]
FACTORS = ["sensitivity", "--factors", "{f.toml}", "--out", "OUT"]

CASES = [
    # --- scenario files
    ("scenario empty", SCENARIO, {"s.toml": b""}, ["s.toml", "empty"]),
    ("scenario binary junk", SCENARIO, {"s.toml": b"\x89PNG\r\n\x1a\n\xff\xfe"}, ["not UTF-8"]),
    ("scenario NUL bytes", SCENARIO, {"s.toml": b'name = "a"\x00\n'}, ["NUL"]),
    ("scenario UTF-16", SCENARIO, {"s.toml": 'name = "a"\n'.encode("utf-16")}, ["not UTF-8"]),
    ("scenario bad TOML", SCENARIO, {"s.toml": b"level = \n"}, ["not valid TOML"]),
    ("scenario unknown lever", SCENARIO, {"s.toml": b"[levers.teleport]\nlevel = 1\n"},
     ["teleport"]),
    ("scenario level as text", SCENARIO,
     {"s.toml": b'[levers.own-brand]\nlevel = "lots"\n'}, ["level"]),
    ("scenario level NaN", SCENARIO, {"s.toml": b"[levers.own-brand]\nlevel = nan\n"},
     ["level"]),
    ("scenario level inf", SCENARIO, {"s.toml": b"[levers.own-brand]\nlevel = inf\n"},
     ["level"]),
    ("scenario level out of range", SCENARIO, {"s.toml": b"[levers.own-brand]\nlevel = 7\n"},
     ["s.toml:2", "outside its range"]),
    ("scenario unknown constant", SCENARIO, {"s.toml": b'[constants]\n"Warp Factor" = 1\n'},
     ["Warp Factor"]),
    ("scenario sets a variable", SCENARIO, {"s.toml": b'[constants]\n"Margin" = 1\n'},
     ["Margin"]),
    ("scenario unknown key", SCENARIO, {"s.toml": b'colour = "red"\n'}, ["colour"]),
    ("scenario huge", SCENARIO, {"s.toml": HUGE}, ["too large"]),
    ("scenario missing", ["run", "nowhere.toml", "--out", "OUT"], {}, ["not found"]),
    # --- observation files
    ("data empty", DATA, {"d.csv": b""}, ["d.csv"]),
    ("data binary junk", DATA, {"d.csv": b"\xff\xfe\x00\x01junk"}, ["d.csv"]),
    ("data missing column", DATA,
     {"d.csv": b"series,cluster,period_start,value\nexports,textile,2003-01-01,1\n"},
     ["d.csv"]),
    ("data unknown column", DATA, {"d.csv": (HEADER.strip() + ",colour\n"
                                             + ROW.strip() + ",red\n").encode()}, ["colour"]),
    ("data bad date", DATA, {"d.csv": (HEADER + ROW.replace("2003-12-31", "2003-13-40"))
                             .encode()}, ["d.csv:2"]),
    ("data dates out of order", DATA,
     {"d.csv": (HEADER + ROW.replace("2003-12-31", "2002-12-31")).encode()}, ["d.csv:2"]),
    ("data value not a number", DATA,
     {"d.csv": (HEADER + ROW.replace("63.86", "lots")).encode()}, ["d.csv:2", "value"]),
    ("data value NaN", DATA, {"d.csv": (HEADER + ROW.replace("63.86", "nan")).encode()},
     ["d.csv:2", "value"]),
    ("data value inf", DATA, {"d.csv": (HEADER + ROW.replace("63.86", "inf")).encode()},
     ["d.csv:2", "value"]),
    ("data unknown basis", DATA, {"d.csv": (HEADER + ROW.replace("reported", "rumoured"))
                                  .encode()}, ["d.csv:2", "basis"]),
    ("data empty source", DATA, {"d.csv": (HEADER + ROW.replace("customs", "")).encode()},
     ["d.csv:2", "source"]),
    ("data duplicate rows", DATA, {"d.csv": (HEADER + ROW + ROW).encode()}, ["d.csv:3"]),
    ("data wrong field count", DATA, {"d.csv": (HEADER + "exports,textile\n").encode()},
     ["d.csv:2"]),
    ("data NUL bytes", DATA, {"d.csv": (HEADER + ROW).encode() + b"\x00"}, ["d.csv"]),
    ("data UTF-16", DATA, {"d.csv": (HEADER + ROW).encode("utf-16")}, ["d.csv"]),
    ("data huge", DATA, {"d.csv": HEADER.encode() + HUGE}, ["d.csv"]),
    ("data missing", ["calibrate", "--data", "nowhere.csv", "--out", "OUT"], {},
     ["nowhere.csv"]),
    # --- calibration settings
    ("settings empty", SETTINGS, {"c.toml": b""}, ["c.toml", "empty"]),
    ("settings missing table", SETTINGS, {"c.toml": b'[clusters]\ntextile = "Textile"\n'},
     ["c.toml", "[fit]"]),
    ("settings reversed bounds", SETTINGS, {"c.toml": CONFIG.replace(
        "bounds = [38.0, 70.0]", "bounds = [70.0, 38.0]").encode()}, ["c.toml:", "swap"]),
    ("settings unknown parameter", SETTINGS, {"c.toml": CONFIG.replace(
        '[parameters."Initial Export Sales[Textile]"]',
        '[parameters."Warp Factor"]').encode()}, ["c.toml:", "Warp Factor"]),
    ("settings bound NaN", SETTINGS, {"c.toml": CONFIG.replace(
        "bounds = [38.0, 70.0]", "bounds = [nan, 70.0]").encode()}, ["c.toml:", "bound"]),
    ("settings unknown key", SETTINGS, {"c.toml": CONFIG.replace(
        "[fit]\n", "[fit]\ncolour = 1\n").encode()}, ["c.toml:", "colour"]),
    ("settings binary junk", SETTINGS, {"c.toml": b"\xff\xd8\xff\xe0junk"}, ["not UTF-8"]),
    # --- factors files
    ("factors reversed bounds", FACTORS, {"f.toml": b'[factors."Patent Yield"]\n'
                                          b'bounds = [90, 10]\nbasis = "x"\n'},
     ["f.toml:1", "swap"]),
    ("factors unknown constant", FACTORS, {"f.toml": b'[factors."Warp"]\nbounds = [0, 1]\n'
                                           b'basis = "x"\n'}, ["f.toml:1", "Warp"]),
    # --- options
    ("unknown calibration method", ["calibrate", "--method", "guess", "--out", "OUT"], {},
     ["--method"]),
    ("negative calibration seed", ["calibrate", "--seed", "-1", "--out", "OUT"], {},
     ["--seed -1"]),
    ("loop window zero", ["compare", "own-brand", "--loops", "--loop-window", "0",
                          "--report", "OUT"], {}, ["--loop-window"]),
    ("negative uncertainty", ["compare", "own-brand", "--uncertainty", "-3", "--out", "OUT"],
     {}, ["--uncertainty -3"]),
    ("no workers", ["compare", "own-brand", "--uncertainty", "5", "--workers", "0",
                    "--out", "OUT"], {}, ["--workers 0"]),
    ("Sobol n not a power of 2", ["sensitivity", "--n", "100", "--out", "OUT"], {},
     ["power of 2"]),
    ("sensitivity year out of range", ["sensitivity", "--year", "1990", "--out", "OUT"], {},
     ["--year 1990"]),
    ("sensitivity unknown outcome", ["sensitivity", "--outcome", "Happiness", "--out", "OUT"],
     {}, ["Happiness"]),
    ("fit folder missing", ["run", "baseline", "--fit", "nowhere", "--out", "OUT"], {},
     ["--fit nowhere"]),
    ("fit and uncalibrated", ["run", "baseline", "--fit", "x", "--uncalibrated",
                              "--out", "OUT"], {}, ["--fit and --uncalibrated"]),
    ("unwritable output folder", ["run", "baseline", "--out", "/proc/no/such/out.csv"], {},
     ["--out"]),
    ("output is a directory", ["run", "baseline", "--out", "{dir/}"], {"dir/": None},
     ["--out"]),
]


def test_the_table_covers_forty_cases_and_every_kind():
    assert len(CASES) >= 40
    kinds = {case[0].split()[0] for case in CASES}
    assert {"scenario", "data", "settings", "factors"} <= kinds


@pytest.mark.parametrize("case_id, args, files, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, case_id, args, files,
                                                        expected):
    paths = {}
    for name, content in files.items():
        path = tmp_path / name
        if content is None:
            path.mkdir()
        else:
            path.write_bytes(content)
        paths[name] = str(path)
    out = tmp_path / "out"
    command = [str(out) if a == "OUT" else a for a in args]
    command = [paths[a[1:-1]] if a.startswith("{") and a.endswith("}") else a for a in command]
    before = sorted(os.listdir(tmp_path))
    cwd = os.getcwd()
    os.chdir(tmp_path)  # relative names ("nowhere.toml") resolve here
    try:
        result = CliRunner().invoke(cli, command)
    finally:
        os.chdir(cwd)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, (case_id, result.output)
    assert len(lines) == 1 and lines[0].startswith("Error: "), (case_id, result.output)
    assert "Traceback" not in result.output
    for text in expected:
        assert text in lines[0], (case_id, text, lines[0])
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == before  # nothing half-written beside the inputs


def test_nothing_in_a_user_file_is_run_as_code(tmp_path):
    """Values are read as TOML and CSV data, never evaluated: code in them is only text."""
    marker = tmp_path / "pwned"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'[constants]\n"Patent Yield" = "{code}"\n', encoding="utf-8")
    data = tmp_path / "d.csv"
    data.write_text(HEADER + ROW.replace("63.86", code.replace(",", " ")), encoding="utf-8")
    for command in (["run", str(scenario)], ["validate", "--data", str(data)]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, result.output
    assert not marker.exists()
