"""The search on problems with a known answer, and its checkpoints: a run killed and resumed
ends with the same archive as one left alone."""

from __future__ import annotations

import numpy as np
import pytest

from sd_runner.errors import InputError
from sd_runner.optimize.search import SearchSettings, run_search

# min (x^2, (x - 2)^2) over x in [-5, 5], with x <= 1.5: the Pareto set is 0 <= x <= 1.5 and
# the front f2 = (sqrt(f1) - 2)^2 for f1 in [0, 2.25].


def schaffer(decisions: np.ndarray):
    x = decisions[:, 0]
    return np.column_stack([x ** 2, (x - 2) ** 2]), x - 1.5


def settings(algorithm="EpsNSGAII", evaluations=2000, seed=5, seeds=()):
    return SearchSettings(algorithm, evaluations, 40,
                          (0.01, 0.01) if algorithm == "EpsNSGAII" else (), seed, (-1, -1),
                          ((-5.0, 5.0),), seeds)


@pytest.mark.parametrize("algorithm", ["EpsNSGAII", "NSGAII"])
def test_it_finds_the_known_front_within_the_constraint(algorithm):
    found = run_search(settings(algorithm), schaffer)
    x = found.decisions[:, 0]
    f1, f2 = found.objectives.T
    assert len(x) >= 20
    assert (x >= -1e-3).all() and (x <= 1.5 + 1e-9).all()  # Pareto-optimal and feasible
    assert np.allclose(f2, (np.sqrt(f1) - 2) ** 2, atol=1e-2)
    assert f1.min() < 0.01 and f1.max() > 2.0  # spread along the whole front
    assert (found.constraint <= 0).all()
    hypervolumes = [row["hypervolume"] for row in found.convergence]
    assert hypervolumes[-1] >= hypervolumes[0] and hypervolumes[-1] > 0


def test_the_same_seed_gives_the_same_archive_and_another_another():
    first = run_search(settings(evaluations=600), schaffer)
    again = run_search(settings(evaluations=600), schaffer)
    other = run_search(settings(evaluations=600, seed=6), schaffer)
    assert np.array_equal(first.decisions, again.decisions)
    assert not np.array_equal(first.decisions, other.decisions)


def test_a_seeded_policy_is_in_the_first_population():
    seen = []

    def record(decisions):
        seen.append(decisions.copy())
        return schaffer(decisions)

    run_search(settings(evaluations=40, seeds=((1.25,), (-4.0,))), record)
    assert list(seen[0][:2, 0]) == [1.25, -4.0]


class Killed(Exception):
    pass


@pytest.mark.parametrize("algorithm", ["EpsNSGAII", "NSGAII"])
def test_a_killed_run_resumed_ends_as_the_uninterrupted_one(tmp_path, algorithm):
    whole = run_search(settings(algorithm, evaluations=1200), schaffer)
    checkpoint = tmp_path / "search.checkpoint"
    calls = []

    def dies_in_generation_12(decisions):
        calls.append(1)
        if len(calls) == 12:
            raise Killed
        return schaffer(decisions)

    with pytest.raises(Killed):
        run_search(settings(algorithm, evaluations=1200), dies_in_generation_12, checkpoint,
                   identity="p")
    resumed = run_search(settings(algorithm, evaluations=1200), schaffer, checkpoint,
                         identity="p", resume=True)
    assert np.array_equal(resumed.decisions, whole.decisions)
    assert np.array_equal(resumed.objectives, whole.objectives)
    assert [r["evaluations"] for r in resumed.convergence] == \
        [r["evaluations"] for r in whole.convergence]


def test_a_checkpoint_of_another_problem_or_none_is_refused(tmp_path):
    checkpoint = tmp_path / "search.checkpoint"
    with pytest.raises(InputError, match="no checkpoint to resume from"):
        run_search(settings(evaluations=80), schaffer, checkpoint, identity="p", resume=True)
    run_search(settings(evaluations=80), schaffer, checkpoint, identity="p")
    with pytest.raises(InputError, match="of another problem, model or fit"):
        run_search(settings(evaluations=160), schaffer, checkpoint, identity="q", resume=True)
    checkpoint.write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="cannot be read"):
        run_search(settings(evaluations=160), schaffer, checkpoint, identity="p", resume=True)


def test_neither_the_evaluation_nor_the_caller_shares_the_search_random_stream():
    """An evaluation that draws from Python's random module (a Dask client does) leaves the
    search as it was, and the caller's random state is given back."""
    import random

    plain = run_search(settings(evaluations=400), schaffer)

    def drawing(decisions):
        for _ in range(17):
            random.random()
        return schaffer(decisions)

    random.seed(99)
    before = random.getstate()
    drawn = run_search(settings(evaluations=400), drawing)
    assert random.getstate() == before
    assert np.array_equal(plain.decisions, drawn.decisions)
