"""Declared ranges hold in every run: a single run names the first TIME STEP a variable leaves
its range (before the NaN that follows), and ensembles (uncertainty comparisons, sensitivity
analyses) report, exclude or refuse the parameter sets that leave one, never average them in."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner
from toy_models import write_model

from sd_runner import api as runner
from sd_runner.cli import cli
from sd_runner.engine import FastModel
from sd_runner.engine.ensemble import ParameterSpace, RangeCheck, run_ensemble
from sd_runner.errors import InputError, RunError
from sd_runner.inputs.scenarios import Scenario
from sd_runner.model.breaches import first_breaches
from sd_runner.model.loading import SDModel
from sd_runner.reports.uncertainty import uncertainty_section
from sd_runner.results.sensitivity import Factors
from sd_runner.results.uncertainty import QUANTILES, ParameterSets
from sd_runner.uncertainty.comparison import MAX_EXCLUDED_SHARE, compare_uncertain
from sd_runner.uncertainty.parameter_sets import expand_outcomes, outcome_function
from sd_runner.uncertainty.sensitivity import analyse

# A stock drained by Drain: once negative, SQRT makes Feedback NaN and the stock NaN a step
# later, so at the next saved time (SAVEPER 1, TIME STEP 0.25) everything is NaN and only
# the steps in between show the breach that caused it.
DRAINED_TO_NAN = """
Stock[Place]= INTEG (Rate[Place] - Drain + Feedback[Place], 10)
	~	Widget [0,?]
	~		|

Feedback[Place]= 0 * SQRT(Stock[Place])
	~	Widget/Year
	~		|

Rate[Place]= 1, 2
	~	Widget/Year
	~		|

Drain= 1
	~	Widget/Year
	~		|

Place: North, South
	~
	~		|
"""

STEP = 0.25  # TIME STEP of the toy models
HORIZON = 30  # FINAL TIME


def first_negative_time(drain: float, rate: float = 1.0, start: float = 10.0) -> float:
    """The first step at which ``start + (rate - drain) * t`` is below 0 (inf if none)."""
    if drain <= rate:
        return math.inf
    return (math.floor(start / (drain - rate) / STEP) + 1) * STEP


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return FastModel(write_model(tmp_path_factory.mktemp("toy"), DRAINED_TO_NAN))


# ---------------------------------------------------------------- single runs
# The same without subscripts: PySD 3.14 cannot take SQRT of a subscripted stock here (it
# fails on an object array), so the NaN path is checked on both engines with this one.
SCALAR = """
Stock= INTEG (Inflow - Drain + Feedback, 10)
	~	Widget [0,?]
	~		|

Feedback= 0 * SQRT(Stock)
	~	Widget/Year
	~		|

Inflow= 1
	~	Widget/Year
	~		|

Drain= 1
	~	Widget/Year
	~		|
