"""Tests of nwpflow.io.sample: a synthetic model run written as genuine GRIB2 by ecCodes.

Everything is read back with ecCodes directly (and once with cfgrib), not with nwpflow's reader, so
that these tests check the files, not a reader's interpretation of them. The runs are tiny (a few
hundred cells, the full 80 levels) so the module takes seconds.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from nwpflow.constants import Rd, Rv, cpd, g, kappa, p0, rv_rd_minus_1
from nwpflow.io.eccodes_env import eccodes
from nwpflow.io.sample import PRESETS, IconGrid, RotatedGrid, SamplePreset, list_presets, write_sample

NCELLS = 400
MEMBERS = (0, 1)
LEADS = (0, 1, 3)
NLEV = 80

MODEL_LEVEL = ("P", "T", "QV", "U", "V")
CLOUDS = ("QC", "QI", "CLC", "DBZ")
SURFACE = ("PS", "T_2M", "TD_2M", "U_10M", "V_10M", "VMAX_10M", "TOT_PREC")

# Tetens saturation vapour pressure over water with COSMO/ICON's constants (b1, b2w, b3, b4w), as
# COSMO's RELHUM and fieldextra define relative humidity (COSMO data_constants: b3 = 273.16 K, the triple
# point; written out here, independently of nwpflow.constants).
B1, B2W, B3, B4W = 610.78, 17.2693882, 273.16, 35.86
LV = 2.501e6  # latent heat of vaporisation at 0 degC [J kg-1] (COSMO/ICON ``lh_v``)
EPS = Rd / Rv


def esat(t):
    return B1 * np.exp(B2W * (t - B3) / (t - B4W))


def vapour_pressure(qv, p):
    return qv * p / (EPS + (1.0 - EPS) * qv)


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------

def read_messages(path):
    """Return every message of a GRIB file as a dict of the keys these tests look at, plus values."""
    messages = []
    with open(path, "rb") as f:
        while (h := eccodes.codes_grib_new_from_file(f)) is not None:
            try:
                m = {key: eccodes.codes_get(h, key) for key in (
                    "shortName", "typeOfLevel", "level", "centre", "dataDate", "dataTime",
                    "productDefinitionTemplateNumber", "gridType", "numberOfDataPoints", "packingType",
                    "bitsPerValue", "packingError")}
                for key in ("discipline", "parameterCategory", "parameterNumber", "typeOfFirstFixedSurface"):
                    m[key] = eccodes.codes_get_long(h, key)
                for key in ("perturbationNumber", "numberOfForecastsInEnsemble", "typeOfEnsembleForecast",
                            "typeOfStatisticalProcessing", "topLevel", "bottomLevel", "uuidOfHGrid",
                            "numberOfGridInReference", "uvRelativeToGrid", "nlev", "uuidOfVGrid"):
                    if eccodes.codes_is_defined(h, key):
                        m[key] = eccodes.codes_get(h, key)
                eccodes.codes_set(h, "stepUnits", "h")  # MeteoSwiss encodes minutes; ask for hours
                m["startStep"] = eccodes.codes_get_long(h, "startStep")
                m["endStep"] = eccodes.codes_get_long(h, "endStep")
                if m["gridType"] == "rotated_ll":
                    for key in ("Ni", "Nj", "latitudeOfFirstGridPointInDegrees", "longitudeOfFirstGridPointInDegrees",
                                "latitudeOfLastGridPointInDegrees", "longitudeOfLastGridPointInDegrees",
                                "iDirectionIncrementInDegrees", "jDirectionIncrementInDegrees",
                                "latitudeOfSouthernPoleInDegrees", "longitudeOfSouthernPoleInDegrees"):
                        m[key] = eccodes.codes_get(h, key)
                    m["latitudes"] = eccodes.codes_get_array(h, "latitudes")
                    m["longitudes"] = eccodes.codes_get_array(h, "longitudes")
                m["values"] = eccodes.codes_get_values(h)
            finally:
                eccodes.codes_release(h)
            messages.append(m)
    return messages


def stack(messages, name):
    """Return the levels of field ``name`` as an array (level, point), levels in ascending order."""
    selected = sorted((m for m in messages if m["shortName"] == name), key=lambda m: m["level"])
    return np.array([m["values"] for m in selected])


def member_file(run_dir, member, lead):
    return run_dir / f"{member:03d}" / f"lfff{lead // 24:02d}{lead % 24:02d}0000"


def column_fields(read, run_dir, member, lead):
    """Return model-level and surface fields of one member and lead, plus HHL, HSURF and full-level
    heights Z; ``read`` reads a GRIB file's messages."""
    messages = read(member_file(run_dir, member, lead))
    constants = read(run_dir / "lfff00000000c")
    fields = {name: stack(messages, name) for name in (*MODEL_LEVEL, "W", *CLOUDS, *SURFACE)}
    fields.update(HHL=stack(constants, "HHL"), HSURF=stack(constants, "HSURF")[0])
    fields["Z"] = 0.5 * (fields["HHL"][:-1] + fields["HHL"][1:])  # full-level heights
    for name in SURFACE:
        fields[name] = fields[name][0]
    return fields


def packing_error(messages, name):
    """Return the largest packing error (half a packing step) of field ``name`` over its levels."""
    return max(m["packingError"] for m in messages if m["shortName"] == name)


# ------------------------------------------------------------------------------------------------
# Fixtures: tiny runs
# ------------------------------------------------------------------------------------------------

def tiny_icon(ncells=NCELLS) -> SamplePreset:
    return dataclasses.replace(PRESETS["small"], grid=IconGrid(ncells=ncells))


