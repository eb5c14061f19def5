"""Defects found on the way: bundled input files named from anywhere, a misspelt outcome, the
loop table's header."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sd_runner import api as runner
from sd_runner import resources
from sd_runner.cli import cli
from sd_runner.errors import InputError


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working folder outside the repository."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---------------------------------------------------------------- bundled input files by name
BUNDLED = [("factors", "assumed_factors", resources.factors_path),
           ("observations", "zhejiang_observations", resources.observations_path),
           ("settings", "config", resources.calibration_config_path)]


@pytest.mark.parametrize("kind, name, path", BUNDLED)
def test_bundled_inputs_are_named_by_their_file_name_from_anywhere(elsewhere, kind, name, path):
    assert runner.input_file(name, kind, "--x") == (path(), name)
    if len(resources.bundled_inputs(kind)) == 1:  # several files (observations): no one default
        assert runner.input_file(None, kind, "--x") == (path(), name)  # the default, named


@pytest.mark.parametrize("kind, name, path", BUNDLED)
def test_a_bundled_name_wins_over_a_file_of_that_name(elsewhere, kind, name, path):
    (elsewhere / name).write_text("not the bundled file", encoding="utf-8")
    assert runner.input_file(name, kind, "--x")[0] == path()
    own = elsewhere / "mine.csv"
    own.write_text("x", encoding="utf-8")
    assert runner.input_file("mine.csv", kind, "--x") == (own.relative_to(elsewhere), "mine.csv")


@pytest.mark.parametrize("kind, name, _path", BUNDLED)
def test_an_unknown_name_lists_the_bundled_ones(elsewhere, kind, name, _path):
    names = ", ".join(resources.bundled_inputs(kind))  # the observations are two files
    assert name in names
    with pytest.raises(InputError, match=rf"^x='absent': [a-z ]+ file not found; give its "
                                         rf"path, or a bundled name: {names}$"):
        runner.input_file("absent", kind, "x")


def test_validate_takes_the_bundled_observations_by_name_from_anywhere(elsewhere):
    result = invoke("validate", "--data", "zhejiang_observations", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"]


def test_compare_takes_the_bundled_factors_by_name_from_anywhere(elsewhere):
    result = invoke("compare", "baseline", "--uncertainty", 2, "--factors", "assumed_factors",
                    "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["uncertainty"]


@pytest.mark.parametrize("command", [["validate", "--data", "zhejiang"],
                                     ["compare", "baseline", "--uncertainty", "2",
                                      "--factors", "assumed"]])
def test_a_misspelt_bundled_name_is_refused_with_the_right_one(elsewhere, command):
    line = one_line_error(invoke(*command))
    assert "zhejiang_observations" in line or "assumed_factors" in line


def test_help_names_the_bundled_files_as_they_work_from_anywhere():
    assert "assumed_factors" in invoke("compare", "--help").output
    assert "models/assumed_factors.toml" not in invoke("compare", "--help").output
    assert "zhejiang_observations" in invoke("validate", "--help").output


# ---------------------------------------------------------------- a misspelt outcome
@pytest.mark.parametrize("outcome, nearest", [("Margn", "'Margin'"),
                                              ("buyer dependance", "'Buyer Dependence'"),
                                              ("Margn[Apparel]", "'Margin'")])
def test_a_misspelt_outcome_names_the_nearest_variables(outcome, nearest):
    line = one_line_error(invoke("sensitivity", "--outcome", outcome, "--n", 8))
    assert f"--outcome {outcome!r} is not a variable of the model; did you mean" in line
    assert nearest in line


def test_an_outcome_like_nothing_points_to_the_list_of_variables():
    line = one_line_error(invoke("sensitivity", "--outcome", "Qqqzzz", "--n", 8))
    assert "models/README.md lists the model's variables" in line


# ---------------------------------------------------------------- the loop table
def test_the_loop_table_has_a_header_and_agrees_with_the_json():
    text = invoke("loops")
    assert text.exit_code == 0, text.output
    listed = json.loads(invoke("loops", "--json").stdout)["loops"]
    lines = text.stdout.splitlines()
    assert lines[1].split()[:5] == ["id", "polarity", "length", "[name]", "variables"]
    rows = [line.split(None, 3) for line in lines[2:]]
    assert [row[0] for row in rows] == [loop["id"] for loop in listed]
    assert [row[1] for row in rows] == [loop["polarity"] for loop in listed]
    assert [int(row[2]) for row in rows] == [len(loop["variables"]) for loop in listed]
