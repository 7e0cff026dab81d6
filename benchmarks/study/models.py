"""Part 1: the parallel models on BRN and on a product set, strong scaling over 1 ... all cores.

(a) ``chunked``: xarray-style array expressions on dask arrays chunked over the horizontal (the seed's
    baseline), several chunk sizes, dask's threaded scheduler and ``dask.distributed`` (a LocalCluster of
    one single-threaded worker process per core, inputs persisted on the workers before timing);
(b) ``delayed``: one ``dask.delayed`` task per product over the whole domain (numpy inside), threaded
    scheduler, and the "xN" variant (N copies of BRN in one graph);
(c) ``numba``: nwpflow's products (``nwpflow.compute``), one after another, numba threads = cores;
(d) ``bundle``: nwpflow's bundle graph, (b) + (c): one task per product calling the bundle job's own
    compute step, ``plan_threads`` dask workers x numba threads.

For (a) and (b) the graph's task count and the scheduler's overhead per task are measured on one core:
(wall time - time inside the tasks) / tasks, the time inside the tasks from dask's callbacks (threaded) or
the task stream (distributed). The formulas of (a) and (b) are :mod:`benchmarks.study.formulas`; their
agreement with nwpflow's products is recorded.
"""

from __future__ import annotations

import statistics
import time

import dask
import numba
import numpy as np

from benchmarks.study import formulas
from benchmarks.study.common import (agreement, columns, core_counts, dataset, domains, load, log, median_time,
                                     part_arguments, timed, write_record)

CHUNKS = {"full": {"ICON-CH2": [8_192, 32_768, 131_072], "ICON-CH1": [32_768, 131_072]},
          "quick": {"ICON-CH2": [500], "ICON-CH1": [1_000]}}
"""Cells per chunk of model (a), per domain: from many small tasks to a few large ones."""
WORKLOADS = {"BRN": ["BRN"], "set": list(formulas.PRODUCT_SET)}


def xn_copies(all_cores: int) -> int:
    """N of the "xN" variant: enough copies of BRN to keep every core busy twice over."""
    return max(4, 2 * all_cores)


# ------------------------------------------------------------------------------------------------ (a)

def chunked_inputs(fields: dict, chunk: int) -> dict:
    import dask.array as da

    return {n: da.from_array(a, chunks=(-1, chunk) if a.ndim == 2 else (chunk,), name=f"{n}-{chunk}")
            for n, a in fields.items()}


def chunked_graph(inputs: dict, products: list[str]) -> list:
    import dask.array as da

    return [formulas.compute(da, p, inputs) for p in products]


def task_count(collections: list) -> int:
    from dask.base import collections_to_expr

    return len(collections_to_expr(collections, optimize_graph=True).__dask_graph__())


class _TaskTimer(dask.callbacks.Callback):
    """Time spent inside tasks (threaded and synchronous schedulers)."""

    def _start(self, dsk):
        self.inside, self.started = 0.0, {}

    def _pretask(self, key, dsk, state):
        self.started[key] = time.perf_counter()

    def _posttask(self, key, result, dsk, state, worker_id):
        self.inside += time.perf_counter() - self.started.pop(key)


def threaded_overhead(run, tasks: int) -> dict:
    """Wall time of ``run`` (one worker), the time inside its tasks, and the overhead per task."""
    with _TaskTimer() as timer:
        wall = timed(run)
    return {"tasks": tasks, "wall_s": wall, "inside_s": timer.inside,
            "per_task_us": 1e6 * max(wall - timer.inside, 0.0) / tasks, "fraction": max(wall - timer.inside, 0) / wall}


def store_threaded(results: list, outputs: list, workers: int) -> None:
    import dask.array as da

    da.store(results, outputs, lock=False, scheduler="threads", num_workers=workers)


# ------------------------------------------------------------------------------------------------ (b)

def delayed_graph(fields: dict, products: list[str]) -> list:
    return [dask.delayed(formulas.compute, pure=False)(np, p, fields) for p in products]


# ------------------------------------------------------------------------------------------------ (d)

def bundle_graph(ds, products: list[str], threads: int) -> tuple[list, int, int]:
    """The bundle job's graph over an in-memory dataset: one task per product running the bundle job's own
    compute step (:func:`nwpflow.jobs.bundle._compute`), threads split by :func:`plan_threads`."""
    from nwpflow.jobs.bundle import _compute, _SharedCache, plan_threads, threading_layer

    workers, per_task = plan_threads(threads, len(products), threading_layer())
    cache = _SharedCache()
    return ([dask.delayed(_compute, pure=False)(name, ds, {}, {}, cache, per_task) for name in products],
            workers, per_task)


def run_bundle(tasks: list, workers: int) -> None:
    if workers == 1:
        dask.compute(*tasks, scheduler="synchronous")
    else:
        dask.compute(*tasks, scheduler="threads", num_workers=workers)


# ------------------------------------------------------------------------------------------- the part

