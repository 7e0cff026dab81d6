"""Foundation benchmarks, side by side in one process (issue 2).

1. STREAM triad ``a = b + s c`` (numba, all threads): the machine's attainable memory bandwidth.
2. BRN on the ICON-CH1 domain size (1,147,980 columns x 80 levels, float32): nwpflow's kernel, the
   nwpflow product (including the destaggering of C-grid winds) and meteodata-lab's ``fbrn`` on the same
   arrays; times, ratio, and the kernel's effective bandwidth as a fraction of the triad.
3. The reader: decoding every field of one ICON-CH1-size lead time (sample run, 16-bit simple packing
   and CCSDS) with ``nwpflow.open_run``, against ecCodes' own decode of the same messages (one thread)
   and against ``xarray.open_dataset(engine="cfgrib")`` + load.

Medians of repeated runs; the machine is shared and noisy, so ratios measured in the same run are what
count. Run::

    .venv/bin/python benchmarks/bench_foundation.py [--columns 1147980] [--work DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
from numba import prange

ICON_CH1_COLUMNS = 1_147_980
LEVELS = 80


def median_time(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ------------------------------------------------------------------------------------------- triad


@numba.njit(parallel=True, error_model="numpy")
def _triad(a, b, c, scalar):
    for i in prange(a.size):
        a[i] = b[i] + scalar * c[i]


def stream_triad(n: int, repeat: int) -> float:
    """STREAM triad bandwidth [bytes/s], counted as STREAM does: 3 x 8 bytes per element."""
    a, b, c = np.zeros(n), np.full(n, 1.0), np.full(n, 2.0)
    _triad(a, b, c, 3.0)
    return 24.0 * n / median_time(lambda: _triad(a, b, c, 3.0), repeat)


# --------------------------------------------------------------------------------------------- BRN


def synthetic_columns(ncol: int, nlev: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Plausible float32 columns (standard atmosphere, moist boundary layer, jet) for the kernels."""
    rng = np.random.default_rng(seed)
    hsurf = rng.uniform(200.0, 3000.0, ncol).astype(np.float32)
    eta = np.linspace(0.0, 1.0, nlev + 1) ** 1.8
    hhl = (22000.0 * (1 - eta)[:, None] + hsurf[None, :] * eta[:, None]).astype(np.float32)
    hhl[-1] = hsurf
    hfl = 0.5 * (hhl[:-1].astype(np.float64) + hhl[1:])
    t = np.maximum(288.15 - 0.0065 * hfl, 216.65) + rng.normal(0, 0.5, (nlev, ncol))
    p = 101325.0 * np.exp(-hfl / 8000.0) * (1 + rng.normal(0, 1e-3, (nlev, ncol)))
    qv = 0.012 * np.exp(-hfl / 2500.0) * rng.uniform(0.5, 1.0, (nlev, ncol))
    jet = 45.0 * np.exp(-(((hfl - 10000.0) / 3000.0) ** 2))
    u = jet + rng.normal(0, 3, (nlev, ncol))
    v = rng.normal(0, 3, (nlev, ncol))
    as32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return {"P": as32(p), "T": as32(t), "QV": as32(qv), "U": as32(u), "V": as32(v), "HHL": hhl, "HSURF": hsurf}


def brn_bytes(ncol: int, nlev: int) -> int:
    """Bytes the BRN kernel must move: reads P, T, QV, U, V, HHL, HSURF and writes BRN (float32)."""
    return 4 * ncol * (5 * nlev + (nlev + 1) + 1 + nlev)