"""


@pytest.mark.parametrize(("engine", "equations", "column"),
                         [(FastModel, SCALAR, "Stock"), (SDModel, SCALAR, "Stock"),
                          (FastModel, DRAINED_TO_NAN, "Stock[North]")],
                         ids=["fast", "pysd", "fast-subscripted"])
def test_a_stock_that_leaves_its_range_is_named_before_the_nan_it_causes(
        tmp_path, engine, equations, column):
    model = engine(write_model(tmp_path, equations))
    params = {"Drain": 5.0}
    when = first_negative_time(5.0)
    with pytest.raises(RunError) as caught:
        model.run(params)
    message = str(caught.value)
    assert re.search(rf"{re.escape(column)} is -[0-9.]+ at time {when:g}, below its declared "
                     r"minimum 0; check the parameter values", message), message
    assert "nan" not in message
    if engine is FastModel:
        # The saved times (SAVEPER 1) show only NaN from the next saved time on.
        coarse = model.run(params, check_finite=False)
        saved = math.ceil(when)
        assert np.isnan(coarse.loc[saved, column])
        assert (coarse.loc[:saved - 1, column] >= 0).all()
        assert (model.run(params, final_time=2)[column] >= 0).all()  # before it: no error


# ---------------------------------------------------------------- ensembles
def test_an_ensemble_names_each_breaching_set_at_its_first_step(toy):
    drains = np.array([[1.0], [5.0], [0.5], [6.0], [3.0]])
    result = run_ensemble(toy, drains, ["Drain"], ["Rate"], workers=1, breaches="keep")
    assert [b.member for b in result.breaches] == [1, 3, 4]
    for breach in result.breaches:
        drain = drains[breach.member, 0]
        assert breach.column == "Stock[North]" and breach.kind == "below"
        assert breach.time == first_negative_time(drain)
        assert breach.value < 0 and breach.limit == 0
    # Rate was asked for and never breaches: the check covers variables not asked for.
    assert np.isfinite(result.values).all()


@pytest.mark.parametrize("members", [1, 3, 7, 9])
def test_the_kernel_marks_the_first_saved_row_outside_as_the_numpy_check_finds_it(toy,
                                                                                   members):
    """The kernel's own check against the numpy check over every checked variable, with
    breaching members in every lane of a vector and in a last vector that is not full."""
    drains = np.linspace(6.0, 0.5, members)[:, None]  # the later ones stay inside
    check = RangeCheck.build(toy, toy.time_axis(), np.array([], dtype=np.int64))
    consts = ParameterSpace(toy, ["Drain"]).constants(drains, toy.constants_vector())
    module, axis = toy.kernel.module, check.axis
    marked = np.full(members, -1, dtype=np.int64)
    kept = np.empty((members, len(axis.times), len(check.slots)))
    module.run_batch(consts, axis.initial, axis.step, axis.final, axis.saveper, axis.n_steps,
                     axis.save_steps, check.slots, kept,
                     (check.slots, check.low, check.high, marked))
    found = first_breaches(kept, axis.times, check.columns, check.lower, check.upper)
    assert [None if row < 0 else float(axis.times[row]) for row in marked] == \
        [None if breach is None else breach.time for breach in found]
    assert (marked >= 0).any() and (members < 3 or (marked < 0).any())


def test_an_ensemble_checks_between_the_times_asked_for(toy):
    # Saving only the first and the last time still finds a breach at 2.75 ...
    drains = np.array([[5.0], [1.0]])
    result = run_ensemble(toy, drains, ["Drain"], ["Rate"], saveper=HORIZON, workers=1,
                          breaches="keep")
    assert list(result.times) == [0, HORIZON]
    assert [(b.member, b.time) for b in result.breaches] == [(0, first_negative_time(5.0))]


def test_an_ensemble_refuses_breaches_unless_asked_to_keep_them(toy):
    drains = np.array([[1.0], [5.0], [6.0]])
    with pytest.raises(RunError, match=r"^2 of 3 parameter sets went numerically wrong; the "
                                       r"first, set 1: Stock\[North\] is -1 at time 2\.75"):
        run_ensemble(toy, drains, ["Drain"], ["Stock"], workers=1)


def test_breaches_do_not_depend_on_chunks_or_processes(toy):
    drains = np.linspace(0.5, 4, 23)[:, None]
    reference = run_ensemble(toy, drains, ["Drain"], ["Stock"], workers=1, breaches="keep")
    assert reference.breaches  # drains above 4/3 empty North within 30 years
    for workers, chunk in [(1, 4), (2, 5)]:
        other = run_ensemble(toy, drains, ["Drain"], ["Stock"], workers=workers,
                             chunk_size=chunk, breaches="keep")
        assert other.breaches == reference.breaches
        assert np.array_equal(other.values, reference.values, equal_nan=True)


# ---------------------------------------------------------------- uncertainty comparison
def _scenario(name: str, **constants) -> Scenario:
    return Scenario(name, name, "", "test", constants=constants)


def _toy_comparison(toy, drains, scenarios=None):
    sets = ParameterSets(("Drain",), np.asarray(drains, dtype=float)[:, None], "priors", 0)
    return compare_uncertain(toy, scenarios or [_scenario("base"), _scenario("more", Rate=1.2)],
                             sets, ("Stock",), ["North", "South"], workers=1)


def test_sets_that_leave_a_range_are_excluded_from_every_statistic(toy):
    drains = np.r_[np.linspace(0.2, 1.3, 39), 5.0]  # one set of 40 (2.5 %) breaches
    summary = _toy_comparison(toy, drains)
    assert [(e.breach.member, e.scenario) for e in summary.excluded] == [(39, "base")]
    assert summary.kept.sum() == 39
    band = summary.bands["base"][:, :, 0, 0]
    kept = run_ensemble(toy, drains[:39, None], ["Drain"], ["Stock[North]"], workers=1)
    np.testing.assert_array_equal(band, np.quantile(kept.values[:, :, 0], QUANTILES, axis=0))
    effects = summary.effect_table()
    effect = summary.final["more"][:39, 0, 0] - summary.final["base"][:39, 0, 0]
    row = effects[effects["cluster"] == "North"].iloc[0]
    assert row["mean"] == pytest.approx(effect.mean(), rel=1e-12)
    table = summary.excluded_table()
    assert list(table["set"]) == [39] and table["variable"].iloc[0] == "Stock[North]"
    assert table["time"].iloc[0] == first_negative_time(5.0)
    note = summary.exclusion_note()
    assert note.startswith("1 of 40 parameter sets left out") and "set 39 in base" in note
    html = uncertainty_section(summary, ["#000", "#111"])
    assert "Sets left out" in html and "uses the other 39 sets" in html


def test_a_set_excluded_by_a_later_scenario_leaves_the_earlier_bands_too(toy):
    # Drain 1.45 empties North only where its inflow is cut to 1.0 (scenario "less").
    drains = np.r_[np.linspace(0.2, 1.0, 39), 1.45]
    summary = _toy_comparison(toy, drains, [_scenario("base", Rate=1.5), _scenario("less")])
    assert [(e.breach.member, e.scenario) for e in summary.excluded] == [(39, "less")]
    params = {"Rate": 1.5}
    kept = run_ensemble(toy, drains[:39, None], ["Drain"], ["Stock[North]"], workers=1,
                        base_params=params)
    np.testing.assert_array_equal(summary.bands["base"][:, :, 0, 0],
                                  np.quantile(kept.values[:, :, 0], QUANTILES, axis=0))


def test_too_many_breaching_sets_refuse_the_comparison(toy):
    breaching = math.floor(MAX_EXCLUDED_SHARE * 40) + 1
    drains = np.r_[np.linspace(0.2, 1.3, 40 - breaching), np.full(breaching, 5.0)]
    with pytest.raises(InputError, match=rf"uncertainty=40: {breaching} of the parameter "
                                         r"sets \(\d+%\) drive a variable out of its declared "
                                         r"range, more than the 5% .* narrow the bounds"):
        _toy_comparison(toy, drains)


# ---------------------------------------------------------------- sensitivity
def test_sensitivity_refuses_a_design_with_breaching_rows(toy):
    targets = expand_outcomes(toy, ["Stock"], HORIZON)
    factors = Factors(("Drain",), ((0.5, 3.0),))
    evaluate = outcome_function(toy, factors.names, targets, workers=1)
    with pytest.raises(InputError) as caught:
        analyse(evaluate, factors, [t.label for t in targets], "sobol", n=8, seed=1,
                chunk_size=5)
    message = str(caught.value)
    count, total = map(int, re.match(r"(\d+) of (\d+) samples", message).groups())
    assert count == len(evaluate.breaches) and 0 < count < total == evaluate.rows
    first = min(evaluate.breaches)
    assert f"the first, sample {first}: Stock[North] is -" in message
    assert "below its declared minimum 0; narrow the factors' bounds" in message


def test_sensitivity_within_the_ranges_runs(toy):
    targets = expand_outcomes(toy, ["Stock"], HORIZON)
    factors = Factors(("Drain",), ((0.5, 1.3),))
    evaluate = outcome_function(toy, factors.names, targets, workers=1)
    result = analyse(evaluate, factors, [t.label for t in targets], "morris", n=4, seed=1)
    assert not evaluate.breaches and len(result.indices)


# ---------------------------------------------------------------- the command line
@pytest.fixture
def tighten(monkeypatch):
    """``tighten(n, breaching)``: declare Learning Elasticity at most a value that exactly
    ``breaching`` of the ``n`` posterior sets drawn with seed 2003 exceed (the fitted value
    stays inside); returns their indices."""
    model = runner.bundled_model("fast", runner.CALIBRATED)  # the commands' cache key
    declared = model.declared_limits

    def tighten(n: int, breaching: int) -> list[int]:
        sets = runner.parameter_sets(n, "posterior", 2003)
        drawn = sets.values[:, sets.names.index("Learning Elasticity")]
        limit = np.sort(drawn)[-breaching - 1]
        assert (model.default_value("Learning Elasticity") < limit).all()
        assert (drawn > limit).sum() == breaching

        def tighter(columns):
            lower, upper = declared(columns)
            shock = [c.partition("[")[0] == "Learning Elasticity" for c in columns]
            return lower, np.where(shock, limit, upper)

        monkeypatch.setattr(model, "declared_limits", tighter)
        return list(np.flatnonzero(drawn > limit))

    return tighten


def test_compare_reports_the_excluded_sets_everywhere(tighten, tmp_path):
    excluded = tighten(100, 2)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["compare", "own-brand", "--uncertainty", "100",
                                      "--out", str(out), "--report", str(tmp_path / "r.html"),
                                      "--json"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "2 of 100 parameter sets left out of every statistic" in warnings[0]
    assert f"sets {excluded[0]}, {excluded[1]};" in warnings[0]
    assert "Learning Elasticity is" in warnings[0]
    record = json.loads(result.stdout)["uncertainty"]
    assert record["members_kept"] == 98
    assert [row["set"] for row in record["excluded_sets"]] == excluded
    assert {row["breach"] for row in record["excluded_sets"]} == {"above"}
    csv = (out / "uncertainty_excluded.csv").read_text().splitlines()
    assert csv[0] == "set,scenario,variable,time,value,breach,limit" and len(csv) == 3
    assert "Sets left out" in (tmp_path / "r.html").read_text()


def test_compare_refuses_when_too_many_sets_leave_a_range(tighten, tmp_path):
    first = tighten(20, 2)[0]  # 10 % of the sets
    result = CliRunner().invoke(cli, ["compare", "own-brand", "--uncertainty", "20",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()  # progress lines, then the error's one line
    assert sum("declared range" in line for line in lines) == 1
    message = lines[-1]
    assert "2 of the parameter sets (10%) drive a variable out of its declared range" in message
    assert f"the first, set {first} in baseline: Learning Elasticity is" in message
    assert not (tmp_path / "out").exists()