def tiny_cosmo() -> SamplePreset:
    # COSMO-1E's domain at 0.5 deg: 24 x 18 mass points.
    return dataclasses.replace(PRESETS["cosmo-small"],
                               grid=RotatedGrid(nx=24, ny=18, dlon=0.5, dlat=0.5, rlon0=-6.82, rlat0=-4.42))


@pytest.fixture(scope="module")
def grib():
    """Return a reader that decodes each GRIB file once per module (the fixtures' files never change)."""
    cache = {}

    def read(path):
        if str(path) not in cache:
            cache[str(path)] = read_messages(path)
        return cache[str(path)]

    return read


@pytest.fixture(scope="module")
def icon_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("icon")
    paths = write_sample(out, tiny_icon(), members=MEMBERS, lead_times=LEADS)
    return out, paths


@pytest.fixture(scope="module")
def afternoon_run(tmp_path_factory):
    """The control member at +14 h (14 UTC, mid-afternoon in the Alps)."""
    out = tmp_path_factory.mktemp("afternoon")
    write_sample(out, tiny_icon(), members=[0], lead_times=[14])
    return out


@pytest.fixture(scope="module")
def cosmo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cosmo")
    paths = write_sample(out, tiny_cosmo(), members=[0], lead_times=[0])
    return out, paths


@pytest.fixture(scope="module")
def icon_fields(icon_run, grib):
    out, _ = icon_run
    return {(member, lead): column_fields(grib, out, member, lead) for member in MEMBERS for lead in LEADS}


# ------------------------------------------------------------------------------------------------
# Presets and arguments
# ------------------------------------------------------------------------------------------------

def test_presets_sizes():
    """The presets have the sizes the pipeline and the benchmarks rely on."""
    assert list_presets() == ["small", "cosmo-small", "icon-ch2", "icon-ch1"]
    small, cosmo, ch2, ch1 = (PRESETS[name] for name in list_presets())
    assert (small.grid.ncells, small.nlev, small.members, small.lead_times) == (5000, 80, (0, 1, 2), (0, 1, 2, 3))
    assert isinstance(cosmo.grid, RotatedGrid)
    assert (cosmo.grid.nx, cosmo.grid.ny, cosmo.members, cosmo.lead_times) == (80, 60, (0, 1), (0, 1))
    assert (cosmo.grid.south_pole_lat, cosmo.grid.south_pole_lon) == (-43.0, 10.0)
    assert (ch2.grid.ncells, ch2.nlev, ch2.members, ch2.lead_times) == (283_876, 80, (0,), (1,))
    assert (ch1.grid.ncells, ch1.nlev, ch1.members, ch1.lead_times) == (1_147_980, 80, (0,), (1,))


@pytest.mark.parametrize("kwargs, match", [
    ({"preset": "huge"}, "valid presets: small, cosmo-small, icon-ch2, icon-ch1"),
    ({"packing": "grid_jpeg"}, "valid packings: grid_simple, grid_ccsds"),
    ({"bits_per_value": 0}, "bits_per_value"),
    ({"members": [0, 0]}, "duplicates"),
    ({"members": [-1]}, "members"),
    ({"lead_times": []}, "at least one"),
    ({"members": [255]}, "at most 254"),
    ({"seed": -1}, "seed"),
])
def test_invalid_arguments(tmp_path, kwargs, match):
    """A wrong argument raises ValueError naming what is valid, before anything is written."""
    with pytest.raises(ValueError, match=match):
        write_sample(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def test_deterministic_from_seed(tmp_path):
    """The same seed writes byte-identical files; another seed perturbs the members differently."""
    preset = tiny_icon(ncells=60)
    a = write_sample(tmp_path / "a", preset, members=[1], lead_times=[2], seed=5)
    b = write_sample(tmp_path / "b", preset, members=[1], lead_times=[2], seed=5)
    c = write_sample(tmp_path / "c", preset, members=[1], lead_times=[2], seed=6)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert a[0].read_bytes() == c[0].read_bytes()  # grid and orography do not depend on the seed
    assert a[1].read_bytes() != c[1].read_bytes()


# ------------------------------------------------------------------------------------------------
# Files and GRIB keys
# ------------------------------------------------------------------------------------------------

def test_file_layout(icon_run):
    """One constants file, one file per member and lead time, named as MeteoSwiss names them."""
    out, paths = icon_run
    expected = ["lfff00000000c"] + [f"{m:03d}/lfff00{h:02d}0000" for m in MEMBERS for h in LEADS]
    assert [p.relative_to(out).as_posix() for p in paths] == expected
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        [*expected, f"icon_grid_sample_{NCELLS}.nc"])  # and the grid file beside them


def test_lead_time_file_names(tmp_path):
    """Lead times of a day or more go to the DD digits: 33 h is lfff01090000."""
    paths = write_sample(tmp_path, tiny_icon(ncells=20), members=[0], lead_times=[33])
    assert paths[1].name == "lfff01090000"
    tot_prec = [m for m in read_messages(paths[1]) if m["shortName"] == "TOT_PREC"][0]
    assert (tot_prec["startStep"], tot_prec["endStep"]) == (0, 33)


