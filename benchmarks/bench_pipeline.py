"""Pipeline benchmarks (issue 4): what a job costs before it computes, bundles against one job per product,
and Snakemake's DAG building for an operational ICON-CH1-EPS day.

1. ``overhead`` (and ``breakdown``) — the fixed cost of one product job with a warm numba cache, measured as fresh processes
   the way Snakemake starts them (wall time from the parent): the bare interpreter, the job's imports,
   and a whole job on a tiny input (64 cells: process start + imports + loading the compiled kernels
   from the cache + reading, computing and writing next to nothing), for one product and for a bundle of
   the whole catalogue; plus the same job on a cold cache (it compiles), for comparison. ``breakdown``
   times the steps of such a job inside the process.
2. ``bundle`` — >= 10 memory-bound products of one member and lead time on the ICON-CH2 domain (sample
   preset ``icon-ch2``, 283,876 cells x 80 levels): as separate jobs (one process each, one after the
   other, as Snakemake runs jobs of ``threads`` cores on as many cores) and as one bundle job, both with
   the same threads; the bundle's files are checked to hold the same bits.
3. ``dag`` — ``snakemake -n`` for an ICON-CH1-EPS day: 11 members x 34 hourly lead times (0-33 h) x the
   whole catalogue, with ensemble and time products, on a real-run config (placeholder input files, as
   the model would have written them), with the default bundle and with one job per product.

The machine is shared; every number is a median of repeats, and the load average is recorded with it.
Run::

    .venv/bin/python benchmarks/bench_pipeline.py [--parts overhead,breakdown,bundle,dag] [--work DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

MEMORY_BOUND = ("THETA", "THETA_V", "THETA_E", "TD", "RELHUM", "RH_ICE", "FF", "DD", "FF_10M", "DD_10M", "BRN",
                "HPBL", "T_HL", "QV_HL", "U_HL", "V_HL")
"""Products that stream their inputs once with a few operations per value (no parcel ascent, no search)."""


def snapshot(work: Path) -> dict:
    """Copy the nwpflow package to ``work/snapshot`` and return an environment that imports it from there.

    The jobs of a benchmark must load one fixed version of the kernels: numba's cache entries go stale
    when a kernel's source file changes (modification time), so edits made elsewhere while a benchmark
    runs would make its jobs compile.
    """
    import shutil

    target = work / "snapshot"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ROOT / "src" / "nwpflow", target / "nwpflow", ignore=shutil.ignore_patterns("__pycache__"))
    os.environ["PYTHONPATH"] = str(target) + os.pathsep + os.environ.get("PYTHONPATH", "")
    sys.path.insert(0, str(target))
    return dict(os.environ)


def load() -> float:
    return os.getloadavg()[0]


def wall(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)[:300]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return elapsed


def median_wall(cmd, repeat, env=None, cwd=None) -> tuple[float, list[float]]:
    times = [wall(cmd, env, cwd) for _ in range(repeat)]
    return statistics.median(times), times


def job_script(call: str, module: str = "compute") -> list[str]:
    """A job as Snakemake's script runs it (scripts/product.py, scripts/bundle.py): a fresh interpreter that
    imports the job function from its module of ``nwpflow.jobs``, calls it and ends the process
    (``end_job_process``)."""
    function = {"compute": "run_product_job", "bundle": "run_bundle_job"}[module]
    return [PYTHON, "-c", f"from nwpflow.jobs.{module} import {function}\n"
            "from nwpflow.jobs.frame import end_job_process\n" + call + "\nend_job_process()"]


def registered(names) -> list[str]:
    from nwpflow.products import registry

    return [n for n in names if n in registry]


# ------------------------------------------------------------------------------------------ overhead


def bench_overhead(work: Path, repeat: int) -> dict:
    from nwpflow.io.sample import PRESETS, IconGrid, write_sample
    from nwpflow.products import registry

    import shutil

    for old in work.glob("cache-*"):  # cold means cold
        shutil.rmtree(old)
    sample = work / "tiny"
    if not (sample / "lfff00000000c").exists():
        write_sample(sample, dataclasses.replace(PRESETS["small"], grid=IconGrid(ncells=64)), members=[0],
                     lead_times=[1])
    inputs = [str(sample / "000" / "lfff00010000"), str(sample / "lfff00000000c")]
    warm = work / "cache-warm"  # of this snapshot only
    env = {**os.environ, "NUMBA_CACHE_DIR": str(warm)}
    product = "BRN"
    catalogue = sorted(registry)
    one = job_script(f"run_product_job({product!r}, {inputs!r}, {str(work / 'o' / 'BRN.nc')!r}, threads=2)")
    bundle = job_script(f"run_bundle_job({catalogue!r}, {inputs!r}, "
                        f"{{p: {str(work / 'ob')!r} + '/' + p + '.nc' for p in {catalogue!r}}}, threads=2)", "bundle")
    # cold: a fresh cache each time (compiles); then warm the cache once for the rest
    cold_one = [wall(one, {**os.environ, "NUMBA_CACHE_DIR": str(work / f"cache-cold-{i}")}) for i in range(2)]
    cold_bundle = wall(bundle, {**os.environ, "NUMBA_CACHE_DIR": str(work / "cache-cold-bundle")})
    wall(bundle, env)
    result = {"load_before": load()}
    result["python_bare_s"], _ = median_wall([PYTHON, "-c", "pass"], repeat)
    result["imports_s"], _ = median_wall(
        [PYTHON, "-c", "from nwpflow.jobs.compute import run_product_job"], repeat, env)
    result["imports_bundle_s"], _ = median_wall(
        [PYTHON, "-c", "from nwpflow.jobs.bundle import run_bundle_job"], repeat, env)
    result["job_warm_s"], result["job_warm_all_s"] = median_wall(one, repeat, env)
    result["bundle_warm_s"], result["bundle_warm_all_s"] = median_wall(bundle, repeat, env)
    result["job_cold_s"] = statistics.median(cold_one)
    result["bundle_cold_s"] = cold_bundle
    result["catalogue"] = catalogue
    result["load_after"] = load()
    return result


BREAKDOWN = r"""
import json, sys, time
t0 = time.perf_counter()
from nwpflow.jobs.compute import run_product_job
from nwpflow.jobs.frame import end_job_process, skip_xarray_dask_probe
t1 = time.perf_counter()
skip_xarray_dask_probe()  # as every job does
from nwpflow.io import open_run, write_netcdf
from nwpflow.products import compute, fields_needed
dataset = open_run(sys.argv[1:3], fields_needed([sys.argv[3]]), threads=2)
t2 = time.perf_counter()
result = compute(sys.argv[3], dataset)
t3 = time.perf_counter()
result = compute(sys.argv[3], dataset)
t4 = time.perf_counter()
write_netcdf(result, sys.argv[4])
t5 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "read_tiny_s": t2 - t1,
                  "first_compute_s (kernel load from the cache)": t3 - t2, "second_compute_s": t4 - t3,
                  "write_tiny_s": t5 - t4, "in_process_s": t5 - t0}))
