"""Fan-in over members and over lead times (nwpflow.products.fanin, nwpflow.kernels.stats).

References are numpy on the same float32 values cast to float64 (np.mean, np.std, np.quantile, the mean
of comparisons, slices of the step axis), on the real 10-member ERA5 file, the real COSMO/ICON-centre
file with minute-unit steps, and a small sample run written by nwpflow.io.sample. Each tolerance says
why it is what it is: the kernels compute in float64 and round once to float32, so against a float64
numpy reference the error is half a float32 ulp (2**-24 relative) plus float64 rounding (~1e-16).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numba
import numpy as np
import pytest
import xarray as xr

import nwpflow
from nwpflow.errors import InputError, OptionError
from nwpflow.io import write_netcdf
from nwpflow.io.eccodes_env import eccodes
from nwpflow.io.reader import read_field
from nwpflow.jobs import fanin as jobs_fanin
from nwpflow.kernels import stats
from nwpflow.products import fanin

from conftest import shared

ERA5 = "ensemble/era5_10members_z_t_500_850.grib"
COSMO = "cosmo_icon_misc/cnmc_t2m_3x3_73steps_step60m.grib"
FLOAT32_HALF_ULP = 2.0**-24
"""Relative rounding error of one float64 -> float32 conversion."""
MEMBERS = (0, 1, 2)
LEADS = tuple(range(7))
HOUR = np.timedelta64(1, "h")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A small ICON-like sample run: 200 cells, 8 levels, 3 members, lead times 0..6 h (a few seconds)."""
    from nwpflow.io.sample import PRESETS, IconGrid, write_sample

    directory = tmp_path_factory.mktemp("fanin_run")
    preset = dataclasses.replace(PRESETS["small"], grid=IconGrid(ncells=200), nlev=8)
    write_sample(directory, preset, members=list(MEMBERS), lead_times=list(LEADS))
    return directory


def lead_file(run: Path, member: int, lead: int) -> Path:
    return run / f"{member:03d}" / f"lfff{lead // 24:02d}{lead % 24:02d}0000"


@pytest.fixture(scope="module")
def era5() -> xr.Dataset:
    return nwpflow.open_run(shared(ERA5))


# ------------------------------------------------------------------------------------- ensemble


@pytest.mark.parametrize("field", ["T", "FI"])
def test_ensemble_statistics_match_numpy_on_era5(era5, field):
    """The real ERA5 ensemble (10 members x 4 times x 2 levels x 61 x 120) against numpy in float64.

    mean, std: rtol 2**-23 = one float32 ulp (the single float32 rounding of the output is half of it;
    the summation orders of numpy and the kernel differ by ~1e-16 relative), plus for std an absolute
    1e-12 * max|x| for the float64 rounding of the deviations where the spread is ~0.
    min, max, quantiles, probabilities: exact. min/max select a member; the quantiles repeat numpy's
    float64 operations for method="linear" (index (N-1)p, its lerp formula), so only the float32 rounding
    of numpy's result remains; the probabilities are k/N, rounded once to float32 in both.
    """
    data = era5[field]
    assert data.sizes["member"] == 10
    x = data.values.astype(np.float64)
    quantiles = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]
    thresholds = np.quantile(x, [0.2, 0.5, 0.8]).tolist() + [float(x.flat[123])]  # one equals a member exactly
    result = fanin.ensemble_statistics(data, quantiles=quantiles, thresholds=thresholds)
    sample = fanin.ensemble_statistics(data, ["std"], ddof=1)
    atol_std = 1e-12 * np.abs(x).max()
    np.testing.assert_allclose(result[f"{field}_mean"], x.mean(axis=0), rtol=2 * FLOAT32_HALF_ULP, atol=0)
    np.testing.assert_allclose(result[f"{field}_std"], x.std(axis=0), rtol=2 * FLOAT32_HALF_ULP, atol=atol_std)
    np.testing.assert_allclose(sample[f"{field}_std"], x.std(axis=0, ddof=1), rtol=2 * FLOAT32_HALF_ULP,
                               atol=atol_std)
    np.testing.assert_array_equal(result[f"{field}_min"], x.min(axis=0).astype(np.float32))
    np.testing.assert_array_equal(result[f"{field}_max"], x.max(axis=0).astype(np.float32))
    np.testing.assert_array_equal(result[f"{field}_quantile"],
                                  np.quantile(x, quantiles, axis=0).astype(np.float32))
    expected = np.stack([(x >= t).mean(axis=0) for t in thresholds]).astype(np.float32)
    np.testing.assert_array_equal(result[f"{field}_exceedance_probability"], expected)
    # dims and CF metadata
    assert result[f"{field}_mean"].dims == ("time", "pressure", "y", "x")
    assert result[f"{field}_quantile"].dims[0] == "quantile"
    assert result[f"{field}_mean"].attrs["cell_methods"] == "realization: mean"
    assert result[f"{field}_std"].attrs["cell_methods"] == "realization: standard_deviation"
    assert result[f"{field}_std"].attrs["units"] == data.attrs["units"]
    assert result[f"{field}_exceedance_probability"].attrs["units"] == "1"
    assert list(result[f"{field}_mean"].attrs["ensemble_members"]) == list(range(10))
    assert "member" not in result.coords


