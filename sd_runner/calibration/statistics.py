"""Goodness-of-fit statistics of simulated against observed values.

Theil's inequality statistics split the mean squared error into bias (U^M), unequal
variation (U^S) and unequal covariation (U^C), which sum to one (Sterman 1984, "Appropriate
summary statistics for evaluating the historical fit of system dynamics models").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("n", "r2", "mape_percent", "rmse", "theil_um", "theil_us", "theil_uc")


@np.errstate(all="ignore")  # an overflow gives inf, shown as such, not a warning
def fit_statistics(observed, simulated) -> dict[str, float]:
    """R², MAPE (percent), RMSE and Theil's U^M, U^S, U^C of ``simulated`` against
    ``observed`` (same units).

    R² is ``1 - SSE / SST`` about the observed mean, so it can be negative; it is undefined
    (NaN) for fewer than two rows or no variation. Theil's statistics are NaN when the fit is
    exact (MSE = 0). MAPE leaves out rows observed as zero, where a percent error is
    undefined (NaN when every row is zero).
    """
    a = np.asarray(observed, dtype=float)
    s = np.asarray(simulated, dtype=float)
    n = len(a)
    error = s - a
    mse = float(np.mean(error**2)) if n else np.nan
    sst = float(np.sum((a - a.mean()) ** 2)) if n else 0.0
    r2 = 1 - float(np.sum(error**2)) / sst if n > 1 and sst > 0 else np.nan
    mape = _mape(a, s)
    if n and mse > 0:
        sd_s, sd_a = s.std(), a.std()
        r = float(np.corrcoef(s, a)[0, 1]) if sd_s > 0 and sd_a > 0 else 0.0
        um = (s.mean() - a.mean()) ** 2 / mse
        us = (sd_s - sd_a) ** 2 / mse
        uc = 2 * (1 - r) * sd_s * sd_a / mse
    else:
        um = us = uc = np.nan
    return {"n": n, "r2": r2, "mape_percent": mape, "rmse": float(np.sqrt(mse)),
            "theil_um": float(um), "theil_us": float(us), "theil_uc": float(uc)}


@np.errstate(all="ignore")
def _mape(observed: np.ndarray, simulated: np.ndarray) -> float:
    nonzero = observed != 0
    if not nonzero.any():
        return np.nan
    return float(np.mean(np.abs(simulated[nonzero] / observed[nonzero] - 1))) * 100


def statistics_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Statistics per series (in its data units) and overall.

    ``rows`` has columns ``series``, ``observed``, ``simulated``, and ``observed_scaled`` and
    ``simulated_scaled`` on the payoff's own scale (log for exports, data units over sigma
    for ratios). The overall row pools every row on that scale, the only one on which the
    series are comparable (its RMSE is the root mean weighted squared error); its MAPE pools
    the rows' percent errors, and its R² is left out, as the series share no variance.
    """
    records = []
    for series, group in rows.groupby("series", sort=False):
        records.append({"series": series, **fit_statistics(group["observed"],
                                                           group["simulated"])})
    overall = fit_statistics(rows["observed_scaled"], rows["simulated_scaled"])
    overall["r2"] = np.nan
    overall["mape_percent"] = _mape(rows["observed"].to_numpy(dtype=float),
                                    rows["simulated"].to_numpy(dtype=float))
    records.append({"series": "overall", **overall})
    return pd.DataFrame.from_records(records, columns=("series",) + COLUMNS)
