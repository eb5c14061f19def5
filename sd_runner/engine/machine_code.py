"""LLVM IR to machine code for this CPU, and the compiled kernel as a callable.

The object code is cached on disk by the caller (:mod:`.fast`): loading it back skips LLVM's
optimisation and code generation, so a cached kernel starts in milliseconds.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform

import numpy as np
from llvmlite import binding as llvm

ENTRY = "run_batch"  # the kernel's function (sd_runner.engine.native writes it)
OPTIMISATION = 2  # -O2: -O3 adds compile time and nothing measurable to this straight code

_SIGNATURE = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_double, ctypes.c_double,
    ctypes.c_double, ctypes.c_double, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
    ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
    ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


@functools.cache
def target_machine() -> llvm.TargetMachine:
    """This CPU, with every feature it has (AVX2, AVX-512, ...), to compile for."""
    return new_target_machine()


def new_target_machine() -> llvm.TargetMachine:
    """A target machine of one's own: an execution engine takes over the one it is given
    (and frees it with itself), so each engine needs a new one."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(),
                                        opt=OPTIMISATION, codemodel="jitdefault")


def machine_description() -> str:
    """What the object code depends on besides the IR: triple, CPU and its features, and the
    C library (whose ``exp`` the kernel reproduces: :mod:`.vector_exp`)."""
    return "|".join([llvm.get_process_triple(), llvm.get_host_cpu_name(),
                     llvm.get_host_cpu_features().flatten(), c_library()])


def c_library() -> str:
    """The C library's name and version (``glibc 2.36``), or what Python can tell of it."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or " ".join(platform.libc_ver())
    except (AttributeError, ValueError, OSError):  # not glibc, or no confstr on this system
        return " ".join(platform.libc_ver()) or platform.platform()


def object_code(ir_text: str) -> bytes:
    """Optimise and compile the IR for this CPU; the relocatable object file."""
    machine = target_machine()
    module = llvm.parse_assembly(ir_text)
    module.verify()
    tuning = llvm.create_pipeline_tuning_options(speed_level=OPTIMISATION)
    builder = llvm.create_pass_builder(machine, tuning)
    builder.getModulePassManager().run(module, builder)
    return machine.emit_object(module)


class LoadedCode:
    """Object code loaded into this process (it stays loaded while this object lives)."""

    def __init__(self, code: bytes):
        self.code = code
        self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""),
                                                  new_target_machine())
        self._engine.add_object_file(llvm.ObjectFileRef.from_data(code))
        self._engine.finalize_object()

    def address(self, name: str) -> int:
        """Where the function ``name`` starts."""
        address = self._engine.get_function_address(name)
        if not address:
            raise RuntimeError(f"the object code has no {name}")
        return address


class CompiledKernel:
    """The object code loaded into this process, called as the first edition's ``run_batch``
    (ctypes releases the GIL during the call, so threads run kernels side by side)."""

    def __init__(self, code: bytes):
        self.code = code
        self._loaded = LoadedCode(code)
        self._function = _SIGNATURE(self._loaded.address(ENTRY))

    def __reduce__(self):  # for processes that receive it: the code, loaded there again
        return CompiledKernel, (self.code,)

    def run_batch(self, consts: np.ndarray, t0: float, dt: float, tf: float, saveper: float,
                  n_steps: int, save_steps: np.ndarray, out_slots: np.ndarray,
                  out: np.ndarray, check: tuple | None = None) -> None:
        """Run each row of ``consts`` (C-contiguous doubles) into ``out[member, saved time,
        output]``; ``save_steps`` flags the steps saved, ``out_slots`` the values kept.

        ``check``, optional, is ``(slots, low, high, first_outside)``: at each saved time the
        values ``slots`` must lie within ``[low, high]`` (NaN never does), and
        ``first_outside[member]``, which the caller fills with -1, gets the saved row where
        the member first had one that did not."""
        members, n_consts = consts.shape
        if members == 0:
            return
        if not (consts.flags.c_contiguous and consts.dtype == np.float64
                and out.flags.c_contiguous and out.dtype == np.float64
                and out.shape[0] == members and out.shape[2] == len(out_slots)
                and out.shape[1] == int(np.count_nonzero(save_steps[:n_steps + 1]))):
            raise ValueError("run_batch: arrays of the wrong layout or shape")
        save = np.ascontiguousarray(save_steps, dtype=np.bool_)
        slots = np.ascontiguousarray(out_slots, dtype=np.int64)
        checked = (np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, np.int64))
        if check is not None:
            checked = (np.ascontiguousarray(check[0], dtype=np.int64),
                       np.ascontiguousarray(check[1], dtype=np.float64),
                       np.ascontiguousarray(check[2], dtype=np.float64), check[3])
            first_outside = checked[3]
            if not (len(checked[0]) == len(checked[1]) == len(checked[2])
                    and first_outside.dtype == np.int64 and first_outside.shape == (members,)
                    and first_outside.flags.c_contiguous):
                raise ValueError("run_batch: check arrays of the wrong layout or shape")
        self._function(consts.ctypes.data, members, n_consts, t0, dt, tf, saveper, n_steps,
                       save.ctypes.data, slots.ctypes.data, len(slots), out.shape[1],
                       out.ctypes.data, checked[0].ctypes.data, len(checked[0]),
                       checked[1].ctypes.data, checked[2].ctypes.data, checked[3].ctypes.data)