def test_exceedance_counts_ties_with_ge_only():
    """A member equal to the threshold counts for ">=" (default) and not for ">"."""
    data = xr.DataArray(np.array([[1.0, 5.0], [2.0, 5.0], [2.0, 6.0], [3.0, 7.0]], np.float32),
                        dims=("member", "cell"), name="X")
    ge = fanin.ensemble_statistics(data, [], thresholds=[2.0, 5.0])["X_exceedance_probability"].values
    gt = fanin.ensemble_statistics(data, [], thresholds=[2.0, 5.0], comparison=">")["X_exceedance_probability"].values
    np.testing.assert_array_equal(ge, [[0.75, 1.0], [0.0, 1.0]])
    np.testing.assert_array_equal(gt, [[0.25, 1.0], [0.0, 0.5]])


def test_missing_members_default_nan_or_skipped():
    """Default: NaN wherever a member is NaN, the other points untouched; skipna=True: numpy's nan* functions
    over the valid members (same tolerances as the ERA5 test); no valid member: NaN either way."""
    rng = np.random.default_rng(5)
    values = rng.normal(280.0, 2.0, (11, 3000)).astype(np.float32)
    values[3, 10] = np.nan
    values[:, 20] = np.nan
    values[[0, 4, 7], 30] = np.nan
    data = xr.DataArray(values, dims=("member", "cell"), name="T")
    quantiles, thresholds = [0.1, 0.5, 0.9], [280.0]
    strict = fanin.ensemble_statistics(data, quantiles=quantiles, thresholds=thresholds)
    skip = fanin.ensemble_statistics(data, quantiles=quantiles, thresholds=thresholds, skipna=True)
    bad = np.isnan(values).any(axis=0)
    for name in strict.data_vars:
        assert np.isnan(strict[name].values[..., bad]).all(), name
        assert not np.isnan(strict[name].values[..., ~bad]).any(), name
        assert np.isnan(skip[name].values[..., 20]).all(), name
    x = values.astype(np.float64)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        np.testing.assert_allclose(skip["T_mean"], np.nanmean(x, axis=0), rtol=2 * FLOAT32_HALF_ULP)
        np.testing.assert_allclose(skip["T_std"], np.nanstd(x, axis=0), rtol=2 * FLOAT32_HALF_ULP, atol=1e-9)
        np.testing.assert_array_equal(skip["T_quantile"], np.nanquantile(x, quantiles, axis=0).astype(np.float32))
    valid = (~np.isnan(x)).sum(axis=0)
    with np.errstate(invalid="ignore"):
        expected = ((x >= 280.0).sum(axis=0) / valid).astype(np.float32)
    np.testing.assert_array_equal(skip["T_exceedance_probability"].values[0], expected)


def test_std_two_pass_is_stable():
    """A spread of 0.01 on an offset of 1e8 (float64 input): the two-pass variance keeps it to float32
    precision (rtol 1e-6: the mean's float64 error, ~1e-8, is 1e-6 of the spread); a one-pass
    E[x^2] - E[x]^2 would lose every digit (E[x^2] ~ 1e16 has a float64 ulp of 2)."""
    rng = np.random.default_rng(6)
    values = 1e8 + 0.01 * rng.standard_normal((20, 1500))
    result = fanin.ensemble_statistics(xr.DataArray(values, dims=("member", "cell"), name="X"), ["std"])
    np.testing.assert_allclose(result["X_std"], values.std(axis=0), rtol=1e-6)