def bench_brn_kernel(columns: dict[str, np.ndarray], repeat: int, triad_n: int) -> tuple[float, float]:
    """Median kernel time and the median of the kernel's bandwidth over a triad run right before it.

    The machine is shared: its bandwidth changes from second to second, so each kernel run is paired
    with a triad run and the fraction is taken per pair.
    """
    from nwpflow import constants
    from nwpflow.kernels.brn import bulk_richardson_number

    out = np.empty_like(columns["T"])
    args = [columns[k] for k in ("P", "T", "QV", "U", "V", "HHL", "HSURF")]
    kwargs = dict(kappa=constants.kappa, rv_rd_minus_1=constants.rv_rd_minus_1, g=constants.g, p0=constants.p0)
    bulk_richardson_number(*args, out, **kwargs)
    a, b, c = np.zeros(triad_n), np.full(triad_n, 1.0), np.full(triad_n, 2.0)
    nlev, ncol = columns["T"].shape
    times, fractions = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        _triad(a, b, c, 3.0)
        triad = 24.0 * triad_n / (time.perf_counter() - start)
        start = time.perf_counter()
        bulk_richardson_number(*args, out, **kwargs)
        times.append(time.perf_counter() - start)
        fractions.append(brn_bytes(ncol, nlev) / times[-1] / triad)
    return statistics.median(times), statistics.median(fractions)


def _grid_shape(ncol: int) -> tuple[int, int]:
    """A regular (ny, nx) grid with exactly ``ncol`` points, as square as possible."""
    ny = int(np.sqrt(ncol))
    while ncol % ny:
        ny -= 1
    return ny, ncol // ny


def _meteodata_lab_template(ny: int, nx: int, work: Path) -> dict:
    """meteodata-lab DataArray attributes and coordinates for a (ny, nx) regular grid: written as real
    GRIB with ecCodes (one level of T, U, V, HHL; U and V staggered as COSMO writes them) and read back
    with meteodata-lab's own decoder, so that ``fbrn`` sees fields exactly as it does operationally."""
    from meteodatalab import data_source, grib_decoder, metadata

    from nwpflow.io.eccodes_env import DEFINITION_PATH, eccodes

    os.environ["ECCODES_DEFINITION_PATH"] = DEFINITION_PATH
    path = work / "meteodata_lab_template.grib2"
    dx = 0.01
    with open(path, "wb") as f:
        for name, level_type, shift in (("T", "generalVerticalLayer", (0, 0)), ("U", "generalVerticalLayer", (0.5, 0)),
                                        ("V", "generalVerticalLayer", (0, 0.5)), ("HHL", "generalVertical", (0, 0))):
            handle = eccodes.codes_grib_new_from_samples("GRIB2")
            eccodes.codes_set(handle, "centre", "lssw")
            eccodes.codes_set(handle, "gridType", "regular_ll")
            eccodes.codes_set(handle, "Ni", nx)
            eccodes.codes_set(handle, "Nj", ny)
            eccodes.codes_set(handle, "jScansPositively", 1)
            lon0, lat0 = 1.0 + shift[0] * dx, 40.0 + shift[1] * dx
            eccodes.codes_set(handle, "longitudeOfFirstGridPointInDegrees", lon0)
            eccodes.codes_set(handle, "latitudeOfFirstGridPointInDegrees", lat0)
            eccodes.codes_set(handle, "longitudeOfLastGridPointInDegrees", lon0 + (nx - 1) * dx)
            eccodes.codes_set(handle, "latitudeOfLastGridPointInDegrees", lat0 + (ny - 1) * dx)
            eccodes.codes_set(handle, "iDirectionIncrementInDegrees", dx)
            eccodes.codes_set(handle, "jDirectionIncrementInDegrees", dx)
            eccodes.codes_set(handle, "typeOfLevel", level_type)
            eccodes.codes_set(handle, "level", 1)
            eccodes.codes_set(handle, "shortName", name)
            eccodes.codes_set_values(handle, np.zeros(nx * ny))
            eccodes.codes_write(handle, f)
            eccodes.codes_release(handle)
    source = data_source.FileDataSource(datafiles=[str(path)])
    fields = grib_decoder.load(source, {"param": ["T", "U", "V", "HHL"]})
    metadata.set_origin_xy(fields, ref_param="T")
    return fields


