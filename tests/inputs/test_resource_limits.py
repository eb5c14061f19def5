"""Sizes refused up front: counts, seeds, windows, processes and scheduler addresses.

Each class of bad size is refused before anything runs, in one line naming the option (or the
settings file's line), exit code 2, nothing written; a count the machine cannot hold is refused
with the estimate and the limit. The library refuses the same values naming its argument.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner

from sd_runner import api as runner
from sd_runner import resources
from sd_runner.cli import cli
from sd_runner.errors import ArgumentError, InputError
from sd_runner.inputs import limits

CONFIG = resources.calibration_config_path().read_text(encoding="utf-8")
OUT = ["--out", "OUT"]
UNCERTAIN = ["compare", "own-brand", "--uncertainty", "5"]


def settings(old: str, new: str) -> dict:
    assert old in CONFIG  # the case changes the bundled settings, or tests nothing
    return {"c.toml": CONFIG.replace(old, new).encode()}


SETTINGS = ["calibrate", "--config", "{c.toml}", *OUT]

# (id, command line, files to write, texts the message holds). "{name}" is the written file.
CASES = [
    # --- counts of zero or below
    ("zero uncertainty", ["compare", "own-brand", "--uncertainty", "0", *OUT], {},
     ["--uncertainty 0", "at least 1"]),
    ("negative uncertainty", ["compare", "own-brand", "--uncertainty", "-5", *OUT], {},
     ["--uncertainty -5", "at least 1"]),
    ("zero Sobol samples", ["sensitivity", "--n", "0", *OUT], {}, ["--n 0", "at least 2"]),
    ("negative Morris trajectories", ["sensitivity", "--method", "morris", "--n", "-4", *OUT],
     {}, ["--n -4", "at least 2"]),
    ("zero workers", [*UNCERTAIN, "--workers", "0", *OUT], {}, ["--workers 0"]),
    ("negative workers", ["sensitivity", "--workers", "-2", *OUT], {}, ["--workers -2"]),
    ("zero loop window", ["compare", "own-brand", "--loops", "--loop-window", "0", *OUT], {},
     ["--loop-window 0", "from 0.5", "to 32"]),
    ("negative loop window", ["compare", "own-brand", "--loops", "--loop-window", "-2", *OUT],
     {}, ["--loop-window -2"]),
    ("NaN loop window", ["compare", "own-brand", "--loops", "--loop-window", "nan", *OUT], {},
     ["--loop-window nan"]),
    ("zero MCMC walkers", SETTINGS, settings("mcmc_walkers = 80", "mcmc_walkers = 0"),
     ["c.toml:22", "mcmc_walkers"]),
    ("zero MCMC steps", SETTINGS, settings("mcmc_steps = 10000", "mcmc_steps = 0"),
     ["c.toml:23", "mcmc_steps"]),
    ("zero starts", SETTINGS, settings("starts = 12 ", "starts = 0 "), ["c.toml:15", "starts"]),
    ("zero evaluations", SETTINGS, settings("max_evaluations = 400", "max_evaluations = 0"),
     ["c.toml:16", "max_evaluations"]),
    ("zero generations", SETTINGS, settings("generations = 100", "generations = 0"),
     ["c.toml:17", "generations"]),
    ("zero sample size", SETTINGS, settings("sample_size = 1000", "sample_size = 0"),
     ["c.toml:26", "sample_size"]),
    ("thinning keeps nothing", SETTINGS, settings("mcmc_thin = 40", "mcmc_thin = 9000"),
     ["c.toml:25", "mcmc_thin 9000", "at most 8000"]),
    # --- counts too large for any machine: memory or time
    ("huge uncertainty", ["compare", "own-brand", "--uncertainty", str(10**30), *OUT], {},
     ["--uncertainty 1" + "0" * 30, "of memory", "available", "fewer parameter sets"]),
    ("huge Sobol samples", ["sensitivity", "--n", str(2**40), *OUT], {},
     [f"--n {2**40}", "of memory", "fewer base samples"]),
    ("huge Morris trajectories", ["sensitivity", "--method", "morris", "--n", str(10**12),
                                  *OUT], {}, [f"--n {10**12}", "of memory"]),
    ("huge workers", [*UNCERTAIN, "--workers", str(10**30), *OUT], {},
     ["--workers 1" + "0" * 30, "per core"]),
    ("loop window beyond the run", ["compare", "own-brand", "--loops", "--loop-window", "1e308",
                                    *OUT], {}, ["--loop-window 1e+308", "to 32"]),
    ("loop window below the saved interval", ["compare", "own-brand", "--loops",
                                              "--loop-window", "1e-300", *OUT], {},
     ["--loop-window 1e-300", "from 0.5"]),
    ("huge MCMC chain", SETTINGS, settings("mcmc_steps = 10000", f"mcmc_steps = {10**13}"),
     ["c.toml:20", "MCMC sample", "of memory"]),
    ("huge MCMC walkers", SETTINGS, settings("mcmc_walkers = 80", f"mcmc_walkers = {10**10}"),
     ["c.toml:20", f"mcmc_walkers {10**10}", "of memory"]),
    ("huge evaluation cap", SETTINGS, settings("max_evaluations = 400",
                                               f"max_evaluations = {10**12}"),
     ["c.toml:11", f"max_evaluations {10**12}", "model runs", "allowed"]),
    ("huge starts", SETTINGS, settings("starts = 12 ", f"starts = {10**13} "),
     ["c.toml:11", f"starts {10**13}", "at worst"]),
    ("huge generations", ["calibrate", "--config", "{c.toml}", "--method",
                          "differential-evolution", *OUT],
     settings("generations = 100", f"generations = {10**13}"),
     ["c.toml:11", f"generations {10**13}"]),
    ("huge final time", SETTINGS, settings("final_time = 2014 ", "final_time = 1e308 "),
     ["c.toml:12", "final_time 1e+308", "steps"]),
    # --- seeds out of the range their generator takes
    ("negative compare seed", [*UNCERTAIN, "--seed", "-1", *OUT], {}, ["--seed -1", "2**128"]),
    ("compare seed beyond 128 bits", [*UNCERTAIN, "--seed", str(2**128), *OUT], {},
     [f"--seed {2**128}", "2**128 - 1"]),
    ("sensitivity seed beyond 128 bits", ["sensitivity", "--seed", str(2**128), *OUT], {},
     [f"--seed {2**128}"]),
    ("negative sensitivity seed", ["sensitivity", "--seed", "-7", *OUT], {}, ["--seed -7"]),
    ("calibration seed beyond 32 bits", ["calibrate", "--seed", str(2**32), *OUT], {},
     [f"--seed {2**32}", "2**32 - 1"]),
    ("settings seed beyond 32 bits", SETTINGS, settings("seed = 2003", f"seed = {2**32}"),
     ["c.toml:14", "seed", str(2**32 - 1)]),
    ("settings seed negative", SETTINGS, settings("seed = 2003", "seed = -1"),
     ["c.toml:14", "seed"]),
    # --- scheduler addresses that are not tcp://host:port
    *[(f"scheduler {label}", [*UNCERTAIN, "--scheduler", address, *OUT], {},
       ["--scheduler", "tcp://host:port"])
      for label, address in [
          ("junk", "junk"), ("empty", ""), ("no host", "tcp://:8786"),
          ("no port", "tcp://127.0.0.1"), ("port zero", "tcp://127.0.0.1:0"),
          ("port too large", "tcp://127.0.0.1:65536"), ("other protocol", "http://127.0.0.1:80"),
          ("no protocol", "127.0.0.1:8786"), ("path", "tcp://127.0.0.1:8786/x"),
          ("space in host", "tcp://a b:8786"), ("user", "tcp://me@127.0.0.1:8786"),
          ("control character", "tcp://127.0.0.1\n:8786")]],
    ("sensitivity scheduler junk", ["sensitivity", "--scheduler", "tcp:/x:1", *OUT], {},
     ["--scheduler 'tcp:/x:1'"]),
]


@pytest.mark.parametrize("case_id, args, files, expected", CASES, ids=[c[0] for c in CASES])
def test_a_bad_size_is_one_line_exit_2_before_anything_runs(tmp_path, case_id, args, files,
                                                            expected):
    paths = {}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
        paths[name] = str(tmp_path / name)
    out = tmp_path / "out"
    command = [str(out) if a == "OUT" else a for a in args]
    command = [paths[a[1:-1]] if a.startswith("{") and a.endswith("}") else a for a in command]
    result = CliRunner().invoke(cli, command)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, (case_id, result.output)
    # One line and nothing else: no progress line, so nothing ran first.
    assert len(lines) == 1 and lines[0].startswith("Error: "), (case_id, result.output)
    for text in expected:
        assert text in lines[0], (case_id, text, lines[0])
    assert not out.exists()


# ---------------------------------------------------------------------- this machine's limits
@pytest.fixture
def little_memory(monkeypatch):
    """A machine with 2 MB to spare: ordinary sizes then exceed it."""
    monkeypatch.setattr(limits, "available_memory", lambda: 2_000_000)


@pytest.mark.parametrize("args", [
    ["compare", "own-brand", "--uncertainty", "1000"],
    ["sensitivity", "--n", "1024"],
    ["sensitivity", "--method", "morris", "--n", "1000"],
    ["calibrate"],
], ids=["uncertainty", "sobol", "morris", "calibration"])
def test_sizes_beyond_the_memory_available_are_refused_with_estimate_and_limit(
        little_memory, args, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and "needs about" in line, line
    assert "more than the 1 MB allowed (50% of the 2 MB available)" in line
    assert not out.exists()


def test_sizes_beyond_the_time_allowed_are_refused_with_estimate_and_limit(monkeypatch,
                                                                           tmp_path):
    monkeypatch.setattr(limits, "SECONDS_PER_RUN", 3600.0)  # a model of an hour a run
    result = CliRunner().invoke(cli, ["compare", "own-brand", "--uncertainty", "1000",
                                      "--workers", "1", "--report", str(tmp_path / "r.html")])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "2e+03 model runs" in line and "3.6e+06 ms a run on 1 process" in line
    assert "more than the 7 days allowed" in line, line
    assert not (tmp_path / "r.html").exists()


def test_available_memory_is_read_from_this_machine():
    available = limits.available_memory()
    assert available is not None and 0 < available <= os.sysconf("SC_PAGE_SIZE") \
        * os.sysconf("SC_PHYS_PAGES")


@pytest.mark.parametrize("size, text", [(999, "999 bytes"), (1_500_000, "1.5 MB"),
                                        (2.5e12, "2.5 TB"), (3e20, "3e+08 TB")])
def test_memory_sizes_read_in_units(size, text):
    assert limits._bytes(size) == text


def test_the_uncertainty_estimate_grows_with_members_and_scenarios(model):
    from sd_runner.uncertainty.comparison import memory_needed

    one = memory_needed(model, 1000, 2, 7, 4)
    assert memory_needed(model, 2000, 2, 7, 4) == 2 * one
    assert memory_needed(model, 1000, 9, 7, 4) > one


# ---------------------------------------------------------------------- seeds
def test_each_seed_range_is_what_its_generator_takes():
    """The largest seed allowed works where it is used; one more fails or is refused."""
    from SALib.sample import sobol
    from scipy.stats import qmc

    np.random.RandomState(limits.LEGACY_SEED_MAX)  # emcee's generator in calibrate
    with pytest.raises(ValueError):
        np.random.RandomState(limits.LEGACY_SEED_MAX + 1)
    np.random.default_rng(limits.SEED_MAX).random()  # parameter sets, bootstrap
    qmc.LatinHypercube(d=2, rng=np.random.default_rng(limits.LEGACY_SEED_MAX)).random(2)
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [0, 1]]}
    sobol.sample(problem, 8, seed=limits.SEED_MAX)
    assert limits.check_seed("seed", limits.SEED_MAX) == limits.SEED_MAX
    for bad in (-1, limits.SEED_MAX + 1, 1.5, True, "7"):
        with pytest.raises(ArgumentError, match="seed="):
            limits.check_seed("seed", bad)


def test_sobol_seed_zero_seeds_the_bootstrap_too():
    """SALib leaves its bootstrap unseeded for a seed of 0; the intervals must still repeat."""
    from sd_runner.results.sensitivity import Factors
    from sd_runner.uncertainty.sensitivity import analyse

    factors = Factors(("a", "b"), ((0.0, 1.0), (0.0, 1.0)))

    def evaluate(x):
        return (x[:, 0] + x[:, 0] * x[:, 1] ** 2)[:, None]

    one = analyse(evaluate, factors, ["y"], "sobol", n=64, seed=0).indices
    two = analyse(evaluate, factors, ["y"], "sobol", n=64, seed=0).indices
    assert one["confidence"].equals(two["confidence"])


# ---------------------------------------------------------------------- the library's words
LIBRARY = [
    ("uncertainty zero", lambda: runner.compare(["own-brand"], uncertainty=0), "uncertainty=0"),
    ("uncertainty huge", lambda: runner.compare(["own-brand"], uncertainty=10**30),
     "of memory"),
    ("uncertainty not whole", lambda: runner.compare(["own-brand"], uncertainty=2.5),
     "uncertainty=2.5"),
    ("loop window", lambda: runner.compare(["own-brand"], loops=True, loop_window=0.0),
     "loop_window=0.0"),
    ("workers", lambda: runner.compare(["own-brand"], uncertainty=5, workers=0), "workers=0"),
    ("scheduler", lambda: runner.compare(["own-brand"], uncertainty=5, scheduler="x:1"),
     "scheduler='x:1'"),
    ("seed", lambda: runner.compare(["own-brand"], uncertainty=5, seed=-1), "seed=-1"),
    ("samples", lambda: runner.sensitivity("sobol", 0, [], 2035), "samples=0"),
    ("samples huge", lambda: runner.sensitivity("sobol", 2**40, [], 2035), "samples=1099"),
    ("calibration seed", lambda: runner.calibrate(None, None, None, 2**32), "seed=4294967296"),
    ("parameter sets", lambda: runner.parameter_sets(0, "posterior", 1), "n=0"),
]


@pytest.mark.parametrize("case_id, call, text", LIBRARY, ids=[c[0] for c in LIBRARY])
def test_the_library_refuses_the_same_sizes_naming_its_argument(case_id, call, text):
    with pytest.raises(ArgumentError, match=text) as caught:
        call()
    assert isinstance(caught.value, InputError)
    assert "--" not in str(caught.value)  # an argument, not an option


def test_an_ensemble_too_large_for_this_machine_is_refused_before_it_runs(model, monkeypatch):
    from sd_runner.engine.ensemble import run_ensemble

    values = np.full((1000, 1), 50.0)
    monkeypatch.setattr(limits, "available_memory", lambda: 2_000_000)
    with pytest.raises(ArgumentError, match=r"len\(values\)=1000: needs about .* of memory"):
        run_ensemble(model, values, ["Patent Yield"], ["Margin"])


@pytest.mark.parametrize("overrides", [{"time_step": 1e-12}, {"final_time": 1e12},
                                       {"final_time": float("inf")}])
def test_a_run_of_too_many_steps_is_refused_before_its_time_axis_is_built(model, overrides):
    start = time.monotonic()
    with pytest.raises(InputError, match="steps, more than the 1e\\+07 a run may take"):
        model.run(**overrides)
    assert time.monotonic() - start < 5


def test_a_tiny_loop_window_is_refused_by_the_dominance_analysis_too(model):
    from sd_runner.feedback.dominance import dominant_periods, loop_scores

    scores = loop_scores(model, runner.loop_inventory().loops[:3])
    with pytest.raises(ArgumentError, match="window=1e-300"):
        dominant_periods(scores, 1e-300)


# ---------------------------------------------------------------------- the error boundary
@pytest.mark.parametrize("error, text", [
    (MemoryError("Unable to allocate 3 EiB"), "out of memory (MemoryError: Unable"),
    (OverflowError("int too large to convert"), "a number grew too large (OverflowError"),
    (RecursionError("maximum recursion depth exceeded\nmore"), "nested too deeply"),
])
def test_a_resource_error_that_slips_through_is_one_line_exit_1(monkeypatch, error, text):
    def fail(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(runner, "run_one", fail)
    result = CliRunner().invoke(cli, ["run", "baseline"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and text in lines[0] and "Traceback" not in result.output


# ---------------------------------------------------------------------- scheduler addresses
class LoopbackServer:
    """A TCP server on 127.0.0.1 that is not a Dask scheduler: it answers every connection
    with ``reply`` (junk) or, when ``reply`` is empty, accepts and says nothing."""

    def __init__(self, reply: bytes):
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self.stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections.append(connection)
            if self.reply:
                connection.sendall(self.reply)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        for connection in self.connections:
            connection.close()
        self.sock.close()


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]  # closed on leaving: nothing listens there


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setattr(limits, "SCHEDULER_TIMEOUT", 2.0)
    return 2.0


@pytest.mark.parametrize("reply, text", [
    (b"HTTP/1.0 200 OK\r\n\r\n" + b"not dask " * 200, "no Dask scheduler answered within 2 s"),
    (b"\xff" * 64, "no Dask scheduler answered within 2 s"),  # announces an absurd length
    (b"", "no Dask scheduler answered within 2 s"),  # accepts and stays silent
], ids=["text", "huge length", "silent"])
def test_something_else_at_the_scheduler_address_fails_within_the_timeout(short_timeout, reply,
                                                                          text):
    from sd_runner.engine.ensemble import check_scheduler_answers

    with LoopbackServer(reply) as server:
        start = time.monotonic()
        with pytest.raises(ArgumentError, match=text):
            check_scheduler_answers(server.address)
        assert time.monotonic() - start < short_timeout + 1.0


def test_nothing_listening_at_the_scheduler_address_fails_at_once(short_timeout):
    from sd_runner.engine.ensemble import check_scheduler_answers

    start = time.monotonic()
    with pytest.raises(ArgumentError, match="nothing answers there"):
        check_scheduler_answers(f"tcp://127.0.0.1:{_free_port()}")
    assert time.monotonic() - start < short_timeout


@pytest.mark.parametrize("command", [UNCERTAIN, ["sensitivity", "--n", "2", "--method",
                                                 "morris"]], ids=["compare", "sensitivity"])
def test_a_scheduler_address_where_no_scheduler_answers_is_one_line_exit_2(short_timeout,
                                                                           command, tmp_path):
    report = tmp_path / "r.html"
    with LoopbackServer(b"junk" * 100) as junk:
        addresses = [junk.address, f"tcp://127.0.0.1:{_free_port()}"]
        for address in addresses:
            result = CliRunner().invoke(cli, [*command, "--scheduler", address,
                                              "--report", str(report)])
            lines = [line for line in result.output.splitlines() if line.strip()]
            assert result.exit_code == 2, result.output
            assert len(lines) == 1 and f"--scheduler '{address}'" in lines[0], result.output
    assert not report.exists()


def test_a_scheduler_without_workers_is_refused():
    distributed = pytest.importorskip("distributed")
    from sd_runner.engine.ensemble import check_scheduler_answers

    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        with pytest.raises(ArgumentError, match="no workers"):
            check_scheduler_answers(cluster.scheduler_address)


def test_the_scheduler_option_states_its_timeout():
    for command in ("compare", "sensitivity"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert f"within {limits.SCHEDULER_TIMEOUT:g} seconds" in " ".join(result.output.split())