def test_bit_identical_for_any_thread_count():
    """Fixed column blocks and a fixed member/step order: the same bits with 1 thread and with all."""
    rng = np.random.default_rng(7)
    members = rng.normal(0, 1, (11, 20_000)).astype(np.float32)
    steps = np.cumsum(rng.uniform(0, 1, (25, 20_000)), axis=0).astype(np.float32)
    starts, ends = np.arange(0, 22, dtype=np.int64), np.arange(3, 25, dtype=np.int64)
    results = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        moments = np.empty((4, 20_000), np.float32)
        quantiles = np.empty((3, 20_000), np.float32)
        exceed = np.empty((2, 20_000), np.float32)
        stats.ensemble_statistics(members, np.array([0.1, 0.5, 0.9]), np.array([0.0, 1.0]), moments, quantiles,
                                  exceed)
        window = np.empty((22, 20_000), np.float32)
        stats.window_statistics(steps, starts, ends, window, statistic="mean")
        sums = np.empty((22, 20_000), np.float32)
        stats.accumulation_deltas(steps, starts, ends, np.zeros(22), sums)
        results.append(b"".join(a.tobytes() for a in (moments, quantiles, exceed, window, sums)))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert results[0] == results[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"statistics": ["median"]}, "statistic must be one of 'mean', 'std', 'min', 'max', not 'median'"),
        ({"quantiles": [0.5, 1.5]}, "quantiles must lie in [0, 1]"),
        ({"thresholds": [np.nan]}, "thresholds must be finite"),
        ({"ddof": -1}, "ddof must be a whole number >= 0"),
        ({"comparison": "=>"}, "comparison must be one of '>=', '>', not '=>'"),
        ({"statistics": []}, "nothing to compute"),
    ],
)
def test_ensemble_options_are_checked(kwargs, message):
    data = xr.DataArray(np.zeros((2, 3), np.float32), dims=("member", "cell"), name="X")
    with pytest.raises(OptionError) as error:
        fanin.ensemble_statistics(data, **kwargs)
    assert message in str(error.value)


def test_ensemble_needs_a_member_dim():
    with pytest.raises(InputError, match="has no 'member' dim"):
        fanin.ensemble_statistics(xr.DataArray(np.zeros(3, np.float32), dims="cell", name="X"))


# ----------------------------------------------------------------- ensemble from files (registry)


@pytest.fixture(scope="module")
def product_files(tiny_run, tmp_path_factory) -> dict[str, list[Path] | str]:
    """Every registered product of every member at lead time 1 h, as the product rules write them; a
    product that fails to compute on the sample maps to its error (its own test's business, not ours)."""
    from nwpflow.jobs.compute import compute_products

    out = tmp_path_factory.mktemp("fanin_products")
    names = list(nwpflow.registry)
    files: dict[str, list[Path] | str] = {name: [] for name in names}
    for member in MEMBERS:
        inputs = [lead_file(tiny_run, member, 1), tiny_run / "lfff00000000c"]
        outputs = {name: out / f"{member:03d}" / f"{name}.nc" for name in names}
        try:
            compute_products(names, inputs, outputs=outputs)
            for name in names:
                files[name].append(outputs[name])
        except Exception:  # one at a time, to tell which product fails
            for name in names:
                if isinstance(files[name], str):
                    continue
                try:
                    compute_products([name], inputs, outputs={name: outputs[name]})
                    files[name].append(outputs[name])
                except Exception as error:  # noqa: BLE001 (reported by the test of that product)
                    files[name] = f"{type(error).__name__}: {error}"
    return files


@pytest.mark.parametrize("product", sorted(nwpflow.registry))
def test_ensemble_of_every_registered_product(product_files, tmp_path, product):
    """compute_ensemble_products on the NetCDF files the product rules write: one file per member; the
    result equals numpy over the stacked files (tolerances as in the ERA5 test)."""
    inputs = product_files[product]
    if isinstance(inputs, str):
        pytest.skip(f"{product} itself does not compute on the sample run: {inputs}")
    output = jobs_fanin.compute_ensemble_products(inputs, tmp_path / f"{product}_ens.nc",
                                             ["mean", "std", "min", "max"], quantiles=[0.5], thresholds=[0.0])
    members = []
    for path in inputs:
        with xr.open_dataset(path) as ds:
            members.append(ds[product].values.astype(np.float64))
    x = np.stack(members)
    with xr.open_dataset(output) as result:
        assert set(result.data_vars) == {f"{product}_{s}" for s in ("mean", "std", "min", "max", "quantile",
                                                                    "exceedance_probability")}
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(result[f"{product}_mean"], x.mean(axis=0), rtol=2 * FLOAT32_HALF_ULP)
            np.testing.assert_array_equal(result[f"{product}_max"], x.max(axis=0).astype(np.float32))
            np.testing.assert_array_equal(result[f"{product}_quantile"].values[0],
                                          np.median(x, axis=0).astype(np.float32))
        assert list(result[f"{product}_mean"].attrs["ensemble_members"]) == list(MEMBERS)
        assert "nwpflow" in result.attrs["history"]


