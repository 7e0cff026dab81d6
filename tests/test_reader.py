"""The input layer on every real file of ../shared/data, on the sample runs, and against earthkit's
hybrid-level oracle and cfgrib."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import nwpflow
from nwpflow import constants
from nwpflow.errors import ImplausibleValuesError
from nwpflow.io.eccodes_env import eccodes
from nwpflow.io.formats import message_spans
from conftest import shared


def raw_values(path, short_name, level=None):
    """Values of one message, decoded with plain ecCodes: the independent reference for the reader."""
    with open(path, "rb") as f:
        while (handle := eccodes.codes_grib_new_from_file(f)) is not None:
            try:
                if eccodes.codes_get(handle, "shortName") == short_name and (
                        level is None or eccodes.codes_get(handle, "level") == level):
                    values = eccodes.codes_get_double_array(handle, "values")
                    if eccodes.codes_get(handle, "bitmapPresent"):
                        values[values == eccodes.codes_get(handle, "missingValue")] = np.nan
                    return values
            finally:
                eccodes.codes_release(handle)
    raise AssertionError(f"{short_name} not in {path}")


# ------------------------------------------------------------------------------------------------ IFS


def test_ifs_file_yields_the_data_model(ifs_file):
    ds = nwpflow.open_run(ifs_file)
    for name in ("P", "T", "QV", "U", "V", "HHL", "HSURF", "PS", "FIS"):
        assert name in ds, name
        assert ds[name].dtype == np.float32
    assert ds["T"].dims == ("level", "y", "x") and ds.sizes["level"] == 137
    assert ds["HHL"].dims == ("half_level", "y", "x") and ds.sizes["half_level"] == 138
    assert ds["HSURF"].dims == ("y", "x")
    # Top-down: level 1 is the model top.
    assert np.all(ds["P"].isel(level=0) < ds["P"].isel(level=-1))
    assert np.all(np.diff(ds["HHL"].values.astype(np.float64), axis=0) < 0)
    np.testing.assert_array_equal(ds["HHL"].isel(half_level=-1).values, ds["HSURF"].values)
    # Nothing the file holds is lost: lnsp and the surface geopotential are there as PS and FIS
    # (plain xarray + cfgrib drops both: they clash with t/q on hybrid level 1).
    np.testing.assert_allclose(ds["PS"].values.ravel(), np.exp(raw_values(ifs_file, "lnsp")), rtol=6e-8)
    np.testing.assert_array_equal(ds["FIS"].values.ravel(), raw_values(ifs_file, "FI").astype(np.float32))
    np.testing.assert_array_equal(ds["T"].isel(level=136).values.ravel(),
                                  raw_values(ifs_file, "T", level=137).astype(np.float32))


def test_plain_cfgrib_loses_lnsp_and_z_but_nwpflow_does_not(ifs_file):
    """The motivating failure: cfgrib's default open silently drops the level-1-only fields."""
    cfgrib_ds = xr.open_dataset(ifs_file, engine="cfgrib", backend_kwargs={"indexpath": ""})
    assert "lnsp" not in cfgrib_ds and "z" not in cfgrib_ds
    ours = nwpflow.open_run(ifs_file)
    assert {"PS", "FIS"} <= set(ours.data_vars)


def test_ifs_only_requested_fields(ifs_file):
    ds = nwpflow.open_run(ifs_file, ["HSURF", "T"])
    assert list(ds.data_vars) == ["HSURF", "T"]