def test_constants_file(icon_run, grib):
    """HHL on half levels 1..81, HSURF, CLAT, CLON: member-independent (deterministic template)."""
    out, _ = icon_run
    messages = grib(out / "lfff00000000c")
    assert [m["shortName"] for m in messages] == ["HHL"] * (NLEV + 1) + ["HSURF", "CLAT", "CLON"]
    assert [m["level"] for m in messages[:NLEV + 1]] == list(range(1, NLEV + 2))
    assert {m["typeOfLevel"] for m in messages[:NLEV + 1]} == {"generalVertical"}
    assert {m["typeOfLevel"] for m in messages[NLEV + 1:]} == {"surface"}
    for m in messages:
        assert m["productDefinitionTemplateNumber"] == 0
        assert "perturbationNumber" not in m
        assert (m["centre"], m["dataDate"], m["dataTime"], m["endStep"]) == ("lssw", 20260715, 0, 0)
    clat, clon = messages[-2]["values"], messages[-1]["values"]
    # 16-bit packing of 6 deg of latitude: 1e-4 deg; the cells fill the domain box.
    assert 43.5 - 1e-4 <= clat.min() < 43.6 and 49.4 < clat.max() <= 49.5 + 1e-4
    assert 0.0 - 1e-4 <= clon.min() < 0.2 and 16.8 < clon.max() <= 17.0 + 1e-4


def test_messages_carry_the_field_tables_grib2_identity(icon_run, grib):
    """Every field of the sample is encoded as the data model's field table says (FIELDS[name].grib2:
    discipline, category, number; the fixed surface of a surface field), and ecCodes with the COSMO
    definitions names each message back by the table's shortName. The table is what the GRIB2 writer
    writes time products with, so this checks it against ecCodes' own tables."""
    from nwpflow.io.datamodel import FIELDS, SURFACE as ON_A_SURFACE
    from nwpflow.io.sample.writer import SAMPLE_FIELDS

    out, _ = icon_run
    seen = set()
    for m in grib(out / "lfff00000000c") + grib(out / "001" / "lfff00030000"):
        parameter = FIELDS[m["shortName"]].grib2
        assert (m["discipline"], m["parameterCategory"], m["parameterNumber"]) == (
            parameter.discipline, parameter.category, parameter.number), m["shortName"]
        assert parameter.short_name == m["shortName"]
        if FIELDS[m["shortName"]].vertical == ON_A_SURFACE:
            assert m["typeOfFirstFixedSurface"] == parameter.surface.type_of_first, m["shortName"]
            assert m["typeOfLevel"] == parameter.type_of_level
        seen.add(m["shortName"])
    assert seen == set(SAMPLE_FIELDS)


def test_member_file_messages(icon_run, grib):
    """Each member file holds P, T, QV, U, V on levels 1..80, W on 1..81, QC, QI, CLC, DBZ on 1..80 and the
    surface fields."""
    out, _ = icon_run
    messages = grib(out / "001" / "lfff00030000")
    names = [m["shortName"] for m in messages]
    assert names == ([n for n in MODEL_LEVEL for _ in range(NLEV)] + ["W"] * (NLEV + 1)
                     + [n for n in CLOUDS for _ in range(NLEV)] + list(SURFACE))
    for m in messages:
        if m["shortName"] in MODEL_LEVEL + CLOUDS:
            assert m["typeOfLevel"] == "generalVerticalLayer"
            assert m["bottomLevel"] == m["topLevel"] + 1
            assert m["nlev"] == NLEV + 1 and re.fullmatch("[0-9a-f]{32}", m["uuidOfVGrid"])
        elif m["shortName"] == "W":
            assert m["typeOfLevel"] == "generalVertical"
    assert [m["level"] for m in messages if m["shortName"] == "T"] == list(range(1, NLEV + 1))
    assert [m["level"] for m in messages if m["shortName"] == "W"] == list(range(1, NLEV + 2))
    levels = {m["shortName"]: (m["typeOfLevel"], m["level"]) for m in messages if m["shortName"] in SURFACE}
    assert levels == {"PS": ("surface", 0), "T_2M": ("heightAboveGround", 2), "TD_2M": ("heightAboveGround", 2),
                      "U_10M": ("heightAboveGround", 10), "V_10M": ("heightAboveGround", 10),
                      "VMAX_10M": ("heightAboveGround", 10), "TOT_PREC": ("surface", 0)}


def test_ensemble_and_time_keys(icon_run, grib):
    """Ensemble templates with perturbationNumber = member; steps in hours; statistics as documented."""
    out, _ = icon_run
    for member in MEMBERS:
        for lead in LEADS:
            for m in grib(member_file(out, member, lead)):
                assert (m["perturbationNumber"], m["numberOfForecastsInEnsemble"]) == (member, len(MEMBERS))
                assert m["typeOfEnsembleForecast"] == 192
                assert (m["centre"], m["dataDate"], m["dataTime"]) == ("lssw", 20260715, 0)
                assert m["endStep"] == lead
                if m["shortName"] == "TOT_PREC":
                    assert m["productDefinitionTemplateNumber"] == 11
                    assert (m["typeOfStatisticalProcessing"], m["startStep"]) == (1, 0)  # accumulation
                elif m["shortName"] == "VMAX_10M":
                    assert m["productDefinitionTemplateNumber"] == 11
                    assert (m["typeOfStatisticalProcessing"], m["startStep"]) == (2, max(lead - 1, 0))  # maximum
                else:
                    assert m["productDefinitionTemplateNumber"] == 1
                    assert m["startStep"] == lead


