"""Policy sensitivity: the policy factors file, and rank probabilities of the levers."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from sd_runner import api as runner
from sd_runner import resources
from sd_runner.cli import cli
from sd_runner.errors import InputError
from sd_runner.inputs.policy_factors import lever_unit_costs, load_policy_factors
from sd_runner.inputs.scenarios import scenario_params
from sd_runner.results.matrix import BASELINE
from sd_runner.results.runs import ScenarioRun
from sd_runner.results.uncertainty import EFFECT_YEAR
from sd_runner.simulate.comparison import compare_runs
from sd_runner.simulate.lever_matrix import lever_matrix, run_matrix
from sd_runner.uncertainty.lever_ranks import RANKED, lever_ranks

BUNDLED = resources.policy_factors_path()
MEMBERS = 40


@pytest.fixture(scope="module")
def factors(model, levers):
    return load_policy_factors(BUNDLED, model, levers)


@pytest.fixture(scope="module")
def ranks(model, levers, factors):
    return lever_ranks(model, levers, factors, MEMBERS, seed=11)


def _pinned(tmp_path):
    """The bundled file with every factor pinned at 1."""
    text = BUNDLED.read_text(encoding="utf-8").replace("bounds = [0.5, 1.5]", "bounds = [1, 1]")
    assert "[0.5, 1.5]" not in text
    path = tmp_path / "pinned.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the factors file
def test_the_unit_costs_are_read_from_the_mdl_and_each_lever_claims_its_own(model, levers,
                                                                            factors):
    assert set(lever_unit_costs(model, levers)) == {
        "Channel Running Cost", "Overseas Channel Running Cost", "IP Enforcement Cost",
        "Patent Pool Running Cost", "Public Relocation Support Time", "Platform Programme Cost",
        "Relocation Cost Time"}
    assert [f.lever for f in factors.levers] == list(levers)


def test_each_levers_cost_multiplier_raises_what_that_lever_costs(model, levers, factors):
    members = {m.lever: m for m in lever_matrix(levers) if m.level == 1.0}
    for f in factors.levers:
        params = scenario_params(members[f.lever].scenario, model)
        costs = []
        for scale in (1.0, 1.5):
            dearer = {name: model.default_value(name) * scale for name in f.constants}
            frame = model.run({**params, **dearer}, return_columns=["Cumulative Lever Cost"])
            costs.append(frame.loc[EFFECT_YEAR].sum())
        assert costs[1] > costs[0] * 1.001, f.lever


BAD = [
    ("bounds = [0.5, 1.5]", "bounds = [1.5, 0.5]", r":\d+: own-brand.magnitude: bounds"),
    ("[own-brand.magnitude]", "[own-brnad.magnitude]", r"'own-brnad' is not a lever"),
    ('constants = ["Platform Programme Cost"]', 'constants = ["Patent Yield"]',
     r"'Patent Yield' does not price a lever"),
    ('constants = ["Platform Programme Cost"]', 'constants = ["Platform Programme Costs"]',
     r"market-platform.cost: .*not a variable"),
    ('constants = ["Relocation Cost Time", "Public Relocation Support Time"]',
     'constants = ["Public Relocation Support Time"]',
     r"'Relocation Cost Time' prices a lever .* but no lever's cost names it"),
    ('constants = ["Platform Programme Cost"]\nbasis', 'constants = []\nbasis',
     r"constants must be a list"),
    ('bounds = [0.5, 1.5]\nconstants = ["Platform Programme Cost"]',
     'bounds = [0.5, 40]\nconstants = ["Platform Programme Cost"]',
     r"leaves the range the model declares"),
    ('basis = "assumed: full programme (R&D', 'basis = " "\nx = "(', r"unknown key 'x'"),
]


@pytest.mark.parametrize("old, new, pattern", BAD)
def test_a_bad_factors_file_is_one_line_naming_the_file(model, levers, tmp_path, old, new,
                                                        pattern):
    text = BUNDLED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as error:
        load_policy_factors(path, model, levers)
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert re.search(pattern, message), message


def test_a_lever_left_out_or_without_basis_is_refused(model, levers, tmp_path):
    text = BUNDLED.read_text(encoding="utf-8")
    start = text.index("[market-chain.magnitude]")
    path = tmp_path / "short.toml"
    path.write_text(text[:start], encoding="utf-8")
    with pytest.raises(InputError, match=r"no factors for lever 'market-chain'; add"):
        load_policy_factors(path, model, levers)
    path.write_text(re.sub(r'(\[going-out\.cost\]\nbounds = \[0.5, 1.5\]\n'
                           r'constants = \[[^\]]*\]\n)basis = "[^"]*"', r'\1basis = ""', text),
                    encoding="utf-8")
    with pytest.raises(InputError, match=r":\d+: going-out.cost: give a basis"):
        load_policy_factors(path, model, levers)


# ---------------------------------------------------------------- rank probabilities
def test_rank_probabilities_sum_to_one_per_lever_and_per_rank(ranks):
    assert len(ranks.distributions) == len(RANKED) * 5  # four clusters and all of them
    for d in ranks.distributions:
        shares = np.array(d.probabilities)
        assert shares.shape == (7, 7)
        np.testing.assert_allclose(shares.sum(axis=0), 1, atol=1e-12)
        np.testing.assert_allclose(shares.sum(axis=1), 1, atol=1e-12)
        assert 0 < d.modal_probability <= 1 and d.deterministic_probability <= d.modal_probability
    assert ranks.kept == MEMBERS


def test_only_the_platform_effort_passes_its_range_and_is_held_at_it(ranks):
    (name, share), = ranks.clipped
    assert name == "Platform Upgrading Effort" and 0.3 < share < 0.7  # m > 1 of [0.5, 1.5]


def test_pinned_factors_give_the_lever_matrix_ranking_with_probability_one(model, levers,
                                                                         tmp_path):
    pinned = lever_ranks(model, levers, load_policy_factors(_pinned(tmp_path), model, levers),
                         3, seed=1)
    chosen = [m for m in lever_matrix(levers)
              if m.lever == BASELINE or (m.lever in levers and m.level == 1.0)]
    runs = [ScenarioRun(m.scenario, frame)
            for m, frame in zip(chosen, run_matrix(model, chosen).values(), strict=True)]
    ranked = compare_runs(runs, model.subscripts["Cluster"], RANKED).rankings()
    ranked = ranked[ranked["scenario"] != BASELINE]
    for (outcome, cluster), group in ranked.groupby(["outcome", "cluster"]):
        expected = tuple(name.removesuffix("@1") for name in group.sort_values(
            ["rank", "scenario"])["scenario"])
        d = pinned.distribution(outcome, cluster)
        assert d.deterministic == expected == d.modal, (outcome, cluster)
        assert d.deterministic_probability == d.modal_probability == 1.0
        for lever, shares in zip(pinned.levers, d.probabilities, strict=True):
            assert shares[expected.index(lever)] == 1.0
    assert all(d.deterministic_probability == 1.0 for d in pinned.distributions)
    assert pinned.clipped == ()


def test_the_same_seed_gives_the_same_numbers_and_another_seed_others(model, levers, factors,
                                                                      ranks):
    again = lever_ranks(model, levers, factors, MEMBERS, seed=11)
    assert again.as_json() == ranks.as_json()
    other = lever_ranks(model, levers, factors, MEMBERS, seed=12)
    assert other.as_json()["rankings"] != ranks.as_json()["rankings"]


def test_the_assumed_factors_leave_the_unit_costs_to_the_cost_multipliers():
    result = runner.lever_ranks(8, seed=3, with_assumed=True)
    assert result.sets == "with the assumed factors"
    assert set(result.superseded) == {
        "Channel Running Cost", "Overseas Channel Running Cost", "IP Enforcement Cost",
        "Patent Pool Running Cost", "Public Relocation Support Time", "Platform Programme Cost",
        "Relocation Cost Time"}


# ---------------------------------------------------------------- the command
def test_the_command_prints_json_and_writes_csv_with_a_manifest(tmp_path):
    out = tmp_path / "ranks.csv"
    result = CliRunner().invoke(cli, ["lever-ranks", "--members", "4", "--seed", "2", "--json",
                                      "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"levers", "year", "members", "members_kept", "seed", "sets", "clipped",
            "superseded", "excluded_sets", "rankings"} <= set(data)
    assert data["members"] == 4 and data["seed"] == 2 and len(data["levers"]) == 7
    assert len(data["rankings"]) == 15
    first = data["rankings"][0]
    assert {"outcome", "cluster", "probabilities", "deterministic",
            "deterministic_probability", "modal", "modal_probability", "ties"} == set(first)
    assert all(len(p) == 7 for p in first["probabilities"].values())
    assert out.read_text(encoding="utf-8").startswith(
        "outcome,cluster,lever,deterministic_rank,most_likely_rank,p_rank_1,")
    assert (tmp_path / "ranks.manifest.json").is_file()


@pytest.mark.parametrize("args, fragment", [
    (["--members", "0"], "--members 0"),
    (["--factors", "absent.toml"], "policy factors file not found"),
])
def test_the_command_refuses_bad_options_in_one_line(args, fragment):
    result = CliRunner().invoke(cli, ["lever-ranks", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], result.output
