"""Usage mistakes on the command line, by class: each is one line naming the option and the
fix, exit code 2, and nothing runs or is written."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from sd_runner.cli import cli

# (id, command line, text the one line must hold)
CASES = [
    # --- a value of the wrong type, for each kind of option
    ("integer option given a fraction", ["compare", "own-brand", "--uncertainty", "1.5"],
     ["--uncertainty", "not a valid integer"]),
    ("integer option given nothing", ["compare", "own-brand", "--uncertainty", ""],
     ["--uncertainty"]),
    ("float option given text", ["compare", "own-brand", "--loop-window", "wide"],
     ["--loop-window", "not a valid float"]),
    ("choice option given another word", ["run", "baseline", "--engine", "vensim"],
     ["--engine", "vensim"]),
    # --- options and commands that do not exist, arguments missing
    ("unknown option", ["run", "baseline", "--bogus"], ["--bogus", "run --help"]),
    ("unknown command", ["rnu", "baseline"], ["'rnu'", "Did you mean 'run'", "--help"]),
    ("missing argument", ["run"], ["SCENARIO", "run --help"]),
    ("option without its value", ["run", "baseline", "--out"], ["--out"]),
    # --- an option given twice: click would keep the last value silently
    ("output option twice", ["run", "baseline", "--out", "a.csv", "--out", "b.csv"],
     ["--out is given twice", "--out a.csv and --out b.csv", "give it once"]),
    ("option twice, once with =", ["run", "baseline", "--out=a.csv", "--out", "b.csv"],
     ["--out is given twice", "--out=a.csv"]),
    ("report twice", ["compare", "own-brand", "--report", "a.html", "--report", "b.html"],
     ["--report is given twice"]),
    ("size twice", ["sensitivity", "--n", "4", "--n", "8"], ["--n is given twice"]),
    # --- options checked even when the run would not use them
    ("seed out of range without --uncertainty", ["compare", "own-brand", "--seed", "-3"],
     ["--seed -3", "0 to"]),
    ("loop window out of range without --loops", ["compare", "own-brand", "--loop-window",
                                                   "-7"], ["--loop-window -7", "0.5"]),
    # --- values of the model named by option, with the nearest fix
    ("year between saved times", ["sensitivity", "--method", "morris", "--n", "2", "--year",
                                  "2034.3"], ["--year 2034.3", "not a saved time"]),
    ("misspelt element of an outcome", ["sensitivity", "--method", "morris", "--n", "2",
                                        "--outcome", "Margin[Aparel]"],
     ["Margin[Aparel]", "did you mean 'Margin[Apparel]'"]),
    ("element of a variable without subscripts", ["sensitivity", "--method", "morris", "--n",
                                                  "2", "--outcome", "Patent Yield[Textile]"],
     ["Patent Yield has no subscripts"]),
]


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_usage_mistake_is_one_line_with_exit_code_2(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in result.output and "Usage:" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_help_and_version_still_exit_0():
    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).exit_code == 0
    shown = runner.invoke(cli, ["run", "--help"])
    assert shown.exit_code == 0 and "Usage:" in shown.output
    assert runner.invoke(cli, ["--help"]).exit_code == 0


def test_a_flag_given_twice_is_harmless():
    result = CliRunner().invoke(cli, ["loops", "--json", "--json"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("module", ["sd_runner", "sd_runner.cli"])
def test_python_dash_m_runs_the_command(module):
    done = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "sd-runner, version" in done.stdout
