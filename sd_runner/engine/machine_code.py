"""LLVM IR to machine code for this CPU, and the compiled kernel as a callable.

The object code is cached on disk by the caller (:mod:`.fast`): loading it back skips LLVM's
optimisation and code generation, so a cached kernel starts in milliseconds.
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np
from llvmlite import binding as llvm

from sd_runner.engine.native import ENTRY

OPTIMISATION = 2  # -O2: -O3 adds compile time and nothing measurable to this straight code

_SIGNATURE = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_double, ctypes.c_double,
    ctypes.c_double, ctypes.c_double, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
    ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)


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
    """What the object code depends on besides the IR: triple, CPU and its features."""
    return "|".join([llvm.get_process_triple(), llvm.get_host_cpu_name(),
                     llvm.get_host_cpu_features().flatten()])


def object_code(ir_text: str) -> bytes:
    """Optimise and compile the IR for this CPU; the relocatable object file."""
    machine = target_machine()
    module = llvm.parse_assembly(ir_text)
    module.verify()
    tuning = llvm.create_pipeline_tuning_options(speed_level=OPTIMISATION)
    builder = llvm.create_pass_builder(machine, tuning)
    builder.getModulePassManager().run(module, builder)
    return machine.emit_object(module)


class CompiledKernel:
    """The object code loaded into this process, called as the first edition's ``run_batch``
    (ctypes releases the GIL during the call, so threads run kernels side by side)."""

    def __init__(self, code: bytes):
        self.code = code
        self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""),
                                                  new_target_machine())
        self._engine.add_object_file(llvm.ObjectFileRef.from_data(code))
        self._engine.finalize_object()
        address = self._engine.get_function_address(ENTRY)
        if not address:
            raise RuntimeError(f"the kernel's object code has no {ENTRY}")
        self._function = _SIGNATURE(address)

    def __reduce__(self):  # for processes that receive it: the code, loaded there again
        return CompiledKernel, (self.code,)

    def run_batch(self, consts: np.ndarray, t0: float, dt: float, tf: float, saveper: float,
                  n_steps: int, save_steps: np.ndarray, out_slots: np.ndarray,
                  out: np.ndarray) -> None:
        """Run each row of ``consts`` (C-contiguous doubles) into ``out[member, saved time,
        output]``; ``save_steps`` flags the steps saved, ``out_slots`` the values kept."""
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
        self._function(consts.ctypes.data, members, n_consts, t0, dt, tf, saveper, n_steps,
                       save.ctypes.data, slots.ctypes.data, len(slots), out.shape[1],
                       out.ctypes.data)
