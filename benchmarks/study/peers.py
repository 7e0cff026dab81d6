"""Part 3: peers on the same arrays — speed ratios, and agreement stated beside them.

* meteodata-lab 0.8.2 (MeteoSwiss's xarray operators; fields decoded by its own GRIB reader from a real
  template, as in ``benchmarks/bench_foundation.py``): BRN (``fbrn``, C-grid winds destaggered, against
  nwpflow's BRN product on the same staggered winds, and against the kernel), THETA (``compute_theta``),
  THETA_V (``fthetav``), RELHUM (``relhum``), HZEROCL (``fhzerocl``), T on pressure levels
  (``interpolate_k2p``, linear in ln p); ICON-CH2 size, and BRN at ICON-CH1 size too (its target:
  >= 15x ``fbrn``).
* MetPy 1.7.1: θ, the dew point and θe on a block of columns (per point), mixed-layer CAPE/CIN on a sample
  of columns (per column; nwpflow over the whole domain).
* metrust 0.5.0 (Rust): gridded ``compute_cape_cin`` (mixed layer, ``parcel_type="ml"``) and θe over the
  whole domain.

Agreement is the relative difference to the peer (median, 99th percentile, maximum; :func:`agreement`):
the products use COSMO/ICON constants and the peers their own (meteodata-lab: earthkit-meteo's κ and IFS
Tetens; MetPy/metrust: Ambaum or Bolton saturation, their own mixed layer), so agreement is to the
constants, not to the bit.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.bench_foundation import _grid_shape, _meteodata_lab_template
from benchmarks.study.meteodata_lab_ops import PRESSURES, operators
from benchmarks.study.common import (agreement, columns, dataset, domains, load, log, median_time, part_arguments,
                                     write_record)



def meteodata_lab_fields(fields: dict, work: Path) -> dict:
    """The fields as meteodata-lab DataArrays on a regular (y, x) grid, U and V C-grid staggered."""
    import xarray as xr

    nlev, ncol = fields["T"].shape
    ny, nx = _grid_shape(ncol)
    template = _meteodata_lab_template(ny, nx, work)

    def field(name, like, nz):
        ref = template[like].squeeze([d for d in ("ref_time", "lead_time", "eps") if d in template[like].dims])
        return xr.DataArray(fields[name].reshape(nz, ny, nx), dims=("z", "y", "x"),
                            coords={"z": np.arange(1, nz + 1), **{k: v for k, v in ref.coords.items()
                                                                  if set(v.dims) <= {"y", "x"}}},
                            attrs={**ref.attrs, "vcoord_type": "model_level"})

    out = {n: field(n, "T", nlev) for n in ("P", "T", "QV")}
    out["U"], out["V"] = field("U", "U", nlev), field("V", "V", nlev)
    out["HHL"] = field("HHL", "HHL", nlev + 1)
    out["HSURF"] = xr.DataArray(fields["HSURF"].reshape(ny, nx), dims=("y", "x"))
    return out


def staggered_dataset(fields: dict):
    """nwpflow's view of the same arrays: a (y, x) grid with U, V marked C-grid staggered."""
    import xarray as xr

    nlev, ncol = fields["T"].shape
    ny, nx = _grid_shape(ncol)
    data = {n: (("level", "y", "x"), fields[n].reshape(nlev, ny, nx)) for n in ("P", "T", "QV", "U", "V")}
    data["HHL"] = (("half_level", "y", "x"), fields["HHL"].reshape(nlev + 1, ny, nx))
    data["HSURF"] = (("y", "x"), fields["HSURF"].reshape(ny, nx))
    data["PS"] = (("y", "x"), fields["PS"].reshape(ny, nx))
    ds = xr.Dataset(data)
    ds["U"].attrs["staggering"] = "x"
    ds["V"].attrs["staggering"] = "y"
    return ds


