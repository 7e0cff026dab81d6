"""Tests of the IFS hybrid-level kernels (``nwpflow.kernels.hybrid``) against earthkit-meteo (ECMWF).

Oracles, read-only, in ``../shared/data`` next to the project root:

* ``oracles/earthkit_meteo_hybrid/hybrid_core_data.json`` and ``hybrid_height_data.json``: two IFS
  L137 columns each (from the Metview test files ``t_lnsp_ml137.grb`` and ``tq_ml137.grb``) with the
  values earthkit-meteo computed for them (see their ``_comments_from_source``).
* ``ifs_model_levels/ifs_ml137_uvtq_lnsp_z_20181114T12_step24.grib``: a real IFS file (1632 columns,
  137 levels) on which the kernels are compared with earthkit-meteo's own functions
  (``earthkit.meteo.vertical.array``, test-only dependency).

Constants. Both JSON oracles are reproduced only with earthkit-meteo's gas constants,
``Rd = 287.0597`` and ``Rv = 461.51`` J kg-1 K-1, not with the IFS value ``Rv = 461.5250`` of
:data:`nwpflow.constants.ifs_Rv` (3e-7 relative off, 40 times the tolerance, see
``test_core_oracle_used_zero_surface_geopotential_and_earthkit_rv``). The core oracle's ``z`` was
computed with a surface geopotential of 0, as its comment says, not with its ``z_surf``; the height
oracle used its ``z_surf``.

Tolerances are derived, not tuned; each test states its own:

* ``_rounding_atol``: two double-precision evaluations of the same 137-term hydrostatic sum, in
  different order, differ by at most ``2 nlev eps max|Phi|`` (the recursive-summation bound), i.e.
  6e-8 m2 s-2 or 6e-9 m for a column reaching 1e6 m2 s-2;
* the core oracle printed ``delta`` and ``alpha`` to 10 decimals and computed ``z`` from those
  rounded values, so ``z`` there is only good to ``0.5e-10 sum R T_v`` (up to 5e-4 m2 s-2 at the
  top, 3e-8 relative) - see ``_printed_alpha_delta_atol``;
* pressures: the JSON prints them to ~15 significant digits (observed 6e-15 relative), rtol 1e-13.
"""

from __future__ import annotations

import json
from pathlib import Path

import numba
import numpy as np
import pytest

from nwpflow import constants
from nwpflow.kernels import hybrid

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ORACLES = DATA / "oracles" / "earthkit_meteo_hybrid"
CORE_JSON = ORACLES / "hybrid_core_data.json"
HEIGHT_JSON = ORACLES / "hybrid_height_data.json"
IFS_GRIB = DATA / "ifs_model_levels" / "ifs_ml137_uvtq_lnsp_z_20181114T12_step24.grib"

EARTHKIT_RD = 287.0597
"""earthkit-meteo 1.2.1 ``constants.Rd`` [J kg-1 K-1]; the JSON oracles were computed with it."""
EARTHKIT_RV = 461.51
"""earthkit-meteo 1.2.1 ``constants.Rv`` [J kg-1 K-1]; the JSON oracles were computed with it (the IFS
itself uses 461.5250, :data:`nwpflow.constants.ifs_Rv`)."""
EARTHKIT_RV_RD_MINUS_1 = EARTHKIT_RV / EARTHKIT_RD - 1.0
IFS_RV_RD_MINUS_1 = constants.ifs_Rv / constants.ifs_Rd - 1.0
RADIUS, G = constants.earth_radius, constants.g

EPS = np.finfo(np.float64).eps


def _rounding_atol(phi):
    """Bound on the difference of two double-precision hydrostatic sums of ``phi``'s column (m2 s-2)."""
    return 2 * phi.shape[0] * EPS * float(np.max(np.abs(phi)))


def _printed_alpha_delta_atol(t, q):
    """Bound on |Phi_exact - Phi_oracle| from the core oracle's 10-decimal ``delta`` and ``alpha``.

    The oracle's ``z_k = sum_{j>k} R T_j delta_j + alpha_k R T_k`` used printed values, each off by at
    most 0.5e-10, so ``z_k`` is off by at most ``0.5e-10 sum_{j>=k} R T_j`` (m2 s-2); ``z`` itself is
    printed to 10 decimals (another 0.5e-10).
    """
    rt = (EARTHKIT_RD + (EARTHKIT_RV - EARTHKIT_RD) * q) * t
    return 0.5e-10 * np.cumsum(rt[::-1], axis=0)[::-1] + 0.5e-10


