"""Part 5: end to end, one lead time read -> products -> written, each way in a fresh process as a job runs.

The run is a COSMO-like rotated grid of ICON-CH1's size (1140 x 1007 = 1,147,980 mass points, 80 levels,
C-grid staggered U and V; ``nwpflow sample``), because meteodata-lab's ``fbrn`` destaggers its winds and
needs a regular grid (on ICON's unstructured grid it stops with ``KeyError: 'origin_x'``).

* nwpflow: the bundle job (``run_bundle_job``) of the products meteodata-lab has (BRN, THETA, THETA_V,
  RELHUM, HZEROCL, T_PL), and of the whole catalogue; NetCDF out; every core.
* the meteodata-lab way: its GRIB reader (``grib_decoder.load`` + ``set_origin_xy``), its operators
  (``fbrn``, ``compute_theta``, ``fthetav``, ``relhum``, ``fhzerocl``, ``interpolate_k2p``) and
  ``to_netcdf`` of each result (its attributes that NetCDF can hold).
* the sum of nwpflow's parts, measured in this process: decoding at ecCodes' own one-thread rate spread over
  the cores, the products' kernels on the decoded fields, the NetCDF writes; the job's wall time minus
  that sum is what the job adds (process start, imports, header scan, graph).
* per-job overhead (a warm job on a 64-cell input), bundle vs separate jobs, and ``snakemake -n`` for an
  operational ICON-CH1-EPS day: ``benchmarks/bench_pipeline.py``'s measurements, run from here.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from benchmarks import bench_pipeline
from benchmarks.bench_foundation import bench_eccodes
from benchmarks.study.common import cores, load, log, median_time, part_arguments, timed, write_record

SHARED = ["BRN", "THETA", "THETA_V", "RELHUM", "HZEROCL", "T_PL"]
"""Products both nwpflow and meteodata-lab compute."""

METEODATA_LAB_JOB = r"""
import os, sys
from nwpflow.io.eccodes_env import DEFINITION_PATH
os.environ["ECCODES_DEFINITION_PATH"] = DEFINITION_PATH
from meteodatalab import data_source, grib_decoder, metadata
from benchmarks.study.meteodata_lab_ops import operators

files, out = sys.argv[1:3], sys.argv[3]
fields = grib_decoder.load(data_source.FileDataSource(datafiles=files),
                           {"param": ["P", "T", "QV", "U", "V", "HHL", "HSURF"]})
