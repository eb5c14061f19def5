"""Time the policy-design analyses: scenario discovery (PRIM, then CART) on the bundled model.

Run from the repository root::

    python benchmarks/bench_policy.py            # full: about a minute on 2 cores
    python benchmarks/bench_policy.py --quick    # smoke version, a few seconds

What it measures, on the bundled calibrated model (2003-2035, TIME STEP 1/32):

1. the runs of ``sd-runner discover domestic-value-chain --with-assumed``: the scenario and the
   baseline over 10 000 parameter sets (the posterior sample and the assumed factors), so
   20 000 runs of the compiled engine, saving only the 2035 margin;
2. the discovery on those 10 000 members: PRIM (peeling, pasting, the quasi-p-values and 20
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
    if machine is not None:
        wall = time.perf_counter() - begun
        other = busy_cpu_seconds() - machine - (own_cpu_seconds() - own)
        figures["other_processes_cpu_seconds"] = max(other, 0.0)
        figures["timings_clean"] = other <= 0.05 * wall
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke version")
    args = parser.parse_args(argv)
    print(json.dumps({"discovery": measure_discovery(args.quick)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
