"""The kernel as LLVM IR: one function that runs a batch of members, ``WIDTH`` at a time.

The first edition gave numba a Python kernel to compile, and numba's type inference and
lowering of some thousand statements took about 20 s. Every value here is a double and every
statement a few instructions, so the IR is written directly (:mod:`.lanes` translates the
expressions) and LLVM compiles it in about a second; no numba is involved.

``run_batch(consts, members, n_consts, t0, dt, tf, saveper, n_steps, save_steps, out_slots,
n_out, n_saved, out, check_slots, n_check, low, high, first_outside)`` runs each block of
``WIDTH`` members (the last block repeats its last member in the spare lanes, which are not
saved) through the same Euler steps as the first edition: the values, saving, the
derivatives, then every state moved on. At each saved step it also checks the ``n_check``
values ``check_slots`` against their bounds ``low``, ``high`` and marks in ``first_outside``
(``-1`` on entry) the saved row where each member first left them.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from sd_runner.engine.lanes import DOUBLE, I64, VECTOR, WIDTH, Lanes, broadcast, splat
from sd_runner.engine.machine_code import ENTRY
from sd_runner.engine.structures import Program

I8 = ir.IntType(8)
I32 = ir.IntType(32)


def kernel_ir(program: Program) -> str:
    """The LLVM IR module (text) of ``program``'s kernel."""
    module = ir.Module(name="sd_runner_kernel")
    tables = [(xs, ys, _table(module, f"T{index}x", xs), _table(module, f"T{index}y", ys),
               _table(module, f"T{index}slope", _slopes(xs, ys)))
              for index, (xs, ys) in enumerate(program.tables)]
    _Kernel(module, program, tables).build()
    return str(module)


def _table(module: ir.Module, name: str, values) -> ir.GlobalVariable:
    kind = ir.ArrayType(DOUBLE, len(values))
    table = ir.GlobalVariable(module, kind, name)
    table.initializer = ir.Constant(kind, [float(v) for v in values])
    table.global_constant = True
    table.linkage = "internal"
    return table