def test_icon_grid_keys(icon_run, grib):
    """Unstructured grid (template 101) with one fixed uuidOfHGrid in every message."""
    out, paths = icon_run
    uuids = set()
    for path in (paths[0], paths[-1]):
        for m in grib(path):
            assert (m["gridType"], m["numberOfDataPoints"], m["numberOfGridInReference"]) == \
                ("unstructured_grid", NCELLS, 1)
            assert m["packingType"] == "grid_simple"
            # ecCodes packs a constant field (HHL at the model top, W there) with 0 bits.
            assert m["bitsPerValue"] == (0 if np.ptp(m["values"]) == 0 else 16)
            uuids.add(m["uuidOfHGrid"])
    assert len(uuids) == 1 and re.fullmatch("[0-9a-f]{32}", uuids.pop())


def test_opens_with_cfgrib(icon_run, grib):
    """cfgrib reads the model-level fields: proof that the files are ordinary GRIB2."""
    xr = pytest.importorskip("xarray")
    out, _ = icon_run
    path = out / "001" / "lfff00010000"
    ds = xr.open_dataset(path, engine="cfgrib",
                         backend_kwargs={"filter_by_keys": {"typeOfLevel": "generalVerticalLayer"}, "indexpath": ""})
    assert set(MODEL_LEVEL) <= set(ds.data_vars)
    assert ds["T"].shape == (NLEV, NCELLS)
    assert int(ds["number"]) == 1 and ds["step"].values == np.timedelta64(1, "h")
    t = stack(grib(path), "T")
    np.testing.assert_array_equal(ds["T"].values, t.astype(np.float32))


# ------------------------------------------------------------------------------------------------
# Vertical grid and hydrostatics
# ------------------------------------------------------------------------------------------------

def test_hhl_terrain_following(icon_fields):
    """HHL falls strictly from the 22 km model top to HSURF; layers are ~20 m thick at the ground.

    HHL level 81 and HSURF hold the same numbers, so the same packing gives them identical bits.
    """
    f = icon_fields[(0, 0)]
    hhl, hsurf = f["HHL"], f["HSURF"]
    np.testing.assert_array_equal(hhl[-1], hsurf)
    assert np.all(np.diff(hhl, axis=0) < 0)
    np.testing.assert_array_equal(hhl[0], 22_000.0)  # a constant field: its float32 reference value, exact
    lowest = hhl[-2] - hhl[-1]
    assert 15.0 < lowest.min() and lowest.max() < 25.0
    assert 300.0 < hhl[0].max() - hhl[1].min()  # thick layers aloft


def test_orography_plausible(icon_fields):
    """Alpine peaks of 3000-4500 m, plains, and a bit of sea at exactly 0 m (400 cells sample it)."""
    hsurf = icon_fields[(0, 0)]["HSURF"]
    assert 3000.0 < hsurf.max() < 4500.0
    assert 0.0 <= hsurf.min()
    assert np.any(hsurf == 0.0)  # the Adriatic and Ligurian Seas
    assert 0.25 < np.mean((hsurf > 200.0) & (hsurf < 600.0))  # plains and valleys


def test_pressure_increases_downward(icon_fields):
    """P grows with every level down, and PS exceeds the lowest level's P."""
    for f in icon_fields.values():
        assert np.all(np.diff(f["P"], axis=0) > 0)
        assert np.all(f["PS"] > f["P"][-1])
        assert 2_000.0 < f["P"][0].min() and f["P"][-1].max() < 105_000.0


def test_hydrostatic_balance(icon_run, icon_fields, grib):
    """Between adjacent full levels, d ln p / dz = -g / (Rd Tv) with Tv the layer mean (and from PS at
    HSURF to the lowest level with that level's Tv).

    Tolerance: 1e-3 of g / (Rd Tv) for the discretisation (the layer mean of Tv against its integral:
    T's curvature over a layer of at most ~800 m gives < 1e-4), plus what 16-bit packing does to the
    finite difference over the layer thickness dz: the packing errors (ecCodes ``packingError``, half a
    packing step) of P or PS at both ends (~0.5 Pa: up to 0.5 % of d ln p over the 10-20 m layers at the
    ground) and of HHL/HSURF at both ends (~0.03 m near the ground: up to 0.6 % of dz there). T and QV
    packing errors (~0.002 K, ~1e-7) are negligible.
    """
    out, _ = icon_run
    constants = grib(out / "lfff00000000c")
    dz_error = 2.0 * max(packing_error(constants, "HHL"), packing_error(constants, "HSURF"))
    for (member, lead), f in icon_fields.items():
        messages = grib(member_file(out, member, lead))
        dp = max(packing_error(messages, "P"), packing_error(messages, "PS"))
        tv = f["T"] * (1.0 + rv_rd_minus_1 * f["QV"])
        p = np.vstack([f["P"], f["PS"][None]])
        z = np.vstack([f["Z"], f["HSURF"][None]])
        tv_layer = np.vstack([0.5 * (tv[:-1] + tv[1:]), tv[-1:]])
        dz = z[:-1] - z[1:]
        observed = np.log(p[:-1] / p[1:]) / dz
        expected = -g / (Rd * tv_layer)
        tolerance = np.abs(expected) * (1e-3 + dz_error / dz) + dp * (1.0 / p[:-1] + 1.0 / p[1:]) / dz
        assert np.all(np.abs(observed - expected) <= tolerance), (member, lead)


# ------------------------------------------------------------------------------------------------
# Thermodynamics
# ------------------------------------------------------------------------------------------------

