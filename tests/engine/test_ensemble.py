"""Ensembles: the same numbers however they are split, locally or on a Dask cluster."""

from __future__ import annotations

import numpy as np
import pytest

from sd_runner.engine.ensemble import ParameterSpace, run_ensemble
from sd_runner.errors import InputError

NAMES = ["Buyer Squeeze Strength", "Patent Yield", "Reference Export Growth Rate[Apparel]"]


@pytest.fixture(scope="module")
def values():
    rng = np.random.default_rng(20261126)
    n = 60
    return np.column_stack([rng.uniform(0.4, 0.8, n), rng.uniform(40, 120, n),
                            rng.uniform(0.15, 0.3, n)])


def test_chunking_and_processes_do_not_change_the_numbers(model, values):
    reference = run_ensemble(model, values, NAMES, ["Margin"], workers=1, chunk_size=1000)
    for workers, chunk in [(1, 7), (2, 13), (2, 60)]:
        other = run_ensemble(model, values, NAMES, ["Margin"], workers=workers,
                             chunk_size=chunk)
        assert np.array_equal(reference.values, other.values), (workers, chunk)
    assert reference.values.shape == (len(values), 65, 4)  # only the outputs asked for


def test_each_member_equals_a_single_run(model, values):
    result = run_ensemble(model, values[:3], NAMES, ["Buyer Dependence"], workers=1)
    for member in range(3):
        params = {"Buyer Squeeze Strength": values[member, 0], "Patent Yield": values[member, 1]}
        growth = model.default_value("Reference Export Growth Rate")
        growth.loc[{"Cluster": "Apparel"}] = values[member, 2]
        params["Reference Export Growth Rate"] = growth
        single = model.run(params, return_columns=["Buyer Dependence"])
        assert np.array_equal(single.to_numpy(), result.values[member])


def test_a_dask_cluster_on_loopback_gives_the_same_numbers(model, values):
    distributed = pytest.importorskip("distributed")
    local = run_ensemble(model, values, NAMES, ["Margin"], workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        remote = run_ensemble(model, values, NAMES, ["Margin"], chunk_size=17,
                              scheduler=cluster.scheduler_address)
    assert np.array_equal(local.values, remote.values)


def test_bad_parameters_are_refused(model, values):
    with pytest.raises(InputError, match="not a variable"):
        ParameterSpace(model, ["Warp Factor"])
    with pytest.raises(InputError, match="not a constant"):
        ParameterSpace(model, ["Margin"])
    bad = values.copy()
    bad[4, 1] = np.nan
    with pytest.raises(InputError, match="parameter set 4: Patent Yield is nan"):
        run_ensemble(model, bad, NAMES, ["Margin"], workers=1)
    with pytest.raises(InputError, match="nothing answers there"):
        run_ensemble(model, values, NAMES, ["Margin"], scheduler="tcp://127.0.0.1:9")