def test_ensemble_from_grib_members_and_duplicates(tiny_run, tmp_path):
    """T_2M straight from the members' GRIB files; the same member twice is refused, naming the files."""
    files = [lead_file(tiny_run, m, 2) for m in MEMBERS]
    output = jobs_fanin.compute_ensemble_products(files, tmp_path / "t2m.nc", ["mean"], field="T_2M")
    x = np.stack([nwpflow.open_run(f, ["T_2M"])["T_2M"].values.astype(np.float64) for f in files])
    with xr.open_dataset(output) as result:
        np.testing.assert_allclose(result["T_2M_mean"], x.mean(axis=0), rtol=2 * FLOAT32_HALF_ULP)
        assert result["T_2M_mean"].attrs["standard_name"] == "air_temperature"
    with pytest.raises(InputError, match="member 1 is given twice"):
        jobs_fanin.compute_ensemble_products([files[0], files[1], files[1]], tmp_path / "dup.nc", ["mean"], field="T_2M")


# ------------------------------------------------------------------------------------ lead times


def test_window_statistics_on_cosmo_minute_steps(tmp_path):
    """The real COSMO/ICON-centre file: 73 hourly steps encoded in minutes, 3 of 9 points missing (bitmap).

    24-h max/min/mean over (t - 24 h, t] against numpy slices: max/min exact (a member of the window is
    selected), mean rtol 2**-23 (one float32 ulp: float64 sum, one rounding). The bitmap points are NaN
    in every window, the others never.
    """
    path = shared(COSMO)
    data = nwpflow.open_run(path, invalid_values="ignore")["T_2M"]  # values around 0 "K": see test_reader.py
    steps = data["step"].values
    assert steps.size == 73 and np.all(np.diff(steps) == np.timedelta64(60, "m"))  # minutes decoded right
    x = data.values.astype(np.float64)
    missing = np.isnan(x).any(axis=0)
    assert missing.sum() == 3
    ends = np.arange(24, 73)
    reference = {"max": np.max, "min": np.min, "mean": np.mean}
    for statistic, function in reference.items():
        result = fanin.window_statistic(data, "24h", statistic)
        assert result.name == f"T_2M_{statistic}_24h"
        assert result["step"].values.tolist() == steps[ends].tolist()
        expected = np.stack([function(x[e - 23:e + 1], axis=0) for e in ends])
        assert np.isnan(result.values[:, missing]).all()
        assert not np.isnan(result.values[:, ~missing]).any()
        if statistic == "mean":
            np.testing.assert_allclose(result.values, expected, rtol=2 * FLOAT32_HALF_ULP)
        else:
            np.testing.assert_array_equal(result.values, expected.astype(np.float32))
    daily = fanin.window_statistic(data, "24h", "max", sliding=False)
    assert (daily["step"].values / HOUR).tolist() == [24, 48, 72]
    # the file-to-file path reads the same file (one GRIB file with 73 lead times)
    output = jobs_fanin.compute_time_products([path], tmp_path / "tmax.nc", "T_2M", "max", "24h", sliding=False,
                                              invalid_values="ignore")
    with xr.open_dataset(output, decode_timedelta=True) as written:
        np.testing.assert_array_equal(written["T_2M_max_24h"].values, daily.values)
        assert written["step_bounds"].values.tolist() == [[0, 24], [24, 48], [48, 72]]  # hours, as step
        assert written["T_2M_max_24h"].attrs["cell_methods"] == "time: maximum"


