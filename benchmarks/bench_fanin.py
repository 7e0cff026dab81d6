"""Fan-in benchmarks: ensemble statistics and lead-time windows (issue 4, nwpflow.products.fanin).

1. Compilation: the three kernels of ``nwpflow.kernels.stats`` in a fresh process with an empty
   ``NUMBA_CACHE_DIR`` (cold: compiles and writes the cache), then in a second fresh process with that
   cache (warm: loads it). Import time is reported apart.
2. Ensemble statistics of one product and lead time on the ICON-CH2 domain (11 members x 283,876 cells
   x 80 levels, float32, 1 GB): mean/std/min/max, and with 3 quantiles and 2 thresholds added; the
   kernel with 1 thread and with all, against numpy (``mean``/``std``/``min``/``max`` with float64
   accumulators, ``quantile``, mean of comparisons).
3. Lead-time windows on the ICON-CH1 cells (1,147,980) over 34 hourly steps: TOT_PREC sums over 1, 3, 6
   and 24 h, and a 24-h maximum, against numpy slicing.

Medians of repeated runs; the machine is shared, so compare numbers of the same run. Run::

    .venv/bin/python benchmarks/bench_fanin.py [--cells 283876] [--levels 80] [--members 11] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ICON_CH1_CELLS = 1_147_980
ICON_CH2_CELLS = 283_876

_COMPILE_SCRIPT = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
from nwpflow.kernels import stats
t1 = time.perf_counter()
out = {"import_s": t1 - t0}
v = np.random.default_rng(0).normal(size=(11, 4096)).astype(np.float32)
m, q, p = np.empty((4, 4096), np.float32), np.empty((3, 4096), np.float32), np.empty((2, 4096), np.float32)
s = time.perf_counter(); stats.ensemble_statistics(v, np.array([0.1, 0.5, 0.9]), np.array([0.0, 1.0]), m, q, p)
out["ensemble_s"] = time.perf_counter() - s
w = np.empty((8, 4096), np.float32)
a, b = np.arange(8, dtype=np.int64), np.arange(3, 11, dtype=np.int64)
s = time.perf_counter(); stats.window_statistics(v, a, b, w, statistic="max"); out["window_s"] = time.perf_counter() - s
s = time.perf_counter(); stats.accumulation_deltas(v, a, b, np.zeros(8), w); out["accumulation_s"] = time.perf_counter() - s
print(json.dumps(out))
"""


def median_time(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compile_times() -> dict:
    """First calls of the kernels in fresh processes: cold cache, then warm."""
    result = {}
    with tempfile.TemporaryDirectory(prefix="nwpflow-bench-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold", "warm"):
            proc = subprocess.run([sys.executable, "-c", _COMPILE_SCRIPT], env=env, capture_output=True, text=True,
                                  check=True)
            result[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def ensemble(cells: int, levels: int, members: int, repeat: int) -> dict:
    import numba

    from nwpflow.kernels import stats

    rng = np.random.default_rng(1)
    ncol = cells * levels
    values = np.empty((members, ncol), np.float32)
    for m in range(members):  # in slices: no float64 temporary of the whole array
        values[m] = (280.0 + rng.standard_normal(ncol, dtype=np.float32)).astype(np.float32)
    probabilities, thresholds = np.array([0.1, 0.5, 0.9]), np.array([279.0, 281.0])
    moments = np.empty((4, ncol), np.float32)
    none_q, none_p = np.empty((0, ncol), np.float32), np.empty((0, ncol), np.float32)
    quantiles, exceed = np.empty((3, ncol), np.float32), np.empty((2, ncol), np.float32)
    empty = np.empty(0)

    def moments_only():
        stats.ensemble_statistics(values, empty, empty, moments, none_q, none_p)

    def everything():
        stats.ensemble_statistics(values, probabilities, thresholds, moments, quantiles, exceed)

    moments_only()
    everything()
    out = {"cells": cells, "levels": levels, "members": members, "bytes_in": values.nbytes}
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        out[f"moments_{threads}t_s"] = median_time(moments_only, repeat)
        out[f"all_{threads}t_s"] = median_time(everything, repeat)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)

    def numpy_moments():
        values.mean(axis=0, dtype=np.float64)
        values.std(axis=0, dtype=np.float64)
        values.min(axis=0)
        values.max(axis=0)

    def numpy_rest():
        np.quantile(values, probabilities, axis=0)
        for t in thresholds:
            (values >= t).mean(axis=0)

    out["numpy_moments_s"] = median_time(numpy_moments, 1)
    out["numpy_quantiles_probabilities_s"] = median_time(numpy_rest, 1)
    return out


def windows(cells: int, steps: int, repeat: int) -> dict:
    import numba

    from nwpflow.products.fanin import window_indices
    from nwpflow.kernels import stats

    rng = np.random.default_rng(2)
    rate = np.where(rng.uniform(size=(steps, cells)) < 0.7, 0.0, rng.exponential(1.0, (steps, cells)))
    total = np.cumsum(rate, axis=0).astype(np.float32)
    lead = np.arange(steps) * np.timedelta64(1, "h")
    out = {"cells": cells, "steps": steps}
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for hours in (1, 3, 6, 24):
        starts, ends = window_indices(lead, f"{hours}h")
        result = np.empty((ends.size, cells), np.float32)
        quanta = np.zeros(ends.size)
        stats.accumulation_deltas(total, starts, ends, quanta, result)
        out[f"sum_{hours}h_s"] = median_time(lambda: stats.accumulation_deltas(total, starts, ends, quanta, result),
                                             repeat)
        out[f"numpy_sum_{hours}h_s"] = median_time(
            lambda: (total[hours:].astype(np.float64) - total[:-hours]).astype(np.float32), repeat)
    starts, ends = window_indices(lead, "24h")
    result = np.empty((ends.size, cells), np.float32)
    stats.window_statistics(total, starts, ends, result, statistic="max")
    out["max_24h_s"] = median_time(lambda: stats.window_statistics(total, starts, ends, result, statistic="max"),
                                   repeat)
    out["numpy_max_24h_s"] = median_time(
        lambda: np.stack([total[e - 23:e + 1].max(axis=0) for e in ends]), repeat)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=ICON_CH2_CELLS)
    parser.add_argument("--levels", type=int, default=80)
    parser.add_argument("--members", type=int, default=11)
    parser.add_argument("--window-cells", type=int, default=ICON_CH1_CELLS)
    parser.add_argument("--steps", type=int, default=34)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sections", default="compile,ensemble,windows",
                        help="comma-separated subset of compile, ensemble, windows")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    import numba

    sections = set(args.sections.split(","))
    results = {
        "machine": {"cpus": os.cpu_count(), "numba_threads": numba.config.NUMBA_NUM_THREADS,
                    "python": platform.python_version(), "numba": numba.__version__,
                    "load_average": os.getloadavg()},
    }
    if "compile" in sections:
        results["compile"] = compile_times()
    if "ensemble" in sections:
        results["ensemble"] = ensemble(args.cells, args.levels, args.members, args.repeat)
    if "windows" in sections:
        results["windows"] = windows(args.window_cells, args.steps, args.repeat)
    results["machine"]["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