def _load_json(path):
    if not path.exists():
        pytest.skip(f"earthkit-meteo oracle {path} is missing (read-only shared data)")
    with open(path) as f:
        raw = json.load(f)
    return {k: np.asarray(v, dtype=np.float64) for k, v in raw.items() if not k.startswith("_")}


@pytest.fixture(scope="module")
def core():
    return _load_json(CORE_JSON)


@pytest.fixture(scope="module")
def height():
    return _load_json(HEIGHT_JSON)


@pytest.fixture(scope="module")
def ifs_columns():
    """t, qv (137, 1632), ps = exp(lnsp), fis and the A/B of the real IFS file, read with plain ecCodes."""
    if not IFS_GRIB.exists():
        pytest.skip(f"IFS model-level file {IFS_GRIB} is missing (read-only shared data)")
    from nwpflow.io.eccodes_env import eccodes

    levels = {"T": {}, "QV": {}}
    single = {}
    pv = None
    with open(IFS_GRIB, "rb") as f:
        while (h := eccodes.codes_grib_new_from_file(f)) is not None:
            try:
                name = eccodes.codes_get(h, "shortName")
                if name in levels:
                    levels[name][eccodes.codes_get(h, "level")] = eccodes.codes_get_values(h)
                elif name in ("lnsp", "FI"):
                    single[name] = eccodes.codes_get_values(h)
                    pv = eccodes.codes_get_array(h, "pv")
            finally:
                eccodes.codes_release(h)
    nhalf = pv.size // 2
    t = np.stack([levels["T"][k] for k in range(1, nhalf)])
    qv = np.stack([levels["QV"][k] for k in range(1, nhalf)])
    return {"a": pv[:nhalf], "b": pv[nhalf:], "ps": np.exp(single["lnsp"]), "fis": single["FI"],
            "t": t, "qv": qv}


@pytest.fixture(scope="module")
def earthkit_vertical():
    return pytest.importorskip("earthkit.meteo.vertical.array",
                               reason="earthkit-meteo (test dependency) is missing")


# --------------------------------------------------------------------------------------------------
# Core oracle: pressures and geopotential of two L137 columns
# --------------------------------------------------------------------------------------------------


def test_half_level_pressure_matches_core_oracle(core):
    """p_{k+1/2} = A + B ps; the JSON prints ~15 significant digits (observed 6e-15), so rtol 1e-13."""
    p_half = hybrid.half_level_pressure(core["A"], core["B"], core["p_surf"])
    assert p_half.dtype == np.float64
    np.testing.assert_allclose(p_half, core["p_half"], rtol=1e-13, atol=0)


def test_full_level_pressure_matches_core_oracle(core):
    """Full level = mean of the two half levels; same printed precision, rtol 1e-13."""
    p_full = hybrid.full_level_pressure(hybrid.half_level_pressure(core["A"], core["B"], core["p_surf"]))
    np.testing.assert_allclose(p_full, core["p_full"], rtol=1e-13, atol=0)


def _core_geopotential(core, fis, rv_rd_minus_1=EARTHKIT_RV_RD_MINUS_1, rd=EARTHKIT_RD):
    p_half = hybrid.half_level_pressure(core["A"], core["B"], core["p_surf"])
    args = (p_half, core["t"], core["q"], fis, rd, rv_rd_minus_1)
    return hybrid.half_level_geopotential(*args), hybrid.full_level_geopotential(*args)


def test_full_level_geopotential_matches_core_oracle(core):
    """IFS full-level geopotential with alpha_1 = ln 2; the oracle used a surface geopotential of 0.

    Tolerance: the oracle's printed-alpha/delta bound (up to 5e-4 m2 s-2 at the top, 3e-8 relative;
    the observed difference is two thirds of it) plus the rounding bound.
    """
    _, phi_full = _core_geopotential(core, np.zeros(2))
    atol = _printed_alpha_delta_atol(core["t"], core["q"]) + _rounding_atol(core["z"])
    np.testing.assert_array_less(np.abs(phi_full - core["z"]), atol)


