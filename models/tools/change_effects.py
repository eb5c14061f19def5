"""Measure what each structural change of the second edition does, for models/README.md.

Usage::

    python models/tools/change_effects.py

Each change of the second edition that a constant can switch off is switched off in turn (its
"neutral" setting below), on the calibrated model; the table says how much the change moves
the baseline in 2035 (margin and buyer dependence, averaged over the four clusters) and each
bundled lever scenario's effect on the 2035 margin (scenario minus baseline, averaged over
the clusters). Positive numbers mean the change raises the value. Nothing here restates an
equation of the model: it only sets constants and runs the bundled scenarios.
"""

from __future__ import annotations

import dataclasses

from sd_runner import api as runner
from sd_runner.inputs.scenarios import bundled_scenario_names
from sd_runner.simulate.simulation import run_scenario

YEAR = 2035.0
CLUSTERS = ("Textile", "Apparel", "Footwear", "Furniture")

#: Change -> the constants that switch it off.
NEUTRAL = {
    "Cost pressure (wages, land, exchange rate)": {"Cost Pass Through": 1.0,
                                                   "Exchange Rate Pass Through": 1.0},
    "Learning under OEM": {"Learning Elasticity": 0.0},
    "Lead-firm barriers on channels and brand premiums": {"Blocking Channel Loss": 0.0,
                                                          "Blocking Premium Loss": 0.0},
    "Going out: overseas R&D": {"Overseas R and D Effect": 0.0},
    "Regional cooperation and standards free resources": {"Resource Redeployment Share": 0.0},
    "Firms answer the standards with R&D": {"Standards R and D Response": 0.0},
    "Running costs of new channels": {"Channel Running Cost": 0.0,
                                      "Overseas Channel Running Cost": 0.0},
    "Textile's lower own-brand ceiling": {"Maximum Own Brand Fraction[Textile]": 0.6},
}


def _mean(run, variable: str) -> float:
    return sum(run.series(variable, c)[YEAR] for c in CLUSTERS) / len(CLUSTERS)


def _runs(model, extra: dict[str, float]) -> dict[str, object]:
    runs = {}
    for name in bundled_scenario_names():
        scenario = runner.scenario(name)
        scenario = dataclasses.replace(scenario, constants={**scenario.constants, **extra})
        runs[name] = run_scenario(model, scenario, variables=["Margin", "Buyer Dependence"])
    return runs


def main() -> None:
    model = runner.bundled_model()
    names = [n for n in bundled_scenario_names() if n != "baseline"]
    full = _runs(model, {})
    header = ["Change", "baseline margin", "baseline dependence", *names]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for change, neutral in NEUTRAL.items():
        off = _runs(model, neutral)
        margin = _mean(full["baseline"], "Margin") - _mean(off["baseline"], "Margin")
        dependence = (_mean(full["baseline"], "Buyer Dependence")
                      - _mean(off["baseline"], "Buyer Dependence"))
        cells = [change, f"{100 * margin:+.2f}", f"{dependence:+.3f}"]
        for name in names:
            effect_on = _mean(full[name], "Margin") - _mean(full["baseline"], "Margin")
            effect_off = _mean(off[name], "Margin") - _mean(off["baseline"], "Margin")
            cells.append(f"{100 * (effect_on - effect_off):+.2f}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
