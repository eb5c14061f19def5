"""Time the policy-design analyses on the bundled model: robust optimisation (``sd-runner
optimize``) and scenario discovery (PRIM, then CART).

Run from the repository root::

    python benchmarks/bench_policy.py            # full: about two minutes on 2 cores
    python benchmarks/bench_policy.py --quick    # smoke version, under a minute

What it measures, on the bundled calibrated model (2003-2035, TIME STEP 1/32):

1. ``sd-runner optimize`` on the bundled problem (``models/policy_problem.toml``): 7 levers with
   start years (14 decisions), 2 objectives, 5 000 candidates each over 50 parameter sets of
   the posterior sample (250 000 runs and the Pareto set's re-evaluation); with ``--quick``,
   200 candidates over 5 sets;
2. the runs of ``sd-runner discover domestic-value-chain --with-assumed``: the scenario and the
   baseline over 10 000 parameter sets (the posterior sample and the assumed factors), so
   20 000 runs of the compiled engine, saving only the 2035 margin;
3. the discovery on those 10 000 members: PRIM (peeling, pasting, the quasi-p-values and 20
   bootstrap resamples) and CART, timed apart from the runs and from each other.

Times are wall-clock around each step (the model is loaded, and its kernel compiled or read from
the cache, before the clock starts); ``peak_memory_mb`` is the process's peak resident memory.
The last line printed is one JSON object with every figure; ``timings_clean`` says whether
other processes used under 5 % of the CPU meanwhile (from ``/proc/stat``, as in
``bench_engines.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import busy_cpu_seconds, own_cpu_seconds  # noqa: E402

DISCOVERY = {"full": 10_000, "quick": 500}


def peak_memory_mb() -> float:
    """Peak resident memory of this process and its finished children."""
    return max(resource.getrusage(who).ru_maxrss
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024


def cpu_use(machine: float | None, own: float, begun: float) -> dict:
    """What other processes used of the CPU since ``begun`` (``machine`` and ``own`` read
    then), and whether the timings are clean: under 5 % of the wall time; nothing where
    ``/proc/stat`` cannot be read."""
    if machine is None:
        return {}
    wall = time.perf_counter() - begun
    other = busy_cpu_seconds() - machine - (own_cpu_seconds() - own)
    return {"other_processes_cpu_seconds": max(other, 0.0), "timings_clean": other <= 0.05 * wall}


def measure_discovery(quick: bool) -> dict:
    """Scenario discovery of where domestic-value-chain does not beat the baseline's mean
    margin in 2035: the runs, then PRIM with its bootstraps, then CART, each timed."""
    import numpy as np

    from sd_runner import api as runner
    from sd_runner.results.discovery import Condition
    from sd_runner.results.outcomes import TOTAL
    from sd_runner.uncertainty import cart, prim
    from sd_runner.uncertainty.discovery import _outcome, analyse

    members = DISCOVERY["quick" if quick else "full"]
    machine, own, begun = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    model = runner.bundled_model("fast")
    scenario, baseline = runner.scenario("domestic-value-chain"), runner.scenario("baseline")
    condition = Condition(scenario.name, "Margin", 2035.0, TOTAL)
    sets = runner._discovery_sets(members, "posterior", runner.DEFAULT_SEED, runner.CALIBRATED,
                                  True, None)
    started = time.perf_counter()
    values = [_outcome(model, s, sets, condition, None, None) for s in (scenario, baseline)]
    runs_seconds = time.perf_counter() - started
    kept = np.ones(members, dtype=bool)
    kept[[b.member for _, breaches in values for b in breaches]] = False
    holds = condition.holds(values[0][0], values[1][0])[kept]
    x = sets.values[kept]
    started = time.perf_counter()
    found = prim.prim(x, holds)
    prim.stability(x, holds, prim.BOOTSTRAPS, sets.seed)
    prim_seconds = time.perf_counter() - started
    started = time.perf_counter()
    cart.cart_leaves(x, holds, prim.MASS_MIN, sets.seed)
    cart_seconds = time.perf_counter() - started
    started = time.perf_counter()
    whole = analyse(x, holds, sets.names, condition, sets.seed)
    analyse_seconds = time.perf_counter() - started
    figures = {
        "quick": quick, "date": date.today().isoformat(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "members": members, "runs": 2 * members,
        "members_kept": int(kept.sum()), "factors": len(sets.names),
        "cases": int(holds.sum()), "bootstraps": prim.BOOTSTRAPS,
        "runs_seconds": runs_seconds, "prim_seconds": prim_seconds,
        "cart_seconds": cart_seconds, "discovery_seconds": analyse_seconds,
        "peeling_steps": len(found.trajectory),
        "box": {"coverage": whole.box.coverage, "density": whole.box.density,
                "restricted": [r.factor for r in whole.restrictions],
                "significant": list(whole.significant), "cart_agrees": whole.agrees},
        "peak_memory_mb": peak_memory_mb(),
    }
    figures.update(cpu_use(machine, own, begun))
    return figures


#: The quick version of the bundled problem: fewer candidates and sets.
QUICK_PROBLEM = """
[objectives]
year = 2035
list = [{ outcome = "Margin" }, { outcome = "Cumulative Lever Cost" }]
[budget]
limit = 600.0
[uncertainty]
sets = 5
[search]
evaluations = 200
population = 20
epsilons = [0.0005, 50.0]
"""


def measure_optimization(quick: bool) -> dict:
    """``sd-runner optimize`` on the bundled problem (or the quick one), timed from the loaded
    model to the Pareto set evaluated, with its checkpoints written."""
    import tempfile

    from sd_runner import api as runner
    from sd_runner.results.optimization import design_record

    runner.bundled_model("fast")  # loaded and compiled before the clock starts
    machine, own, begun = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-optimize-") as folder:
        problem = None
        if quick:
            problem = str(Path(folder) / "problem.toml")
            Path(problem).write_text(QUICK_PROBLEM, encoding="utf-8")
        started = time.perf_counter()
        design = runner.optimize(problem, checkpoint=str(Path(folder) / "checkpoint"))
        seconds = time.perf_counter() - started
    record = design_record(design)
    figures = {"robust_optimization_seconds": seconds, "runs": design.runs,
               "evaluations": design.problem.evaluations, "sets": design.problem.sets,
               "decisions": design.problem.decisions,
               "objectives": len(design.problem.objectives),
               "pareto_set": len(design.search.decisions),
               "better_than_reference": len(record["better_than_reference"]),
               "best_against_reference": record["best_against_reference"],
               "convergence_last": record["convergence"][-1],
               "peak_memory_mb": peak_memory_mb()}
    figures.update(cpu_use(machine, own, begun))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke version")
    args = parser.parse_args(argv)
    optimization = measure_optimization(args.quick)
    print(f"optimize: {optimization['runs']} runs in "
          f"{optimization['robust_optimization_seconds']:.1f} s", file=sys.stderr)
    discovery = measure_discovery(args.quick)
    print(f"discover: PRIM {discovery['prim_seconds']:.1f} s on {discovery['members']} "
          f"members and {discovery['factors']} factors", file=sys.stderr)
    print(json.dumps({
        "quick": args.quick, "date": date.today().isoformat(), "cpus": os.cpu_count(),
        "robust_optimization_seconds": optimization["robust_optimization_seconds"],
        "prim_seconds": discovery["prim_seconds"],
        "peak_memory_mb": max(optimization["peak_memory_mb"], discovery["peak_memory_mb"]),
        "timings_clean": bool(optimization.get("timings_clean", True)
                              and discovery.get("timings_clean", True)),
        "optimization": optimization, "discovery": discovery}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
