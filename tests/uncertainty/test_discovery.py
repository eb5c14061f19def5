"""Scenario discovery: PRIM and CART find a known box, the significance test tells a real
restriction from a chance one, and the command runs the bundled model reproducibly and refuses
bad input in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import binomtest

from sd_runner import api as runner
from sd_runner.cli import cli
from sd_runner.errors import InputError
from sd_runner.results.discovery import Condition
from sd_runner.results.outcomes import TOTAL
from sd_runner.results.uncertainty import EFFECT_YEAR
from sd_runner.uncertainty import prim
from sd_runner.uncertainty.discovery import analyse

NAMES = [f"x{i}" for i in range(10)]
SYNTHETIC = Condition("synthetic", "Margin", 2035.0)


@pytest.fixture(scope="module")
def synthetic():
    """10 uniform factors; the condition holds exactly where x1 > 0.7 and x2 < 0.3."""
    x = np.random.default_rng(7).uniform(size=(2000, 10))
    holds = (x[:, 1] > 0.7) & (x[:, 2] < 0.3)
    return x, holds, analyse(x, holds, NAMES, SYNTHETIC, seed=3)


# ---------------------------------------------------------------- known answer
def test_prim_finds_the_box_the_condition_holds_in(synthetic):
    _, holds, found = synthetic
    assert [r.factor for r in found.restrictions] == ["x1", "x2"]
    x1, x2 = found.restrictions
    assert x1.lower == pytest.approx(0.7, abs=0.02) and x1.upper == x1.high
    assert x2.upper == pytest.approx(0.3, abs=0.02) and x2.lower == x2.low
    assert x1.significant and x2.significant and max(x1.quasi_p, x2.quasi_p) < 1e-10
    assert x1.stability == x2.stability == 1.0
    box = found.box
    assert box.density == 1.0 and box.coverage > 0.9
    assert found.cases == holds.sum() and found.kept == found.members == len(holds)


def test_irrelevant_factors_rarely_recur_over_bootstraps(synthetic):
    _, _, found = synthetic
    others = {name: share for name, share in found.stability if name not in ("x1", "x2")}
    assert max(others.values(), default=0.0) <= 0.25


def test_the_trajectory_peels_from_everything_towards_density(synthetic):
    _, _, found = synthetic
    table = found.trajectory_table()
    assert table.loc[0, "coverage"] == 1.0 and table.loc[0, "mass"] == 1.0
    assert table.loc[0, "restricted"] == 0
    peels = table[table["stage"] == "peel"]
    assert (np.diff(peels["mass"]) < 0).all()  # every peel removes members
    assert peels["mass"].min() >= prim.MASS_MIN
    assert table.loc[found.chosen, "coverage"] >= prim.MIN_COVERAGE


def test_cart_agrees_with_prim_on_the_known_box(synthetic):
    _, _, found = synthetic
    assert found.agrees and set(found.cart_factors) == {"x1", "x2"}
    predicting = [leaf for leaf in found.leaves if leaf.predicts]
    assert len(predicting) == 1 and predicting[0].density == 1.0
    limits = {name: (low, high) for name, low, high in predicting[0].limits}
    assert limits["x1"][0] == pytest.approx(0.7, abs=0.02)
    assert limits["x2"][1] == pytest.approx(0.3, abs=0.02)
    assert found.overlap > 0.9


def test_a_chance_restriction_is_not_significant(synthetic):
    """The quasi-p-value lifts each restriction in turn: one on a factor that plays no part
    leaves the density as it is, one on a factor that does drops it."""
    x, holds, _ = synthetic
    lower, upper = x.min(axis=0).copy(), x.max(axis=0).copy()
    lower[1], upper[5] = 0.7, 0.6  # x1 matters; x5 does not
    inside = ((x >= lower) & (x <= upper)).all(axis=1)
    box = prim.Limits(lower, upper, inside)
    result = prim.PrimResult([box], 0, x.min(axis=0), x.max(axis=0), np.array([]))
    values = prim.quasi_p(x, holds, result)
    assert np.isnan(values[[0, 2, 3, 4, 6, 7, 8, 9]]).all()
    assert values[1] < 1e-6 and values[5] > 0.05
    without = inside | (((x >= lower) & (x <= upper))[:, [i for i in range(10) if i != 5]]
                        .all(axis=1))
    expected = binomtest(int(holds[inside].sum()), int(inside.sum()),
                         holds[without].mean(), alternative="greater").pvalue
    assert values[5] == pytest.approx(expected)


def test_conditions_compare_as_they_say():
    value, reference = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])
    margin = Condition("s", "Margin", 2035.0)
    assert margin.holds(value, reference).tolist() == [True, True, False]  # a tie does not beat
    worse = Condition("s", "Margin", 2035.0, kind="worse")
    assert worse.holds(value, reference).tolist() == [True, False, False]
    dependence = Condition("s", "Buyer Dependence", 2035.0)  # lower is better
    assert dependence.holds(value, reference).tolist() == [False, True, True]
    below = Condition("s", "Margin", 2035.0, kind="below", reference=None, threshold=2.5)
    assert below.holds(value, None).tolist() == [True, True, False]


def test_a_condition_that_holds_everywhere_or_nowhere_is_refused():
    x = np.random.default_rng(1).uniform(size=(50, 3))
    with pytest.raises(InputError, match="holds in no member kept"):
        analyse(x, np.zeros(50, dtype=bool), ["a", "b", "c"], SYNTHETIC, seed=1)


# ---------------------------------------------------------------- the bundled model
MEMBERS, SEED = 120, 5


@pytest.fixture(scope="module")
def bundled():
    return runner.discover("domestic-value-chain", members=MEMBERS, seed=SEED, bootstraps=4)


def test_the_condition_is_counted_as_compare_counts_it(bundled):
    """The same sets through ``compare --uncertainty``'s ensembles give the same members in
    which the scenario does not beat the baseline's mean margin in 2035."""
    assert bundled.condition.cluster == TOTAL and bundled.condition.year == EFFECT_YEAR
    uncertain = runner.compare(["domestic-value-chain"], uncertainty=MEMBERS, seed=SEED)\
        .uncertainty
    margin = uncertain.outcomes.index("Margin")
    gain = (uncertain.final["domestic-value-chain"][:, margin].mean(axis=1)
            - uncertain.final["baseline"][:, margin].mean(axis=1))[uncertain.kept]
    assert bundled.kept == uncertain.kept.sum()
    assert bundled.cases == int((gain <= 0).sum())
    assert 0 < bundled.cases < bundled.kept