def test_humidity_bounds(icon_fields):
    """0 <= QV and RH <= 100 % everywhere; median RH 55-90 % 100-800 m above ground, 8-35 % at 6-9 km.

    RH from Tetens over water, as COSMO defines it. The generator caps its target RH at 95 % and
    converts it with a pressure within 1 % of P, so RH stays below 96 %: no tolerance is needed.
    """
    for f in icon_fields.values():
        rh = vapour_pressure(f["QV"], f["P"]) / esat(f["T"])
        assert np.all(f["QV"] >= 0.0)
        assert rh.max() <= 1.0
        height = f["Z"] - f["HSURF"]
        bl = rh[(height > 100.0) & (height < 800.0)]
        aloft = rh[(f["Z"] > 6000.0) & (f["Z"] < 9000.0)]
        assert 0.55 < np.median(bl) < 0.9 and bl.max() <= 0.96
        assert 0.08 < np.median(aloft) < 0.35


def test_screen_level_consistency(icon_fields):
    """TD_2M <= T_2M, T_2M close to the lowest level, VMAX_10M >= the 10 m wind speed, and the 10 m
    wind weaker than at level 76 (~90 m up).

    Tolerances: T_2M and the lowest level (~10 m up) differ by the near-ground gradient, < 3 K even
    in the nocturnal inversion; the member perturbations may turn the 10 m and 90 m winds differently,
    by < 1 m/s.
    """
    for f in icon_fields.values():
        assert np.all(f["TD_2M"] <= f["T_2M"])
        assert np.all(np.abs(f["T_2M"] - f["T"][-1]) < 3.0)
        speed10 = np.hypot(f["U_10M"], f["V_10M"])
        assert np.all(f["VMAX_10M"] >= speed10)
        assert np.all(speed10 <= np.hypot(f["U"][-5], f["V"][-5]) + 1.0)  # weaker than ~100 m up


def test_standard_atmosphere_temperature(icon_fields):
    """About 6.5 K/km in the free troposphere, a tropopause at 11-12 km near 215-235 K, warming above 20 km."""
    f = icon_fields[(0, 0)]
    t, z = f["T"], f["Z"]
    mid = (z > 5000.0) & (z < 9000.0)
    lapse = -np.polyfit(z[mid], t[mid], 1)[0]
    assert 0.0055 < lapse < 0.0075
    tropopause = t[(z > 12_500.0) & (z < 19_000.0)]
    assert 212.0 < tropopause.min() and tropopause.max() < 235.0
    top = np.argmin(np.abs(z[:, 0] - 21_500.0))
    below = np.argmin(np.abs(z[:, 0] - 19_000.0))
    assert np.all(t[top] > t[below])


def test_diurnal_boundary_layer(icon_fields, afternoon_run):
    """A surface inversion at 00 UTC, a well-mixed (near dry adiabatic) boundary layer at 14 UTC."""
    night = icon_fields[(0, 0)]
    day = column_fields(read_messages, afternoon_run, 0, 14)

    def lapse_rate(f, low, high):
        height = f["Z"] - f["HSURF"]
        k_low = np.argmin(np.abs(height - low), axis=0)
        k_high = np.argmin(np.abs(height - high), axis=0)
        cols = np.arange(height.shape[1])
        return -(f["T"][k_high, cols] - f["T"][k_low, cols]) / (height[k_high, cols] - height[k_low, cols])

    night_lapse = lapse_rate(night, 10.0, 150.0)
    assert np.mean(night_lapse < 0.0) > 0.5  # temperature rises with height over most of the domain
    day_lapse = lapse_rate(day, 100.0, 700.0)
    assert 0.008 < np.median(day_lapse) < 0.0105  # dry adiabatic: g / cpd = 9.76 K/km
    assert np.median(day["T_2M"] - night["T_2M"]) > 4.0


def test_elevated_inversion(icon_fields):
    """Part of the domain has an elevated inversion of a few K at 2-3 km (T rising with height)."""
    f = icon_fields[(0, 0)]
    t, z = f["T"], f["Z"]
    height = z - f["HSURF"]
    # Level k lies above level k+1: T rises with height where t[k] > t[k+1].
    rising = (np.diff(t, axis=0) < 0.0) & (z[:-1] > 2000.0) & (z[:-1] < 3500.0) & (height[:-1] > 300.0)
    columns = rising.any(axis=0)
    assert 0.05 < columns.mean() < 0.6


def moist_adiabatic_lapse_rate(t, p):
    """Saturation-adiabatic lapse rate [K m-1] (AMS Glossary of Meteorology, "saturation-adiabatic
    lapse rate"), with the mixing ratio at saturation over water."""
    rs = EPS * esat(t) / (p - esat(t))
    return g * (1.0 + LV * rs / (Rd * t)) / (cpd + LV**2 * rs * EPS / (Rd * t**2))


def test_conditional_instability(icon_fields):
    """Somewhere the lapse rate 2.5-4.5 km above ground (above the 1-1.8 km boundary layer) exceeds
    the moist adiabatic one by more than 1 K/km, yet nowhere above 2.5 km does any layer's exceed the
    dry adiabatic one (g/cpd = 9.76 K/km) by more than 0.5 K/km: the member perturbations (+-1 K over
    8 km, < 0.4 K/km) may steepen it that much, no more."""
    for f in icon_fields.values():
        t, p, z = f["T"], f["P"], f["Z"]
        height = z - f["HSURF"]
        cols = np.arange(t.shape[1])
        k_low = np.argmin(np.abs(height - 2500.0), axis=0)
        k_high = np.argmin(np.abs(height - 4500.0), axis=0)
        lapse = -(t[k_high, cols] - t[k_low, cols]) / (z[k_high, cols] - z[k_low, cols])
        moist = moist_adiabatic_lapse_rate(0.5 * (t[k_high, cols] + t[k_low, cols]),
                                           np.sqrt(p[k_high, cols] * p[k_low, cols]))
        assert np.any(lapse > moist + 0.001)
        aloft = height[:-1] > 2500.0
        layer_lapse = -np.diff(t, axis=0) / np.diff(z, axis=0)
        assert np.all(layer_lapse[aloft] < g / cpd + 0.0005)