def test_accumulation_of_sample_tot_prec(tiny_run, tmp_path):
    """TOT_PREC of the sample run (accumulated from the start, 16-bit packing) -> 1, 3, 6 h sums.

    Exact: both sides subtract the same float32 values in float64 and round once to float32. The windows
    are (t - W, t] for every t with t - W a lead time, and the amounts are never negative."""
    files = [lead_file(tiny_run, 1, lead) for lead in LEADS]
    total = nwpflow.open_run(files, ["TOT_PREC"])["TOT_PREC"]
    x = total.values.astype(np.float64)
    assert x.max() > 0  # it does rain in the sample
    for hours in (1, 3, 6):
        output = jobs_fanin.compute_time_products(files, tmp_path / f"tp{hours}.nc", "TOT_PREC", "accumulation", f"{hours}h")
        with xr.open_dataset(output, decode_timedelta=True) as written:
            amount = written[f"TOT_PREC_sum_{hours}h"]
            assert (amount["step"].values / HOUR).tolist() == list(range(hours, 7))
            np.testing.assert_array_equal(amount.values, (x[hours:] - x[:-hours]).astype(np.float32))
            assert (amount.values >= 0).all()
            assert amount.attrs["units"] == "kg m-2" and amount.attrs["cell_methods"] == "time: sum"
    with pytest.raises(InputError, match=r"no 24h window .* covered by the lead times \[0 h, 1 h"):
        jobs_fanin.compute_time_products(files, tmp_path / "tp24.nc", "TOT_PREC", "accumulation", "24h")


def test_ensemble_of_time_products(tiny_run, tmp_path):
    """Time products of each member, then their ensemble statistics (rule ensemble_time_product's path):
    the 3-h sums of the 3 members, mean and maximum against numpy (tolerances as in the ERA5 test)."""
    files = []
    for member in MEMBERS:
        leads = [lead_file(tiny_run, member, lead) for lead in LEADS]
        files.append(jobs_fanin.compute_time_products(leads, tmp_path / f"{member:03d}.nc", "TOT_PREC", "accumulation",
                                                 3, lead_times=list(LEADS)))
    output = jobs_fanin.compute_ensemble_products(files, tmp_path / "ens.nc", ["mean", "max"], thresholds=[1.0])
    sums = np.stack([xr.open_dataset(f, decode_timedelta=True)["TOT_PREC_sum_3h"].values for f in files])
    with xr.open_dataset(output, decode_timedelta=True) as result:
        assert result["TOT_PREC_sum_3h_mean"].dims == ("step", "cell")
        assert (result["step"].values / HOUR).tolist() == [3, 4, 5, 6]
        np.testing.assert_allclose(result["TOT_PREC_sum_3h_mean"], sums.astype(np.float64).mean(axis=0),
                                   rtol=2 * FLOAT32_HALF_ULP)
        np.testing.assert_array_equal(result["TOT_PREC_sum_3h_max"], sums.max(axis=0))
        np.testing.assert_array_equal(result["TOT_PREC_sum_3h_exceedance_probability"].values[0],
                                      (sums >= 1.0).mean(axis=0).astype(np.float32))


def test_window_max_of_gusts_consecutive(tiny_run):
    """VMAX_10M (maximum over the previous hour) -> 3-h maxima over (0, 3] and (3, 6]: exact."""
    files = [lead_file(tiny_run, 0, lead) for lead in LEADS]
    gust = nwpflow.open_run(files, ["VMAX_10M"])["VMAX_10M"]
    result = fanin.window_statistic(gust, "3h", "max", sliding=False)
    x = gust.values
    np.testing.assert_array_equal(result.values, np.stack([x[1:4].max(axis=0), x[4:7].max(axis=0)]))
    assert (result["valid_time"].values == gust["valid_time"].values[[3, 6]]).all()


def _write_tot_prec(template: Path, target: Path, values: np.ndarray) -> None:
    """Re-encode the TOT_PREC message of a sample file with other values (same 16-bit simple packing)."""
    with open(template, "rb") as f, open(target, "wb") as out:
        while (handle := eccodes.codes_grib_new_from_file(f)) is not None:
            try:
                if eccodes.codes_get_string(handle, "shortName") == "TOT_PREC":
                    eccodes.codes_set_values(handle, values.astype(np.float64))
                    out.write(eccodes.codes_get_message(handle))
            finally:
                eccodes.codes_release(handle)