def measure_domain(name: str, ncol: int, quick: bool, counts: list[int], repeat: int, rows: list,
                   overheads: list, agreements: dict) -> None:
    import nwpflow

    fields = columns(ncol)
    ds = dataset(fields)
    kernel_fields = {n: fields[n] for n in ("P", "T", "QV", "U", "V", "HHL", "HSURF")}
    for product in formulas.PRODUCT_SET:  # warms nwpflow's kernels; checks the formulas against them
        ours = nwpflow.compute(product, ds).values
        agreements[f"{name} {product}"] = agreement(formulas.compute(np, product, kernel_fields), ours)
    n_copies = xn_copies(max(counts))
    chunks = CHUNKS["quick" if quick else "full"][name]
    workloads = dict(WORKLOADS)
    if name == "ICON-CH2" or quick:  # xN at ICON-CH1 would hold N domain-sized float64 temporaries at once
        workloads[f"BRN x{n_copies}"] = ["BRN"] * n_copies

    def record(model, variant, workload, cores, seconds, tasks=None):
        rows.append({"domain": name, "columns": ncol, "model": model, "variant": variant, "workload": workload,
                     "cores": cores, "s": seconds, "tasks": tasks, "load": load()})
        log(f"{name} {model:8s} {variant:22s} {workload:8s} {cores:3d} cores {seconds:8.3f} s"
            + (f" ({tasks} tasks)" if tasks else ""))

    outputs = {p: np.empty_like(fields["T"]) for p in formulas.PRODUCT_SET}
    for cores in counts:
        warm = cores == counts[0]  # the first pass over the models: one untimed call each (first-call costs)
        # (a) threaded
        for chunk in chunks:
            inputs = chunked_inputs(kernel_fields, chunk)
            for workload, products in WORKLOADS.items():
                graph = chunked_graph(inputs, products)
                outs = [outputs[p] for p in products]
                seconds = median_time(lambda: store_threaded(graph, outs, cores), repeat, warm)
                record("chunked", f"threads, {chunk} cells", workload, cores, seconds, task_count(graph))
                if cores == 1:
                    overheads.append({"domain": name, "model": "chunked", "variant": f"threads, {chunk} cells",
                                      "workload": workload, **threaded_overhead(
                                          lambda: store_threaded(graph, outs, 1), task_count(graph))})
        # (a) distributed
        measure_distributed(name, kernel_fields, chunks, cores, repeat, record, overheads)
        # (b) product-level delayed tasks, numpy inside
        for workload, products in workloads.items():
            graph = delayed_graph(kernel_fields, products)
            seconds = median_time(lambda: dask.compute(*graph, scheduler="threads", num_workers=cores), repeat, warm)
            record("delayed", "threads, whole domain", workload, cores, seconds, len(graph))
            if cores == 1:
                overheads.append({"domain": name, "model": "delayed", "variant": "threads, whole domain",
                                  "workload": workload, **threaded_overhead(
                                      lambda: dask.compute(*graph, scheduler="threads", num_workers=1), len(graph))})
        # (c) numba data parallelism, one product after another
        numba.set_num_threads(cores)
        for workload, products in workloads.items():
            seconds = median_time(lambda: [nwpflow.compute(p, ds) for p in products], repeat, warm)
            record("numba", "numba threads", workload, cores, seconds)
        # (d) the bundle graph
        for workload, products in workloads.items():
            graph, workers, per_task = bundle_graph(ds, products, cores)
            seconds = median_time(lambda: run_bundle(graph, workers), repeat, warm)
            record("bundle", f"{workers} workers x {per_task} numba", workload, cores, seconds, len(graph))
        numba.set_num_threads(max(counts))


def measure_distributed(name, fields, chunks, cores, repeat, record, overheads) -> None:
    from dask.distributed import Client, LocalCluster, futures_of, get_task_stream, wait

    with LocalCluster(n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        for chunk in chunks:
            names = list(fields)
            inputs = dict(zip(names, client.persist([chunked_inputs(fields, chunk)[n] for n in names])))
            wait(list(inputs.values()))
            for workload, products in WORKLOADS.items():
                graph = chunked_graph(inputs, products)
                tasks = task_count(graph)

                held: list = []

                def run():
                    futures = client.persist(graph)
                    wait(futures)
                    held[:] = [future.key for future in futures_of(futures)]

                def settle():
                    # outside the time: the scheduler forgets released futures only asynchronously, and a
                    # graph whose keys it still holds is "computed" at once (the 3-6 ms runs of 283,876
                    # columns in the first full study were that, not work)
                    keys, held[:] = list(held), []
                    deadline = time.monotonic() + 60.0
                    while client.run_on_scheduler(_holds_any, keys):
                        if time.monotonic() > deadline:
                            raise RuntimeError("the scheduler still holds a finished run's results after 60 s")
                        time.sleep(0.005)

                times = []
                for _ in range(max(1, repeat) + 1):  # the first untimed: a warm-up
                    times.append(timed(run))
                    settle()
                seconds = statistics.median(times[1:])
                record("chunked", f"distributed, {chunk} cells", workload, cores, seconds, tasks)
                if cores == 1:
                    with get_task_stream(client) as stream:
                        wall = timed(run)
                    settle()
                    inside = sum(s["stop"] - s["start"] for t in stream.data for s in t["startstops"]
                                 if s["action"] == "compute")
                    overheads.append({"domain": name, "model": "chunked", "variant": f"distributed, {chunk} cells",
                                      "workload": workload, "tasks": tasks, "wall_s": wall, "inside_s": inside,
                                      "per_task_us": 1e6 * max(wall - inside, 0.0) / tasks,
                                      "fraction": max(wall - inside, 0.0) / wall})
            del inputs


def _holds_any(keys, dask_scheduler=None) -> bool:
    """On the scheduler: whether it still holds a task of ``keys``."""
    return any(key in dask_scheduler.tasks for key in keys)


def main() -> None:
    args = part_arguments(__doc__)
    started, before = time.perf_counter(), load()
    counts = core_counts()
    rows, overheads, agreements = [], [], {}
    for name, ncol in domains(args.quick).items():
        repeat = 1 if args.quick else (3 if name == "ICON-CH2" else 2)
        measure_domain(name, ncol, args.quick, counts, repeat, rows, overheads, agreements)
    write_record(args.json, "models", {"cores": counts, "xN": xn_copies(max(counts)), "rows": rows,
                                       "overheads": overheads, "agreement": agreements}, started, before)


if __name__ == "__main__":
    main()