def bench_brn_meteodata_lab(columns: dict[str, np.ndarray], work: Path, repeat: int) -> tuple[float, np.ndarray]:
    import xarray as xr
    from meteodatalab.operators.brn import fbrn

    nlev, ncol = columns["T"].shape
    ny, nx = _grid_shape(ncol)
    template = _meteodata_lab_template(ny, nx, work)

    def field(name, like, nz):
        data = columns[name].reshape(nz, ny, nx)
        ref = template[like].squeeze([d for d in ("ref_time", "lead_time", "eps") if d in template[like].dims])
        return xr.DataArray(data, dims=("z", "y", "x"), coords={"z": np.arange(1, nz + 1), **{
            k: v for k, v in ref.coords.items() if set(v.dims) <= {"y", "x"}}}, attrs=ref.attrs)

    p, t, qv = field("P", "T", nlev), field("T", "T", nlev), field("QV", "T", nlev)
    u, v, hhl = field("U", "U", nlev), field("V", "V", nlev), field("HHL", "HHL", nlev + 1)
    hsurf = xr.DataArray(columns["HSURF"].reshape(ny, nx), dims=("y", "x"))
    result = fbrn(p, t, qv, u, v, hhl, hsurf)
    elapsed = median_time(lambda: fbrn(p, t, qv, u, v, hhl, hsurf).values, repeat)
    return elapsed, np.asarray(result.values).reshape(nlev, ncol)


def bench_brn_product_staggered(columns: dict[str, np.ndarray], repeat: int) -> float:
    """nwpflow.compute("BRN") on the same arrays with U, V marked as C-grid staggered (destagger + kernel)."""
    import xarray as xr

    import nwpflow

    nlev, ncol = columns["T"].shape
    ny, nx = _grid_shape(ncol)
    data = {name: (("level", "y", "x"), columns[name].reshape(nlev, ny, nx)) for name in ("P", "T", "QV", "U", "V")}
    data["HHL"] = (("half_level", "y", "x"), columns["HHL"].reshape(nlev + 1, ny, nx))
    data["HSURF"] = (("y", "x"), columns["HSURF"].reshape(ny, nx))
    ds = xr.Dataset(data)
    ds["U"].attrs["staggering"] = "x"
    ds["V"].attrs["staggering"] = "y"
    nwpflow.compute("BRN", ds)
    return median_time(lambda: nwpflow.compute("BRN", ds), repeat)


# ------------------------------------------------------------------------------------------ reader


def write_sample(work: Path, preset: str, packing: str) -> list[Path]:
    from nwpflow.io.sample import write_sample as write

    directory = work / f"{preset}-{packing}"
    marker = directory / ".complete"
    if not marker.exists():
        write(directory, preset, members=[0], lead_times=[1], packing=packing)
        marker.touch()
    return [directory / "lfff00000000c", directory / "000" / "lfff00010000"]


def bench_eccodes(files: list[Path], repeat: int) -> tuple[float, int]:
    """ecCodes' own decode of every message (float32 values), one thread; handles are made beforehand."""
    from nwpflow.io.eccodes_env import eccodes

    handles = []
    for path in files:
        with open(path, "rb") as f:
            while (handle := eccodes.codes_grib_new_from_file(f)) is not None:
                handles.append(handle)
    values = sum(eccodes.codes_get_size(h, "values") for h in handles)

    def decode():
        for handle in handles:
            eccodes.codes_get_float_array(handle, "values")

    elapsed = median_time(decode, repeat)
    for handle in handles:
        eccodes.codes_release(handle)
    return elapsed, values


def bench_nwpflow_reader(files: list[Path], repeat: int, threads: int) -> tuple[float, int]:
    import nwpflow

    ds = nwpflow.open_run(files, threads=threads)
    values = int(sum(v.size for v in ds.data_vars.values()) + ds["latitude"].size + ds["longitude"].size)
    return median_time(lambda: nwpflow.open_run(files, threads=threads), repeat), values


