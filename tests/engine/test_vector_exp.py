"""The kernel's ``exp`` over a vector is the C library's ``exp``, bit for bit: the same
algorithm (glibc's and musl's table method) and the same rounding of each operation."""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import struct

import numpy as np
import pytest
from llvmlite import ir

from sd_runner.engine import lanes, machine_code, vector_exp

C_EXP = ctypes.CDLL(ctypes.util.find_library("m")).exp
C_EXP.restype, C_EXP.argtypes = ctypes.c_double, [ctypes.c_double]


def bits(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.int64)


def test_this_c_library_is_one_the_kernel_reproduces():
    """glibc 2.28 or later and musl use the algorithm; a machine with another C library still
    runs the kernel (``exp`` lane by lane), so only say which."""
    found = vector_exp.variant()
    if found is None:
        pytest.skip("this C library's exp is another algorithm: the kernel calls it lane by "
                    "lane")
    assert found in vector_exp.VARIANTS


def test_the_vector_exp_is_the_c_library_exp_on_a_fresh_sample():
    """A sample other than the one :func:`vector_exp.variant` chose the build with, four times
    as large, and the edges of the range the vector path computes."""
    found = vector_exp.variant()
    if found is None:
        pytest.skip("this C library's exp is another algorithm: the kernel calls it lane by "
                    "lane")
    edges = [2.0 ** -54, -(2.0 ** -54), 2.0 ** -53, np.nextafter(512.0, 0), -511.75, 1.0,
             -1.0, 0.5 * math.log(2) / 128, math.log(2), 700.0, -700.0, 1e-300]
    sample = np.concatenate([vector_exp.sample(1 << 18, seed=7), edges,
                             np.zeros(-(len(edges) + (1 << 18)) % 4)])
    inside = np.abs(sample) < 512.0
    got = vector_exp.compiled(found)(sample)
    expected = vector_exp.c_library_exp(sample)
    assert np.array_equal(bits(got[inside]), bits(expected[inside]))
    assert np.isnan(got[~inside]).all()  # left to the C library: the kernel calls it


def python_exp(x: float) -> float:
    """The C source of the algorithm (ARM optimized-routines ``math/exp.c``) in Python, whose
    floats round every operation: the build without fused multiply-add."""
    def as_int(value: float) -> int:
        return struct.unpack("<Q", struct.pack("<d", value))[0]

    def as_float(value: int) -> float:
        return struct.unpack("<d", struct.pack("<Q", value & (2 ** 64 - 1)))[0]

    if (as_int(x) >> 52) & 0x7FF < vector_exp.TINY_TOP:
        return 1.0 + x
    kd = x * vector_exp.INV_LN2_N + vector_exp.SHIFT
    ki = as_int(kd)
    kd -= vector_exp.SHIFT
    r = x + kd * vector_exp.NEG_LN2_HI_N + kd * vector_exp.NEG_LN2_LO_N
    index = 2 * (ki % 128)
    tail = as_float(vector_exp.TABLE[index])
    scale = as_float(vector_exp.TABLE[index + 1] + (ki << 45))
    r2 = r * r
    tmp = (tail + r + r2 * (vector_exp.C2 + r * vector_exp.C3)
           + r2 * r2 * (vector_exp.C4 + r * vector_exp.C5))
    return scale + scale * tmp


def test_the_build_without_fused_multiply_add_is_the_c_expression_in_order():
    """Checked on any machine, whatever its C library: the IR of the ``separate`` build
    rounds as the C source does."""
    sample = vector_exp.sample(1 << 13, seed=11)
    sample = sample[np.abs(sample) < 512.0][:4096]
    got = vector_exp.compiled("separate")(sample)
    assert np.array_equal(bits(got), bits([python_exp(x) for x in sample]))


def test_the_two_builds_differ_so_the_sample_tells_them_apart():
    """If both builds gave the same numbers on the sample, :func:`vector_exp.variant` would
    pick the first whatever this C library is."""
    sample = vector_exp.sample()
    inside = np.abs(sample) < 512.0
    fused = vector_exp.compiled("fused")(sample)[inside]
    separate = vector_exp.compiled("separate")(sample)[inside]
    assert np.count_nonzero(bits(fused) != bits(separate)) >= 5


def kernel_exp():
    """``math.exp(v[0])`` compiled as the kernel compiles it (the vector path, and the C
    library's lane by lane when a lane is outside it), for 4 lanes at a time."""
    module = ir.Module(name="kernel_exp")
    pointer = lanes.VECTOR.as_pointer()
    function = ir.Function(module, ir.FunctionType(ir.VoidType(), [pointer, pointer]), "f")
    b = ir.IRBuilder(function.append_basic_block("entry"))
    source, target = function.args
    writer = lanes.Lanes(b, lambda array, index: b.load(source, align=8), [])
    b.store(writer.value("math.exp(v[0])"), target, align=8)
    b.ret_void()
    code = machine_code.LoadedCode(machine_code.object_code(str(module)))
    call = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(code.address("f"))

    def run(values: list[float]) -> np.ndarray:
        x = np.ascontiguousarray(values, dtype=np.float64)
        out = np.empty_like(x)
        call(x.ctypes.data, out.ctypes.data)
        return out

    run.code = code
    return run


@pytest.mark.parametrize("special", [0.0, -0.0, 1e-310, 600.0, 709.7, 710.0, -745.2, -746.0,
                                     math.inf, -math.inf, math.nan])
def test_the_kernel_gives_special_arguments_to_the_c_library(special):
    """Zero, subnormals, overflow, underflow, infinities and NaN, alone and beside ordinary
    lanes: every lane is the C library's ``exp``."""
    run = kernel_exp()
    for values in ([special] * lanes.WIDTH, [1.5, special, -3.25, 0.125][:lanes.WIDTH]):
        expected = [C_EXP(v) for v in values]
        assert np.array_equal(bits(run(values)), bits(expected)), values