def test_core_oracle_used_zero_surface_geopotential_and_earthkit_rv(core):
    """Which inputs reproduce the core oracle: fis = 0 (not ``z_surf``) and earthkit's Rv = 461.51.

    With ``fis = z_surf`` every level is off by exactly ``z_surf``; with the IFS Rv = 461.5250 the
    difference exceeds the tolerance of the test above by more than 5 times (it is 3e-7 relative).
    """
    atol = _printed_alpha_delta_atol(core["t"], core["q"]) + _rounding_atol(core["z"])
    _, with_zs = _core_geopotential(core, core["z_surf"])
    np.testing.assert_array_less(np.abs(with_zs - core["z_surf"] - core["z"]), atol + _rounding_atol(with_zs))
    _, ifs_rv = _core_geopotential(core, np.zeros(2), IFS_RV_RD_MINUS_1, constants.ifs_Rd)
    assert np.max(np.abs(ifs_rv - core["z"]) / atol) > 5.0


def test_half_level_geopotential_matches_core_oracle(core):
    """Phi_{k+1/2} = z_k - alpha_k R T_v,k with the oracle's own z and alpha; Phi_{N+1/2} = fis exactly.

    Same tolerance as the full levels: the oracle's alpha is printed to 10 decimals too.
    """
    phi_half, _ = _core_geopotential(core, np.zeros(2))
    rt = (EARTHKIT_RD + (EARTHKIT_RV - EARTHKIT_RD) * core["q"]) * core["t"]
    expected = core["z"] - core["alpha"] * rt
    atol = _printed_alpha_delta_atol(core["t"], core["q"]) + _rounding_atol(core["z"])
    np.testing.assert_array_less(np.abs(phi_half[1:] - expected), atol)
    np.testing.assert_array_equal(phi_half[-1], 0.0)


def test_top_half_level_mirrors_full_level(core):
    """The top half level is defined so that the mean of the top layer's half levels is Phi_1.

    rtol 4 eps: ``Phi_{1/2} = 2 Phi_1 - Phi_{3/2}`` and the mean are each rounded once.
    """
    phi_half, phi_full = _core_geopotential(core, core["z_surf"])
    np.testing.assert_allclose(0.5 * (phi_half[0] + phi_half[1]), phi_full[0], rtol=4 * EPS, atol=0)
    # Equivalently Phi_{1/2} - Phi_{3/2} = 2 ln 2 R T_v,1; rtol 1e-14 because the difference (~1e5 m2 s-2)
    # of two ~8e5 m2 s-2 values carries their rounding (eps * 8e5) amplified by cancellation.
    rtv = EARTHKIT_RD * core["t"][0] * (1.0 + EARTHKIT_RV_RD_MINUS_1 * core["q"][0])
    np.testing.assert_allclose(phi_half[0] - phi_half[1], 2 * np.log(2.0) * rtv, rtol=1e-14)


def test_finite_model_top_matches_earthkit(core, earthkit_vertical):
    """A model top above P_TOP_ZERO (here A_{1/2} = 1 Pa) uses the general alpha_1 and ln(p_{3/2}/p_{1/2}).

    earthkit-meteo does the same (its ``PRESSURE_TOA`` branch); same constants, so the rounding bound.
    """
    a = core["A"].copy()
    a[0] = 1.0
    p_half = hybrid.half_level_pressure(a, core["B"], core["p_surf"])
    args = (p_half, core["t"], core["q"], core["z_surf"], EARTHKIT_RD, EARTHKIT_RV_RD_MINUS_1)
    phi_full = hybrid.full_level_geopotential(*args)
    ek_phi = earthkit_vertical.geopotential_on_hybrid_levels(core["t"], core["q"], core["z_surf"],
                                                             core["p_surf"], a, core["B"])
    np.testing.assert_allclose(phi_full, ek_phi, rtol=0, atol=_rounding_atol(ek_phi))
    phi_half = hybrid.half_level_geopotential(*args)
    rtv = EARTHKIT_RD * core["t"][0] * (1.0 + EARTHKIT_RV_RD_MINUS_1 * core["q"][0])
    np.testing.assert_allclose(phi_half[0] - phi_half[1], rtv * np.log(p_half[1] / p_half[0]), rtol=1e-14)


# --------------------------------------------------------------------------------------------------
# Height oracle: full-level heights of two other L137 columns
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["h_geopotential_sea", "h_geopotential_ground", "h_geometric_sea",
                                 "h_geometric_ground"])
