"""Bytes of the product files and the cost of the inputs' checksums (issue 10; results in docs/benchmarks.md).

1. **Bytes per product**: every product of one member and lead time of the embedded sample ("small" preset:
   5000 cells x 80 levels), written by this checkout (compressed NetCDF, the grid in ``grid.nc``) and, with
   ``--before-src``, by another checkout's ``src`` (e.g. the commit before issue 10: uncompressed,
   contiguous, coordinates in every file), in a subprocess. Prints bytes per product and the totals.
2. **Checksum cost per job**: the XXH3-128 digests of one job's input files (what every provenance record
   holds, :class:`nwpflow.provenance.JobProvenance`) against the job itself (THETA, one product job's
   compute and write, :func:`nwpflow.jobs.compute.compute_products`), ``--repeat`` times each, medians;
   and the digest's throughput on a file of ``--big-mb`` MB (page cache warm), to scale it to ICON-CH1 inputs.
   With ``--real FILE`` (a real model-level GRIB file, e.g. the shared data's IFS L137 file), THETA of it
   too, before and after: the sample's synthetic fields carry noise, real ones compress better.
3. **Compression settings**: one 3-D product (THETA, 80 levels) written with zlib levels 1, 4, 6 and 9, with
   and without the shuffle filter: bytes and write time (medians of ``--repeat``).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_outputs.py [--before-src OLD/src]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRITE = """
import json, sys
from nwpflow.jobs.compute import compute_products
from nwpflow.products.registry import registry
inputs, out = json.loads(sys.argv[1]), sys.argv[2]
extra = json.loads(sys.argv[3])
products = json.loads(sys.argv[4]) or sorted(registry)
paths = compute_products(products, inputs, output_dir=out, threads=1, **extra)
print(json.dumps({name: str(path) for name, path in paths.items()}))
"""


def write_all(src: Path, inputs: list[str], out: Path, extra: dict, products: list[str] = ()) -> dict[str, int]:
    """{product: bytes} of ``products`` (default: every product) written by the package in ``src`` (a fresh
    process)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run([sys.executable, "-c", WRITE, json.dumps(inputs), str(out), json.dumps(extra),
                           json.dumps(list(products))], env=env,
                          capture_output=True, text=True, check=True)
    paths = json.loads(proc.stdout.strip().splitlines()[-1])
    return {name: Path(path).stat().st_size for name, path in paths.items()}


def bytes_per_product(sample: Path, before_src: Path | None, work: Path) -> None:
    from nwpflow.jobs.grid import write_run_grid

    inputs = [str(sample / "000" / "lfff00010000"), str(sample / "lfff00000000c")]
    grid = write_run_grid(inputs, work / "grid.nc")
    after = write_all(Path(__file__).resolve().parents[1] / "src", inputs, work / "after", {"grid": str(grid)})
    before = write_all(before_src, inputs, work / "before", {}) if before_src else {}
    print(f"grid.nc: {grid.stat().st_size} bytes (written once per run)")
    print(f"{'product':<12} {'before':>10} {'after':>10} {'ratio':>6}")
    for name in sorted(after):
        old = before.get(name)
        ratio = f"{after[name] / old:.3f}" if old else ""
        print(f"{name:<12} {old if old else '':>10} {after[name]:>10} {ratio:>6}")
    total_before, total_after = sum(before.values()), sum(after.values())
    print(f"{'total':<12} {total_before or '':>10} {total_after:>10} "
          f"{(total_after / total_before) if total_before else float('nan'):>6.3f}")


def checksum_cost(sample: Path, work: Path, repeat: int, big_mb: int) -> None:
    from nwpflow.identity import file_digest
    from nwpflow.jobs.compute import compute_products
    from nwpflow.provenance import JobProvenance

    inputs = [str(sample / "000" / "lfff00010000"), str(sample / "lfff00000000c")]
    size = sum(os.path.getsize(p) for p in inputs)
    compute_products(["THETA"], inputs, output_dir=work / "warm", threads=1)  # kernels loaded, files cached
    digests, jobs = [], []
    for i in range(repeat):
        start = time.perf_counter()
        JobProvenance.start(inputs, 1).digests.result()
        digests.append(time.perf_counter() - start)
        start = time.perf_counter()
        compute_products(["THETA"], inputs, output_dir=work / f"job{i}", threads=1)
        jobs.append(time.perf_counter() - start)
    d, j = statistics.median(digests), statistics.median(jobs)
    print(f"inputs of one job: {size / 1e6:.1f} MB; digests {d * 1e3:.1f} ms, THETA job (compute + write, its own "
          f"digests included) {j * 1e3:.0f} ms: {100 * d / j:.1f} % (medians of {repeat})")
    big = work / "big.bin"
    with open(big, "wb") as f:
        f.write(os.urandom(big_mb * 2**20))
    file_digest(big)  # page cache warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        file_digest(big)
        times.append(time.perf_counter() - start)
    print(f"XXH3-128 of a {big_mb} MB file: {big_mb * 2**20 / statistics.median(times) / 1e9:.2f} GB/s (median of {repeat})")


def compression_settings(sample: Path, work: Path, repeat: int) -> None:
    import netCDF4
    import numpy as np

    from nwpflow.jobs.compute import compute_products

    inputs = [str(sample / "000" / "lfff00010000"), str(sample / "lfff00000000c")]
    path = compute_products(["THETA"], inputs, output_dir=work / "theta", threads=1)["THETA"]
    with netCDF4.Dataset(path) as ds:
        data = np.asarray(ds["THETA"][...], dtype=np.float32)
    print(f"THETA {data.shape}, {data.nbytes} bytes raw")
    for shuffle in (False, True):
        for level in (1, 4, 6, 9):
            times, size = [], 0
            for i in range(repeat):
                target = work / f"z{level}{shuffle}{i}.nc"
                start = time.perf_counter()
                with netCDF4.Dataset(target, "w") as ds:
                    for n, dim in zip(("a", "b", "c"), data.shape, strict=False):
                        ds.createDimension(n, dim)
                    dims = ("a", "b", "c")[: data.ndim]
                    chunks = [1] * (data.ndim - 1) + [data.shape[-1]]
                    v = ds.createVariable("THETA", "f4", dims, zlib=True, complevel=level, shuffle=shuffle,
                                          chunksizes=chunks)
                    v[...] = data
                times.append(time.perf_counter() - start)
                size = target.stat().st_size
            print(f"zlib {level} shuffle {shuffle!s:<5}: {size:>9} bytes ({size / data.nbytes:.3f} of raw), "
                  f"{statistics.median(times) * 1e3:.0f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-src", type=Path, help="src folder of the checkout to compare with")
    parser.add_argument("--real", type=Path, help="a real model-level GRIB file: THETA of it, before and after")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--big-mb", type=int, default=512)
    args = parser.parse_args(argv)
    from nwpflow.io.sample import write_sample

    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_sample(work / "sample", "small", members=[0], lead_times=[1])
        bytes_per_product(work / "sample", args.before_src, work)
        if args.real:
            here = Path(__file__).resolve().parents[1] / "src"
            after = write_all(here, [str(args.real)], work / "real_after", {}, ["THETA"])["THETA"]
            before = write_all(args.before_src, [str(args.real)], work / "real_before", {}, ["THETA"])["THETA"] \
                if args.before_src else float("nan")
            print(f"THETA of {args.real.name}: before {before} bytes, after {after} bytes ({after / before:.3f})")
        checksum_cost(work / "sample", work, args.repeat, args.big_mb)
        compression_settings(work / "sample", work, args.repeat)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