def test_the_box_restricts_factors_the_sets_vary(bundled):
    sets = runner.parameter_sets(MEMBERS, "posterior", SEED)
    assert bundled.factors == sets.names
    for r in bundled.restrictions:
        column = sets.values[:, sets.names.index(r.factor)]
        assert column.min() <= r.lower <= r.upper <= column.max()
        assert (r.lower > r.low) or (r.upper < r.high)


def test_the_command_writes_the_same_files_twice(tmp_path):
    args = ["discover", "domestic-value-chain", "--members", "100", "--with-assumed",
            "--bootstraps", "3", "--seed", "9"]
    written = []
    for run in ("a", "b"):
        out, report = tmp_path / run, tmp_path / f"{run}.html"
        result = CliRunner().invoke(cli, [*args, "--out", str(out), "--report", str(report),
                                          "--json"])
        assert result.exit_code == 0, result.output
        files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        written.append((files, report.read_bytes(), result.stdout))
    assert written[0] == written[1]
    files, html, stdout = written[0]
    assert set(files) == {"trajectory.csv", "box.csv", "stability.csv", "cart_leaves.csv",
                          "excluded.csv", "discovery.json", "manifest.json"}
    record = json.loads(stdout)
    assert record == json.loads(files["discovery.json"])
    assert record["members"] == 100 and record["seed"] == 9
    assert len(record["factors"]) > 60  # the posterior's parameters and the assumed factors
    assert files["box.csv"].decode().splitlines()[0] == \
        "factor,lower,upper,low,high,quasi_p,significant,stability"
    assert len(files["box.csv"].decode().splitlines()) == len(record["box"]["restrictions"]) + 1
    assert b"Peeling trajectory" in html and b"CART cross-check" in html
    assert b'id="fig-trajectory"' in html


@pytest.mark.parametrize("args, fragment", [
    (["--members", "0"], "--members 0"),
    (["--condition", "below"], "--condition 'below' needs a threshold"),
    (["--threshold", "0.1"], "--threshold 0.1: only conditions below and above"),
    (["--outcome", "Happiness"], "--outcome 'Happiness' is not a key outcome"),
    (["--outcome", "Lever Cost"], "--outcome 'Lever Cost' has no better direction"),
    (["--cluster", "Mars"], "--cluster 'Mars': use one of"),
    (["--year", "2040"], "--year 2040: give a saved year"),
    (["--reference", "domestic-value-chain"], "is the scenario itself"),
    (["--mass-min", "0.7"], "--mass-min 0.7: give a box's least share"),
    (["--factors", "absent.toml"], "factors file not found"),
    (["--members", "20", "--condition", "above", "--threshold", "1e9"],
     "holds in no member kept"),
])
def test_the_command_refuses_bad_input_in_one_line(tmp_path, args, fragment):
    out, report = tmp_path / "out", tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["discover", "domestic-value-chain", *args, "--out",
                                      str(out), "--report", str(report)])
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr.strip().splitlines()[-1], result.output
    assert sum(line.startswith("Error") for line in result.stderr.splitlines()) == 1
    assert not out.exists() and not report.exists()


@pytest.mark.parametrize("arguments, message", [
    ({"condition": "sideways"}, "condition='sideways': use one of"),
    ({"bootstraps": -1}, "bootstraps=-1: give the number of bootstrap resamples"),
    ({"min_coverage": 1.5}, "min_coverage=1.5: give the least coverage"),
    ({"condition": "above", "threshold": float("nan")}, "condition='above' needs a threshold"),
])
def test_the_library_names_its_own_arguments(arguments, message):
    with pytest.raises(InputError) as caught:
        runner.discover("domestic-value-chain", members=10, **arguments)
    assert str(caught.value).startswith(message)