def saturation_mixing_ratio(t, p):
    return EPS * esat(t) / (p - esat(t))


def pseudo_adiabatic_dt_dlnp(t, p):
    """dT / d ln p [K] along a pseudo-adiabat (AMS Glossary of Meteorology, "pseudoadiabatic lapse
    rate", in pressure coordinates; condensate falls out)."""
    rs = saturation_mixing_ratio(t, p)
    return (Rd * t + LV * rs) / (cpd + LV**2 * rs * EPS / (Rd * t**2))


def most_unstable_cape(f, depth=3000.0, substeps=4):
    """Return the CAPE [J kg-1] of the most unstable parcel of each column (the level of highest
    equivalent potential temperature in the lowest ``depth`` m).

    The parcel rises dry adiabatically to its lifting condensation level (its temperature from Bolton
    1980, Mon. Wea. Rev. 108, 1046-1053, eq. 21), then pseudo-adiabatically (Heun's method,
    ``substeps`` per model layer in ln p); buoyancy from virtual temperatures (the parcel saturated
    above its LCL), summed over every level above the start where positive. On these profiles it
    agrees with MetPy 1.7's ``most_unstable_cape_cin`` (depth 300 hPa) within ~4 %.
    """
    t, qv, p, z = f["T"], f["QV"], f["P"], f["Z"]
    nlev, ncol = t.shape
    cols = np.arange(ncol)
    theta_e = t * (p0 / p) ** kappa * np.exp(LV * qv / (cpd * t))  # only to choose the parcel
    start = np.argmax(np.where(z - f["HSURF"] <= depth, theta_e, 0.0), axis=0)
    t0, q0, p_start = t[start, cols], qv[start, cols], p[start, cols]
    e0 = vapour_pressure(q0, p_start)
    t_lcl = 2840.0 / (3.5 * np.log(t0) - np.log(e0 / 100.0) - 4.805) + 55.0
    p_lcl = p_start * (t_lcl / t0) ** (1.0 / kappa)
    t_moist, ln_p_moist = t_lcl.copy(), np.log(p_lcl)  # the parcel on its pseudo-adiabat
    tv_env = t * (1.0 + rv_rd_minus_1 * qv)
    thickness = f["HHL"][:-1] - f["HHL"][1:]
    cape = np.zeros(ncol)
    for k in range(nlev - 1, -1, -1):  # upward
        active = k < start
        moist = active & (p[k] < p_lcl)
        step = (np.where(moist, np.log(p[k]), ln_p_moist) - ln_p_moist) / substeps
        for _ in range(substeps):
            k1 = pseudo_adiabatic_dt_dlnp(t_moist, np.exp(ln_p_moist))
            k2 = pseudo_adiabatic_dt_dlnp(t_moist + step * k1, np.exp(ln_p_moist + step))
            t_moist = t_moist + 0.5 * step * (k1 + k2)
            ln_p_moist = ln_p_moist + step
        t_parcel = np.where(moist, t_moist, t0 * (p[k] / p_start) ** kappa)
        q_parcel = np.where(moist, saturation_mixing_ratio(t_parcel, p[k]), q0)
        tv_parcel = t_parcel * (1.0 + rv_rd_minus_1 * q_parcel)
        buoyancy = g * (tv_parcel - tv_env[k]) / tv_env[k] * thickness[k]
        cape += np.where(active, np.maximum(buoyancy, 0.0), 0.0)
    return cape


def test_cape_in_part_of_the_domain(icon_fields):
    """The most unstable parcel has a CAPE of 500-2500 J/kg in the unstable region (the Po plain and
    southern Alps), of < 100 J/kg over most of the rest; at the night lead times the run holds, the
    instability is elevated, above the nocturnal inversion.

    The generator aims at 500-2000 J/kg for the control; the upper bound adds 25 % for the members,
    whose +-1 K and +-10 % QV perturbations change CAPE by up to that much.
    """
    for (member, lead), f in icon_fields.items():
        cape = most_unstable_cape(f)
        assert 500.0 < cape.max() < 2500.0, (member, lead)
        assert 0.03 < np.mean(cape > 100.0) < 0.6, (member, lead)


# ------------------------------------------------------------------------------------------------
# Winds
# ------------------------------------------------------------------------------------------------

def test_jet(icon_fields):
    """A westerly jet of 35-55 m/s at 8-12 km; weaker meridional wind."""
    for f in icon_fields.values():
        speed = np.hypot(f["U"], f["V"])
        k, i = np.unravel_index(np.argmax(speed), speed.shape)
        assert 35.0 < speed[k, i] < 55.0
        assert 8000.0 < f["Z"][k, i] < 12_000.0
        assert f["U"][k, i] > 3.0 * abs(f["V"][k, i])
        assert np.abs(f["V"]).max() < 20.0


def test_weak_low_level_wind_and_small_w(icon_fields):
    """Some 10 m winds below 1 m/s; |W| below 3 m/s, 0 at the model top."""
    f = icon_fields[(0, 0)]
    speed10 = np.hypot(f["U_10M"], f["V_10M"])
    assert np.any(speed10 < 1.0)
    assert np.median(speed10) > 1.0
    assert np.abs(f["W"]).max() < 3.0
    np.testing.assert_allclose(f["W"][0], 0.0, atol=1e-6)
    assert np.abs(f["W"]).max() > 0.05