def _slopes(xs, ys) -> np.ndarray:
    """Each segment's slope, ``(y1 - y0) / (x1 - x0)``: numpy.interp's division, done once
    here instead of at every lookup (the same IEEE operations on the same numbers, so the
    same bits)."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    with np.errstate(all="ignore"):
        return (ys[1:] - ys[:-1]) / (xs[1:] - xs[:-1])


class _Kernel:
    """Builds ``run_batch``; see the module's text."""

    def __init__(self, module: ir.Module, program: Program, tables):
        self.program = program
        pointer = DOUBLE.as_pointer()
        signature = ir.FunctionType(ir.VoidType(), [
            pointer, I64, I64, DOUBLE, DOUBLE, DOUBLE, DOUBLE, I64, I8.as_pointer(),
            I64.as_pointer(), I64, I64, pointer,
            I64.as_pointer(), I64, pointer, pointer, I64.as_pointer()])
        self.function = ir.Function(module, signature, ENTRY)
        (self.consts, self.members, self.n_consts, self.t0, self.dt, self.tf, self.saveper,
         self.n_steps, self.save_steps, self.out_slots, self.n_out, self.n_saved,
         self.out, self.check_slots, self.n_check, self.low, self.high,
         self.first_outside) = self.function.args
        self.b = ir.IRBuilder(self.function.append_basic_block("entry"))
        self.tables = tables

    # ------------------------------------------------------------------ helpers
    def array(self, length: int, name: str) -> ir.Value:
        return self.b.alloca(ir.ArrayType(VECTOR, max(length, 1)), name=name)

    def slot(self, array: ir.Value, index) -> ir.Value:
        index = index if isinstance(index, ir.Value) else ir.Constant(I64, index)
        return self.b.gep(array, [ir.Constant(I64, 0), index])

    def loop(self, name: str, count: ir.Value, body) -> None:
        """``for i in range(count): body(i)``."""
        before = self.b.block
        head = self.function.append_basic_block(f"{name}.head")
        inside = self.function.append_basic_block(f"{name}.body")
        after = self.function.append_basic_block(f"{name}.end")
        self.b.branch(head)
        self.b.position_at_end(head)
        i = self.b.phi(I64, name=name)
        i.add_incoming(ir.Constant(I64, 0), before)
        self.b.cbranch(self.b.icmp_signed("<", i, count), inside, after)
        self.b.position_at_end(inside)
        body(i)
        i.add_incoming(self.b.add(i, ir.Constant(I64, 1)), self.b.block)
        self.b.branch(head)
        self.b.position_at_end(after)

    def statements(self, lanes: Lanes, texts: list[str], keep_values: bool = True) -> None:
        """Each ``array[index] = expression``. Values ``v`` and derivatives ``d`` are also
        remembered for the statements after them (:attr:`current`); the values go to memory
        only when ``keep_values`` (a saved step: ``save`` reads them by slot), so on the other
        steps LLVM keeps them in registers and drops those nothing but saving needs."""
        lanes.forget()  # a new region of the code, or memory written since
        for text in texts:
            target, expression = (part.strip() for part in text.split("=", 1))
            array, index = target[0], int(target[2:-1])
            value = lanes.value(expression)
            if array == "x":
                lanes.forget()
            if array in "vd":
                self.current[array, index] = value
            if array != "d" and (array != "v" or keep_values):
                self.b.store(value, self.slot(self.arrays[array], index))

    # ------------------------------------------------------------------ the kernel
    def build(self) -> None:
        # Every alloca in the entry block: one allocated inside a loop would grow the stack
        # with every block of members.
        b, program = self.b, self.program
        self.arrays = {"v": self.array(program.values, "v"),
                       "x": self.array(program.states, "x"),
                       "d": self.array(program.states, "d"),
                       "c": b.alloca(VECTOR, self.n_consts, name="c")}
        self.rings = [self.array(length, f"ring{number}")
                      for number, (_state, length, _code) in enumerate(program.buffers)]
        self.time = b.alloca(DOUBLE, name="time")
        self.position = b.alloca(I64, name="ring_position")
        self.saved = b.alloca(I64, name="saved")
        self.outside = b.alloca(ir.IntType(WIDTH), name="outside")
        blocks = b.udiv(b.add(self.members, ir.Constant(I64, WIDTH - 1)),
                        ir.Constant(I64, WIDTH))
        self.loop("block", blocks, self.member_block)
        b.ret_void()

    def read(self, array: str, index):
        """The vector of ``array[index]``, or of the scalar ``array`` (``t``, ``dt``, ...)."""
        b = self.b
        if index is None:
            return broadcast(b, b.load(self.time) if array == "t" else self.scalars[array])
        if array == "c":
            return b.load(b.gep(self.arrays["c"], [ir.Constant(I64, index)]))
        if (array, index) in self.current:
            return self.current[array, index]
        return b.load(self.slot(self.arrays[array], index))

    def member_block(self, block: ir.Value) -> None:
        b, program = self.b, self.program
        first = b.mul(block, ir.Constant(I64, WIDTH))
        self.load_constants(first)
        zero = splat(0.0)
        for index in range(program.states):
            b.store(zero, self.slot(self.arrays["x"], index))
            b.store(zero, self.slot(self.arrays["d"], index))
        b.store(self.t0, self.time)
        self.scalars = {"t0": self.t0, "dt": self.dt, "tf": self.tf, "saveper": self.saveper}
        lanes = Lanes(b, self.read, self.tables)
        self.current = {}
        self.statements(lanes, program.init)
        self.current = {}  # from here on, the values of init are read from memory
        for ring, (state, length, _code) in zip(self.rings, program.buffers, strict=True):
            start = b.load(self.slot(self.arrays["x"], state))
            self.loop("ring", ir.Constant(I64, length),
                      lambda at, ring=ring, start=start: b.store(start, self.slot(ring, at)))
        b.store(ir.Constant(I64, 0), self.position)
        b.store(ir.Constant(I64, 0), self.saved)

        def one_step(step):
            # Two copies of the step: a saved step stores every value for ``save``; the
            # others (15 in 16 with the bundled model's SAVEPER) keep them in registers and
            # compute only what the states need. Both do the same arithmetic in the same
            # order, so the numbers are the same.
            flag = b.load(b.gep(self.save_steps, [step]))
            with b.if_else(b.icmp_unsigned("!=", flag, ir.Constant(I8, 0))) as (saved, other):
                with saved:
                    self.current = {}
                    self.statements(lanes, program.step)
                    self.save(first)
                    self.move_on(lanes, step)
                with other:
                    self.current = {}
                    self.statements(lanes, program.step, keep_values=False)
                    self.move_on(lanes, step)
            self.current = {}

        self.loop("step", b.add(self.n_steps, ir.Constant(I64, 1)), one_step)

    def move_on(self, lanes: Lanes, step: ir.Value) -> None:
        """Before the last step: the derivatives, every state moved on, the clock."""
        b, program = self.b, self.program
        with b.if_then(b.icmp_signed("<", step, self.n_steps)):
            self.statements(lanes, program.derivatives)
            self.advance(lanes)
            b.store(b.fadd(b.load(self.time), self.dt), self.time)

    def load_constants(self, first: ir.Value) -> None:
        """Lane ``k`` of constant ``i`` is member ``first + k``'s (the last member's past the
        end); the constants' array is sized here, now that the block knows them."""
        b, c = self.b, self.arrays["c"]
        last = b.sub(self.members, ir.Constant(I64, 1))
        rows = []
        for lane in range(WIDTH):
            member = b.add(first, ir.Constant(I64, lane))
            member = b.select(b.icmp_signed("<", member, last), member, last)
            rows.append(b.gep(self.consts, [b.mul(member, self.n_consts)]))

        def one_constant(i):
            vector = ir.Constant(VECTOR, ir.Undefined)
            for lane, row in enumerate(rows):
                vector = b.insert_element(vector, b.load(b.gep(row, [i])),
                                          ir.Constant(I32, lane))
            b.store(vector, b.gep(c, [i]))

        self.loop("constant", self.n_consts, one_constant)

    def save(self, first: ir.Value) -> None:
        """``out[member, saved, k] = v[out_slots[k]]`` for the block's real members."""
        b = self.b
        saved = self.saved
        row = b.load(saved)
        values = b.bitcast(self.arrays["v"], DOUBLE.as_pointer())
        real = b.sub(self.members, first)
        lanes = b.select(b.icmp_signed("<", real, ir.Constant(I64, WIDTH)), real,
                         ir.Constant(I64, WIDTH))

        def one_output(k):
            slot = b.load(b.gep(self.out_slots, [k]))

            def one_lane(lane):
                value = b.load(b.gep(values, [b.add(b.mul(slot, ir.Constant(I64, WIDTH)),
                                                    lane)]))
                member = b.add(first, lane)
                at = b.add(b.mul(b.add(b.mul(member, self.n_saved), row), self.n_out), k)
                b.store(value, b.gep(self.out, [at]))

            self.loop("lane", lanes, one_lane)

        self.loop("output", self.n_out, one_output)
        self.check(first, row, lanes)
        b.store(b.add(row, ir.Constant(I64, 1)), saved)

    def check(self, first: ir.Value, row: ir.Value, lanes: ir.Value) -> None:
        """``first_outside[member] = row`` for each real member, not marked yet, that has a
        value ``v[check_slots[j]]`` not within ``[low[j], high[j]]`` (NaN is within nothing)."""
        b, mask = self.b, ir.IntType(WIDTH)
        b.store(ir.Constant(mask, 0), self.outside)

        def one_slot(j):
            value = b.load(self.slot(self.arrays["v"], b.load(b.gep(self.check_slots, [j]))))
            within = b.and_(
                b.fcmp_ordered(">=", value, broadcast(b, b.load(b.gep(self.low, [j])))),
                b.fcmp_ordered("<=", value, broadcast(b, b.load(b.gep(self.high, [j])))))
            b.store(b.or_(b.load(self.outside), b.bitcast(b.not_(within), mask)),
                    self.outside)

        self.loop("check", self.n_check, one_slot)
        with b.if_then(b.icmp_unsigned("!=", b.load(self.outside), ir.Constant(mask, 0))):
            def one_lane(lane):
                bit = b.and_(b.lshr(b.load(self.outside), b.trunc(lane, mask)),
                             ir.Constant(mask, 1))
                mark = b.gep(self.first_outside, [b.add(first, lane)])
                fresh = b.icmp_signed("<", b.load(mark), ir.Constant(I64, 0))
                with b.if_then(b.and_(b.trunc(bit, ir.IntType(1)), fresh)):
                    b.store(row, mark)

            self.loop("marked", lanes, one_lane)

    def advance(self, lanes: Lanes) -> None:
        """Move every state one TIME STEP on: integrals, clamps, discrete updates and the
        rings of fixed delays, in the first edition's order."""
        b, program, x = self.b, self.program, self.arrays["x"]
        lanes.forget()
        discrete = [lanes.value(code) for _state, code in program.discrete]
        entering = [lanes.value(code) for _state, _length, code in program.buffers]
        step = self.read("dt", None)
        for index in range(program.states):
            state = self.slot(x, index)
            b.store(b.fadd(b.load(state), b.fmul(self.read("d", index), step)), state)
        for index in program.clamps:
            state = self.slot(x, index)
            value = b.load(state)
            # Python's max(x, 0.0): x unless 0.0 is larger.
            b.store(b.select(b.fcmp_ordered(">", splat(0.0), value), splat(0.0), value), state)
        for (index, _code), value in zip(program.discrete, discrete, strict=True):
            b.store(value, self.slot(x, index))
        if not program.buffers:
            return
        now = b.load(self.position)
        for ring, (index, length, _code), value in zip(self.rings, program.buffers, entering,
                                                       strict=True):
            at = b.urem(now, ir.Constant(I64, length))
            b.store(value, self.slot(ring, at))
            following = b.urem(b.add(now, ir.Constant(I64, 1)), ir.Constant(I64, length))
            b.store(b.load(self.slot(ring, following)), self.slot(x, index))
        b.store(b.add(now, ir.Constant(I64, 1)), self.position)


__all__ = ["ENTRY", "WIDTH", "kernel_ir"]
