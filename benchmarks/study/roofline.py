"""Part 4: the hardware limit. A STREAM triad in the same process; each memory-bound product's effective
bandwidth (bytes of its inputs read + its output written, over its time) as a fraction of the triad, taken
per (triad, product) pair run back to back; and each product's compute ceiling: its throughput on a
cache-resident block of columns (one thread, times the cores), expressed in the same bytes per second. A
product whose ceiling lies below the triad is compute-bound: the ceiling, not the memory, limits it.

The lead for the θ-type products: numpy's own ``power``/``exp``/``log`` (vectorised, SVML inside numpy on
AVX-512 machines) against numba's scalar ``x ** y``/``math.exp``/``math.log`` (llvmlite from PyPI has no
SVML), in ns per float64 element on one thread.
"""

from __future__ import annotations

import math
import statistics
import time

import numba
import numpy as np

from benchmarks.study.common import (TRIAD_ELEMENTS, Triad, columns, cores, dataset, domains, load, log,
                                     median_time, part_arguments, timed, triad_bandwidth,
                                     write_record)

PRODUCTS = ["THETA", "THETA_V", "RELHUM", "TD", "FF", "DD", "HZEROCL", "T_PL", "BRN"]
"""Products that stream their inputs once with a few operations per value (no parcel ascent)."""
RESIDENT_COLUMNS = 2048
"""Columns of the cache-resident block (80 levels: 0.65 MB per float32 field, a few MB per product)."""


def moved_bytes(ds, product: str, result) -> int:
    from nwpflow.products import fields_needed

    return sum(ds[name].nbytes for name in fields_needed([product]) if name in ds) + result.nbytes


@numba.njit(error_model="numpy")
def _scalar_pow(x, y, out):
    for i in range(x.size):
        out[i] = x[i] ** y


@numba.njit(error_model="numpy")
def _scalar_exp(x, out):
    for i in range(x.size):
        out[i] = math.exp(x[i])


@numba.njit(error_model="numpy")
def _scalar_log(x, out):
    for i in range(x.size):
        out[i] = math.log(x[i])


def transcendentals(n: int, repeat: int) -> dict:
    """ns per float64 element, one thread: numpy's vectorised functions against numba's scalar calls."""
    x = np.random.default_rng(0).uniform(0.5, 2.0, n)
    out = np.empty_like(x)
    numba.set_num_threads(1)
    cases = {"power": (lambda: np.power(x, 0.2857, out=out), lambda: _scalar_pow(x, 0.2857, out)),
             "exp": (lambda: np.exp(x, out=out), lambda: _scalar_exp(x, out)),
             "log": (lambda: np.log(x, out=out), lambda: _scalar_log(x, out))}
    result = {}
    for name, (ours_np, ours_numba) in cases.items():
        ours_numba()
        result[name] = {"numpy_ns": 1e9 * median_time(ours_np, repeat) / n,
                        "numba_scalar_ns": 1e9 * median_time(ours_numba, repeat) / n}
    numba.set_num_threads(cores())
    return result


def resident_ceiling(ds, product: str, moved_per_column: float, budget_s: float) -> float:
    """Bytes per second the product reaches on a cache-resident block, one thread, times the cores."""
    import nwpflow

    block = ds.isel(cell=slice(0, min(RESIDENT_COLUMNS, ds.sizes["cell"])))
    numba.set_num_threads(1)
    nwpflow.compute(product, block)
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget_s or calls < 3:
        nwpflow.compute(product, block)
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    numba.set_num_threads(cores())
    return cores() * moved_per_column * block.sizes["cell"] / per_call


def main() -> None:
    import nwpflow

    args = part_arguments(__doc__)
    started, before = time.perf_counter(), load()
    mode = "quick" if args.quick else "full"
    repeat = 2 if args.quick else 7
    ncol = domains(args.quick)["ICON-CH1"]
    triad = Triad(TRIAD_ELEMENTS[mode])
    results = {"columns": ncol, "threads": cores(), "triad_best_Bps": triad_bandwidth(TRIAD_ELEMENTS[mode], 10),
               "products": {}}
    log(f"triad {results['triad_best_Bps'] / 1e9:.1f} GB/s")
    ds = dataset(columns(ncol))
    for product in PRODUCTS:
        result = nwpflow.compute(product, ds)
        moved = moved_bytes(ds, product, result)
        times, fractions, triads = [], [], []
        for _ in range(repeat):
            triads.append(triad())
            times.append(timed(lambda: nwpflow.compute(product, ds)))
            fractions.append(moved / times[-1] / triads[-1])
        ceiling = resident_ceiling(ds, product, moved / ncol, 0.05 if args.quick else 0.5)
        entry = {"bytes": moved, "s": statistics.median(times), "GBps": moved / statistics.median(times) / 1e9,
                 "fraction_of_triad": statistics.median(fractions), "triad_paired_GBps": statistics.median(triads) / 1e9,
                 "resident_ceiling_GBps": ceiling / 1e9, "load": load()}
        entry["compute_bound"] = entry["resident_ceiling_GBps"] < entry["triad_paired_GBps"]
        results["products"][product] = entry
        log(f"{product}: {entry['GBps']:.1f} GB/s = {entry['fraction_of_triad']:.0%} of the triad; "
            f"in-cache ceiling {entry['resident_ceiling_GBps']:.1f} GB/s")
    results["transcendentals"] = transcendentals(200_000 if args.quick else 10_000_000, repeat)
    write_record(args.json, "roofline", results, started, before)


if __name__ == "__main__":
    main()
