"""Product catalogue benchmarks, side by side in one process (issue 3).

On the ICON-CH2 domain size (283,876 columns x 80 levels, float32, synthetic plausible columns):

* every memory-bound product through ``nwpflow.compute`` (time, effective bandwidth = bytes of its
  inputs read + output written, and that bandwidth over a STREAM triad run right before it: the median
  over such pairs, because the shared machine's bandwidth changes from second to second);
* THETA_E against MetPy's ``equivalent_potential_temperature`` on the same arrays (a subset of columns
  for MetPy when ``--metpy-columns`` is smaller than the domain; rates are compared per point);
* CAPE/CIN (mixed layer and most unstable) for the whole domain, and MetPy's ``mixed_layer_cape_cin``
  / ``most_unstable_cape_cin`` on a sample of columns: columns per second and their ratio.

Run: ``.venv/bin/python benchmarks/bench_products.py [--columns 283876] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_foundation import _triad, synthetic_columns  # noqa: E402

ICON_CH2_COLUMNS = 283_876
LEVELS = 80
MEMORY_BOUND = ["THETA", "THETA_V", "RELHUM", "TD", "FF", "DD", "HZEROCL", "T_PL", "BRN"]


def dataset(columns: dict[str, np.ndarray]) -> xr.Dataset:
    nlev, ncol = columns["T"].shape
    data = {name: (("level", "cell"), columns[name]) for name in ("P", "T", "QV", "U", "V")}
    data["HHL"] = (("half_level", "cell"), columns["HHL"])
    data["HSURF"] = (("cell",), columns["HSURF"])
    data["PS"] = (("cell",), (columns["P"][-1] * 1.002).astype(np.float32))
    return xr.Dataset(data, coords={"level": np.arange(1, nlev + 1), "half_level": np.arange(1, nlev + 2)})


def nbytes(ds: xr.Dataset, product: str, result: xr.DataArray) -> int:
    from nwpflow.products import fields_needed

    return sum(ds[name].nbytes for name in fields_needed([product]) if name in ds) + result.nbytes


def paired(function, repeat: int, triad_n: int) -> tuple[float, list[float], list[float]]:
    a, b, c = np.zeros(triad_n), np.full(triad_n, 1.0), np.full(triad_n, 2.0)
    _triad(a, b, c, 3.0)
    times, triads = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        _triad(a, b, c, 3.0)
        triads.append(24.0 * triad_n / (time.perf_counter() - start))
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), triads, times


def main() -> None:
    import nwpflow

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--columns", type=int, default=ICON_CH2_COLUMNS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--metpy-columns", type=int, default=50_000)
    parser.add_argument("--cape-sample", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    ds = dataset(synthetic_columns(args.columns, LEVELS))
    results: dict = {"columns": args.columns, "levels": LEVELS, "products": {}}

    for product in MEMORY_BOUND:
        result = nwpflow.compute(product, ds)  # compile or load from the cache
        median, triads, times = paired(lambda: nwpflow.compute(product, ds), args.repeat, 30_000_000)
        moved = nbytes(ds, product, result)
        fraction = statistics.median(moved / t / tri for t, tri in zip(times, triads))
        results["products"][product] = {"s": median, "GBps": moved / median / 1e9, "fraction_of_triad": fraction}
        print(f"{product:8s} {median:.3f} s  {moved / median / 1e9:5.1f} GB/s  {fraction:.0%} of the triad (paired)")

    import metpy.calc as mpcalc
    from metpy.units import units

    n = min(args.metpy_columns, args.columns)
    p = ds["P"].values[:, :n]
    t = ds["T"].values[:, :n]
    qv = ds["QV"].values[:, :n]
    nwpflow.compute("THETA_E", ds.isel(cell=slice(0, n)))
    ours = statistics.median(
        [_timed(lambda: nwpflow.compute("THETA_E", ds.isel(cell=slice(0, n)))) for _ in range(args.repeat)])

    def metpy_theta_e():
        td = mpcalc.dewpoint_from_specific_humidity(p * units.Pa, t * units.K, qv * units("kg/kg"))
        return mpcalc.equivalent_potential_temperature(p * units.Pa, t * units.K, td)

    theirs = statistics.median([_timed(metpy_theta_e) for _ in range(max(1, args.repeat // 2))])
    results["theta_e"] = {"points": int(p.size), "nwpflow_s": ours, "metpy_s": theirs, "ratio": theirs / ours}
    print(f"THETA_E on {p.size} points: nwpflow {ours:.3f} s, MetPy (dew point + theta_e) {theirs:.3f} s "
          f"-> {theirs / ours:.1f}x")

    cache: dict = {}
    start = time.perf_counter()
    for product in ("CAPE_ML", "CIN_ML", "CAPE_MU", "CIN_MU"):
        nwpflow.compute(product, ds, cache=cache)
    first = time.perf_counter() - start
    cape = statistics.median([_timed(lambda: [nwpflow.compute(name, ds, cache={}) for name in ("CAPE_ML",
                                                                                                 "CAPE_MU")])
                              for _ in range(2)])
    sample = np.linspace(0, args.columns - 1, args.cape_sample).astype(int)

    def metpy_columns():
        for j in sample:
            # MetPy refuses soundings whose pressure is not monotonic (the synthetic columns carry 0.1 %
            # noise): its columns are the sorted pressures, the same work per column.
            pj = np.sort(ds["P"].values[:, j].astype(np.float64))[::-1] * units.Pa
            tj = ds["T"].values[::-1, j].astype(np.float64) * units.K
            tdj = mpcalc.dewpoint_from_specific_humidity(pj, tj, ds["QV"].values[::-1, j] * units("kg/kg"))
            mpcalc.mixed_layer_cape_cin(pj, tj, tdj)
            mpcalc.most_unstable_cape_cin(pj, tj, tdj)

    metpy_s = _timed(metpy_columns)
    ours_rate = args.columns / cape
    metpy_rate = len(sample) / metpy_s
    results["cape_cin"] = {"all_four_first_call_s": first, "ml_and_mu_ascents_s": cape,
                           "columns_per_s": ours_rate, "metpy_columns_per_s": metpy_rate,
                           "ratio": ours_rate / metpy_rate}
    print(f"CAPE/CIN ML+MU, whole domain: {cape:.2f} s ({first:.2f} s with compile/cache load); "
          f"{ours_rate:,.0f} columns/s against MetPy {metpy_rate:.1f} columns/s -> {ours_rate / metpy_rate:,.0f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
