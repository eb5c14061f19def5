"""Policy design on the bundled model: candidates mean what scenarios mean, the mixes found
are scenario files that reproduce their objectives, and the command is reproducible."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

from sd_runner import api
from sd_runner.cli import cli
from sd_runner.inputs.policy_problem import load_problem
from sd_runner.inputs.scenarios import scenario_params
from sd_runner.optimize.evaluation import PolicyEvaluation
from sd_runner.optimize.policy_design import decisions_of
from sd_runner.results.uncertainty import ParameterSets

DETERMINISTIC = """
[objectives]
year = 2035
list = [{ outcome = "Margin" }, { outcome = "Cumulative Lever Cost" },
        { outcome = "Buyer Dependence", cluster = "Apparel" }]
[budget]
kind = "total"
limit = 6000.0
[uncertainty]
sample = "none"
[search]
evaluations = 60
population = 12
epsilons = [0.0005, 50.0, 0.001]
seed = 3
"""


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    path = tmp_path_factory.mktemp("problem") / "problem.toml"
    path.write_text(DETERMINISTIC, encoding="utf-8")
    model = api.bundled_model("fast")
    return path, load_problem(path, api.bundled_levers(), list(model.subscripts["Cluster"]),
                              2003.0, 2035.0)


def test_a_candidate_is_the_scenario_it_encodes(problem):
    """The domestic-value-chain scenario as decisions gives the outcomes its own run gives."""
    _, loaded = problem
    model = api.bundled_model("fast")
    scenario = api.scenario("domestic-value-chain")
    evaluation = PolicyEvaluation(model, loaded, ParameterSets((), np.empty((1, 0)), "", 0))
    found = evaluation.evaluate(decisions_of(scenario, loaded)[None, :])
    run = model.run(scenario_params(scenario, model))
    clusters = model.subscripts["Cluster"]
    margins = [run.loc[2035.0, f"Margin[{c}]"] for c in clusters]
    costs = [run.loc[2035.0, f"Cumulative Lever Cost[{c}]"] for c in clusters]
    expected = [np.mean(margins), np.sum(costs), run.loc[2035.0, "Buyer Dependence[Apparel]"]]
    assert np.allclose(found.objectives[0], expected, rtol=1e-12, atol=0)
    assert found.budget[0] == pytest.approx(np.sum(costs), rel=1e-12)


def test_the_command_writes_mixes_that_run_as_scenarios_and_repeats_itself(problem,
                                                                            tmp_path):
    path, loaded = problem
    outs = []
    for name in ("first", "second"):
        out = tmp_path / name
        result = CliRunner().invoke(cli, ["optimize", str(path), "--out", str(out),
                                          "--report", str(tmp_path / f"{name}.html")])
        assert result.exit_code == 0, result.output
        outs.append(out)
    for name in ("pareto.csv", "optimize.json", "convergence.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    page = (tmp_path / "first.html").read_text()
    assert page == (tmp_path / "second.html").read_text()
    assert 'id="fig-parallel"' in page and "domestic-value-chain" in page
    record = json.loads((outs[0] / "optimize.json").read_text())
    # Margin in % in the page, as in every report; the files keep the model's fraction.
    margin = next(o for o in loaded.objectives if o.outcome == "Margin")
    reference = record["members"][-1][margin.label]
    assert 0 < reference < 1
    assert f"<th>{margin.label}, %</th>" in page and f"{100 * reference:.4g}</td>" in page
    mixes = [row for row in record["members"] if row["mix"].startswith("mix-")]
    assert mixes and record["members"][-1]["mix"] == "domestic-value-chain"
    model = api.bundled_model("fast")
    first = mixes[0]
    scenario_file = outs[0] / f"{first['mix']}.toml"
    assert tomllib.loads(scenario_file.read_text())["name"] == first["mix"]
    run = model.run(scenario_params(api.scenario(str(scenario_file)), model))
    clusters = model.subscripts["Cluster"]
    margin = np.mean([run.loc[2035.0, f"Margin[{c}]"] for c in clusters])
    assert margin == pytest.approx(first["Margin (All clusters)"], rel=1e-12)
    assert record["convergence"][-1]["evaluations"] >= 60


def test_regret_is_the_shortfall_from_the_best_reference_in_the_worst_set(problem):
    """Over three posterior sets: each candidate's regret is, per objective, the largest over
    the sets of how far it falls short of the best of the reference policies in that set."""
    import dataclasses

    _, loaded = problem
    model = api.bundled_model("fast")
    sets = api.parameter_sets(3, "posterior", 11)
    regret = dataclasses.replace(loaded, metric="regret")
    references = np.array([decisions_of(api.scenario(name), loaded)
                           for name in ("baseline", "own-brand", "domestic-value-chain")])
    evaluation = PolicyEvaluation(model, regret, sets, references=references)
    candidates = np.vstack([references, [[0.5] * 7 + [2020.0] * 7]])
    found = evaluation.evaluate(candidates)
    plain = PolicyEvaluation(model, dataclasses.replace(loaded, metric="mean"), sets)
    outcomes = plain.evaluate(candidates).per_set  # [candidate, set, objective]
    directions = np.array([o.direction for o in loaded.objectives], dtype=float)
    best = (outcomes[:3] * directions).max(axis=0)  # [set, objective], the references'
    expected = np.maximum(best[None] - outcomes * directions, 0).max(axis=1)
    assert np.allclose(found.objectives, expected, rtol=1e-12, atol=0)
    assert (found.objectives[:3].min(axis=0) >= 0).all()
    assert [regret.objective_direction(o) for o in regret.objectives] == [-1, -1, -1]


def test_a_dask_cluster_on_loopback_finds_the_same_mixes(problem, tmp_path):
    """The search's batches run on a Dask scheduler's workers: the same archive as local."""
    distributed = pytest.importorskip("distributed")
    path, _ = problem
    local = api.optimize(str(path), checkpoint=str(tmp_path / "local"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        remote = api.optimize(str(path), checkpoint=str(tmp_path / "remote"),
                              scheduler=cluster.scheduler_address)
    assert np.array_equal(local.search.decisions, remote.search.decisions)
    assert np.array_equal(local.search.objectives, remote.search.objectives)
