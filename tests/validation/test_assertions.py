"""Behaviour assertions (models/checks.toml): each kind holds on a toy model that obeys it and
fails, naming condition, element and time, on one that breaks it; `sd-runner check` runs the
bundled file on the lever matrix."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner
from toy_models import write_model

from sd_runner import resources
from sd_runner.cli import cli
from sd_runner.errors import InputError
from sd_runner.inputs.scenarios import Scenario, scenario_params
from sd_runner.validation.assertions import RunSource, load_assertions, run_assertions

# Stock[Region] = 1 + its own growth, a step of Policy from year 5, and Amplitude x sin(Time):
# with every constant 0 it stays at 1; each constant switches on one behaviour.
TOY = """
Region: North, South
	~	Dmnl
	~		|

Stock[Region]= INTEG (Growth Rate[Region] * Stock[Region] + Policy * STEP(1, 5)
	+ Amplitude * COS(Time), 1)
	~	Widget
	~		|

Growth Rate[Region]= 0
	~	1/Year
	~		|

Policy= 0
	~	Widget/Year
	~		|

Amplitude= 0
	~	Widget/Year
	~		|
"""
TOY_CONTROL = {"FINAL TIME  = 30": "FINAL TIME  = 10", "SAVEPER  = 1": "SAVEPER  = 0.125",
               "TIME STEP  = 0.25": "TIME STEP  = 0.0078125"}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    from sd_runner.engine import FastModel

    path = write_model(tmp_path_factory.mktemp("toy"), TOY)
    text = path.read_text(encoding="utf-8")
    for old, new in TOY_CONTROL.items():
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return FastModel(path)


def judge(toy, tmp_path, body: str):
    """The result of one assertion (TOML ``body``) on the toy model."""
    path = tmp_path / "checks.toml"
    path.write_text(f'[[assertion]]\nid = "toy"\ntitle = "t"\nbasis = "b"\n'
                    f'variable = "Stock"\n{body}\n', encoding="utf-8")
    assertions = load_assertions(
        path, variables={"Stock": ("North", "South")}, scenario_names=["baseline"],
        loop_codes=[], time_range=(0.0, 10.0),
        constants={"Growth Rate", "Policy", "Amplitude"})
    def simulate(condition):
        chosen = Scenario("baseline", "", "", "test", constants=dict(condition.constants))
        return toy.run(scenario_params(chosen, toy))

    runs = RunSource(["baseline"], simulate)
    return run_assertions(assertions, runs)[0]


# Each kind: settings under which it holds, and settings under which it breaks (in South).
KINDS = {
    "rises": ('constants = {"Growth Rate" = 0.1}', 'constants = {"Growth Rate[South]" = -0.1}'),
    "falls": ('constants = {"Growth Rate" = -0.1}', 'constants = {"Growth Rate[North]" = -0.1}'),
    "does_not_rise": ('constants = {"Growth Rate" = -0.1}',
                      'constants = {"Growth Rate[North]" = -0.1, "Growth Rate[South]" = 0.01}'),
    "does_not_fall": ('constants = {"Growth Rate" = 0.1}',
                      'constants = {"Growth Rate" = 0.1, "Amplitude" = 1}'),
    "within": ('bounds = [0.5, 2]', 'bounds = [0.5, 2]\nconstants = {"Growth Rate[South]" = 0.1}'),
    "steady": ("", 'constants = {"Policy" = 0.1}'),
    "ends_above": ('constants = {"Policy" = 1}\nreference = "unchanged"',
                   'constants = {"Policy" = -0.01}\nreference = "unchanged"'),
    "ends_below": ('constants = {"Policy" = -0.01}\nreference = "unchanged"',
                   'constants = {"Policy" = 1}\nreference = "unchanged"'),
    "not_below": ('constants = {"Policy" = 1}', 'constants = {"Policy" = -0.01}'),
    "not_above": ('constants = {"Policy" = -0.01}', 'constants = {"Policy" = 1}'),
    "equals": ('constants = {"Policy" = 1}\nwindow = [0, 5]', 'constants = {"Policy" = 1}'),
    "turns_within": ('constants = {"Amplitude" = 1}\nturn = "peak"\nwindow = [1, 2]',
                     'constants = {"Amplitude" = 1}\nturn = "peak"\nwindow = [3, 6]'),
}


def test_every_kind_is_tested():
    from sd_runner.validation.assertions import KINDS as ALL

    assert set(KINDS) == set(ALL)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_holds_on_a_model_that_obeys_it_and_fails_on_one_that_breaks_it(
        toy, tmp_path, kind):
    holds, breaks = KINDS[kind]
    good = judge(toy, tmp_path, f'expect = "{kind}"\n{holds}')
    assert good.passed, good.detail()
    assert good.series == 2
    bad = judge(toy, tmp_path, f'expect = "{kind}"\n{breaks}')
    assert not bad.passed
    failure = bad.failures[0]
    assert failure.scenario == "baseline" and failure.column.startswith("Stock[")
    assert 0 <= failure.time <= 10
    # The message names the condition, the element and the time.
    detail = bad.detail()
    assert "under scenario baseline" in detail and failure.column in detail
    assert f"at {failure.time:g}" in detail


def test_a_failure_names_the_element_that_broke_and_when(toy, tmp_path):
    bad = judge(toy, tmp_path, 'expect = "within"\nbounds = [0, 2]\n'
                'constants = {"Growth Rate[South]" = 0.1}')
    assert [f.column for f in bad.failures] == ["Stock[South]"]
    # 1 x exp(0.1 t) passes 2 at t = 10 ln 2 = 6.93; the first saved time above it is 7.
    assert bad.failures[0].time == pytest.approx(7.0)
    assert "Growth Rate[South] = 0.1" in bad.detail()


def test_an_effect_is_judged_against_the_reference(toy, tmp_path):
    rising = judge(toy, tmp_path, 'expect = "rises"\nof = "effect"\n'
                   'constants = {"Policy" = 1}\nwindow = [5, 10]')
    assert rising.passed, rising.detail()
    # Before year 5 the effect is nil: it neither rises nor falls there.
    flat = judge(toy, tmp_path, 'expect = "rises"\nof = "effect"\n'
                 'constants = {"Policy" = 1}\nwindow = [0, 4]')
    assert not flat.passed


def test_the_turn_is_found_where_the_analytic_solution_has_it(toy, tmp_path):
    # 1 + sin(t): peaks at pi/2 and 5 pi/2, a trough at 3 pi/2.
    result = judge(toy, tmp_path, 'expect = "turns_within"\nturn = "trough"\n'
                   'constants = {"Amplitude" = 1}\nwindow = [4.6, 4.9]')
    assert result.passed, result.detail()
    none = judge(toy, tmp_path, 'expect = "turns_within"\nwindow = [0, 10]')
    assert not none.passed and "no turn" in none.detail()
    assert 3 * math.pi / 2 > 4.6


@pytest.mark.parametrize("body, message", [
    ('expect = "grows"', "unknown expect 'grows'"),
    ('expect = "within"', "within needs bounds"),
    ('expect = "rises"\nscenario = "own-brand@1"', "matches none of: baseline"),
    ('expect = "rises"\nscenario = 3', "scenario must be a name or pattern, or a list"),
    ('expect = "rises"\nwindow = [0, 20]', "outside the simulation (0-10)"),
    ('expect = "rises"\nwindow = [5, 1]', "is reversed"),
    ('expect = "rises"\nclusters = ["East"]', "has no element 'East'"),
    ('expect = "rises"\nconstants = {"Stok" = 1}', "'Stok' is not a constant"),
    ('expect = "rises"\ncut = ["R1"]', "no named loop 'R1'"),
    ('expect = "equals"', "compares the run with itself"),
    ('expect = "equals"\nof = "effect"\nconstants = {"Policy" = 1}', "already compares"),
    ('expect = "rises"\ncolour = "red"', "colour"),
    ('expect = "rises"\ntolerance = 2', "tolerance 2"),
])
def test_a_bad_assertion_is_refused_with_its_line(toy, tmp_path, body, message):
    with pytest.raises(InputError) as error:
        judge(toy, tmp_path, body)
    text = str(error.value)
    assert message in text and "\n" not in text
    assert "checks.toml:" in text


# ---------------------------------------------------------------------- the bundled checks
@pytest.fixture(scope="module")
def bundled_check():
    from sd_runner import api as runner

    return runner.check_model()


def test_the_bundled_model_passes_its_checks(bundled_check):
    assert bundled_check.passed, [line for line in bundled_check.summary_lines()
                                  if "FAILED" in line]
    assert len(bundled_check.assertions) >= 20
    # The lever matrix: baseline, seven levers at 0, 0.5 and 1, all at 0.5 and 1.
    assert len(bundled_check.matrix) == 1 + 7 * 3 + 2


def test_every_assertion_gives_its_basis_and_judges_something(bundled_check):
    for result in bundled_check.assertions:
        assert result.assertion.basis and result.series > 0, result.assertion.id


def test_check_exits_1_naming_what_broke(tmp_path):
    checks = tmp_path / "checks.toml"
    checks.write_text(
        '[[assertion]]\nid = "too-strict"\ntitle = "Dependence never falls"\nbasis = "b"\n'
        'scenario = "own-brand@1"\nvariable = "Buyer Dependence"\nclusters = ["Apparel"]\n'
        'expect = "does_not_fall"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "--checks", str(checks)])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("assertion too-strict"))
    assert "FAILED" in line and "scenario own-brand@1" in line
    assert "Buyer Dependence[Apparel]" in line and " at 20" in line


def test_check_json_carries_every_section():
    result = CliRunner().invoke(cli, ["check", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"]
    assert {"checks", "lever_matrix", "assertions", "knockouts"} <= set(report)
    assert all(item["passed"] for section in ("checks", "lever_matrix", "assertions",
                                              "knockouts") for item in report[section])
    assert len(report["knockouts"]) == 28
    assert report["assertions"][0]["id"] and report["assertions"][0]["detail"]


def test_a_bad_checks_file_exits_2_in_one_line(tmp_path):
    checks = tmp_path / "checks.toml"
    checks.write_text('[[assertion]]\nid = "x"\ntitle = "t"\nbasis = "b"\n'
                      'variable = "Buyer Dependance"\nexpect = "rises"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "--checks", str(checks)])
    assert result.exit_code == 2
    assert "'Buyer Dependance' is not a variable" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_checks_file_is_bundled():
    assert resources.checks_path().is_file()