def test_full_level_heights_match_height_oracle(height, key):
    """Geopotential/geometric height of the full levels above sea/ground (``height_on_hybrid_levels``).

    Computed here from the kernels as earthkit does: geopotential height Phi/g, geometric height
    ``geometric_height(Phi)``, "ground" = minus the surface value. Tolerance: the rounding bound / g
    (6e-9 m; observed 1.5e-9 m, the JSON prints 12 decimals).
    """
    p_half = hybrid.half_level_pressure(height["A"], height["B"], height["p_surf"])
    zs = height["z_surf"]
    phi = hybrid.full_level_geopotential(p_half, height["t"], height["q"], zs, EARTHKIT_RD,
                                         EARTHKIT_RV_RD_MINUS_1)
    h = {
        "h_geopotential_sea": phi / G,
        "h_geopotential_ground": (phi - zs) / G,
        "h_geometric_sea": hybrid.geometric_height(phi, RADIUS, G),
        "h_geometric_ground": hybrid.geometric_height(phi, RADIUS, G) - hybrid.geometric_height(zs, RADIUS, G),
    }[key]
    np.testing.assert_allclose(h, height[key], rtol=0, atol=_rounding_atol(phi) / G)


# --------------------------------------------------------------------------------------------------
# Real IFS file against earthkit-meteo's functions
# --------------------------------------------------------------------------------------------------