def meteodata_lab(fields: dict, work: Path, repeat: int, products: list[str]) -> dict:
    import nwpflow
    from nwpflow import constants
    from nwpflow.kernels.brn import bulk_richardson_number

    m = meteodata_lab_fields(fields, work)
    ds = staggered_dataset(fields)
    theirs = operators(m)
    ours = {"BRN": lambda: nwpflow.compute("BRN", ds), "T_PL": lambda: nwpflow.compute("T_PL", ds, levels=PRESSURES)}
    results = {}
    for product in products:
        mine = ours.get(product, lambda p=product: nwpflow.compute(p, ds))
        a, b = np.asarray(theirs[product]().values), mine().values  # first calls: imports, cache loads
        if product == "T_PL":
            a = a[::-1]  # interpolate_k2p returns the targets in ascending pressure
        entry = {"peer_s": median_time(lambda: theirs[product]().values, repeat),
                 "nwpflow_s": median_time(mine, repeat), "load": load(), "agreement": agreement(b, a)}
        entry["ratio"] = entry["peer_s"] / entry["nwpflow_s"]
        if product == "BRN":
            out = np.empty_like(fields["T"])
            args = [fields[k] for k in ("P", "T", "QV", "U", "V", "HHL", "HSURF")]
            kw = dict(kappa=constants.kappa, rv_rd_minus_1=constants.rv_rd_minus_1, g=constants.g, p0=constants.p0)
            bulk_richardson_number(*args, out, **kw)
            entry["kernel_s"] = median_time(lambda: bulk_richardson_number(*args, out, **kw), repeat)
            entry["ratio_kernel"] = entry["peer_s"] / entry["kernel_s"]
        results[product] = entry
        log(f"meteodata-lab {product}: {entry['peer_s']:.3f} s, nwpflow {entry['nwpflow_s']:.3f} s "
            f"-> {entry['ratio']:.1f}x")
    return results


def metpy(fields: dict, ds, point_columns: int, cape_columns: int, repeat: int) -> dict:
    import metpy.calc as mpcalc
    from metpy.units import units

    import nwpflow

    n = min(point_columns, fields["T"].shape[1])
    sub = ds.isel(cell=slice(0, n))
    p, t, qv = (fields[k][:, :n] * units(u) for k, u in (("P", "Pa"), ("T", "K"), ("QV", "kg/kg")))
    theirs = {"THETA": lambda: mpcalc.potential_temperature(p, t),
              "TD": lambda: mpcalc.dewpoint_from_specific_humidity(p, qv),
              "THETA_E": lambda: mpcalc.equivalent_potential_temperature(
                  p, t, mpcalc.dewpoint_from_specific_humidity(p, qv))}
    options = {"TD": {"saturation": "ambaum"}, "THETA_E": {"saturation": "ambaum"}}
    results = {}
    for product, function in theirs.items():
        reference = np.asarray(function().to("K").magnitude)
        ours = nwpflow.compute(product, sub, **options.get(product, {})).values
        entry = {"points": int(n * fields["T"].shape[0]), "peer_s": median_time(function, repeat),
                 "nwpflow_s": median_time(lambda: nwpflow.compute(product, sub, **options.get(product, {})), repeat),
                 "load": load(), "agreement": agreement(ours, reference), "options": options.get(product, {})}
        entry["ratio"] = entry["peer_s"] / entry["nwpflow_s"]
        results[product] = entry
        log(f"MetPy {product}: {entry['ratio']:.1f}x")

    # CAPE/CIN: MetPy on a sample of columns, nwpflow on the whole domain (one mixed-layer ascent)
    ncol = fields["T"].shape[1]
    sample = np.linspace(0, ncol - 1, cape_columns).astype(int)
    metpy_cape = []

    def metpy_columns():
        metpy_cape.clear()
        for j in sample:
            # MetPy refuses a non-monotonic pressure (the synthetic columns carry 0.1 % noise): sorted, the
            # same work per column
            pj = np.sort(fields["P"][:, j].astype(np.float64))[::-1] * units.Pa
            tj = fields["T"][::-1, j].astype(np.float64) * units.K
            tdj = mpcalc.dewpoint_from_specific_humidity(pj, fields["QV"][::-1, j] * units("kg/kg"))
            cape, cin = mpcalc.mixed_layer_cape_cin(pj, tj, tdj)
            metpy_cape.append(cape.to("J/kg").magnitude)

    peer_s = median_time(metpy_columns, 1)
    whole = lambda: [nwpflow.compute(p, ds, cache=c) for c in [{}] for p in ("CAPE_ML", "CIN_ML")]  # noqa: E731
    whole()
    ours_s = median_time(whole, repeat)
    picked = ds.isel(cell=sample)
    ours = nwpflow.compute("CAPE_ML", picked, definition="metpy", saturation="ambaum").values
    results["CAPE_ML"] = {"columns_sampled": int(len(sample)), "peer_columns_per_s": len(sample) / peer_s,
                          "nwpflow_columns_per_s": ncol / ours_s, "nwpflow_domain_s": ours_s, "load": load(),
                          "agreement": agreement(ours, np.array(metpy_cape)),
                          "options": {"definition": "metpy", "saturation": "ambaum"}}
    results["CAPE_ML"]["ratio"] = results["CAPE_ML"]["nwpflow_columns_per_s"] / results["CAPE_ML"]["peer_columns_per_s"]
    log(f"MetPy CAPE/CIN: {results['CAPE_ML']['ratio']:.0f}x")
    return results