def test_ifs_pressure_and_heights_against_earthkit(ifs_file):
    """P and HHL of the reader against earthkit-meteo's own functions on every column of the file.

    earthkit computes with Rv = 461.51 where the reader uses the IFS's 461.525 (nwpflow.constants.ifs_Rv):
    that moves heights by at most a few mm (computed here, not assumed), well inside float32 storage
    of heights up to 80 km (ulp 8 mm). Pressure: float32 storage, 6e-8 relative.
    """
    vertical = pytest.importorskip("earthkit.meteo.vertical.array")
    ds = nwpflow.open_run(ifs_file, ["P", "HHL", "PS", "FIS", "T", "QV"])
    pv = None
    with open(ifs_file, "rb") as f:
        handle = eccodes.codes_grib_new_from_file(f)
        pv = eccodes.codes_get_double_array(handle, "pv")
        eccodes.codes_release(handle)
    a, b = pv[:138], pv[138:]
    sp = np.exp(raw_values(ifs_file, "lnsp"))
    p_full = vertical.pressure_on_hybrid_levels(sp, a, b, output="full")
    np.testing.assert_allclose(ds["P"].values.reshape(137, -1), p_full, rtol=6e-8)
    t = ds["T"].values.reshape(137, -1).astype(np.float64)
    q = ds["QV"].values.reshape(137, -1).astype(np.float64)
    zs = raw_values(ifs_file, "FI")
    z_full = vertical.geopotential_on_hybrid_levels(t, q, zs, sp, a, b)
    h_full = constants.earth_radius * (z_full / constants.g) / (constants.earth_radius - z_full / constants.g)
    hhl = ds["HHL"].values.reshape(138, -1).astype(np.float64)
    # HHL are half levels; their mean is not the IFS full level. The lowest half level is the surface:
    # two float32 roundings (ecCodes decodes FI to float32, HHL is stored as float32) -> 1.2e-7.
    np.testing.assert_allclose(hhl[-1], constants.earth_radius * (zs / constants.g)
                               / (constants.earth_radius - zs / constants.g), rtol=1.2e-7)
    assert np.all(hhl[:-1] > h_full) and np.all(h_full > hhl[1:])  # each full level inside its layer
    # Top layer: by design the mean of its two half-level geopotentials is the IFS full-level value
    # (the top half level, at p = 0, has no hypsometric value of its own). Geometric height is not
    # linear in geopotential, so the mean is taken in geopotential height. Float32 storage of heights
    # near 80 km (ulp 8 mm) and Rv 461.525 against earthkit's 461.51 (a few mm): 2e-7.
    gh = constants.earth_radius * hhl / (constants.earth_radius + hhl)
    np.testing.assert_allclose(0.5 * (gh[0] + gh[1]), z_full[0] / constants.g, rtol=2e-7)


def test_hybrid_oracle_columns_through_the_reader_kernels():
    """earthkit's published L137 columns (transcribed JSON) reproduce through the kernels the reader uses."""
    from nwpflow.kernels import hybrid

    data = json.loads(shared("oracles/earthkit_meteo_hybrid/hybrid_height_data.json").read_text())
    a, b = np.array(data["A"]), np.array(data["B"])
    t, q = np.array(data["t"]), np.array(data["q"])
    ps, zs = np.array(data["p_surf"]), np.array(data["z_surf"])
    rd = 287.0597
    phi_full = hybrid.full_level_geopotential(hybrid.half_level_pressure(a, b, ps), t, q, zs, rd, 461.51 / rd - 1)
    h = constants.earth_radius * (phi_full / constants.g) / (constants.earth_radius - phi_full / constants.g)
    np.testing.assert_allclose(h, np.array(data["h_geometric_sea"]), rtol=1e-10)


# ----------------------------------------------------------------------------------------- MeteoSwiss


def test_icon_ch1_grib_snippet():
    """earthkit's excerpt of MeteoSwiss ICON-CH1 output holds pressure on levels 1-9 only, while each message
    says the vertical grid has 81 half levels (nlev): a column cut short, which the reader refuses, naming
    the missing levels. Its messages decode to what plain ecCodes gives (member, lead time, values)."""
    from nwpflow.io import grib

    path = shared("icon/icon_ch1_pres_generalVerticalLayer_6pts.grib2")
    with pytest.raises(nwpflow.InputError, match=r"field 'P': has 9 of its 80 levels \(from the vertical grid's 81 "
                                                 r"half levels \(nlev\) of message 1 .*missing levels 10-80"):
        nwpflow.open_run(path)
    messages = grib.scan(path, threads=1)
    try:
        assert [(m.name, m.type_of_level, m.level, m.member, m.step_minutes, m.nlev) for m in messages] == [
            ("P", "generalVerticalLayer", level, 1, 60, 81) for level in range(1, 10)]
        assert messages[0].grid_type == "unstructured_grid"
        out = np.empty(6, np.float32)
        grib.decode_into([(messages[3], out)], threads=1)
        np.testing.assert_array_equal(out, raw_values(path, "P", level=4).astype(np.float32))
    finally:
        grib.release(messages)


