"""GRIB2 output (nwpflow.io.grib_writer): every product written on the run's grid and read back, by
nwpflow's reader and by ecCodes directly, exactly with IEEE packing and within half a packing step with
simple packing; config ``formats=[netcdf,grib2]`` in a real Snakemake run; clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from nwpflow import open_run
from nwpflow.io.eccodes_env import eccodes
from nwpflow.io.grib2_codes import local_name
from nwpflow.io.grib_writer import Grib2OutputError, GribTemplate, write_grib2
from nwpflow.jobs.compute import compute_products
from nwpflow.products import registry

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


PARAMETERS = {name: product.grib2 for name, product in registry.items()}


def test_every_product_has_a_grib2_parameter():
    """Every registered product can be written: its registry entry declares its GRIB2 encoding, and the
    local parameter numbers are distinct (a number read back names one product)."""
    assert all(PARAMETERS.values()), [name for name, p in PARAMETERS.items() if p is None]
    local = [p.number for p in PARAMETERS.values() if p.local]
    assert len(local) == len(set(local))
    assert all(local_name(0, 240, p.number) == name for name, p in PARAMETERS.items() if p.local)


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
                elif vertical == "theta":
                    assert row["typeOfLevel"] == "theta" and row["level"] == want["theta"].values[k]
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


# ------------------------------------------------------------------------- fan-in products as GRIB2

FANIN_KEYS = ("derivedForecast", "numberOfForecastsInEnsemble", "percentileValue", "probabilityType",
              "scaleFactorOfLowerLimit", "scaledValueOfLowerLimit", "scaleFactorOfUpperLimit",
              "scaledValueOfUpperLimit", "forecastProbabilityNumber", "totalNumberOfForecastProbabilities",
              "typeOfStatisticalProcessing", "lengthOfTimeRange", "indicatorOfUnitForTimeRange", "forecastTime",
              "endStep", "stepType", "hourOfEndOfOverallTimeInterval")


def fanin_messages(path) -> list[dict]:
    """messages() plus the keys of the statistical templates (None where a template has no such key)."""
    rows = messages(path)
    with open(path, "rb") as f:
        for row in rows:
            handle = eccodes.codes_grib_new_from_file(f)
            try:
                for key in FANIN_KEYS:
                    defined = eccodes.codes_is_defined(handle, key) and not eccodes.codes_is_missing(handle, key)
                    row[key] = eccodes.codes_get(handle, key) if defined else None
            finally:
                eccodes.codes_release(handle)
    return rows


@pytest.fixture(scope="module")
def fanin(icon_sample, template, tmp_path_factory):
    """Time products of both members (TOT_PREC 1 h accumulation, T_2M 1 h maximum), the ensemble
    statistics of one of them and of the product HPBL at lead time 1 h, NetCDF and GRIB2 (IEEE)."""
    from nwpflow.jobs.fanin import compute_ensemble_products, compute_time_products

    out = tmp_path_factory.mktemp("fanin_grib")
    both = ["netcdf", "grib2"]
    files = {}
    for m in (0, 1):
        leads = [str(icon_sample / f"{m:03d}" / f"lfff000{t}0000") for t in (0, 1)]
        files[f"tp{m}"] = compute_time_products(leads, out / f"{m}" / "TOT_PREC_sum_1h.nc", "TOT_PREC",
                                                "accumulation", 1, formats=both, threads=1)
        files[f"tmax{m}"] = compute_time_products(leads, out / f"{m}" / "T_2M_max_1h.nc", "T_2M", "max", 1,
                                                  formats=both, threads=1)
        compute_products(["HPBL"], inputs_of(icon_sample, member=m), outputs={"HPBL": out / f"{m}" / "HPBL.nc"},
                         threads=1)
    files["ens_tp"] = compute_ensemble_products([files["tp0"], files["tp1"]], out / "ens" / "TOT_PREC_sum_1h.nc",
                                                quantiles=[0.1, 0.5], thresholds=[0.0, 0.25], formats=both,
                                                template=template, threads=1)
    files["ens_hpbl"] = compute_ensemble_products([out / f"{m}" / "HPBL.nc" for m in (0, 1)], out / "ens" / "HPBL.nc",
                                                  quantiles=[0.9], thresholds=[500.0, 1234.5], formats=both,
                                                  template=inputs_of(icon_sample), threads=1)
    return files


def expected_messages(nc) -> list[tuple[str, dict, np.ndarray]]:
    """(variable, {dim: value}, field) of every message write_grib2 writes, in its order."""
    result = []
    with xr.open_dataset(nc) as ds:
        for name, data in ds.data_vars.items():
            lead = [d for d in ("quantile", "threshold", "step") if d in data.dims]
            values = data.transpose(*lead, "cell").values
            for index in np.ndindex(*values.shape[:-1]):
                at = {d: data[d].values[i] for d, i in zip(lead, index)}
                result.append((str(name), at, values[index]))
    return result


@pytest.mark.parametrize("key", ["tp0", "tmax1", "ens_tp", "ens_hpbl"])
def test_fanin_ieee_values_and_templates(fanin, key):
    """Every fan-in message with ecCodes: values bit-identical to the NetCDF file (IEEE packing stores
    the float32 values, no tolerance), the intended template and keys. Per member: template 11 with the
    window as statistical processing over (t - 1 h, t] (step 0-1); ensemble: templates 2/6/5 at a lead
    time, 12/10/9 for a time product; the probabilities stay fractions 0-1 as in NetCDF."""
    nc = fanin[key]
    rows = fanin_messages(nc.with_suffix(".grib2"))
    expected = expected_messages(nc)
    assert len(rows) == len(expected)
    timed = key != "ens_hpbl"
    derived = {"mean": 0, "std": 4, "min": 8, "max": 9}
    for row, (name, at, field) in zip(rows, expected):
        np.testing.assert_array_equal(row["values"].astype(np.float32), field, strict=True, err_msg=name)
        assert row["packingType"] == "grid_ieee" and row["numberOfDataPoints"] == field.size
        if timed:  # the window (0 h, 1 h]: start 0, length 1 h, step = its end
            assert row["stepRange"] == "0-1" and row["endStep"] == 1 and row["forecastTime"] == 0
            assert row["lengthOfTimeRange"] == 1 and row["indicatorOfUnitForTimeRange"] == 1
            assert row["hourOfEndOfOverallTimeInterval"] == 1
            assert row["typeOfStatisticalProcessing"] == (2 if key.startswith("tmax") else 1)
        else:
            assert row["stepRange"] == "1" and row["typeOfStatisticalProcessing"] is None
        if key.startswith("tp") or key.startswith("tmax"):
            assert row["productDefinitionTemplateNumber"] == 11 and row["perturbationNumber"] == int(key[-1])
            assert row["numberOfForecastsInEnsemble"] == 2
            # what ecCodes (COSMO definitions) calls them: TOT_PREC; T_2M's maximum is TMAX_2M
            assert row["shortName"] == ("TOT_PREC" if key.startswith("tp") else "TMAX_2M")
            assert (row["typeOfLevel"], row["level"]) == (("surface", 0) if key.startswith("tp")
                                                          else ("heightAboveGround", 2))
            continue
        statistic = name.rsplit("_", 1)[1]
        # what ecCodes reads back: TOT_PREC (stat. templates 12/10/9), HPBL (templates 2/6/5)
        assert row["shortName"] == ("TOT_PREC" if timed else "HPBL")
        if "quantile" in at:
            assert row["productDefinitionTemplateNumber"] == (10 if timed else 6)
            assert row["percentileValue"] == round(float(at["quantile"]) * 100)
        elif "threshold" in at:
            assert row["productDefinitionTemplateNumber"] == (9 if timed else 5)
            assert row["probabilityType"] == 3  # above the lower limit: nwpflow's >= (the limit included)
            limit = row["scaledValueOfLowerLimit"] / 10 ** row["scaleFactorOfLowerLimit"]
            assert limit == float(at["threshold"]) and row["scaledValueOfUpperLimit"] is None
            thresholds = [0.0, 0.25] if timed else [500.0, 1234.5]
            assert row["totalNumberOfForecastProbabilities"] == 2
            assert row["forecastProbabilityNumber"] == thresholds.index(float(at["threshold"])) + 1
        else:
            assert row["productDefinitionTemplateNumber"] == (12 if timed else 2)
            assert row["derivedForecast"] == derived[statistic] and row["numberOfForecastsInEnsemble"] == 2


def test_fanin_own_reader(fanin):
    """nwpflow's reader reads a member's time product back (as ecCodes names it, exact); the ensemble
    files hold several statistics of one parameter at one step, which open_run refuses as ambiguous
    (documented in docs/data-model.md: read them with ecCodes keys)."""
    from nwpflow.errors import InputError

    back = open_run([fanin["tp0"].with_suffix(".grib2")])
    with xr.open_dataset(fanin["tp0"]) as ds:
        np.testing.assert_array_equal(back["TOT_PREC"].values.reshape(-1), ds["TOT_PREC_sum_1h"].values.reshape(-1),
                                      strict=True)
    assert list(open_run([fanin["tmax0"].with_suffix(".grib2")]).data_vars) == ["TMAX_2M"]
    with pytest.raises(InputError, match="ambiguous"):
        open_run([fanin["ens_hpbl"].with_suffix(".grib2")])


def test_fanin_probability_type_and_percent_rules(fanin, template, tmp_path):
    """comparison '>' is probabilityType 1 (above the upper limit); a quantile that is no whole percent
    is refused with a clear error (GRIB2's percentileValue is a whole percent); a negative threshold
    is a signed scaled value."""
    from nwpflow.products.fanin import ensemble_statistics

    with xr.open_dataset(fanin["tmax0"]) as a, xr.open_dataset(fanin["tmax1"]) as b:
        data = xr.concat([a["T_2M_max_1h"], b["T_2M_max_1h"]], "member").assign_coords(member=[0, 1]).load()
    strict = ensemble_statistics(data, ["mean"], thresholds=[-1.5], comparison=">")
    rows = fanin_messages(write_grib2(strict, tmp_path / "strict.grib2", template=template))
    row = rows[-1]
    assert row["productDefinitionTemplateNumber"] == 9 and row["probabilityType"] == 1
    assert row["scaledValueOfUpperLimit"] / 10 ** row["scaleFactorOfUpperLimit"] == -1.5
    assert row["scaledValueOfLowerLimit"] is None and row["typeOfStatisticalProcessing"] == 2
    fine = ensemble_statistics(data, [], quantiles=[0.125])
    with pytest.raises(Grib2OutputError, match=r"quantile 0.125 is no whole percent"):
        write_grib2(fine, tmp_path / "fine.grib2", template=template)
    assert not (tmp_path / "fine.grib2").exists()


@pytest.mark.slow
def test_snakemake_writes_fanin_grib2(tmp_path, numba_cache):  # noqa: F811
    """formats=[netcdf,grib2] with 2 members, lead times 0 and 1 h, ensemble and time statistics on: each
    product job writes PRODUCT.nc and PRODUCT.grib2 with the same values (IEEE, exact), and the ensemble,
    time and ensemble-time jobs write .grib2 next to .nc, which ecCodes decodes."""
    proc = snakemake(tmp_path, "--cores", "2", "--config", "members=[0,1]", "lead_times=[0,1]",
                     "products=[HPBL]", "bundles={catalogue: none}",
                     "time_statistics={activate: true, fields: [{field: TOT_PREC, kind: accumulation, windows: [1]}]}",
                     "ensemble={activate: true, quantiles: [0.5], thresholds: {TOT_PREC_sum_1h: [0.1]}}",
                     "formats=[netcdf,grib2]", f"numba_cache_dir={numba_cache}", timeout=600)
    assert proc.returncode == 0, output_of(proc)
    run = tmp_path / "results" / "sample"
    for product in ("HPBL", "BRN"):  # BRN: HPBL's input, written where it is required
        with xr.open_dataset(run / "001" / "001h" / f"{product}.nc") as ds:
            np.testing.assert_array_equal(open_run([run / "001" / "001h" / f"{product}.grib2"])[product].values,
                                          ds[product].values, strict=True)
    files = [run / "ensemble" / "001h" / "HPBL.grib2", run / "ensemble" / "000h" / "HPBL.grib2",
             run / "000" / "time" / "TOT_PREC_sum_1h.grib2", run / "001" / "time" / "TOT_PREC_sum_1h.grib2",
             run / "ensemble" / "time" / "TOT_PREC_sum_1h.grib2"]
    for path in files:
        rows = fanin_messages(path)
        assert rows, path
        with xr.open_dataset(path.with_suffix(".nc")) as ds:
            assert len(rows) == sum(int(np.prod([ds[v].sizes[d] for d in ds[v].dims if d != "cell"]))
                                    for v in ds.data_vars), path
    rows = fanin_messages(run / "ensemble" / "time" / "TOT_PREC_sum_1h.grib2")
    assert {r["productDefinitionTemplateNumber"] for r in rows} == {12, 10, 9}
    assert not list((tmp_path / "results").rglob("*.tmp*"))


def test_bad_packing_fails_before_reading_in_both_job_paths(tmp_path):
    """compute_products and compute_bundle check the GRIB2 packing with the rest of the request
    (pipeline.plan_outputs), before any input is read: the inputs here do not even exist."""
    from nwpflow.jobs.bundle import compute_bundle
    from nwpflow.jobs.compute import compute_products

    missing = [str(tmp_path / "no-such-file")]
    outputs = {"THETA": tmp_path / "THETA.nc"}
    with pytest.raises(Grib2OutputError, match=r"unknown packing 'jpeg'"):
        compute_products(["THETA"], missing, outputs=outputs, formats=["grib2"], grib2={"packing": "jpeg"})
    with pytest.raises(Grib2OutputError, match=r"unknown packing 'jpeg'"):
        compute_bundle(["THETA"], missing, outputs, formats=["netcdf", "grib2"], grib2={"packing": "jpeg"})
    assert not list(tmp_path.iterdir())
