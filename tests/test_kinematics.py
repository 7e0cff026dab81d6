"""Bulk shear, Bunkers storm motion and storm-relative helicity: MetPy's published values, MetPy on real IFS
columns, ICON's algorithms transcribed in numpy, thread determinism and the products on the sample.

How the comparisons are made exact. MetPy's ``bulk_shear`` finds the pressure of a height bound linearly
in height and then the wind there linearly in ln p; the kernel interpolates the wind linearly in height.
The two agree exactly where ln p is linear in height, so MetPy gets the real winds and heights with the
pressure p = 1e5 exp(-z / 8000 m): what remains is float64 rounding (MetPy and the kernel both compute in
float64 from the same float32 values; the product stores float32). ``bunkers_storm_motion`` and
``storm_relative_helicity`` use the real pressure: the kernel's ``mean="metpy"`` is MetPy's layer average.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

import nwpflow
from nwpflow.kernels import kinematics

mpcalc = pytest.importorskip("metpy.calc")
from metpy.units import units  # noqa: E402

KNOT = 1852.0 / 3600.0  # m s-1


@pytest.fixture(scope="module")
def ifs(ifs_file):
    return nwpflow.open_run(ifs_file, ["P", "U", "V", "HHL"])


def flat(ds, name):
    return np.ascontiguousarray(ds[name].values.reshape(ds[name].shape[0], -1))


def column(values_top_down, dtype=np.float32):
    return np.ascontiguousarray(np.asarray(values_top_down, dtype=dtype)[:, None])


def published_column():
    """MetPy's docstring sounding of bunkers_storm_motion / storm_relative_helicity (heights 250-7120 m),
    top first, with half levels whose means are exactly those heights (ground at 0 m)."""
    p = np.array([1000, 925, 850, 700, 500, 400]) * 100.0
    h = np.array([250, 700, 1500, 3100, 5720, 7120], dtype=float)
    u, v = mpcalc.wind_components(np.array([5, 15, 20, 30, 50, 60]) * units.knots,
                                  np.array([165, 180, 190, 210, 220, 250]) * units.degree)
    u, v = u.to("m/s").m, v.to("m/s").m
    hhl = [0.0]
    for z in h:
        hhl.append(2.0 * z - hhl[-1])
    return (p, h, u, v), [column(a[::-1]) for a in (u, v, p)] + [column(hhl[::-1])]


def test_bunkers_and_srh_published():
    """MetPy 1.7.1's docstring sounding: the kernel's storm motion (``mean="metpy"``) equals MetPy's live
    result in SI units to 1e-6 relative (float32 inputs), right and left mover. MetPy's published
    (22.09618172, 12.43406736) kt is 0.14 % lower: its example gives the heights as integers and the
    pressures in hPa, and MetPy casts a bound's interpolated pressure to the bound's dtype (``np.interp(...)
    .astype(np.result_type(bound))``), cutting 497.85 hPa to 497 hPa; fed those units, MetPy reproduces its
    published value, which the kernel does not truncate. The SRH over the lowest km with the storm
    (7, 7) m/s: 49.6086162 m2/s2 published, the kernel to 1e-4 (float32 winds)."""
    (p, h, u, v), (uc, vc, pc, hhlc) = published_column()
    storm = np.empty((2, 1))
    srh = np.empty((1, 1))
    for right in (True, False):
        kinematics.storm_relative_helicity(uc, vc, pc, hhlc, [1250.0], storm, srh, mean="metpy", right=right)
        motion = mpcalc.bunkers_storm_motion(p * units.Pa, u * units("m/s"), v * units("m/s"), h * units.m)
        np.testing.assert_allclose(storm[:, 0], motion[0 if right else 1].to("m/s").m, rtol=1e-6)
    kinematics.storm_relative_helicity(uc, vc, pc, hhlc, [1250.0], storm, srh, mean="metpy")
    hpa_knots = mpcalc.bunkers_storm_motion(p / 100.0 * units.hPa, (u / KNOT) * units.knots,
                                            (v / KNOT) * units.knots, h.astype(int) * units.m)[0]
    np.testing.assert_allclose(hpa_knots.m, [22.09618172, 12.43406736], rtol=1e-6)
    assert 1e-3 < abs(storm[0, 0] / KNOT / 22.09618172 - 1) < 2e-3
    storm[:] = 7.0
    kinematics.storm_relative_helicity(uc, vc, pc, hhlc, [1250.0], storm, srh, given_storm=True)
    assert abs(srh[0, 0] - 49.6086162) < 1e-4


def _pick(ncol, n=20, seed=0):
    return np.random.default_rng(seed).choice(ncol, n, replace=False)


def test_shear_matches_metpy_on_ifs(ifs):
    """WSHEAR_U/V/WSHEAR against MetPy's ``bulk_shear`` on 20 IFS L137 columns, layer from the lowest level
    to 1, 3 and 6 km above ground (MetPy's bottom is the lowest level, its depth measured from there).

    The two differ in one place, by construction: the wind at the top. MetPy takes the top's pressure
    linear in height and the wind there linear in ln p; the kernel the wind linear in height. That
    difference is computed from the column (numpy, both rules) and must explain MetPy's value: the rest
    is float64 rounding (2e-6 m/s) and the product's float32 rounding (2**-24 relative)."""
    p, u, v, hhl = flat(ifs, "P"), flat(ifs, "U"), flat(ifs, "V"), flat(ifs, "HHL")
    components = [nwpflow.compute(name, ifs).values.reshape(3, -1) for name in ("WSHEAR_U", "WSHEAR_V", "WSHEAR")]
    z = 0.5 * (hhl[:-1].astype(np.float64) + hhl[1:])
    for j in _pick(u.shape[1]):
        agl = z[::-1, j] - hhl[-1, j]
        pj = p[::-1, j].astype(float)
        for i, top in enumerate((1000.0, 3000.0, 6000.0)):
            uj, vj = u[::-1, j].astype(float), v[::-1, j].astype(float)
            du, dv = mpcalc.bulk_shear(pj * units.Pa, uj * units("m/s"), vj * units("m/s"), height=agl * units.m,
                                       bottom=agl[0] * units.m, depth=(top - agl[0]) * units.m)
            p_top = np.interp(top, agl, pj)  # MetPy's rule for the top: its pressure linear in height ...
            k = np.searchsorted(-pj, -p_top)  # ... the wind linear in ln p between the levels around it
            w = (np.log(p_top) - np.log(pj[k - 1])) / (np.log(pj[k]) - np.log(pj[k - 1]))
            explained = [(x[k - 1] + w * (x[k] - x[k - 1])) - np.interp(top, agl, x) for x in (uj, vj)]
            want_u, want_v = du.m - explained[0], dv.m - explained[1]
            for got, want in ((components[0][i, j], want_u), (components[1][i, j], want_v),
                              (components[2][i, j], np.hypot(want_u, want_v))):
                assert abs(got - want) <= 2e-6 + 2**-24 * abs(want), (j, top)
            assert max(abs(e) for e in explained) < 0.05  # the two rules differ by a few mm/s here


def test_shear_is_icons_algorithm(icon_sample):
    """ICON's ``compute_field_wshear`` transcribed in numpy (its loop over level pairs, the height clamped
    to the lowest full level, the lowest level's wind subtracted) on every column of the ICON-like sample:
    float32 rounding. The 6 km shear is stronger than the 1 km one on most columns (the jet aloft)."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"], ["U", "V", "HHL"])
    u, hhl = flat(ds, "U").astype(np.float64), flat(ds, "HHL").astype(np.float64)
    zmc = 0.5 * (hhl[:-1] + hhl[1:])
    nlev = u.shape[0]
    got = nwpflow.compute("WSHEAR_U", ds).values
    for i, h in enumerate((1000.0, 3000.0, 6000.0)):
        expected = np.zeros(u.shape[1])
        zint = np.maximum(h, zmc[-1] - hhl[-1])
        for jk in range(1, nlev):  # Fortran jk = 2 .. nlev
            zl = zmc[jk] - hhl[-1]
            zu = zmc[jk - 1] - hhl[-1]
            hit = (zl <= zint) & (zint < zu)
            value = u[jk] + (u[jk - 1] - u[jk]) / (zu - zl) * (zint - zl) - u[-1]
            expected = np.where(hit, value, expected)
        np.testing.assert_allclose(got[i], expected, rtol=2**-23, atol=1e-6)
    magnitude = nwpflow.compute("WSHEAR", ds).values
    assert np.mean(magnitude[2] > magnitude[0]) > 0.9 and np.nanmax(magnitude[2]) > 15.0


def test_storm_motion_and_srh_match_metpy_on_ifs(ifs):
    """USTM/VSTM (``mean="metpy"``) against MetPy's ``bunkers_storm_motion``, and SRH against MetPy's
    ``storm_relative_helicity`` with that storm, on 20 IFS columns. The storm motion to 1e-5 m/s (MetPy's
    float64 and the kernel's follow the same steps; float32 storage of the product), SRH to 1e-4 m2/s2 +
    1e-6 relative (the sum of ~40 float64 products, stored as float32)."""
    cache: dict = {}
    p, u, v, hhl = (flat(ifs, n) for n in ("P", "U", "V", "HHL"))
    ustm = nwpflow.compute("USTM", ifs, cache=cache, mean="metpy").values.ravel()
    vstm = nwpflow.compute("VSTM", ifs, cache=cache, mean="metpy").values.ravel()
    srh = nwpflow.compute("SRH", ifs, cache=cache, mean="metpy").values.reshape(2, -1)
    z = 0.5 * (hhl[:-1].astype(np.float64) + hhl[1:])
    for j in _pick(p.shape[1], seed=1):
        h = z[::-1, j] * units.m
        uj, vj = u[::-1, j].astype(float) * units("m/s"), v[::-1, j].astype(float) * units("m/s")
        right, _, _ = mpcalc.bunkers_storm_motion(p[::-1, j].astype(float) * units.Pa, uj, vj, h)
        assert abs(ustm[j] - right[0].m) < 1e-5 + 2**-24 * abs(right[0].m)
        assert abs(vstm[j] - right[1].m) < 1e-5 + 2**-24 * abs(right[1].m)
        for i, top in enumerate((1000.0, 3000.0)):
            depth = top - (z[-1, j] - hhl[-1, j])
            _, _, total = mpcalc.storm_relative_helicity(h, uj, vj, depth * units.m, storm_u=right[0], storm_v=right[1])
            assert abs(srh[i, j] - total.m) < 1e-4 + 1e-6 * abs(total.m), (j, top)


def test_height_weighted_storm_motion_is_icons(icon_sample):
    """The default ``mean="height"``: ICON's ``vert_integral_vec_1d`` means (boxes between half levels cut
    at the bounds, above ground) transcribed in numpy on 200 sample columns, and Bunkers' formula: 1e-5 m/s
    (float32 storage). It differs from MetPy's continuous average by up to a few tenths of m/s on the
    sample (the layers' bases: the ground against the lowest level; weights dz against dp), computed."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"], ["P", "U", "V", "HHL"])
    u, v, hhl = (flat(ds, n).astype(np.float64) for n in ("U", "V", "HHL"))
    ground = hhl[-1]

    def box(f, lo, hi):
        upper, lower = hhl[:-1] - ground, hhl[1:] - ground
        d = np.clip(np.minimum(upper, hi) - np.maximum(lower, lo), 0.0, None)
        return (f * d).sum(axis=0) / d.sum(axis=0)

    su = box(u, 5500, 6000) - box(u, 0, 500)
    sv = box(v, 5500, 6000) - box(v, 0, 500)
    norm = np.hypot(su, sv)
    expected_u = box(u, 0, 6000) + 7.5 * sv / norm
    expected_v = box(v, 0, 6000) - 7.5 * su / norm
    cache: dict = {}
    ustm = nwpflow.compute("USTM", ds, cache=cache).values
    vstm = nwpflow.compute("VSTM", ds, cache=cache).values
    np.testing.assert_allclose(ustm, expected_u, atol=1e-5)
    np.testing.assert_allclose(vstm, expected_v, atol=1e-5)
    metpy_like = nwpflow.compute("USTM", ds, mean="metpy").values
    assert 0.01 < np.abs(metpy_like - ustm).max() < 2.0


def test_srh_on_the_sample_and_its_veering_jet(icon_sample):
    """The sample's veering low-level jet gives positive 0-1 km SRH at night over most of the domain, up to
    ~100-300 m2/s2, and more 0-3 km than 0-1 km SRH where the jet veers further aloft; the left mover's SRH
    is smaller than the right mover's (its storm motion lies on the other side of the hodograph)."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00000000"], ["P", "U", "V", "HHL"])
    srh = nwpflow.compute("SRH", ds).values
    left = nwpflow.compute("SRH", ds, mover="left").values
    assert np.mean(srh[0] > 0) > 0.7 and 80.0 < np.nanmax(srh[0]) < 600.0
    assert np.mean(srh[1] > srh[0]) > 0.5
    assert np.mean(left[0] < srh[0]) > 0.9


def test_bit_identical_for_any_thread_count(ifs):
    """Fixed column blocks: the same bits with one thread and with all of them."""
    u, v, p, hhl = (flat(ifs, n) for n in ("U", "V", "P", "HHL"))
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        shear = np.empty((3, 3, u.shape[1]), np.float32)
        kinematics.bulk_shear(u, v, hhl, [1000.0, 3000.0, 6000.0], shear)
        storm, srh = np.empty((2, u.shape[1])), np.empty((2, u.shape[1]))
        kinematics.storm_relative_helicity(u, v, p, hhl, [1000.0, 3000.0], storm, srh)
        runs.append(shear.tobytes() + storm.tobytes() + srh.tobytes())
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert runs[0] == runs[1]


def test_heights_option_is_checked(icon_sample):
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"], ["U", "V", "HHL"])
    with pytest.raises(nwpflow.OptionError, match="heights"):
        nwpflow.compute("WSHEAR", ds, heights=[-5.0])
    out = nwpflow.compute("WSHEAR", ds, heights=[500.0])
    assert out.dims == ("height", "cell") and out["height"].values.tolist() == [500.0]