def test_icon_netcdf_snippets():
    cells = nwpflow.open_run(shared("icon/lfff00010000_lon_0.152-0.154_lat_0.8745-0.8755_cell.nc"))
    for name in ("P", "T", "U", "V", "QV", "QC"):
        assert cells[name].dims == ("level", "cell") and cells[name].dtype == np.float32
    assert "unknown" in cells  # a variable without a known name is kept, never dropped
    assert 50.0 < float(cells["latitude"].mean()) < 50.3 and 8.6 < float(cells["longitude"].mean()) < 8.9
    assert cells["T"].attrs["units"] == "K"
    assert np.all((cells["T"] > 180) & (cells["T"] < 240))  # model top: a cold stratosphere
    edges = nwpflow.open_run(shared("icon/lfff00010000_lon_0.152-0.154_lat_0.8745-0.8755_edge.nc"))
    assert edges["VN"].dims == ("level", "edge")


def test_icon_global_header_case():
    ds = nwpflow.open_run(shared("icon/icon_global_icosahedral_single-level_2021112018_000_TOT_PREC.grib2"))
    assert ds["TOT_PREC"].shape == (2949120,)
    assert float(ds["TOT_PREC"].max()) == 0.0  # step 0: nothing accumulated yet


def test_cosmo_centre_minute_steps_and_bitmap():
    """cfgrib's test file says 2 m temperature in K but holds values around 0 (-3.3 to 4.0): implausible
    for T_2M (170-340 K), which the reader refuses by default; read as they are (``ignore``), the steps
    in minutes and the bitmap are what ecCodes gives."""
    path = shared("cosmo_icon_misc/cnmc_t2m_3x3_73steps_step60m.grib")
    with pytest.raises(ImplausibleValuesError, match=r"field 'T_2M': message 1: 6 of 6 values outside its range "
                                                     r"170 to 340 K \(lowest -2.13246, highest 1.4481\)"):
        nwpflow.open_run(path)
    ds = nwpflow.open_run(path, invalid_values="ignore")
    t2m = ds["T_2M"]
    assert t2m.dims == ("step", "y", "x") and t2m.sizes["step"] == 73
    assert t2m["step"].values[1] == np.timedelta64(60, "m")
    assert np.isnan(t2m.values[0, 0, 0])  # GRIB bitmap -> NaN, not 9999
    np.testing.assert_array_equal(np.isnan(t2m.values[0].ravel()), np.isnan(raw_values(path, "T_2M")))


def test_era5_ensemble_members_times_and_pressure_levels():
    path = shared("ensemble/era5_10members_z_t_500_850.grib")
    ds = nwpflow.open_run(path)
    assert ds["T"].dims == ("member", "time", "pressure", "y", "x")
    assert ds.sizes["member"] == 10 and ds.sizes["time"] == 4
    np.testing.assert_array_equal(ds["pressure"].values, [50000.0, 85000.0])
    cfgrib_ds = xr.open_dataset(path, engine="cfgrib", backend_kwargs={"indexpath": ""})
    np.testing.assert_array_equal(ds["T"].values, cfgrib_ds["t"].sortby("isobaricInhPa").transpose("number", "time", "isobaricInhPa", ...)
                                  .values.reshape(ds["T"].shape).astype(np.float32))


# -------------------------------------------------------------------------------------------- samples


def test_sample_run_reads_with_members_steps_and_constants(icon_sample):
    files = [icon_sample / "lfff00000000c"] + sorted(icon_sample.glob("00[01]/lfff*"))
    ds = nwpflow.open_run(files)
    assert ds["T"].dims == ("member", "step", "level", "cell")
    assert ds.sizes["member"] == 2 and ds.sizes["step"] == 2 and ds.sizes["level"] == 80
    assert ds["HHL"].dims == ("half_level", "cell") and ds.sizes["half_level"] == 81  # constant: no member
    assert {"latitude", "longitude"} <= set(ds.coords) and "CLAT" not in ds
    assert ds["TOT_PREC"].dims == ("member", "step", "cell")


def test_decoding_in_threads_gives_the_same_values(icon_sample):
    files = [icon_sample / "lfff00000000c", icon_sample / "001" / "lfff00010000"]
    one = nwpflow.open_run(files, ["T", "HHL"], threads=1)
    many = nwpflow.open_run(files, ["T", "HHL"], threads=4)
    xr.testing.assert_identical(one.drop_attrs(deep=False), many.drop_attrs(deep=False))


