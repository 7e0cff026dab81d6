"""Threshold surfaces: the height where a field reaches a value against meteodata-lab's interpolate_k2any on
the IFS file, cloud base and top on crafted columns and the sample, ICON's echo top transcribed in numpy,
and thread determinism of the isosurface search."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import xarray as xr

import nwpflow
from nwpflow.kernels import layers

from test_levels import ifs, mdl, monkeypatch_module  # noqa: F401

F32 = 2.0**-24


@pytest.mark.parametrize(("direction", "mode"), [("from_top", "high_fold"), ("from_bottom", "low_fold")])
@pytest.mark.parametrize(("name", "value"), [("T", 263.15), ("T", 230.0), ("U", 10.0)])
def test_height_of_value_matches_meteodata_lab(ifs, mdl, direction, mode, name, value):  # noqa: F811
    """HEIGHT_OF_VALUE against ``interpolate_k2any`` with the full-level height as the interpolated field
    (``high_fold``: the highest crossing, ``low_fold``: the lowest) on every IFS column: the float32
    rounding of the height (2**-24 relative) and the same missing columns (no crossing)."""
    from meteodatalab.operators.support_operators import TargetCoordinates, TargetCoordinatesAttrs
    from meteodatalab.operators.vertical_interpolation import interpolate_k2any

    field = mdl[name].astype(np.float64)
    hfl = field.copy(data=0.5 * (ifs["HHL"].values[:-1].astype(np.float64) + ifs["HHL"].values[1:]))
    target = TargetCoordinates("theta", [value], TargetCoordinatesAttrs("x", "x", "1", "up"))  # a known level type
    theirs = interpolate_k2any(hfl, mode, field, target, hfl).values.reshape(-1)
    ours = nwpflow.compute("HEIGHT_OF_VALUE", ifs, field=name, value=value, direction=direction).values.ravel()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    ok = np.isfinite(theirs)
    assert ok.mean() > 0.3
    assert np.all(np.abs(ours[ok] - theirs[ok]) <= F32 * np.abs(theirs[ok]) + 1e-9)
    above_ground = nwpflow.compute("HEIGHT_OF_VALUE", ifs, field=name, value=value, direction=direction,
                                   reference="ground").values.ravel()
    np.testing.assert_allclose(above_ground, ours - ifs["HHL"].values[-1].ravel(), atol=2e-3)


def cloud_dataset(columns):
    """A run of crafted columns: 6 full levels at 500, 1500, ... 5500 m above a ground at 0 m; CLC [%] and
    QC from ``columns`` (level 0 = top)."""
    clc = np.array(columns, dtype=np.float32).T
    hhl = np.linspace(6000.0, 0.0, 7, dtype=np.float32)[:, None].repeat(clc.shape[1], axis=1)
    return xr.Dataset({"CLC": (("level", "cell"), clc), "QC": (("level", "cell"), clc * 1e-6),
                       "QI": (("level", "cell"), np.zeros_like(clc)), "HHL": (("half_level", "cell"), hhl)})


def test_cloud_base_and_top_on_crafted_columns():
    """Clear: missing. A cloud layer: base and top where CLC crosses 50 %, linear between levels. Fog (the
    lowest level cloudy): base at the lowest level. A cloud at the top: its top is the top level. Two
    layers: the base of the lower, the top of the upper. The condensate source gives the same here
    (QC = CLC x 1e-6 kg/kg, threshold 50e-6)."""
    ds = cloud_dataset([
        [0, 0, 0, 0, 0, 0],            # clear
        [0, 0, 100, 100, 0, 0],        # 3500 and 2500 m cloudy
        [0, 0, 0, 0, 20, 80],          # fog at 500 m
        [100, 0, 0, 0, 0, 0],          # a cloud at the top (5500 m)
        [0, 75, 0, 0, 75, 0],          # two layers: 4500 and 1500 m
    ])
    base = nwpflow.compute("CLOUD_BASE", ds).values
    top = nwpflow.compute("CLOUD_TOP", ds).values
    np.testing.assert_allclose(base, [np.nan, 2000.0, 500.0, 5000.0, 1500.0 - 1000.0 / 3.0], atol=1e-3)
    np.testing.assert_allclose(top, [np.nan, 4000.0, 500.0 + 1000.0 * 30.0 / 60.0, 5500.0, 4500.0 + 1000.0 / 3.0],
                               atol=1e-3)
    by_condensate = nwpflow.compute("CLOUD_BASE", ds, source="condensate", threshold=50e-6).values
    np.testing.assert_allclose(by_condensate, base, atol=1e-3)


def test_cloud_products_on_the_sample(icon_sample):
    """On the ICON-like sample: base below top wherever there is cloud, cloud-free columns missing in both,
    some deep convective clouds (tops above 8 km) and low clouds."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"], ["CLC", "HHL"])
    base = nwpflow.compute("CLOUD_BASE", ds).values
    top = nwpflow.compute("CLOUD_TOP", ds).values
    np.testing.assert_array_equal(np.isnan(base), np.isnan(top))
    cloudy = np.isfinite(base)
    assert 0.2 < cloudy.mean() < 0.95 and np.all(base[cloudy] <= top[cloudy])
    assert np.nanmax(top) > 8000.0 and np.nanmin(base) < 1500.0


