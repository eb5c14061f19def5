"""Usage mistakes on the command line, by class: each is one line naming the option and the
fix, exit code 2, and nothing runs or is written."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from sd_runner import api
from sd_runner.cli import cli, main
from sd_runner.cli_progress import Bars
from sd_runner.errors import ArgumentError, InputError, RunError
from sd_runner.reports import diff as diff_report

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


# ---------------------------------------------------------------- the one error boundary
# (what a command's library call raises, exit code, the one line on standard error)
FAILURES = [
    (InputError("x.csv:3: a bad row; fix it"), 2, "Error: x.csv:3: a bad row; fix it"),
    (ArgumentError("samples", 3, "give a power of 2"), 2, "Error: --n 3: give a power of 2"),
    (ArgumentError("factors_path", "f.toml", "not found", typed="f.toml"), 2,
     "Error: --factors f.toml: not found"),
    (RunError("the run stopped"), 1, "Error: the run stopped"),
    (OSError(28, "No space left on device", "out.csv"), 1,
     "Error: out.csv: No space left on device"),
    (ZeroDivisionError("division by zero"), 1,
     "Error: internal failure (ZeroDivisionError: division by zero)"),
]


@pytest.mark.parametrize(("raised", "code", "line"), FAILURES,
                         ids=[type(f[0]).__name__ for f in FAILURES])
def test_every_failure_of_a_command_is_one_line_at_the_group(monkeypatch, raised, code, line):
    def fails():
        raise raised

    monkeypatch.setattr(api, "describe_levers_and_scenarios", fails)
    result = CliRunner().invoke(cli, ["scenarios"])
    assert result.exit_code == code, result.output
    assert result.stderr.splitlines() == [line] and result.stdout == ""


def test_the_console_entry_point_has_the_same_boundary(monkeypatch, capsys):
    def fails():
        raise KeyError("a bug")

    monkeypatch.setattr(api, "describe_levers_and_scenarios", fails)
    monkeypatch.setattr(sys, "argv", ["sd-runner", "scenarios"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 1
    assert capsys.readouterr().err == "Error: internal failure (KeyError: 'a bug')\n"


@dataclass
class _Found:
    passed: bool = False
    differs: bool = True

    def summary_lines(self):
        return ["FAILED"]


def test_a_failing_check_or_diff_exits_1_after_its_output(monkeypatch):
    monkeypatch.setattr(api, "check_model", lambda fit, path, progress: _Found())
    result = CliRunner().invoke(cli, ["check"])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "FAILED\n", "")
    monkeypatch.setattr(api, "diff", lambda *args, progress: _Found())
    monkeypatch.setattr(diff_report, "diff_text", lambda found: "moved")
    result = CliRunner().invoke(cli, ["diff", "old.mdl"])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "moved\n", "")


def test_the_progress_bars_write_each_stage_once_off_a_terminal():
    runner = CliRunner()
    with runner.isolation() as (_, _, err):
        with Bars() as bars:
            for done in range(4):
                bars("model runs", done, 3)
            bars("fitting", 0, 1)
    assert err.getvalue().decode().splitlines() == ["model runs", "fitting"]