def test_cosmo_sample_rotated_grid_and_staggering(cosmo_sample):
    files = [cosmo_sample / "lfff00000000c", cosmo_sample / "000" / "lfff00010000"]
    ds = nwpflow.open_run(files, ["T", "U", "V", "HHL"])
    assert ds["T"].dims == ("level", "y", "x")
    assert ds["U"].attrs["staggering"] == "x" and ds["V"].attrs["staggering"] == "y"
    assert "staggering" not in ds["T"].attrs
    assert ds["rotated_pole"].attrs["grid_north_pole_latitude"] == pytest.approx(43.0)
    assert ds["rotated_pole"].attrs["grid_north_pole_longitude"] == pytest.approx(-170.0)
    # The rotated grid of COSMO-1E's pole puts the sample's domain around the Alps.
    centre = ds.isel(y=ds.sizes["y"] // 2, x=ds.sizes["x"] // 2)
    assert 45.0 < float(centre["latitude"]) < 48.5 and 5.0 < float(centre["longitude"]) < 12.0
    assert float(ds["rlat"][1] - ds["rlat"][0]) > 0 and float(ds["rlon"][1] - ds["rlon"][0]) > 0


def test_reading_grib_keeps_a_redirected_stderr(tmp_path):
    """Reading GRIB must not truncate the file standard error is redirected to (the COSMO definitions'
    version check used to open /dev/stderr for writing: see nwpflow/io/eccodes_env.py)."""
    import subprocess
    import sys

    path = shared("icon/icon_global_icosahedral_single-level_2021112018_000_TOT_PREC.grib2")
    script = ("import sys; print('before', file=sys.stderr, flush=True); import nwpflow; "
              f"nwpflow.open_run({str(path)!r}); print('after', file=sys.stderr, flush=True)")
    err = tmp_path / "err.txt"
    with open(err, "w") as f:
        subprocess.run([sys.executable, "-c", script], stderr=f, check=True, timeout=120)
    assert err.read_text() == "before\nafter\n"


@pytest.mark.parametrize("relative", [
    "icon/icon_ch1_pres_generalVerticalLayer_6pts.grib2",
    "icon/icon_global_icosahedral_single-level_2021112018_000_TOT_PREC.grib2",
    "ifs_model_levels/ifs_ml137_uvtq_lnsp_z_20181114T12_step24.grib",
    "ensemble/era5_10members_z_t_500_850.grib",
    "cosmo_icon_misc/cnmc_t2m_3x3_73steps_step60m.grib",
])
def test_remembered_concepts_match_eccodes_on_real_files(relative):
    """The scan reads shortName and typeOfLevel once per concept signature (nwpflow.io.grib); every
    message of the real files must get exactly what ecCodes computes for it on its own handle."""
    check_remembered_concepts(shared(relative))


def test_remembered_concepts_match_eccodes_on_the_samples(icon_sample, cosmo_sample):
    """The same on every file of the ICON-like and COSMO-like samples: model levels (80 signatures
    fewer than messages), half levels, surface fields, accumulations, maxima, members and constants."""
    files = sorted(p for p in [*icon_sample.rglob("lfff*"), *cosmo_sample.rglob("lfff*")] if p.is_file())
    assert len(files) >= 6
    for path in files:
        check_remembered_concepts(path)


def check_remembered_concepts(path):
    from nwpflow.io import grib

    grib._CONCEPTS.clear()
    messages = grib.scan(path, threads=2)
    try:
        data = path.read_bytes()
        pieces = message_spans(str(path), data)
        signatures = set()
        for message, (start, length) in zip(messages, pieces or [], strict=True):
            signature = grib.concept_signature(data[start:start + length])
            signatures.add(signature)
            handle = eccodes.codes_new_from_message(data[start:start + length])
            try:
                expected = (eccodes.codes_get_string(handle, "shortName"), eccodes.codes_get_string(handle, "typeOfLevel"))
            finally:
                eccodes.codes_release(handle)
            assert (message.short_name, message.type_of_level) == expected, (path.name, message.index)
        if len(messages) > 100 and data[7] == 2:  # many model levels of few fields: far fewer signatures
            assert len(signatures) < len(messages) / 5, (path.name, len(signatures), len(messages))
    finally:
        grib.release(messages)
