"""Problem files are checked like every other input: a bad one is refused in one line that
names the file, the line and the fix, with exit code 2 and nothing written."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sd_runner import api
from sd_runner.cli import cli
from sd_runner.errors import InputError
from sd_runner.inputs.policy_problem import largest_level, load_problem
from sd_runner.resources import policy_problem_path

GOOD = """
[objectives]
year = 2035
list = [{ outcome = "Margin" }, { outcome = "Cumulative Lever Cost" }]
[budget]
limit = 600.0
[search]
evaluations = 200
population = 20
epsilons = [0.0005, 50.0]
"""


def load(tmp_path, text):
    path = tmp_path / "problem.toml"
    path.write_text(text, encoding="utf-8")
    model = api.bundled_model("fast")
    return load_problem(path, api.bundled_levers(), list(model.subscripts["Cluster"]),
                        2003.0, 2035.0)


def test_the_bundled_problem_and_a_small_one_load(tmp_path):
    model = api.bundled_model("fast")
    bundled = load_problem(policy_problem_path(), api.bundled_levers(),
                           list(model.subscripts["Cluster"]), 2003.0, 2035.0)
    assert bundled.decisions == 14 and bundled.sets == 50 and bundled.evaluations == 5000
    small = load(tmp_path, GOOD)
    assert [o.direction for o in small.objectives] == [1, -1]
    assert small.budget_kind == "per-year" and small.metric == "mean"
    for bounds in small.levers:  # the default range: 0 to what every setting allows
        assert bounds.max_level == largest_level(bounds.lever)
        for setting in bounds.lever.settings:
            assert setting.at_level(bounds.max_level) <= setting.max + 1e-12


@pytest.mark.parametrize("change, message", [
    (("limit = 600.0", "limit = -1.0"), r"problem\.toml:6: budget: limit -1 must be positive"),
    (('{ outcome = "Margin" }', '{ outcome = "Export Sales" }'),
     r"'Export Sales' is not an outcome with a better direction; choose one of"),
    (('{ outcome = "Margin" }', '{ outcome = "Margin", cluster = "Mars" }'),
     r"cluster 'Mars' is not one of"),
    (("epsilons = [0.0005, 50.0]", "epsilons = [0.0005]"),
     r"EpsNSGAII needs epsilons, one per objective \(2\)"),
    (("epsilons = [0.0005, 50.0]", "epsilons = [0.0005, -1.0]"),
     r"every epsilon must be positive"),
    (("epsilons = [0.0005, 50.0]", 'epsilons = [0.0005, 50.0]\nalgorithm = "NSGAII"'),
     r"epsilons are for EpsNSGAII, not NSGAII"),
    (("evaluations = 200", "evaluations = 10"), r"evaluations 10 must be a whole number from 20"),
    (("year = 2035", "year = 2050"), r"year 2050 is outside the simulation"),
    (("[budget]", "[budget]\nkind = \"monthly\""), r"kind 'monthly' is not one of per-year"),
    (("[search]", "[levers.own-brand]\nmax_level = 9.0\n[search]"),
     r"own-brand: max_level 9 is not in \(0, 2\.33333\]"),
    (("[search]", "[levers.own-brand]\nstart_years = [2030, 2020]\n[search]"),
     r"start_years \[2030, 2020\] must be ordered"),
    (("[search]", "[levers.no-such]\n[search]"), r"'no-such' is not a lever"),
    (("[search]", "[uncertainty]\nmetric = \"satisficing\"\n[search]"),
     r"metric 'satisficing' needs a threshold on every objective"),
    (("[budget]", "[extra]\n[budget]"), r"unknown key 'extra' in the problem file"),
])
def test_a_bad_problem_is_refused_with_its_line_and_fix(tmp_path, change, message):
    with pytest.raises(InputError, match=message):
        load(tmp_path, GOOD.replace(*change))


def test_the_command_refuses_a_bad_problem_in_one_line_and_writes_nothing(tmp_path):
    path = tmp_path / "problem.toml"
    path.write_text(GOOD.replace("epsilons = [0.0005, 50.0]", "epsilons = [1.0]"),
                    encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["optimize", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "problem.toml:" in result.stderr
    assert not out.exists() and not (tmp_path / "out.checkpoint").exists()


def test_a_search_too_large_for_this_machine_is_refused_before_it_starts(tmp_path):
    path = tmp_path / "problem.toml"
    path.write_text(GOOD.replace("evaluations = 200", "evaluations = 10000000").replace(
        "[search]", "[uncertainty]\nsets = 100000\n[search]"), encoding="utf-8")
    with pytest.raises(InputError, match=r"problem\.toml: .*; give fewer sets, a smaller "
                                         r"population or fewer evaluations$"):
        api.optimize(str(path), checkpoint=str(tmp_path / "checkpoint"))
    assert not (tmp_path / "checkpoint").exists()
