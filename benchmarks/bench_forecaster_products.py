"""Benchmarks of the forecasters' products (issue 13), side by side in one process.

On the ICON-CH2 domain size (the ``icon-ch2`` sample preset: 283,876 cells x 80 levels, one member, +1 h,
written once with its ICON-like grid file into ``--work``):

* every product of the set through ``nwpflow.compute`` on the whole domain: median time; for the
  memory-bound ones their effective bandwidth (bytes of the inputs read + output written) over a STREAM
  triad run right before each call (the median over such pairs: the shared machine's bandwidth changes
  from second to second);
* SRH, DCAPE and TW against MetPy on a sample of columns (columns per second and their ratio);
* SRH 0-1 km, bulk shear 0-6 km and precipitable water against metrust's gridded ``compute_srh``,
  ``compute_shear`` and ``compute_pw`` on the whole domain, and DCAPE and TW against metrust's
  per-column functions on the same sample of columns as MetPy.

Definitions differ (docs/products.md says how, per product), so these are speed comparisons of the same
quantity, not of identical numbers.

Run: ``.venv/bin/python benchmarks/bench_forecaster_products.py [--work .bench] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_foundation import _triad, median_time  # noqa: E402

PRODUCTS = ["WSHEAR", "WSHEAR_U", "WSHEAR_V", "SRH", "USTM", "VSTM", "TQV", "TQC", "TQI", "LAYER_MEAN",
            "LAYER_INTEGRAL", "LAYER_MAX", "LAYER_MIN", "SLI", "SI", "DCAPE", "KI", "TT", "LAPSE_RATE_700_500",
            "LAPSE_RATE_0_3KM", "TW", "HWBZ", "SNOWLMT", "PV", "PV_TH", "P_TH", "H_PV", "P_PV",
            "HEIGHT_OF_VALUE", "CLOUD_BASE", "CLOUD_TOP", "ECHOTOP"]
"""The products issue 13 added, each at its default options."""

MEMORY_BOUND = ["WSHEAR", "TQV", "TQC", "TQI", "LAYER_MEAN", "LAYER_MAX", "KI", "TT", "LAPSE_RATE_0_3KM",
                "HEIGHT_OF_VALUE", "CLOUD_BASE", "CLOUD_TOP", "ECHOTOP"]
"""One pass over their inputs per column: their speed is judged against the triad."""


def sample_run(work: Path, preset: str) -> list[str]:
    """The sample of ``preset`` at +1 h, member 0 (written once; a marker says it is complete): its files."""
    from nwpflow.io.sample import write_sample

    directory = work / preset
    marker = directory / ".complete"
    if not marker.exists():
        start = time.perf_counter()
        write_sample(directory, preset, members=[0], lead_times=[1])
        marker.touch()
        print(f"wrote the {preset} sample in {time.perf_counter() - start:.0f} s", flush=True)
    return [str(directory / "000" / "lfff00010000"), str(directory / "lfff00000000c")]


def fraction_of_triad(function, moved: int, repeat: int, triad_n: int = 30_000_000) -> float:
    """Median over ``repeat`` pairs of (bytes moved / time) / (triad bandwidth measured right before)."""
    a, b, c = np.zeros(triad_n), np.full(triad_n, 1.0), np.full(triad_n, 2.0)
    _triad(a, b, c, 3.0)
    fractions = []
    for _ in range(repeat):
        start = time.perf_counter()
        _triad(a, b, c, 3.0)
        triad = 24.0 * triad_n / (time.perf_counter() - start)
        start = time.perf_counter()
        function()
        fractions.append(moved / (time.perf_counter() - start) / triad)
    return statistics.median(fractions)


def columns(ds, sample: np.ndarray) -> list[dict]:
    """Float64 columns, surface first (MetPy's order), of the sampled cells."""
    hhl = ds["HHL"].values.astype(np.float64)
    z = 0.5 * (hhl[:-1] + hhl[1:])
    out = []
    for j in sample:
        out.append({"p": ds["P"].values[::-1, j].astype(np.float64), "t": ds["T"].values[::-1, j].astype(np.float64),
                    "qv": ds["QV"].values[::-1, j].astype(np.float64), "u": ds["U"].values[::-1, j].astype(np.float64),
                    "v": ds["V"].values[::-1, j].astype(np.float64), "z_agl": z[::-1, j] - hhl[-1, j]})
    return out


def per_column_rates(ds, sample: np.ndarray) -> dict:
    """MetPy's and metrust's SRH (MetPy only: metrust's per-column SRH is MetPy's signature with another
    storm motion), DCAPE and TW, in columns per second on the sampled columns."""
    import metpy.calc as mpcalc
    import metrust.calc as mrcalc
    from metpy.units import units

    cols = columns(ds, sample)
    prepared = []
    for c in cols:
        p = c["p"] * units.Pa
        t = c["t"] * units.K
        td = mpcalc.dewpoint_from_specific_humidity(p, t, c["qv"] * units("kg/kg"))
        prepared.append((p, t, td, c["u"] * units("m/s"), c["v"] * units("m/s"), c["z_agl"] * units.m))

    def metpy_srh():
        for p, t, td, u, v, z in prepared:
            mpcalc.storm_relative_helicity(z, u, v, 3000 * units.m, storm_u=0 * units("m/s"),
                                           storm_v=0 * units("m/s"))
            mpcalc.bunkers_storm_motion(p, u, v, z)

    def dcape(calc):
        def run():
            for p, t, td, *_ in prepared:
                calc.downdraft_cape(p, t, td)
        return run

    def tw(calc):
        def run():
            for p, t, td, *_ in prepared:
                calc.wet_bulb_temperature(p, t, td)
        return run

    n = len(prepared)
    rates = {"columns": n}
    for name, function in [("SRH+Bunkers metpy", metpy_srh), ("DCAPE metpy", dcape(mpcalc)),
                           ("DCAPE metrust", dcape(mrcalc)), ("TW metpy", tw(mpcalc)), ("TW metrust", tw(mrcalc))]:
        try:
            rates[name] = n / median_time(function, 1)
        except Exception as error:  # a peer that refuses a column is reported, not hidden
            rates[name] = f"failed: {type(error).__name__}: {error}"
    return rates


def gridded_metrust(ds) -> dict:
    """metrust's gridded SRH 0-1 km, shear 0-6 km and PW on the whole domain (as (nz, 1, ncell) arrays)."""
    import metrust.calc as mrcalc

    hhl = ds["HHL"].values.astype(np.float64)
    z_agl = (0.5 * (hhl[:-1] + hhl[1:]) - hhl[-1])[::-1, None, :].copy()
    u = ds["U"].values[::-1, None, :].astype(np.float64)
    v = ds["V"].values[::-1, None, :].astype(np.float64)
    qv = ds["QV"].values[::-1, None, :].astype(np.float64)
    p = ds["P"].values[::-1, None, :].astype(np.float64)
    mixing_ratio = qv / (1.0 - qv)
    return {"SRH": median_time(lambda: mrcalc.compute_srh(u, v, z_agl, top_m=1000.0), 3),
            "WSHEAR": median_time(lambda: mrcalc.compute_shear(u, v, z_agl, 0.0, 6000.0), 3),
            "TQV": median_time(lambda: mrcalc.compute_pw(mixing_ratio, p), 3)}


def main() -> None:
    import numba

    import nwpflow
    from nwpflow.io import open_run
    from nwpflow.products import fields_needed

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(".bench"), help="scratch folder for the sample")
    parser.add_argument("--preset", default="icon-ch2", help="sample preset (small: a seconds-long check)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sample-columns", type=int, default=20, help="columns for the per-column peers")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    inputs = sample_run(args.work, args.preset)
    ds = open_run(inputs, fields_needed(PRODUCTS), threads=os.cpu_count()).load()
    ncell = ds.sizes["cell"]
    results: dict = {"cells": ncell, "levels": ds.sizes.get("level"), "threads": numba.get_num_threads(),
                     "load_before": os.getloadavg()[0], "products": {}}
    print(f"{ncell} cells, {numba.get_num_threads()} numba threads, load {os.getloadavg()[0]:.2f}", flush=True)
    for product in PRODUCTS:
        cache: dict = {}
        start = time.perf_counter()
        result = nwpflow.compute(product, ds, cache=cache)  # numba's cache load (or compile), the grid's geometry
        first = time.perf_counter() - start
        repeat = args.repeat if first < 10.0 else 1  # the slow ones (TW, HWBZ: an ascent per point) once more
        seconds = median_time(lambda: nwpflow.compute(product, ds, cache={}), repeat)
        record = {"s": seconds, "first_call_s": first}
        if product in MEMORY_BOUND:
            moved = sum(ds[name].nbytes for name in fields_needed([product]) if name in ds) + result.nbytes
            record["fraction_of_triad"] = fraction_of_triad(lambda: nwpflow.compute(product, ds, cache={}), moved,
                                                            args.repeat)
        results["products"][product] = record
        extra = f"  {record['fraction_of_triad']:.0%} of the triad" if "fraction_of_triad" in record else ""
        print(f"{product:20s} {seconds:7.3f} s{extra}", flush=True)

    # columns whose lowest level lies below 900 hPa: MetPy's DCAPE needs 700-500 hPa above the ground
    low = np.flatnonzero(ds["P"].values[-1] > 90000.0)
    sample = low[np.linspace(0, low.size - 1, args.sample_columns).astype(int)]
    rates = per_column_rates(ds, sample)
    ours = {"SRH": ncell / (results["products"]["SRH"]["s"] + results["products"]["USTM"]["s"]),
            "DCAPE": ncell / results["products"]["DCAPE"]["s"], "TW": ncell / results["products"]["TW"]["s"]}
    results["per_column"] = {"nwpflow_columns_per_s": ours, "peers_columns_per_s": rates}
    for name, rate in rates.items():
        if name == "columns":
            continue
        product = name.split()[0].split("+")[0]
        text = f"{rate:,.1f} columns/s -> nwpflow {ours[product] / rate:,.0f}x" if isinstance(rate, float) else rate
        print(f"{name:20s} {text}", flush=True)
    metrust_s = gridded_metrust(ds)
    results["metrust_gridded_s"] = metrust_s
    for product, seconds in metrust_s.items():
        print(f"metrust gridded {product:6s} {seconds:.3f} s -> nwpflow {seconds / results['products'][product]['s']:.1f}x",
              flush=True)
    results["load_after"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
