"""Tolerances for comparing numbers computed on different engines or machines, and why.

Both engines do the same Euler arithmetic in the same order, but not with the same machine
code: PySD calls numpy, which picks SIMD kernels by CPU at run time (AVX-512 machines take other
paths than AVX2 ones, and X86_V2 others again), and the kernel is compiled by LLVM for the CPU
it runs on. Elementary functions and lookups may then differ in the last bit or two, and 1 024
steps of feedback carry those differences on: between PySD and the kernel the largest
difference seen on any machine here was 8.7e-13 relative (AVX-512). Only the same command run
twice on the same machine is bit-identical; across engines and machines these bounds apply.
"""

from __future__ import annotations

import numpy as np

# Trajectories: three orders of magnitude above the largest difference seen (8.7e-13), and
# seven below anything a report shows (four significant digits).
TRAJECTORY_RTOL = 1e-9

# Loop scores divide each variable's change over one TIME STEP by others, so a relative error
# e in the levels becomes about e * |x| / |dx| in a score. Measured on the bundled model
# (domestic-value-chain to 2018): relative noise of 1e-12 in every value of the trajectory,
# about the largest engine difference, moves the relative loop scores (shares of the total,
# within [-1, 1]) by at most 1.7e-6 and each loop's score by at most 9.5e-5 of that loop's
# largest score. The bounds leave a factor of about six.
RELATIVE_SCORE_ATOL = 1e-5
SCORE_ATOL_PER_LOOP_MAX = 5e-4


def assert_trajectories_close(actual, expected, rtol: float = TRAJECTORY_RTOL) -> None:
    """Element-wise relative difference at most ``rtol`` (zeros must match exactly)."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    relative = np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-300)
    worst = np.unravel_index(relative.argmax(), relative.shape)
    assert relative.max() <= rtol, f"{relative.max():.3g} relative at {worst}"