def test_packing_noise_is_clipped_and_real_decreases_are_reported(tiny_run, tmp_path, caplog):
    """Lead 1 h is packed with a step of 2**-7 (range 400), lead 2 h with 2**-6 (range 600). Cell 2 rises
    from 100.0065 to 100.0070 but decodes as 100.0078125 -> 100.0: a decrease of one packing step, within
    the noise bound q(1 h) + q(2 h) -> exactly 0. Cell 3 falls from 50 to 49: a real decrease -> error
    naming the field, the lead times and the size; with on_decrease="nan" a warning and NaN there."""
    rng = np.random.default_rng(8)
    first = rng.uniform(0, 300, 200)
    first[:4] = [0.0, 400.0, 100.0065, 50.0]
    second = first + rng.uniform(0, 5, 200)
    second[:4] = [0.0, 600.0, 100.0070, 49.0]
    files = [tmp_path / "lfff00000000", tmp_path / "lfff00010000", tmp_path / "lfff00020000"]
    for lead, (path, values) in enumerate(zip(files, [np.zeros(200), first, second])):
        _write_tot_prec(lead_file(tiny_run, 0, lead), path, values)
    decoded = nwpflow.open_run(files, ["TOT_PREC"])["TOT_PREC"].values.astype(np.float64)
    raw = decoded[2] - decoded[1]
    assert raw[2] < 0 and -raw[2] <= 2.0**-7 + 2.0**-6  # the case the rule is for does occur
    assert read_field(files[2], "TOT_PREC")[1] == {2 * HOUR: 2.0**-6}

    with pytest.raises(fanin.DecreasingAccumulationError) as error:
        jobs_fanin.compute_time_products(files, tmp_path / "tp.nc", "TOT_PREC", "accumulation", "1h")
    text = str(error.value)
    assert "'TOT_PREC'" in text and "from lead time 1 h to 2 h at 1 of 200 points, by up to 1 kg m-2" in text
    assert str(files[1]) in text and str(files[2]) in text
    assert not (tmp_path / "tp.nc").exists()

    with caplog.at_level(logging.WARNING, logger="nwpflow"):
        output = jobs_fanin.compute_time_products(files, tmp_path / "tp.nc", "TOT_PREC", "accumulation", "1h",
                                             on_decrease="nan")
    assert "decreases from lead time 1 h to 2 h" in caplog.text
    with xr.open_dataset(output, decode_timedelta=True) as written:
        amount = written["TOT_PREC_sum_1h"].values
    assert amount[1, 2] == 0.0 and np.isnan(amount[1, 3])
    others = np.ones(200, bool)
    others[[2, 3]] = False
    np.testing.assert_array_equal(amount[1, others], raw[others].astype(np.float32))
    assert (amount[~np.isnan(amount)] >= 0).all()


def test_time_products_of_netcdf_product_files(tiny_run, tmp_path):
    """NetCDF files that carry no lead time need lead_times; with them, a window maximum of BRN on model
    levels equals numpy (exact)."""
    from nwpflow.jobs.compute import compute_products

    files = []
    for lead in range(4):
        out = tmp_path / f"{lead:03d}h" / "BRN.nc"
        compute_products(["BRN"], [lead_file(tiny_run, 0, lead), tiny_run / "lfff00000000c"], outputs={"BRN": out})
        files.append(out)
    result = jobs_fanin.compute_time_products(files, tmp_path / "brn.nc", "BRN", "max", "2h", lead_times=[0, 1, 2, 3])
    x = np.stack([xr.open_dataset(f)["BRN"].values for f in files])
    with xr.open_dataset(result, decode_timedelta=True) as written:
        np.testing.assert_array_equal(written["BRN_max_2h"].values,
                                      np.stack([x[1:3].max(axis=0), x[2:4].max(axis=0)]))
        assert written["BRN_max_2h"].dims == ("step", "level", "cell")
    blank = xr.DataArray(np.zeros(5, np.float32), dims="cell", name="X")
    bare = [write_netcdf(blank, tmp_path / f"x{lead}.nc") for lead in range(2)]
    with pytest.raises(InputError, match="carries no lead time"):
        jobs_fanin.compute_time_products(bare, tmp_path / "x.nc", "X", "max", "1h")


def test_windows_and_durations():
    steps = np.array([0, 1, 2, 3, 5, 6], dtype="timedelta64[h]")
    starts, ends = fanin.window_indices(steps, "2h")
    assert (steps[ends] - steps[starts] == 2 * HOUR).all()
    assert (steps[ends] / HOUR).tolist() == [2, 3, 5]  # 4 h is missing: (2, 4] and (4, 6] are not covered
    assert fanin.parse_window("PT90M") == np.timedelta64(90, "m")
    assert fanin.time_variable_name("TOT_PREC", "accumulation", 6) == "TOT_PREC_sum_6h"
    for bad in ("0h", "soon", True, -3):
        with pytest.raises(OptionError, match="window"):
            fanin.parse_window(bad)
    with pytest.raises(OptionError, match="kind must be one of 'accumulation', 'max', 'min', 'mean'"):
        fanin.time_variable_name("T_2M", "median", "24h")