def test_member_perturbations(icon_fields):
    """Member 1 differs from the control by at most 1 K in T, 2 m/s in each wind component (so 2.83 m/s
    in the vector) and 10 % in QV in the boundary layer; tolerances 0.01 K, 0.01 m/s and 0.001 cover
    the packing errors (~0.002 K, ~0.001 m/s, ~1e-7 kg/kg). Above the boundary layer the members' rain
    cells, and so their clouds, differ too: there QV stays within 10 % at 90 % of the points."""
    for lead in LEADS:
        control, member = icon_fields[(0, lead)], icon_fields[(1, lead)]
        dt = np.abs(member["T"] - control["T"])
        assert 0.05 < dt.max() <= 1.01
        du = np.hypot(member["U"] - control["U"], member["V"] - control["V"])
        assert 0.05 < du.max() <= 2.0 * np.sqrt(2.0) + 0.01
        change = np.abs(member["QV"] / control["QV"] - 1.0)
        boundary_layer = control["Z"] - control["HSURF"] < 800.0
        assert 0.01 < change[boundary_layer].max() <= 0.1 + 1e-3  # 1e-3: QV packing error near 0.1 g/kg
        assert np.mean(change <= 0.1 + 1e-3) > 0.9


# ------------------------------------------------------------------------------------------------
# Precipitation
# ------------------------------------------------------------------------------------------------

def test_tot_prec_accumulates(icon_fields):
    """TOT_PREC is exactly 0 at lead 0, never negative, never decreasing, with dry and wet areas."""
    for member in MEMBERS:
        totals = [icon_fields[(member, lead)]["TOT_PREC"] for lead in LEADS]
        assert np.all(totals[0] == 0.0)
        for earlier, later in zip(totals[:-1], totals[1:]):
            assert np.all(later >= earlier)
        assert np.all(totals[-1] >= 0.0)
        assert np.any(totals[-1] == 0.0) and totals[-1].max() > 1.0


def test_tot_prec_where_moist(icon_fields):
    """Precipitation falls from moist columns: where 0-3 h totals exceed 0.5 mm, the median of the
    mean relative humidity 1-6 km above ground at +3 h is at least 0.1 higher than where it stayed dry
    (clouds are near saturation; the margin is a third of the difference the generator builds in)."""
    for member in MEMBERS:
        f = icon_fields[(member, 3)]
        wet = f["TOT_PREC"] > 0.5
        height = f["Z"] - f["HSURF"]
        rh = vapour_pressure(f["QV"], f["P"]) / esat(f["T"])
        layer = (height > 1000.0) & (height < 6000.0)
        mean_rh = np.sum(rh * layer, axis=0) / np.sum(layer, axis=0)
        assert wet.any() and np.median(mean_rh[wet]) > np.median(mean_rh[~wet]) + 0.1


# ------------------------------------------------------------------------------------------------
# Packing
# ------------------------------------------------------------------------------------------------

def test_ccsds_round_trip(icon_run, tmp_path, grib):
    """grid_ccsds encodes the same run: decoded values agree with grid_simple's within both packing errors."""
    out, _ = icon_run
    paths = write_sample(tmp_path, tiny_icon(), members=[1], lead_times=[1], packing="grid_ccsds")
    ccsds = read_messages(paths[1])
    simple = grib(out / "001" / "lfff00010000")
    assert {m["packingType"] for m in ccsds} == {"grid_ccsds"}
    assert [m["shortName"] for m in ccsds] == [m["shortName"] for m in simple]
    for a, b in zip(ccsds, simple):
        tolerance = a["packingError"] + b["packingError"] + 1e-12
        assert np.abs(a["values"] - b["values"]).max() <= tolerance, a["shortName"]


# ------------------------------------------------------------------------------------------------
# COSMO: rotated grid, C-grid staggering
# ------------------------------------------------------------------------------------------------

def test_cosmo_files(cosmo_run, grib):
    """The constants file has HHL and HSURF only (no CLAT/CLON on a regular grid)."""
    out, paths = cosmo_run
    assert [p.relative_to(out).as_posix() for p in paths] == ["lfff00000000c", "000/lfff00000000"]
    names = [m["shortName"] for m in grib(paths[0])]
    assert names == ["HHL"] * (NLEV + 1) + ["HSURF"]


def test_cosmo_rotated_grid(cosmo_run, grib):
    """rotated_ll with COSMO-1E's pole (-43, 10); the mass points cover the domain (lat 43.5-49.5,
    lon 0-17) as ecCodes computes their geographic coordinates."""
    out, paths = cosmo_run
    hsurf = [m for m in grib(paths[0]) if m["shortName"] == "HSURF"][0]
    assert hsurf["gridType"] == "rotated_ll"
    assert (hsurf["latitudeOfSouthernPoleInDegrees"], hsurf["longitudeOfSouthernPoleInDegrees"]) == (-43.0, 10.0)
    assert (hsurf["Ni"], hsurf["Nj"]) == (24, 18)
    lat, lon = hsurf["latitudes"], (hsurf["longitudes"] + 180.0) % 360.0 - 180.0
    assert lat.min() < 43.5 and lat.max() > 49.5 and lon.min() < 0.0 and lon.max() > 17.0
    assert 3000.0 < hsurf["values"].max() < 4500.0


