"""The lever matrix: every lever alone at 0, half and full, and all of them at once."""

from __future__ import annotations

import numpy as np

from sd_runner import api as runner
from sd_runner.inputs.scenarios import scenario_params
from sd_runner.results.matrix import ALL_LEVELS, LEVELS
from sd_runner.simulate.lever_matrix import lever_matrix, run_matrix


def test_the_matrix_holds_the_baseline_each_lever_at_each_level_and_all_together(levers):
    members = lever_matrix(levers)
    names = [member.name for member in members]
    assert names[0] == "baseline" and len(names) == len(set(names))
    assert len(members) == 1 + len(levers) * len(LEVELS) + len(ALL_LEVELS)
    assert "own-brand@0.5" in names and "all@1" in names
    for member in members[1:]:
        pulled = [choice.lever.id for choice in member.scenario.levers]
        assert pulled == ([member.lever] if member.lever != "all" else
                          [lever.id for lever in sorted(levers.values(),
                                                        key=lambda lever: lever.number)])
        for choice in member.scenario.levers:
            for setting in choice.lever.settings:
                assert choice.values[setting.variable] == setting.at_level(member.level)


def test_all_at_full_strength_is_the_bundled_domestic_value_chain(model, levers):
    # The bundled mix pulls every lever at its full programme from its own start year (going
    # out from 2022, as levers.toml has it), so the two must give the same run.
    members = [m for m in lever_matrix(levers) if m.name == "all@1"]
    matrix = run_matrix(model, members, ["Margin", "Buyer Dependence", "Lever Cost"])["all@1"]
    bundled = model.run(scenario_params(runner.scenario("domestic-value-chain"), model),
                        return_columns=["Margin", "Buyer Dependence", "Lever Cost"])
    np.testing.assert_array_equal(matrix.to_numpy(), bundled.to_numpy())