def bench_cfgrib(files: list[Path], repeat: int) -> float:
    import cfgrib

    def load():
        for path in files:
            for dataset in cfgrib.open_datasets(str(path), backend_kwargs={"indexpath": ""}):
                dataset.load()

    return median_time(load, repeat)


# -------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--columns", type=int, default=ICON_CH1_COLUMNS, help="domain size for BRN")
    parser.add_argument("--preset", default="icon-ch1", help="sample preset for the reader benchmark")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None, help="folder for the sample GRIB files (kept)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here as JSON")
    parser.add_argument("--skip-reader", action="store_true")
    parser.add_argument("--skip-meteodata-lab", action="store_true")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="nwpflow-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    threads = numba.get_num_threads()
    results: dict = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                                 "numba_threads": threads}}

    triad = stream_triad(50_000_000, max(args.repeat, 10))
    results["triad_GBps"] = triad / 1e9
    print(f"STREAM triad ({threads} threads): {triad / 1e9:.1f} GB/s")

    columns = synthetic_columns(args.columns, LEVELS)
    kernel, fraction = bench_brn_kernel(columns, max(args.repeat, 9), 50_000_000)
    bandwidth = brn_bytes(args.columns, LEVELS) / kernel
    results["brn"] = {"columns": args.columns, "levels": LEVELS, "kernel_s": kernel,
                      "kernel_GBps": bandwidth / 1e9, "fraction_of_triad_paired": fraction}
    print(f"BRN kernel, {args.columns} x {LEVELS}: {kernel:.3f} s, {bandwidth / 1e9:.1f} GB/s; "
          f"median over pairs (triad, kernel) {fraction:.0%} of the triad")
    product = bench_brn_product_staggered(columns, args.repeat)
    results["brn"]["product_staggered_s"] = product
    print(f"BRN product with destaggering: {product:.3f} s")
    if not args.skip_meteodata_lab:
        mdl, mdl_result = bench_brn_meteodata_lab(columns, work, max(1, args.repeat // 2))
        results["brn"].update(meteodata_lab_s=mdl, ratio_kernel=mdl / kernel, ratio_product=mdl / product)
        print(f"meteodata-lab fbrn (staggered winds): {mdl:.3f} s -> nwpflow kernel {mdl / kernel:.1f}x, "
              f"product {mdl / product:.1f}x faster")
        del mdl_result

    if not args.skip_reader:
        results["reader"] = {}
        for packing in ("grid_simple", "grid_ccsds"):
            files = write_sample(work, args.preset, packing)
            eccodes_s, values = bench_eccodes(files, args.repeat)
            ours_s, ours_values = bench_nwpflow_reader(files, args.repeat, threads)
            cfgrib_s = bench_cfgrib(files, max(1, args.repeat // 2))
            eccodes_rate = values / eccodes_s
            ours_rate = values / ours_s
            entry = {"messages_values": values, "eccodes_1thread_Mvalues_per_s": eccodes_rate / 1e6,
                     "nwpflow_s": ours_s, "nwpflow_Mvalues_per_s": ours_rate / 1e6,
                     "nwpflow_per_core_vs_eccodes": ours_rate / threads / eccodes_rate,
                     "cfgrib_s": cfgrib_s, "nwpflow_vs_cfgrib": cfgrib_s / ours_s,
                     "bytes": sum(p.stat().st_size for p in files)}
            results["reader"][packing] = entry
            print(f"reader {packing}: {values / 1e6:.0f} M values; ecCodes 1 thread {eccodes_rate / 1e6:.0f} M/s; "
                  f"nwpflow {ours_s:.2f} s = {ours_rate / 1e6:.0f} M/s ({threads} threads, "
                  f"{entry['nwpflow_per_core_vs_eccodes']:.2f} of ecCodes per core); cfgrib {cfgrib_s:.2f} s "
                  f"= {entry['nwpflow_vs_cfgrib']:.1f}x slower")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