def test_cosmo_staggering(cosmo_run, grib):
    """U lies dx/2 east, V dy/2 north of the mass points (first and last points); U, V grid-relative."""
    out, paths = cosmo_run
    messages = grib(paths[1])
    first = {m["shortName"]: m for m in reversed(messages)}  # level 1 of each field
    mass, u, v = first["T"], first["U"], first["V"]
    half_dx, half_dy = 0.5 * mass["iDirectionIncrementInDegrees"], 0.5 * mass["jDirectionIncrementInDegrees"]
    for side in ("First", "Last"):
        lon, lat = f"longitudeOf{side}GridPointInDegrees", f"latitudeOf{side}GridPointInDegrees"
        # GRIB2 stores micro-degrees: tolerance 1e-6 deg.
        assert abs((u[lon] - mass[lon]) % 360.0 - half_dx) < 1e-6 and abs(u[lat] - mass[lat]) < 1e-6
        assert abs(v[lat] - mass[lat] - half_dy) < 1e-6 and abs((v[lon] - mass[lon]) % 360.0) < 1e-6
    for m in messages:
        if m["shortName"] in ("U", "V", "U_10M", "V_10M"):
            assert m["uvRelativeToGrid"] == 1
        assert (m["Ni"], m["Nj"]) == (24, 18)
    # The westerly jet, in grid-relative U (the rotated axes turn by < 10 deg over the domain).
    assert 35.0 < stack(messages, "U").max() < 55.0


# ------------------------------------------------------------------------------------------------
# What the products of issue 13 need: clouds, echoes, a veering low-level jet, the grid file
# ------------------------------------------------------------------------------------------------

def test_clouds(icon_fields):
    """Cloud cover 0-100 %, overcast somewhere and clear elsewhere; liquid water only above -25 degC, ice
    only below 0 degC (within the 16-bit packing steps); condensate only where the cover is positive and
    at most a few g/kg."""
    f = icon_fields[(0, 1)]
    clc, qc, qi, t = f["CLC"], f["QC"], f["QI"], f["T"]
    assert clc.min() >= -0.01 and clc.max() <= 100.01 and clc.max() > 95.0 and np.mean(clc < 1.0) > 0.3
    step_qc, step_qi = 2 * qc.max() / 2**16, 2 * qi.max() / 2**16
    assert np.all(qc[t < 248.15] <= step_qc) and np.all(qi[t > 273.15] <= step_qi)
    assert np.all((qc + qi)[clc < 0.01] <= step_qc + step_qi) and qc.max() < 3e-3 and qi.max() > 1e-6


def test_reflectivity(icon_fields):
    """-30 dBZ without precipitation, up to 25-50 dBZ in the convective cells near the ground, falling off
    with height so that 15 dBZ echo tops lie between 1.5 and 13 km."""
    f = icon_fields[(0, 1)]
    dbz = f["DBZ"]
    assert abs(dbz.min() + 30.0) < 0.01 and 25.0 < dbz.max() < 50.0
    echo = dbz.max(axis=0) > 15.0
    assert 0.01 < echo.mean() < 0.6
    top = np.array([f["Z"][np.flatnonzero(dbz[:, j] > 15.0)[0], j] for j in np.flatnonzero(echo)])
    assert 1500.0 < top.min() and top.max() < 13_000.0


def test_veering_low_level_jet(icon_fields):
    """At night (00 UTC) a low-level jet: the wind at ~600 m above ground is stronger than at 10 m and at
    2.5 km in most columns, and the wind veers (turns clockwise) from 10 m up to the jet in most columns:
    positive helicity for the storm-relative helicity products."""
    f = icon_fields[(0, 0)]
    h = f["Z"] - f["HSURF"]
    jet = np.argmin(np.abs(h - 600.0), axis=0)
    aloft = np.argmin(np.abs(h - 2500.0), axis=0)
    cols = np.arange(h.shape[1])
    speed = np.hypot(f["U"], f["V"])
    assert np.mean(speed[jet, cols] > np.hypot(f["U_10M"], f["V_10M"])) > 0.9
    assert np.mean(speed[jet, cols] > speed[aloft, cols]) > 0.6
    # veering: the cross product of the 10 m and jet-level winds points down (clockwise turn)
    cross = f["U_10M"] * f["V"][jet, cols] - f["V_10M"] * f["U"][jet, cols]
    assert np.mean(cross < 0) > 0.7


def test_grid_file(icon_run, grib):
    """Beside an ICON-like run: its grid file, with the run's uuidOfHGrid, the cells' centres (as CLAT, CLON
    to the 16-bit packing) and each cell's 6 nearest other cells (checked by brute force)."""
    from nwpflow.io.icon_grid import find_grid_file, read_grid_file

    out, _ = icon_run
    uuid = grib(out / "lfff00000000c")[-1]["uuidOfHGrid"]
    path = find_grid_file([out], uuid)
    assert path is not None and path.name == f"icon_grid_sample_{NCELLS}.nc"
    grid = read_grid_file(path, uuid=uuid, ncell=NCELLS)
    clat = grib(out / "lfff00000000c")[-2]["values"]
    assert np.abs(grid.latitude - clat).max() < 1e-3
    x = np.radians(grid.longitude) * np.cos(np.radians(grid.latitude.mean()))
    y = np.radians(grid.latitude)
    d = (x[:, None] - x[None]) ** 2 + (y[:, None] - y[None]) ** 2
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :6]
    assert grid.neighbours.shape == (6, NCELLS)
    np.testing.assert_array_equal(np.sort(grid.neighbours.T, axis=1), np.sort(nearest, axis=1))