def test_pressures_match_earthkit_on_ifs_file(ifs_columns, earthkit_vertical):
    """Half and full-level pressure of 1632 real columns; the same double-precision operations, rtol 4 eps."""
    c = ifs_columns
    ek_half, ek_full = earthkit_vertical.pressure_on_hybrid_levels(c["ps"], c["a"], c["b"],
                                                                   output=("half", "full"))
    p_half = hybrid.half_level_pressure(c["a"], c["b"], c["ps"])
    np.testing.assert_allclose(p_half, ek_half, rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(hybrid.full_level_pressure(p_half), ek_full, rtol=4 * EPS, atol=0)


def test_geopotential_and_heights_match_earthkit_on_ifs_file(ifs_columns, earthkit_vertical):
    """Full-level geopotential, its half levels and HHL of 1632 real columns against earthkit-meteo.

    earthkit's own constants are passed, so the only difference is rounding: tolerance is the
    rounding bound (6e-8 m2 s-2, 6e-9 m; observed 3.5e-10 m2 s-2).
    """
    from earthkit.meteo import constants as ekc

    c = ifs_columns
    rd, rvm1 = ekc.Rd, ekc.Rv / ekc.Rd - 1.0
    a, b, ps, t, qv, fis = c["a"], c["b"], c["ps"], c["t"], c["qv"], c["fis"]
    ek_phi = earthkit_vertical.geopotential_on_hybrid_levels(t, qv, fis, ps, a, b)
    ek_h = earthkit_vertical.height_on_hybrid_levels(t, qv, fis, ps, a, b, h_type="geometric",
                                                     h_reference="sea")
    ek_alpha = earthkit_vertical.pressure_on_hybrid_levels(ps, a, b, output="alpha")
    atol = _rounding_atol(ek_phi)

    p_half = hybrid.half_level_pressure(a, b, ps)
    phi_full = hybrid.full_level_geopotential(p_half, t, qv, fis, rd, rvm1)
    np.testing.assert_allclose(phi_full, ek_phi, rtol=0, atol=atol)
    z_full = hybrid.geometric_height(phi_full, RADIUS, G)
    np.testing.assert_allclose(z_full, ek_h, rtol=0, atol=atol / G)

    phi_half = hybrid.half_level_geopotential(p_half, t, qv, fis, rd, rvm1)
    rt = (ekc.Rd + (ekc.Rv - ekc.Rd) * qv) * t
    np.testing.assert_allclose(phi_half[1:], ek_phi - ek_alpha * rt, rtol=0, atol=atol)
    np.testing.assert_array_equal(phi_half[-1], fis)

    _, z_half = hybrid.hybrid_pressure_and_height(a, b, ps, t, qv, fis, rd, rvm1, RADIUS, G)
    np.testing.assert_array_equal(z_half[-1], hybrid.geometric_height(fis, RADIUS, G))
    assert np.all(np.diff(z_half, axis=0) < 0.0), "HHL must decrease from the model top down"


def test_ifs_constants_move_hhl_by_millimetres(ifs_columns):
    """With the IFS Rv = 461.5250 (what the IFS used) instead of earthkit's 461.51, HHL moves by < 1 cm.

    Observed: 2.2 mm at most (at the model top of moist columns). The reader uses the IFS constants.
    """
    c = ifs_columns
    common = (c["a"], c["b"], c["ps"], c["t"], c["qv"], c["fis"])
    _, z_ifs = hybrid.hybrid_pressure_and_height(*common, constants.ifs_Rd, IFS_RV_RD_MINUS_1, RADIUS, G)
    _, z_ek = hybrid.hybrid_pressure_and_height(*common, EARTHKIT_RD, EARTHKIT_RV_RD_MINUS_1, RADIUS, G)
    diff = np.max(np.abs(z_ifs - z_ek))
    assert 0.0 < diff < 0.01


# --------------------------------------------------------------------------------------------------
# Properties of the kernels: fused = separate, float32 widening, column independence, threads
# --------------------------------------------------------------------------------------------------


def _all_outputs(c, rd=constants.ifs_Rd, rvm1=IFS_RV_RD_MINUS_1):
    p_half = hybrid.half_level_pressure(c["a"], c["b"], c["ps"])
    phi_half = hybrid.half_level_geopotential(p_half, c["t"], c["qv"], c["fis"], rd, rvm1)
    return {
        "p_half": p_half,
        "p_full": hybrid.full_level_pressure(p_half),
        "phi_half": phi_half,
        "phi_full": hybrid.full_level_geopotential(p_half, c["t"], c["qv"], c["fis"], rd, rvm1),
        "z_half": hybrid.geometric_height(phi_half, RADIUS, G),
        "fused": hybrid.hybrid_pressure_and_height(c["a"], c["b"], c["ps"], c["t"], c["qv"], c["fis"], rd,
                                                   rvm1, RADIUS, G),
    }


def test_fused_kernel_is_bit_identical_to_separate_kernels(ifs_columns):
    """hybrid_pressure_and_height shares the block helpers, so P and HHL are the same bits."""
    out = _all_outputs(ifs_columns)
    p_full, z_half = out["fused"]
    np.testing.assert_array_equal(p_full, out["p_full"])
    np.testing.assert_array_equal(z_half, out["z_half"])


def test_float32_inputs_are_widened_before_arithmetic(ifs_columns):
    """float32 inputs give exactly the float64 results of the same (float32-representable) values."""
    c32 = {k: (v if k in ("a", "b") else v.astype(np.float32)) for k, v in ifs_columns.items()}
    c64 = {k: v.astype(np.float64) for k, v in c32.items()}
    p32, z32 = _all_outputs(c32)["fused"]
    p64, z64 = _all_outputs(c64)["fused"]
    assert p32.dtype == z32.dtype == np.float64
    np.testing.assert_array_equal(p32, p64)
    np.testing.assert_array_equal(z32, z64)


def test_columns_are_computed_independently(ifs_columns):
    """A subset of columns (crossing block boundaries, shifted against them) gives the same bits."""
    sub = {k: (v if k in ("a", "b") else np.ascontiguousarray(v[..., 300:700]))
           for k, v in ifs_columns.items()}
    full, part = _all_outputs(ifs_columns), _all_outputs(sub)
    for name in ("p_half", "p_full", "phi_half", "phi_full", "z_half"):
        np.testing.assert_array_equal(part[name], full[name][:, 300:700], err_msg=name)


def test_bit_identical_for_any_thread_count(ifs_columns):
    """1 and 2 threads give bit-identical results (1632 columns = 7 blocks of BLOCK_COLUMNS)."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has fewer than 2 threads (NUMBA_NUM_THREADS)")
    assert ifs_columns["ps"].size > 2 * hybrid.BLOCK_COLUMNS
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _all_outputs(ifs_columns)
        numba.set_num_threads(2)
        two = _all_outputs(ifs_columns)
    finally:
        numba.set_num_threads(before)
    for name in ("p_half", "p_full", "phi_half", "phi_full", "z_half"):
        np.testing.assert_array_equal(one[name], two[name], err_msg=name)
    for x, y in zip(one["fused"], two["fused"]):
        np.testing.assert_array_equal(x, y)


def test_shape_mismatch_raises(core):
    """Shapes are checked (numba does not check bounds): a, b lengths and t/qv/fis against p_half."""
    with pytest.raises(ValueError, match="same length"):
        hybrid.half_level_pressure(core["A"], core["B"][:-1], core["p_surf"])
    p_half = hybrid.half_level_pressure(core["A"], core["B"], core["p_surf"])
    with pytest.raises(ValueError, match="one level more"):
        hybrid.full_level_geopotential(p_half, core["t"][1:], core["q"][1:], np.zeros(2), EARTHKIT_RD, 0.6)
    with pytest.raises(ValueError, match="fis"):
        hybrid.half_level_geopotential(p_half, core["t"], core["q"], np.zeros(3), EARTHKIT_RD, 0.6)
