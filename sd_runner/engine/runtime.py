"""Vensim built-ins with PySD 3.14's semantics, on Python floats: the names ``rt.*`` that the
compiled expressions call when single equations are evaluated in Python (loop scores), and in
the first edition's kernel source. The native kernel computes the same functions in IR
(:mod:`~sd_runner.engine.lanes`), with the same arithmetic."""

from __future__ import annotations

import math

import numpy as np

SMALL_VENSIM = 1e-6  # PySD's tolerance for zero denominators and time comparisons


def lookup(x, xs, ys, mode):
    """Table function: 0 interpolate (hold the ends), 1 extrapolate, 2 hold backward."""
    n = xs.shape[0]
    if x <= xs[0]:
        if mode == 1 and x < xs[0] and n > 1:
            return ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (x - xs[0])
        return ys[0]
    if x >= xs[n - 1]:
        if mode == 1 and x > xs[n - 1] and n > 1:
            return ys[n - 1] + (ys[n - 1] - ys[n - 2]) / (xs[n - 1] - xs[n - 2]) * (x - xs[n - 1])
        return ys[n - 1]
    i = np.searchsorted(xs, x, side="right") - 1
    if xs[i] == x:
        return ys[i]
    if mode == 2:
        return ys[i]
    # numpy.interp's arithmetic (PySD interpolates through it), so both engines agree to
    # the last bit.
    slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
    return slope * (x - xs[i]) + ys[i]


def step(t, dt, value, start):
    return value if t + dt / 2 > start else 0.0


def ramp(t, slope, start, finish):
    if not t + SMALL_VENSIM > start:
        return 0.0
    final = min(finish, t)
    return slope * (final - start)


def ramp_open(t, slope, start):
    if not t + SMALL_VENSIM > start:
        return 0.0
    return slope * (t - start)


def pulse(t, dt, start, repeat_time, width, magnitude, end, has_magnitude, has_end):
    if width < 0:
        width = 0.5 * dt
    out = magnitude / dt if has_magnitude else 1.0
    if repeat_time == 0:
        return out if start - SMALL_VENSIM <= t < start + width else 0.0
    if start <= t and (not has_end or t < end):
        return out if (t - start + SMALL_VENSIM) % repeat_time < width else 0.0
    return 0.0


def zidz(numerator, denominator):
    if abs(denominator) < SMALL_VENSIM:
        return 0.0
    return numerator / denominator


def xidz(numerator, denominator, x):
    if abs(denominator) < SMALL_VENSIM:
        return x
    return numerator / denominator


def integer(x):
    return float(int(x))


def quantum(a, b):
    if b < SMALL_VENSIM:
        return a
    return b * float(int(a / b))


def modulo(x, m):
    return x - quantum(x, m)


def log_base(x, base):
    return math.log(x) / math.log(base)


def power(base, exponent):
    return base ** exponent
