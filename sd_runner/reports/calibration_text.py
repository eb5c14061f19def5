"""The text summary of a calibration
(:class:`sd_runner.calibration.calibrate.Calibration`), as ``sd-runner calibrate`` prints it."""

from __future__ import annotations


def calibration_summary(result) -> str:
    """The fit, its statistics, the parameters with their profile intervals, the MCMC sample
    and the time each stage took."""
    table = result.parameters
    level = int(round(result.config.confidence * 100))
    lines = [f"{result.method}, seed {result.seed}: chi-square {result.chi_square:.3f} on "
             f"{result.dof} degrees of freedom ({len(result.rows)} rows); intervals scaled "
             f"by {result.scale:.3f}", "", "Fit statistics:",
             result.statistics.round(4).to_string(index=False), "",
             f"Parameters ({level} % profile-likelihood intervals):"]
    shown = table[["parameter", "estimate", f"profile_{level}_lower",
                   f"profile_{level}_upper", "verdict"]]
    lines.append(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if result.posterior is not None:
        tau = result.posterior.longest_autocorrelation
        kept = result.config.mcmc_steps - result.config.mcmc_burn
        walkers = result.config.mcmc_walkers
        lines += ["", f"MCMC: {walkers} walkers x {kept} kept steps, acceptance "
                  f"{result.posterior.acceptance:.2f}, autocorrelation time up to {tau:.0f} "
                  f"steps (the chain is {kept / tau:.0f} of them: about "
                  f"{walkers * kept / tau:.0f} independent draws); "
                  f"{len(result.posterior.sample)} parameter sets saved"]
    seconds = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    lines += ["", f"time: {seconds}"]
    return "\n".join(lines)
