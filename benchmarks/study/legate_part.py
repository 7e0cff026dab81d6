"""Part 2: a Legion-based runtime, NVIDIA Legate (``legate``, ``nvidia-cupynumeric``; the ``legate`` extra).

Runs inside an interpreter where Legate imports (``benchmarks.study.legate_run`` prepares it: the CPU
configuration, and a stub ``libcuda.so.1`` where the machine has no NVIDIA driver). On the same arrays, in
this one process:

* numpy: THETA and BRN written as array expressions (:mod:`benchmarks.study.formulas`), one thread;
* cuPyNumeric: the same code on cuPyNumeric arrays (Legate partitions each operation over its CPUs);
* Legate tasks, (b)-style: one Python task per product copy over the whole domain (``broadcast``
  constraints on every store, so each task sees whole arrays; numpy inside), N independent copies of BRN,
  submitted as they come and placed on the CPUs one by one (``Scope(machine=cpus[i])``);
* nwpflow's numba BRN kernel, where numba imports, for the ratio;
* the float32 mean of cuPyNumeric against numpy's (float64 accumulation).
"""

import time

import cupynumeric as cn
import legate
import numpy as np
from legate.core import Scope, TaskTarget, broadcast, get_legate_runtime, get_machine
from legate.core import types as ty
from legate.core.task import InputStore, OutputStore, task

from benchmarks.study import formulas
from benchmarks.study.common import agreement, columns, domains, load, log, median_time, part_arguments, write_record


def fence() -> None:
    get_legate_runtime().issue_execution_fence(block=True)


# Legate evaluates the annotations when it registers the task: they must be real types (no
# ``from __future__ import annotations`` in this module).
@task(constraints=tuple(broadcast(name) for name in ("p", "t", "qv", "u", "v", "hhl", "hsurf", "out")))
def brn_task(p: InputStore, t: InputStore, qv: InputStore, u: InputStore, v: InputStore, hhl: InputStore,
             hsurf: InputStore, out: OutputStore) -> None:
    """BRN over the whole domain in one task (``broadcast``: every store whole, not partitioned)."""
    arrays = [np.asarray(s) for s in (p, t, qv, u, v, hhl, hsurf)]
    np.asarray(out)[...] = formulas.brn(np, *arrays)


def main() -> None:
    args = part_arguments(__doc__, extra=lambda p: p.add_argument("--cpus", type=int, required=True))
    started, before = time.perf_counter(), load()

    runtime = get_legate_runtime()
    machine = get_machine()
    cpus = machine.only(TaskTarget.CPU)
    ncpu = cpus.count(TaskTarget.CPU)
    repeat = 1 if args.quick else 3
    ncol = domains(args.quick)["ICON-CH2"]
    fields = {k: v for k, v in columns(ncol).items() if k in formulas.INPUTS["BRN"]}
    results: dict = {"legate": legate.__version__, "cupynumeric": cn.__version__, "cpus": ncpu,
                     "gpus": machine.count(TaskTarget.GPU), "columns": ncol, "products": {}}

    arrays = {k: cn.asarray(v) for k, v in fields.items()}
    fence()
    for product in ("THETA", "BRN"):
        reference = formulas.compute(np, product, fields)
        ours = formulas.compute(cn, product, arrays)
        fence()
        entry = {"numpy_s": median_time(lambda: formulas.compute(np, product, fields), repeat),
                 "cupynumeric_s": median_time(lambda: (formulas.compute(cn, product, arrays), fence()), repeat),
                 "agreement": agreement(np.asarray(ours), reference), "load": load()}
        entry["cupynumeric_vs_numpy"] = entry["cupynumeric_s"] / entry["numpy_s"]
        results["products"][product] = entry
        log(f"{product}: numpy {entry['numpy_s']:.3f} s, cuPyNumeric on {ncpu} CPUs {entry['cupynumeric_s']:.3f} s")

    # (b)-style Legate tasks: each copy of BRN one task over the whole domain
    stores = {k: runtime.create_store_from_buffer(ty.float32, v.shape, v, False) for k, v in fields.items()}

    copies = max(2, 2 * ncpu)
    outs = [runtime.create_store(ty.float32, fields["T"].shape) for _ in range(copies)]
    ordered = [stores[k] for k in ("P", "T", "QV", "U", "V", "HHL", "HSURF")]

    def submit(placed: bool) -> None:
        for i, out in enumerate(outs):
            if placed:
                with Scope(machine=cpus[i % ncpu]):
                    brn_task(*ordered, out)
            else:
                brn_task(*ordered, out)
        fence()

    submit(True)  # warm
    numpy_brn = results["products"]["BRN"]["numpy_s"]
    tasks = {"copies": copies, "numpy_serial_s": copies * numpy_brn,
             "unplaced_s": median_time(lambda: submit(False), repeat),
             "placed_s": median_time(lambda: submit(True), repeat), "load": load()}
    tasks["placed_speedup_vs_serial_numpy"] = tasks["numpy_serial_s"] / tasks["placed_s"]
    tasks["unplaced_speedup_vs_serial_numpy"] = tasks["numpy_serial_s"] / tasks["unplaced_s"]
    check = np.asarray(outs[0].get_physical_store())
    tasks["agreement"] = agreement(check, formulas.compute(np, "BRN", fields))
    results["tasks"] = tasks
    log(f"BRN x{copies} as Legate tasks: unplaced {tasks['unplaced_s']:.2f} s, placed {tasks['placed_s']:.2f} s, "
        f"numpy one after another {tasks['numpy_serial_s']:.2f} s")

    try:
        import numba

        from nwpflow import constants
        from nwpflow.kernels.brn import bulk_richardson_number

        out = np.empty_like(fields["T"])
        numba.set_num_threads(ncpu)
        kw = dict(kappa=constants.kappa, rv_rd_minus_1=constants.rv_rd_minus_1, g=constants.g, p0=constants.p0)
        args_ = [fields[k] for k in ("P", "T", "QV", "U", "V", "HHL", "HSURF")]
        bulk_richardson_number(*args_, out, **kw)
        results["nwpflow_brn_s"] = median_time(lambda: bulk_richardson_number(*args_, out, **kw), repeat)
    except ImportError as error:
        results["nwpflow_brn_s"] = None
        results["nwpflow_missing"] = str(error)

    n = 50_000_000 if not args.quick else 1_000_000
    ones = cn.full((n,), 0.1, dtype=cn.float32)
    results["mean_float32"] = {"elements": n, "cupynumeric": float(cn.mean(ones)),
                               "cupynumeric_float64_accumulator": float(cn.mean(ones, dtype=cn.float64)),
                               "numpy": float(np.mean(np.full(n, 0.1, np.float32)))}
    write_record(args.json, "legate", results, started, before)


if __name__ == "__main__":
    main()