def test_echo_top_is_icons(icon_sample):
    """ECHOTOP against ICON's ``compute_field_echotopinm`` transcribed in numpy (the first level from the
    top with Z >= Z_15dBZ, interpolated in Z^0.66666 with the level above) on every sample column: 1e-2 m
    (ICON's exponent 0.66666 against 2/3 and its 1e-300 guard move the height by millimetres)."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"], ["DBZ", "HHL"])
    dbz, hhl = ds["DBZ"].values.astype(np.float64), ds["HHL"].values.astype(np.float64)
    z = 0.5 * (hhl[:-1] + hhl[1:])
    linear = 10.0 ** (0.1 * dbz)
    threshold = 10.0 ** 1.5
    expected = np.full(dbz.shape[1], np.nan)
    for j in range(dbz.shape[1]):
        above = np.flatnonzero(linear[1:, j] >= threshold)
        if above.size:
            k = above[0] + 1
            za = np.exp(0.66666 * np.log(linear[k, j] + 1e-300))
            zb = np.exp(0.66666 * np.log(linear[k - 1, j] + 1e-300))
            zz = np.exp(0.66666 * np.log(threshold + 1e-300))
            expected[j] = z[k, j] + (z[k - 1, j] - z[k, j]) / min(zb - za, -1e-300) * (zz - za)
    got = nwpflow.compute("ECHOTOP", ds).values
    np.testing.assert_allclose(got, expected, atol=1e-2)
    assert 0.03 < np.isfinite(got).mean() < 0.5 and np.nanmax(got) > 8000.0


def test_isosurface_search_range_and_threads(ifs):  # noqa: F811
    """Only the levels in the search range count; the same bits with any thread count."""
    t = np.ascontiguousarray(ifs["T"].values.reshape(ifs.sizes["level"], -1))
    hhl = np.ascontiguousarray(ifs["HHL"].values.reshape(ifs.sizes["half_level"], -1))
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        index = np.empty((2, t.shape[1]), np.int32)
        weight = np.empty((2, t.shape[1]))
        layers.isosurface_brackets(t, [263.15, 195.0], index, weight, from_top=True, hhl=hhl, z_range=(0.0, 8000.0))
        runs.append(index.tobytes() + weight.tobytes())
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert runs[0] == runs[1]
    zf = 0.5 * (hhl[:-1].astype(np.float64) + hhl[1:])
    index = np.frombuffer(runs[0][:index.nbytes], np.int32).reshape(2, -1)
    found = index[0] >= 1
    assert found.mean() > 0.5 and np.all(zf[index[0, found], np.flatnonzero(found)] <= 8000.0)
    assert np.all(index[1] == -1)  # 195 K lies above 8 km everywhere
