"""Units: every equation of the model is dimensionally consistent, and the check finds
inconsistencies where they are."""

from __future__ import annotations

import pytest
from toy_models import GOAL, write_model

from sd_runner import resources
from sd_runner.model.units import check_units, parse_units, show


def test_the_model_is_dimensionally_consistent():
    assert [str(p) for p in check_units(resources.model_path())] == []


@pytest.mark.parametrize("text, shown", [
    ("USD100M/Year/Year", "usd100m/year^2"),
    ("Patent/(USD100M*Year)", "patent/usd100m/year"),
    ("Patent*Year/USD100M", "patent*year/usd100m"),
    ("1/Year", "1/year"),
    ("Dmnl", "Dmnl"),
    ("Year*Year^-1", "Dmnl"),
])
def test_units_are_read_as_powers_of_base_units(text, shown):
    assert show(parse_units(text)) == shown


@pytest.mark.parametrize("text", ["USD100M/", "(Year", "Year)", "Year**2", "3/Year", "Year^"])
def test_unreadable_units_are_refused(text):
    with pytest.raises(ValueError, match="units"):
        parse_units(text)


BROKEN = {
    "an equation not in its declared units": (
        GOAL.replace("(Goal - Stock) / Adjustment Time", "Goal - Stock"),
        "Adjustment: its equation is in widget, not widget/year"),
    "a flow not per Year": (
        GOAL.replace("(Goal - Stock) / Adjustment Time\n\t~\tWidget/Year",
                     "Goal - Stock\n\t~\tWidget"),
        "Stock: its net flow must be in its units per Year"),
    "a sum of different units": (GOAL.replace("(Goal - Stock) / Adjustment Time",
                                              "(Goal - Adjustment Time) / Adjustment Time"),
                                 "Adjustment: adds widget and year"),
    "EXP of a quantity": (GOAL.replace("(Goal - Stock) / Adjustment Time",
                                       "EXP(Stock) / Adjustment Time"),
                          "EXP of widget"),
    "a smoothing time not in Year": (GOAL + "\nPerceived= SMOOTH(Stock, Goal)\n\t~\tWidget"
                                     "\n\t~\t\t|\n",
                                     "Perceived: a delay or smoothing time is in widget"),
    "no units": (GOAL.replace("Adjustment Time= 5\n\t~\tYear", "Adjustment Time= 5\n\t~\t"),
                 "Adjustment Time: no units"),
    "a table of a quantity": (GOAL.replace("(Goal - Stock) / Adjustment Time",
                                           "Response(Stock) / Adjustment Time")
                              + "\nResponse(\n\t[(0,0)-(100,100)],(0,0),(100,100))\n"
                              "\t~\tWidget\n\t~\t\t|\n",
                              "the argument of the table Response is in widget, not Dmnl"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_an_inconsistent_equation_is_named_with_what_does_not_match(tmp_path, case):
    equations, message = BROKEN[case]
    problems = [str(p) for p in check_units(write_model(tmp_path, equations))]
    assert any(message.casefold() in p.casefold() for p in problems), problems


def test_a_consistent_toy_model_passes(tmp_path):
    smoothed = GOAL + "\nPerceived= SMOOTH(Stock, Adjustment Time)\n\t~\tWidget\n\t~\t\t|\n"
    assert check_units(write_model(tmp_path, smoothed)) == []


def test_check_command_reports_units_and_integration_error():
    import json

    from click.testing import CliRunner

    from sd_runner.cli import cli

    result = CliRunner().invoke(cli, ["check", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["units"]["passed"]
    assert checks["integration error"]["passed"]
    assert "of 9 scenarios by at most" in checks["integration error"]["detail"]


def test_a_failing_check_is_reported_as_failed(tmp_path):
    from sd_runner.engine import FastModel
    from sd_runner.validation.checks import units_check

    broken = BROKEN["a sum of different units"][0]
    result = units_check(FastModel(write_model(tmp_path, broken)))
    assert not result.passed and "adds widget and year" in result.detail