def metrust(fields: dict, ds, repeat: int) -> dict:
    import metrust
    import metrust.calc as mc
    from metpy.units import units

    import nwpflow

    up = lambda a: np.ascontiguousarray(a[::-1, None, :].astype(np.float64))  # noqa: E731  bottom first, (nz, 1, n)
    qv = fields["QV"].astype(np.float64)
    hhl = fields["HHL"].astype(np.float64)
    height = 0.5 * (hhl[:-1] + hhl[1:]) - fields["HSURF"]
    args = (up(fields["P"]), up(fields["T"]) - 273.15, up(qv / (1 - qv)), up(height),
            fields["PS"][None, :].astype(np.float64), fields["T"][-1][None, :].astype(np.float64),
            fields["QV"][-1][None, :].astype(np.float64))
    theirs = lambda: mc.compute_cape_cin(*args, parcel_type="ml")  # noqa: E731
    cape_theirs = np.asarray(theirs()[0].magnitude)[0]
    whole = lambda: [nwpflow.compute(p, ds, cache=c) for c in [{}] for p in ("CAPE_ML", "CIN_ML")]  # noqa: E731
    whole()
    # agreement against MetPy's definitions (net areas, CIN 0 without LFC, Ambaum), which metrust follows
    cape_ours = nwpflow.compute("CAPE_ML", ds, definition="metpy", saturation="ambaum").values
    results = {"version": metrust.__version__}
    results["CAPE_ML"] = {"peer_s": median_time(theirs, repeat), "nwpflow_s": median_time(whole, repeat),
                          "load": load(), "agreement": agreement(cape_ours, cape_theirs),
                          "zero_in_peer_only": float(np.mean((cape_theirs == 0) & ~(cape_ours == 0))),
                          "options": {"definition": "metpy", "saturation": "ambaum"}}
    p, t, q = fields["P"] * units.Pa, fields["T"] * units.K, fields["QV"] * units("kg/kg")
    import metpy.calc as mpcalc

    td = mpcalc.dewpoint_from_specific_humidity(p, q)
    theta_e = lambda: mc.equivalent_potential_temperature(p, t, td)  # noqa: E731
    reference = np.asarray(theta_e().to("K").magnitude)
    results["THETA_E"] = {"peer_s": median_time(theta_e, repeat),
                          "nwpflow_s": median_time(lambda: nwpflow.compute("THETA_E", ds, saturation="ambaum"), repeat),
                          "load": load(), "note": "metrust given MetPy's dew point (not timed); nwpflow from qv",
                          "agreement": agreement(nwpflow.compute("THETA_E", ds, saturation="ambaum").values, reference)}
    for entry in (results["CAPE_ML"], results["THETA_E"]):
        entry["ratio"] = entry["peer_s"] / entry["nwpflow_s"]
    log(f"metrust CAPE/CIN {results['CAPE_ML']['ratio']:.2f}x, THETA_E {results['THETA_E']['ratio']:.2f}x")
    return results


def main() -> None:
    args = part_arguments(__doc__, work=True)
    started, before = time.perf_counter(), load()
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = domains(args.quick)
    repeat = 1 if args.quick else 3
    results: dict = {"columns": sizes}
    fields = columns(sizes["ICON-CH2"])
    ds = dataset(fields)
    results["meteodata_lab"] = {"ICON-CH2": meteodata_lab(fields, args.work, repeat,
                                                          ["BRN", "THETA", "THETA_V", "RELHUM", "HZEROCL", "T_PL"])}
    results["metpy"] = metpy(fields, ds, 200 if args.quick else 20_000, 2 if args.quick else 20, repeat)
    results["metrust"] = metrust(fields, ds, repeat)
    del fields, ds
    big = columns(sizes["ICON-CH1"])
    results["meteodata_lab"]["ICON-CH1"] = meteodata_lab(big, args.work, 1 if args.quick else 2, ["BRN"])
    write_record(args.json, "peers", results, started, before)


if __name__ == "__main__":
    main()