metadata.set_origin_xy(fields, ref_param="T")
f = {k: v.squeeze([d for d in ("eps", "ref_time", "lead_time") if d in v.dims]) for k, v in fields.items()}
for name, function in operators(f).items():
    result = function()
    result.attrs = {k: v for k, v in result.attrs.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
    result.rename(name).to_netcdf(os.path.join(out, name + ".nc"))
os._exit(0)
"""


def preset(quick: bool):
    """The run: ICON-CH1's number of points on COSMO-1E's rotated grid layout (``quick``: 60 x 50)."""
    from nwpflow.io.sample import PRESETS

    base = PRESETS["cosmo-small"]
    nx, ny = (60, 50) if quick else (1140, 1007)
    return dataclasses.replace(base, name=f"cosmo-{nx}x{ny}", grid=dataclasses.replace(base.grid, nx=nx, ny=ny,
                                                                                        dlon=0.01, dlat=0.01))


def write_run(work: Path, quick: bool) -> list[str]:
    from nwpflow.io.sample import write_sample

    run = preset(quick)
    directory = work / run.name
    marker = directory / ".complete"
    if not marker.exists():
        start = time.perf_counter()
        write_sample(directory, run, members=[0], lead_times=[1])
        marker.touch()
        log(f"wrote the {run.name} sample in {time.perf_counter() - start:.0f} s")
    return [str(directory / "000" / "lfff00010000"), str(directory / "lfff00000000c")]


def bundle_command(products: list[str], inputs: list[str], out: Path, threads: int) -> list[str]:
    outputs = {p: str(out / f"{p}.nc") for p in products}
    return bench_pipeline.job_script(f"run_bundle_job({products!r}, {inputs!r}, {outputs!r}, threads={threads})",
                                     "bundle")


def sum_of_parts(inputs: list[str], products: list[str], work: Path, repeat: int) -> dict:
    """Decode (ecCodes' one-thread rate over every core), kernels, writes: measured here, in one process."""
    import numba

    import nwpflow
    from nwpflow.io import open_run, write_netcdf
    from nwpflow.products import fields_needed

    decode_s, values = bench_eccodes([Path(p) for p in inputs], 1)
    ds = open_run(inputs, fields_needed(products), threads=cores())
    needed = sum(ds[v].size for v in ds.data_vars)
    numba.set_num_threads(cores())
    results = {p: nwpflow.compute(p, ds) for p in products}
    kernels = {p: median_time(lambda p=p: nwpflow.compute(p, ds), repeat) for p in products}
    out = work / "parts"
    out.mkdir(exist_ok=True)
    writes = {p: timed(lambda p=p: write_netcdf(results[p], out / f"{p}.nc")) for p in products}
    written = sum((out / f"{p}.nc").stat().st_size for p in products)
    decode_rate = values / decode_s
    return {"decode_values_per_s_1thread": decode_rate, "values_needed": int(needed),
            "decode_s": needed / decode_rate / cores(), "kernels_s": sum(kernels.values()), "kernel_s": kernels,
            "write_s": sum(writes.values()), "write_MBps": written / sum(writes.values()) / 1e6,
            "sum_s": needed / decode_rate / cores() + sum(kernels.values()) + sum(writes.values())}


def main() -> None:
    from nwpflow.products import registry

    args = part_arguments(__doc__, work=True)
    started, before = time.perf_counter(), load()
    work = args.work / "end_to_end"
    work.mkdir(parents=True, exist_ok=True)
    repeat = 1 if args.quick else 2
    threads = cores()
    inputs = write_run(work, args.quick)
    results: dict = {"run": preset(args.quick).name, "points": preset(args.quick).grid.nx * preset(args.quick).grid.ny,
                     "threads": threads, "shared_products": SHARED}

    catalogue = sorted(registry)
    jobs = {"nwpflow_shared": bundle_command(SHARED, inputs, work / "nwpflow-shared", threads),
            "nwpflow_catalogue": bundle_command(catalogue, inputs, work / "nwpflow-catalogue", threads),
            "meteodata_lab": [sys.executable, "-c", METEODATA_LAB_JOB, *inputs, str(work / "meteodata-lab")]}
    (work / "meteodata-lab").mkdir(exist_ok=True)
    for name, command in jobs.items():
        if not args.quick:
            bench_pipeline.wall(command)  # warm: numba's cache, the OS's file cache
        seconds, all_s = bench_pipeline.median_wall(command, repeat)
        results[name] = {"s": seconds, "all_s": all_s, "load": load()}
        log(f"{name}: {seconds:.2f} s")
    results["ratio_shared"] = results["meteodata_lab"]["s"] / results["nwpflow_shared"]["s"]
    results["catalogue_products"] = len(catalogue)
    results["parts"] = sum_of_parts(inputs, SHARED, work, repeat)
    results["parts"]["job_minus_parts_s"] = results["nwpflow_shared"]["s"] - results["parts"]["sum_s"]

    tiny = work / "pipeline"
    tiny.mkdir(exist_ok=True)
    results["overhead"] = overhead(tiny, repeat if args.quick else repeat + 1)
    log(f"per-job overhead {results['overhead']}")
    if args.quick:  # 16 separate jobs take a minute even on a tiny grid: not in the smoke version
        results["bundle_vs_separate"] = None
    else:
        results["bundle_vs_separate"] = bench_pipeline.bench_bundle(tiny, repeat, threads, "icon-ch2")
        log(f"bundle vs separate: {results['bundle_vs_separate']['speedup']:.1f}x")
    day = (range(1), range(2)) if args.quick else (range(11), range(34))
    results["dag"] = bench_pipeline.bench_dag(tiny, repeat, *day)
    log(f"snakemake -n: {results['dag']}")
    write_record(args.json, "end_to_end", results, started, before)


def overhead(work: Path, repeat: int) -> dict:
    """A warm job on a 64-cell input, one product and the whole catalogue, as fresh processes (from the parent)."""
    from nwpflow.io.sample import PRESETS, IconGrid, write_sample
    from nwpflow.products import registry

    sample = work / "tiny"
    if not (sample / "lfff00000000c").exists():
        write_sample(sample, dataclasses.replace(PRESETS["small"], grid=IconGrid(ncells=64)), members=[0],
                     lead_times=[1])
    inputs = [str(sample / "000" / "lfff00010000"), str(sample / "lfff00000000c")]
    catalogue = sorted(registry)
    one = bench_pipeline.job_script(f"run_product_job('BRN', {inputs!r}, {str(work / 'o' / 'BRN.nc')!r}, threads=2)")
    bundle = bundle_command(catalogue, inputs, work / "ob", 2)
    bench_pipeline.wall(bundle)
    return {"python_bare_s": bench_pipeline.median_wall([sys.executable, "-c", "pass"], repeat)[0],
            "job_BRN_s": bench_pipeline.median_wall(one, repeat)[0],
            "job_catalogue_s": bench_pipeline.median_wall(bundle, repeat)[0], "load": load()}


if __name__ == "__main__":
    main()
