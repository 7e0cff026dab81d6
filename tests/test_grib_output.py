"""GRIB2 output (nwpflow.io.grib_writer): every product written on the run's grid and read back, by
nwpflow's reader and by ecCodes directly, exactly with IEEE packing and within half a packing step with
simple packing; config ``formats=[netcdf,grib2]`` in a real Snakemake run; clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from nwpflow import open_run
from nwpflow.io.eccodes_env import eccodes
from nwpflow.io.grib_writer import Grib2OutputError, GribTemplate, write_grib2
from nwpflow.pipeline import compute_products
from nwpflow.products import registry
from nwpflow.products.grib2 import PARAMETERS

# the test_workflow helpers (and its session-wide numba cache fixture) for the real Snakemake run
from test_workflow import SMALL, numba_cache, output_of, snakemake  # noqa: F401

ALL = list(registry)
LEVEL_TYPES = {"level": "generalVerticalLayer", "half_level": "generalVertical", "pressure": "isobaricInhPa"}


def inputs_of(sample, member=0, lead=1) -> list[str]:
    return [str(sample / f"{member:03d}" / f"lfff000{lead}0000"), str(sample / "lfff00000000c")]


def messages(path) -> list[dict]:
    """Every message of ``path`` as a dict of the keys the tests check, with its values (float64)."""
    keys = ("shortName", "typeOfLevel", "level", "stepRange", "dataDate", "dataTime", "productDefinitionTemplateNumber",
            "packingType", "gridType", "numberOfDataPoints", "discipline", "parameterCategory", "parameterNumber")
    result = []
    with open(path, "rb") as f:
        while (handle := eccodes.codes_grib_new_from_file(f)) is not None:
            try:
                row = {k: eccodes.codes_get(handle, k) for k in keys}
                for key in ("perturbationNumber", "uuidOfHGrid", "uuidOfVGrid", "nlev", "numberOfVGridUsed",
                            "binaryScaleFactor", "decimalScaleFactor", "bitsPerValue", "typeOfFirstFixedSurface",
                            "numberOfForecastsInEnsemble", "typeOfEnsembleForecast"):
                    row[key] = eccodes.codes_get(handle, key) if eccodes.codes_is_defined(handle, key) else None
                row["typeOfFirstFixedSurface"] = eccodes.codes_get_long(handle, "typeOfFirstFixedSurface")
                values = eccodes.codes_get_double_array(handle, "values")
                if eccodes.codes_get(handle, "bitmapPresent"):
                    values[values == eccodes.codes_get_double(handle, "missingValue")] = np.nan
                row["values"] = values
                result.append(row)
            finally:
                eccodes.codes_release(handle)
    return result


def input_keys(sample, short_name: str, key: str):
    for path in inputs_of(sample):
        for row in messages(path):
            if row["shortName"] == short_name:
                with open(path, "rb") as f:
                    handle = eccodes.codes_grib_new_from_file(f)
                    try:
                        return eccodes.codes_get(handle, key)
                    finally:
                        eccodes.codes_release(handle)
    raise AssertionError(f"{short_name} not in the sample")


@pytest.fixture(scope="module")
def written(icon_sample, tmp_path_factory):
    """Every product of member 1, lead time 1 h of the ICON sample, as NetCDF and GRIB2 (IEEE) by one call."""
    out = tmp_path_factory.mktemp("grib_output")
    paths = compute_products(ALL, inputs_of(icon_sample, member=1), output_dir=out, threads=2,
                             formats=["netcdf", "grib2"])
    return {name: (path, path.with_suffix(".grib2")) for name, path in paths.items()}


def test_every_product_has_a_grib2_parameter():
    """Every registered product can be written: PARAMETERS has its encoding (and nothing else)."""
    assert sorted(PARAMETERS) == sorted(registry)


def test_ieee_round_trip_with_the_own_reader(written):
    """open_run reads every GRIB2 product back bit for bit: IEEE packing stores the float32 values
    themselves (no tolerance), NaN through the bitmap."""
    for name, (nc, grib2) in written.items():
        back = open_run([grib2])
        expected = PARAMETERS[name].short_name
        var = name if PARAMETERS[name].local else expected
        assert list(back.data_vars) == [var], name
        with xr.open_dataset(nc) as ds:
            want = ds[name]
            got = back[var]
            if "pressure" in want.dims:  # the reader sorts levels by their value
                got = got.sel(pressure=want["pressure"].values)
            assert got.dims == want.dims, name
            np.testing.assert_array_equal(got.values, want.values, strict=True, err_msg=name)
            assert got["member"].item() == 1 and got["step"].values == np.timedelta64(1, "h")
            assert got["time"].values == want["time"].values


def test_ieee_keys_with_eccodes(written, icon_sample):
    """ecCodes alone (no nwpflow reader) finds the intended parameter, level, step, member, date and the
    input's unstructured grid; values identical to the NetCDF file's (no tolerance)."""
    uuid = input_keys(icon_sample, "HSURF", "uuidOfHGrid")
    vgrid = input_keys(icon_sample, "HHL", "uuidOfVGrid")
    date = input_keys(icon_sample, "T", "dataDate")
    for name, (nc, grib2) in written.items():
        rows = messages(grib2)
        with xr.open_dataset(nc) as ds:
            want = ds[name]
            vertical = next((d for d in want.dims if d != "cell"), None)
            assert len(rows) == (want.sizes[vertical] if vertical else 1), name
            for k, row in enumerate(rows):
                assert row["shortName"] == PARAMETERS[name].short_name, name
                assert row["packingType"] == "grid_ieee"
                assert row["gridType"] == "unstructured_grid" and row["uuidOfHGrid"] == uuid
                assert row["numberOfDataPoints"] == want.sizes["cell"]
                assert row["stepRange"] == "1" and row["dataDate"] == date
                assert row["productDefinitionTemplateNumber"] == 1 and row["perturbationNumber"] == 1
                assert row["numberOfForecastsInEnsemble"] == 2 and row["typeOfEnsembleForecast"] == 192
                if vertical is None:
                    surface = PARAMETERS[name].surface
                    assert row["typeOfFirstFixedSurface"] == surface.type_of_first, name
                    field = want.values
                elif vertical == "height":
                    assert row["typeOfLevel"] == "heightAboveGround"
                    assert row["level"] == want["height"].values[k]
                    field = want.values[k]
                elif vertical == "pressure":
                    assert row["typeOfLevel"] == "isobaricInhPa"
                    assert row["level"] * 100 == want["pressure"].values[k]
                    field = want.values[k]
                else:
                    assert row["typeOfLevel"] == LEVEL_TYPES[vertical]
                    assert row["level"] == want[vertical].values[k]
                    assert row["uuidOfVGrid"] == vgrid and row["nlev"] == 81
                    field = want.values[k]
                if PARAMETERS[name].local:
                    assert row["shortName"] == "unknown" and row["parameterCategory"] == 240
                np.testing.assert_array_equal(row["values"].astype(np.float32), field, strict=True, err_msg=name)


@pytest.mark.parametrize("packing", ["simple", "ccsds"])
def test_quantised_packing_within_half_a_step(written, template, tmp_path, packing):
    """simple and ccsds packing at 12 bits: every value within half the packing step of the message.

    ecCodes quantises v to R + n * 2**E * 10**-D (n a 12-bit integer, D = 0 here) and rounds to the
    nearest n, so the error is at most half the step 2**E; E is the smallest binary scale with
    (max - min) / 2**E <= 2**12 - 1, so the step is also at most 2 (max - min) / (2**12 - 1). A float32
    rounding of the decoded value (relative 2**-24) is allowed on top.
    """
    bits = 12
    for name in ("HPBL", "T_PL", "CAPE_ML", "BRN"):
        nc, _ = written[name]
        with xr.open_dataset(nc) as ds:
            want = ds[name].load()
        path = write_grib2(want, tmp_path / f"{name}.grib2", template=template, packing=packing,
                           bits_per_value=bits)
        rows = messages(path)
        fields = want.values.reshape(len(rows), -1)
        for row, field in zip(rows, fields):
            assert row["packingType"] == f"grid_{packing}"
            step = 2.0 ** row["binaryScaleFactor"] * 10.0 ** -row["decimalScaleFactor"]
            finite = np.isfinite(field)
            np.testing.assert_array_equal(np.isnan(row["values"]), ~finite)  # NaN through the bitmap
            if not finite.any():
                continue
            spread = float(field[finite].max() - field[finite].min())
            assert row["bitsPerValue"] == (bits if spread else 0)  # ecCodes packs a constant field in 0 bits
            assert step <= max(2 * spread / (2**bits - 1), np.finfo(np.float32).tiny) or spread == 0
            error = np.abs(row["values"][finite] - field[finite])
            bound = step / 2 + np.abs(field[finite]) * 2.0**-24
            assert np.all(error <= bound), (name, float(error.max()), step / 2)


_SAMPLE_INPUTS: list[str] = []


@pytest.fixture(autouse=True, scope="module")
def _sample_inputs(icon_sample):
    _SAMPLE_INPUTS[:] = inputs_of(icon_sample, member=1)


@pytest.fixture(scope="module")
def template(icon_sample) -> GribTemplate:
    """The GRIB2 template of the ICON sample (member 1's file and the constants file), made once."""
    return GribTemplate.from_files(inputs_of(icon_sample, member=1))


def test_cosmo_rotated_grid(cosmo_sample, tmp_path):
    """On the COSMO rotated grid (staggered U, V in the input), the product's grid is the mass points':
    the same latitudes and longitudes as the input's T, and the reader's rotated-pole coordinates."""
    paths = compute_products(["FF_10M", "T_PL", "THETA"], inputs_of(cosmo_sample), output_dir=tmp_path, threads=1,
                             formats=["netcdf", "grib2"])
    model = open_run(inputs_of(cosmo_sample), ["T"])
    for name, nc in paths.items():
        back = open_run([nc.with_suffix(".grib2")])
        for coord in ("latitude", "longitude", "rlat", "rlon"):
            np.testing.assert_array_equal(back[coord].values, model[coord].values)
        assert back.attrs["grid_type"] == "rotated_ll"
        with xr.open_dataset(nc) as ds:
            var = list(back.data_vars)[0]
            got = back[var]
            if "pressure" in got.dims:
                got = got.sel(pressure=ds["pressure"].values)
            np.testing.assert_array_equal(got.values, ds[name].values, strict=True)


def test_bad_packing_is_a_clear_error(written, tmp_path):
    """An unknown packing, bits with IEEE, or a product without a parameter: Grib2OutputError naming what
    is wrong; an existing file is left as it was."""
    nc, grib2 = written["HPBL"]
    with xr.open_dataset(nc) as ds:
        hpbl = ds["HPBL"].load()
    target = tmp_path / "HPBL.grib2"
    target.write_bytes(b"old")
    with pytest.raises(Grib2OutputError, match=r"unknown packing 'jpeg'; allowed: ieee, simple, ccsds"):
        write_grib2(hpbl, target, template=_SAMPLE_INPUTS, packing="jpeg")
    with pytest.raises(Grib2OutputError, match=r"bits_per_value 12 cannot be used with ieee packing"):
        write_grib2(hpbl, target, template=_SAMPLE_INPUTS, bits_per_value=12)
    with pytest.raises(Grib2OutputError, match=r"product 'NOPE'.*no GRIB2 parameter"):
        write_grib2(hpbl.rename("NOPE"), target, template=_SAMPLE_INPUTS)
    with pytest.raises(Grib2OutputError, match=r"product 'HPBL'.*not the model run's"):
        write_grib2(hpbl.isel(cell=slice(0, 10)), target, template=_SAMPLE_INPUTS)
    with pytest.raises(Grib2OutputError, match=r"no GRIB file of the model run"):
        write_grib2(hpbl, target, template=[nc])
    assert target.read_bytes() == b"old"
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.slow
def test_snakemake_writes_both_formats(tmp_path, numba_cache):  # noqa: F811
    """snakemake --config formats=[netcdf,grib2]: each product job writes PRODUCT.nc and PRODUCT.grib2,
    and the GRIB2 file holds the NetCDF file's values (IEEE, exact)."""
    proc = snakemake(tmp_path, "--cores", "2", "--config", "members=[0]", "lead_times=[1]", *SMALL,
                     "ensemble={activate: false}", "formats=[netcdf,grib2]", f"numba_cache_dir={numba_cache}",
                     timeout=600)
    assert proc.returncode == 0, output_of(proc)
    folder = tmp_path / "results" / "sample" / "000" / "001h"
    with xr.open_dataset(folder / "BRN.nc") as ds:
        np.testing.assert_array_equal(open_run([folder / "BRN.grib2"])["BRN"].values, ds["BRN"].values, strict=True)
    assert not list((tmp_path / "results").rglob("*.tmp*"))