end_job_process()
"""


def bench_breakdown(work: Path, repeat: int) -> dict:
    """Where the fixed cost of a warm job goes, measured inside fresh processes (medians)."""
    sample = work / "tiny"
    inputs = [str(sample / "000" / "lfff00010000"), str(sample / "lfff00000000c")]
    env = {**os.environ, "NUMBA_CACHE_DIR": str(work / "cache-warm")}
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run([PYTHON, "-c", BREAKDOWN, *inputs, "BRN", str(work / "o" / "BRN-breakdown.nc")],
                              env=env, capture_output=True, text=True)
        total = time.perf_counter() - start
        if proc.returncode:
            raise RuntimeError(proc.stderr[-3000:])
        steps = json.loads(proc.stdout.strip().splitlines()[-1])
        compute = steps["first_compute_s (kernel load from the cache)"] - steps["second_compute_s"]
        runs.append({**steps, "process_total_s": total,
                     # start and end of the process: interpreter start-up and exit
                     "process_start_and_exit_s": total - steps["in_process_s"],
                     # what the issue calls the fixed overhead: process start + imports + cache load
                     "fixed_overhead_s": total - steps["in_process_s"] + steps["imports_s"] + compute})
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]} | {"load": load()}


# -------------------------------------------------------------------------------------------- bundle


def bench_bundle(work: Path, repeat: int, threads: int, preset="icon-ch2") -> dict:
    import numpy as np
    import xarray as xr

    from nwpflow.io.sample import write_sample
    from nwpflow.products import registry

    from nwpflow.io.sample import PRESETS

    preset = PRESETS[preset] if isinstance(preset, str) else preset
    sample = work / preset.name
    if not (sample / "000" / "lfff00010000").exists():
        start = time.perf_counter()
        write_sample(sample, preset, members=[0], lead_times=[1])
        print(f"  wrote the {preset.name} sample in {time.perf_counter() - start:.0f} s", flush=True)
    inputs = [str(sample / "000" / "lfff00010000"), str(sample / "lfff00000000c")]
    products = registered(MEMORY_BOUND)
    if len(products) < 10:
        raise SystemExit(f"only {len(products)} memory-bound products are registered: {products}")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(work / "cache-warm")}
    outputs = {p: str(work / "bundle" / f"{p}.nc") for p in products}
    bundle = job_script(f"run_bundle_job({products!r}, {inputs!r}, {outputs!r}, threads={threads})", "bundle")
    wall(bundle, env)  # loads (or compiles) every kernel into the cache

    def separate() -> float:
        total = 0.0
        for product in products:
            required = [str(work / "single" / f"{r}.nc") for r in registry[product].requires]
            call = (f"run_product_job({product!r}, {inputs + required!r}, {str(work / 'single' / (product + '.nc'))!r}, "
                    f"threads={threads})")
            total += wall(job_script(call), env)
        return total

    result = {"products": products, "threads": threads, "cells": preset.grid.ncells, "levels": preset.nlev, "load_before": load()}
    separate_times, bundle_times = [], []
    for _ in range(repeat):  # alternate, so that both see the same load
        separate_times.append(separate())
        bundle_times.append(wall(bundle, env))
    result["separate_s"] = statistics.median(separate_times)
    result["bundle_s"] = statistics.median(bundle_times)
    result["separate_all_s"], result["bundle_all_s"] = separate_times, bundle_times
    result["speedup"] = result["separate_s"] / result["bundle_s"]
    result["load_after"] = load()
    identical = []
    for product in products:
        with xr.open_dataset(work / "single" / f"{product}.nc") as a, xr.open_dataset(outputs[product]) as b:
            identical.append(bool(np.array_equal(a[product].values, b[product].values, equal_nan=True)))
    result["bit_identical"] = all(identical)
    log = (work / "bundle.log")
    proc = subprocess.run(bundle, env=env, capture_output=True, text=True)
    log.write_text(proc.stderr)
    plan = re.search(r"numba threading layer (\w+), (\d+) dask workers x (\d+) numba threads", proc.stderr)
    result["plan"] = plan.group(0) if plan else None
    return result


# ----------------------------------------------------------------------------------------------- dag


def bench_dag(work: Path, repeat: int, members=range(11), leads=range(34)) -> dict:
    run = work / "ch1eps"
    (run / "input").mkdir(parents=True, exist_ok=True)
    (run / "input" / "lfff00000000c").write_bytes(b"GRIB")
    for m in members:
        (run / "input" / f"{m:03d}").mkdir(exist_ok=True)
        for t in leads:
            (run / "input" / f"{m:03d}" / f"lfff{t // 24:02d}{t % 24:02d}0000").write_bytes(b"GRIB")
    base = [PYTHON, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--configfile",
            str(ROOT / "config" / "config.yaml"), "--directory", str(run), "-n", "--quiet", "rules", "--config",
            f"members=[{','.join(map(str, members))}]", f"lead_times=[{','.join(map(str, leads))}]",
            "sample={activate: false}", "run={name: ch1eps, input_dir: input}", "domain={cells: 1147980, levels: 80}"]
    result = {"members": len(members), "lead_times": len(leads), "load_before": load()}
    for label, extra in (("bundled", []), ("per_product", ["bundles={catalogue: none}"])):
        cmd = base + extra
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(proc.stderr[-3000:])
        jobs = int(re.search(r"^total\s+(\d+)$", proc.stdout + proc.stderr, re.M).group(1))
        median, times = median_wall(cmd, repeat)
        result[label] = {"jobs": jobs, "wall_s": median, "all_s": times}
    result["load_after"] = load()
    return result


# ---------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="overhead,breakdown,bundle,dag")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--python", type=Path, default=None,
                        help="interpreter of the jobs (default: this one), e.g. an environment with only the "
                             "runtime dependencies, as envs/nwpflow.yaml makes, without the test extras")
    args = parser.parse_args()
    if args.python:
        global PYTHON
        PYTHON = str(args.python)
    work = args.work or Path(tempfile.mkdtemp(prefix="nwpflow-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    snapshot(work)  # before anything imports nwpflow
    import numba

    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numba": numba.__version__,
                           "platform": platform.platform(), "job_interpreter": PYTHON}}
    for part in args.parts.split(","):
        print(f"{part} ...", flush=True)
        if part == "overhead":
            results[part] = bench_overhead(work, args.repeat)
        elif part == "breakdown":  # after overhead (its tiny sample and warm cache)
            results[part] = bench_breakdown(work, args.repeat)
        elif part == "bundle":
            results[part] = bench_bundle(work, max(1, args.repeat // 2), args.threads)
        elif part == "dag":
            results[part] = bench_dag(work, max(1, args.repeat // 2))
        print(json.dumps(results[part], indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
