"""Time the uncertainty and sensitivity analyses of issue 6 against PySD.

Run from the repository root::

    python benchmarks/bench_uncertainty.py            # full: about 4 minutes on 2 cores
    python benchmarks/bench_uncertainty.py --quick    # smoke version, under a minute

What it measures, on the bundled calibrated model (2003-2035, TIME STEP 1/32), each in a fresh
process so the peak memory is the analysis's own:

1. ``sd-runner sensitivity --method sobol --n 4096``: Sobol indices (first, total and second
   order) of margin and buyer dependence in 2035, per cluster, over every estimated parameter
   (24), so 4096 x (2 x 24 + 2) = 204 800 runs; and the same with ``--no-second-order``
   (first and total order, 4096 x 26 = 106 496 runs);
2. ``sd-runner compare --uncertainty 1000``: every bundled scenario (9) over 1 000 parameter
   sets from the posterior sample, with the bands, probabilities and effects;
3. one PySD run (``SDModel().run()``), from which "x PySD" is PySD's time for the same number
   of runs, one after the other.

Times are wall-clock around the library call (the model is loaded, and its kernel compiled or
read from the cache, before the clock starts). The last line printed is one JSON object with
every figure; ``timings_clean`` says whether other processes used under 5 % of the CPU
meanwhile (from ``/proc/stat``, as in ``bench_engines.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import busy_cpu_seconds, own_cpu_seconds  # noqa: E402

FULL = {"sobol_n": 4096, "members": 1000, "pysd_final_time": None}
QUICK = {"sobol_n": 256, "members": 100, "pysd_final_time": 2005.0}


def run_child(args: list[str]) -> dict:
    """Run this script with ``args`` in a fresh process; returns the JSON of its last line."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children (the worker pools)."""
    return max(resource.getrusage(who).ru_maxrss
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024


def child_sobol(n: int, second_order: bool = True) -> dict:
    from sd_runner import api as runner

    runner.bundled_model("fast")
    runner.sensitivity("sobol", 64, [], 2035)  # warm every code path
    started = time.perf_counter()
    result = runner.sensitivity("sobol", n, [], 2035, second_order=second_order)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "runs": result.samples, "factors": len(result.factors.names),
            "outcomes": len(result.outcomes), "peak_rss_mb": peak_rss_mb()}


def child_uncertainty(members: int) -> dict:
    from sd_runner import api as runner
    from sd_runner.inputs.scenarios import bundled_scenario_names

    runner.compare(["own-brand"], uncertainty=10)  # warm every code path
    started = time.perf_counter()
    comparison = runner.compare([], uncertainty=members)
    seconds = time.perf_counter() - started
    scenarios = len(bundled_scenario_names())
    return {"seconds": seconds, "scenarios": scenarios, "members": members,
            "runs": scenarios * (members + 1),
            "effect_rows": len(comparison.uncertainty.effect_table()),
            "peak_rss_mb": peak_rss_mb()}


def child_pysd(final_time: float | None) -> dict:
    from sd_runner.model.loading import SDModel

    model = SDModel()
    started = time.perf_counter()
    model.run(final_time=final_time)
    seconds = time.perf_counter() - started
    if final_time is not None:  # scale a shortened run to the whole horizon
        whole = model.control("FINAL TIME") - model.control("INITIAL TIME")
        seconds *= whole / (final_time - model.control("INITIAL TIME"))
    return {"seconds": seconds, "extrapolated": final_time is not None}


def measure(quick: bool) -> dict:
    settings = QUICK if quick else FULL
    machine, own, started = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    figures = {"quick": quick, "date": date.today().isoformat(), "cpus": os.cpu_count(),
               "python": platform.python_version()}
    figures["pysd_run"] = run_child(["--child-pysd", str(settings["pysd_final_time"])])
    figures["sobol"] = run_child(["--child-sobol", str(settings["sobol_n"])])
    figures["sobol_first_total"] = run_child(["--child-sobol-first-total",
                                              str(settings["sobol_n"])])
    figures["uncertainty"] = run_child(["--child-uncertainty", str(settings["members"])])
    pysd = figures["pysd_run"]["seconds"]
    for key in ("sobol", "sobol_first_total", "uncertainty"):
        part = figures[key]
        part["pysd_seconds_extrapolated"] = part["runs"] * pysd
        part["times_pysd"] = part["runs"] * pysd / part["seconds"]
    figures["wall_seconds"] = time.perf_counter() - started
    if machine is not None:
        other = busy_cpu_seconds() - machine - (own_cpu_seconds() - own)
        figures["other_processes_cpu_seconds"] = max(other, 0.0)
        figures["timings_clean"] = other <= 0.05 * figures["wall_seconds"]
    return figures


def print_table(figures: dict) -> None:
    print(f"{'analysis':<44}{'runs':>9}{'seconds':>10}{'peak MB':>9}{'x PySD':>11}")
    base = "2^12" if not figures["quick"] else "2^8"
    rows = ((f"Sobol S1, ST, S2, {base} base samples", figures["sobol"]),
            (f"Sobol S1, ST only, {base} base samples", figures["sobol_first_total"]),
            (f"uncertainty, {figures['uncertainty']['members']} sets x "
             f"{figures['uncertainty']['scenarios']} scenarios", figures["uncertainty"]))
    for label, part in rows:
        print(f"{label:<44}{part['runs']:>9}{part['seconds']:>10.2f}"
              f"{part['peak_rss_mb']:>9.0f}{part['times_pysd']:>11.0f}")
    pysd = figures["pysd_run"]
    print(f"one PySD run: {pysd['seconds']:.1f} s"
          f"{' (extrapolated from a shorter run)' if pysd['extrapolated'] else ''}")
    if figures.get("timings_clean") is False:
        print(f"WARNING: other processes used {figures['other_processes_cpu_seconds']:.0f} CPU "
              "seconds meanwhile; the timings are not clean.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke version")
    parser.add_argument("--child-sobol", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-sobol-first-total", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-uncertainty", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-pysd", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_sobol:
        print(json.dumps(child_sobol(args.child_sobol)))
    elif args.child_sobol_first_total:
        print(json.dumps(child_sobol(args.child_sobol_first_total, second_order=False)))
    elif args.child_uncertainty:
        print(json.dumps(child_uncertainty(args.child_uncertainty)))
    elif args.child_pysd is not None:
        final = None if args.child_pysd == "None" else float(args.child_pysd)
        print(json.dumps(child_pysd(final)))
    else:
        figures = measure(args.quick)
        print_table(figures)
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
