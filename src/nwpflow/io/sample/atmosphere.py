"""The sample run's atmosphere: profiles that are analytic functions of position, height and lead time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nwpflow.constants import Rd, Rv, cpd, g, rv_rd_minus_1, tetens_water
from nwpflow.io.sample.geography import _COS_LAT, Z_TOP, _Points, _Surface

# ----------------------------------------------------------------------------------------------------
# Smooth random fields
# ----------------------------------------------------------------------------------------------------

_SMOOTH_RANDOM_STREAMS = {
    "t": 1, "q": 2, "u": 3, "v": 4, "cells": 5, "front": 6,
}


def _smooth_random(lat, lon, rng, nmodes=12, wavelengths=(150.0, 600.0), hours=0.0, periods=(12.0, 72.0),
                   bounded=True):
    """Return a smooth random field: a sum of plane waves with random wavelengths [km], directions and
    phases, each drifting with a random period [h] so that the field varies smoothly with lead time
    ``hours``. ``bounded``: scaled into [-1, 1]; else to a standard deviation of 1."""
    k = 2 * np.pi / rng.uniform(*wavelengths, nmodes)
    direction = rng.uniform(0, 2 * np.pi, nmodes)
    phase = rng.uniform(0, 2 * np.pi, nmodes)
    omega = 2 * np.pi / rng.uniform(*periods, nmodes) * rng.choice([-1.0, 1.0], nmodes)
    amplitude = rng.uniform(0.3, 1.0, nmodes)
    x = lon * _COS_LAT * 111.195
    y = lat * 111.195
    field = np.zeros(np.shape(lat))
    for m in range(nmodes):
        field += amplitude[m] * np.cos(k[m] * (np.cos(direction[m]) * x + np.sin(direction[m]) * y)
                                       + phase[m] + omega[m] * hours)
    return field / (amplitude.sum() if bounded else np.sqrt(0.5 * (amplitude**2).sum()))


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


# ----------------------------------------------------------------------------------------------------
# Thermodynamics
# ----------------------------------------------------------------------------------------------------

# Saturation vapour pressure over water, Tetens/Magnus form as in COSMO and ICON (b1, b2w, b3, b4w).
_B1, _B2W, _B3, _B4W = tetens_water
_EPS = Rd / Rv
_GAMMA_DRY = g / cpd  # dry adiabatic lapse rate [K m-1]
_GAMMA = 0.0065  # ICAO standard-atmosphere lapse rate [K m-1]
_RH_MAX = 0.95  # cap of the target relative humidity; the realised one stays below ~0.96


def _esat(t):
    """Saturation vapour pressure over water [Pa] at temperature ``t`` [K] (Tetens, COSMO constants)."""
    return _B1 * np.exp(_B2W * (t - _B3) / (t - _B4W))


def _dewpoint(e):
    """Dew point [K] of vapour pressure ``e`` [Pa]: the inverse of :func:`_esat`."""
    x = np.log(e / _B1)
    return (_B2W * _B3 - _B4W * x) / (_B2W - x)


def _specific_humidity(e, p):
    """Specific humidity [kg kg-1] of vapour pressure ``e`` at pressure ``p`` [Pa]."""
    return _EPS * e / (p - (1.0 - _EPS) * e)


def _ramp(x, scale):
    """Smooth max(x, 0): a hyperbola with a corner ``scale`` wide (square roots only: cheap per level)."""
    return 0.5 * (x + np.sqrt(x * x + scale * scale))


def _step(x):
    """Smooth step from 0 (x << -1) to 1 (x >> 1), 0.5 at 0 (algebraic sigmoid: cheap per level)."""
    return 0.5 + 0.5 * x / np.sqrt(1.0 + x * x)


def _blob(lat, lon, c_lat, c_lon, r_lat, r_lon):
    return np.exp(-(((lat - c_lat) / r_lat) ** 2 + ((lon - c_lon) / r_lon) ** 2))


def _frontal_zone(lat, lon, hours):
    """Return the weight [0, 1] of the cloudy, rainy zone ahead of the trough, drifting east 0.15 deg/h."""
    return _blob(lat, lon, 49.3, 2.0 + 0.15 * hours, 1.2, 2.5)


def _unstable_region(lat, lon):
    """Return the weight [0, 1] of the warm, moist, conditionally unstable air (Po plain, southern Alps)."""
    return _blob(lat, lon, 45.7, 9.2, 1.4, 3.0)


def _member_field(lat, lon, seed, member, stream, **kwargs):
    """Return a unit-variance smooth random field: the control's (member 0), and for other members a
    mix of it (75 % of the variance) with the member's own, so that members' weather is related."""
    field = _smooth_random(lat, lon, _rng(seed, 0, _SMOOTH_RANDOM_STREAMS[stream]), bounded=False, **kwargs)
    if member == 0:
        return field
    own = _smooth_random(lat, lon, _rng(seed, member, _SMOOTH_RANDOM_STREAMS[stream]), bounded=False, **kwargs)
    return np.sqrt(0.75) * field + 0.5 * own


def _convective_cells(lat, lon, seed, member, hours):
    """Return the convective cells' intensity [0, ~2.5] at ``hours`` after the start: where a smooth
    random field of unit variance (scales 40-200 km, evolving over 6-24 h) exceeds 0.8, in the
    unstable region; 0 elsewhere."""
    field = _member_field(lat, lon, seed, member, "cells", nmodes=16, wavelengths=(40.0, 200.0), hours=hours,
                          periods=(6.0, 24.0))
    return _unstable_region(lat, lon) * np.maximum(field - 0.8, 0.0)


# ----------------------------------------------------------------------------------------------------
# The model run: columns whose profiles are analytic functions of height
# ----------------------------------------------------------------------------------------------------

_Z0 = 0.1  # roughness length [m] of the logarithmic surface-layer wind


class _Columns:
    """The atmosphere over a set of points at one member and lead time.

    Holds only horizontal (one-level) arrays; :meth:`temperature_and_humidity`, :meth:`wind` and
    :meth:`vertical_wind` evaluate the profiles at one level's heights ``z`` [m above sea].
    """

    def __init__(self, surface: _Surface, member: int, lead: int, seed: int):
        points, hsurf = surface.points, surface.hsurf
        lat, lon = points.lat, points.lon
        self.points = points
        self.hs = hsurf
        local_hour = lead + lon / 15.0
        # Day weight: 1 at 14:30 local solar time, 0 at 02:30; the sea (HSURF 0) has hardly a daily cycle.
        self.day = 0.5 * (1.0 + np.cos(2 * np.pi * (local_hour - 14.5) / 24.0))
        self.day = np.where(hsurf > 0.0, self.day, 0.5 + 0.1 * (self.day - 0.5))
        # Regions: warm, moist, conditionally unstable air over the Po plain and southern Alps; subsidence
        # with an elevated inversion over north-eastern France and the Rhine.
        self.unstable = _unstable_region(lat, lon)
        self.subsided = _blob(lat, lon, 48.6, 4.6, 1.5, 3.5)
        # Free troposphere: standard lapse rate from a sea-level temperature that falls northward.
        self.t_sea = 297.5 - 0.8 * (lat - 46.5) + 0.8 * np.sin(0.5 * lon) * np.cos(0.9 * lat)
        self.z_tropopause = 11_500.0 - 250.0 * (lat - 46.5)
        # Boundary layer: 1-1.8 km deep; mixed (dry adiabatic) by day, a residual layer with a surface
        # inversion by night (weaker under the cloudy, moist air of the unstable region).
        self.h_bl = 1000.0 + 800.0 * (0.5 + 0.5 * np.sin(0.45 * lon + 0.3) * np.cos(1.1 * lat - 0.5))
        self.mixing = 0.45 + 0.45 * self.day
        self.night_inversion = 5.5 * (1.0 - self.day) * (1.0 - 0.6 * self.unstable)
        self.steepening = 0.75 * self.unstable
        self.warm_middle = 4.0 * (1.0 - self.unstable)
        z_bl_top = hsurf + self.h_bl
        self.z_inversion = np.maximum(2500.0 + 150.0 * (lat - 48.0), z_bl_top + 400.0)
        self.inversion = 3.5 * self.subsided
        self.subsided_drying = 0.5 * self.subsided
        # Moisture: relative humidity in the boundary layer (at its night-time temperature) and aloft.
        self.rh_bl = 0.57 + 0.12 * self.unstable + 0.04 * (1.0 + np.sin(0.7 * lon - 1.3 * lat))
        self.rh_aloft = 0.12 + 0.08 * (1.0 + np.cos(0.6 * lon + 0.8 * lat))
        # Near-saturated troposphere where it rains: the frontal zone and the convective cells.
        cells = _convective_cells(lat, lon, seed, member, lead)
        self.cloudy = np.maximum(0.9 * _frontal_zone(lat, lon, lead), np.minimum(2.0 * cells, 0.9))
        # Radar echoes: rain rates of the convective cells (up to ~20 mm/h, tops 6-12 km) and of the front
        # (~1.5 mm/h, tops near 5 km), Marshall-Palmer Z = 200 R^1.6 below the melting layer.
        self.rain_rate = 8.0 * cells + 1.5 * _frontal_zone(lat, lon, lead)
        self.echo_top = np.where(cells > 0.0, 6000.0 + 2500.0 * np.minimum(cells, 2.4), 5000.0) + hsurf
        # Winds: a westerly jet of ~45 m/s near 10 km north of the Alps, a weaker meridional wave, and a
        # boundary-layer wind from 0.4 to 9.4 m/s whose calm zones give 10 m winds below 1 m/s.
        self.u_bg = 5.0 + 2.0 * np.cos(0.4 * lon)
        jet = 44.0 * np.exp(-(((lat - 47.8) / 2.6) ** 2)) * (0.9 + 0.1 * np.cos(2 * np.pi * (lon - 4.0) / 17.0))
        self.jet_excess = jet - self.u_bg
        self.v_wave = 7.0 * np.sin(2 * np.pi * (lon - 2.0) / 15.0) * np.cos(np.pi * (lat - 46.5) / 12.0)
        speed = 0.4 + 9.0 * (0.5 + 0.5 * np.sin(0.8 * lon + 0.3) * np.sin(2.1 * lat + 0.9)) ** 1.2
        direction = np.radians(240.0 + 60.0 * np.sin(0.35 * lon) + 40.0 * np.cos(1.7 * lat))  # blowing from
        self.u_bl = -speed * np.sin(direction)
        self.v_bl = -speed * np.cos(direction)
        self.calm = np.minimum(1.0, speed / 5.0)
        self.log_bl = np.log1p(self.h_bl / _Z0)
        # Surface friction backs the wind by up to 50 deg near the ground: it veers with height through the
        # boundary layer (an Ekman-like spiral). By night a low-level jet, up to 14 m/s at ~600 m above
        # ground, strongest over the plains west and north of the Alps, blows from 30 deg clockwise of the
        # boundary-layer wind: the veering low-level shear of storm-relative helicity.
        self.backing = np.radians(50.0) * self.calm
        self.llj = 14.0 * (1.0 - self.day) * (0.35 + 0.65 * _blob(lat, lon, 47.5, 4.0, 2.5, 5.0))
        self.llj_u = -np.sin(direction + np.radians(30.0))
        self.llj_v = -np.cos(direction + np.radians(30.0))
        # Member perturbations (none for the control, member 0), smooth in space and lead time.
        if member == 0:
            self.pt = self.pq = self.pu = self.pv = None
        else:
            def pair(stream):
                rng = _rng(seed, member, _SMOOTH_RANDOM_STREAMS[stream])
                return tuple(0.7 * _smooth_random(lat, lon, rng, hours=lead) for _ in range(2))

            self.pt, self.pq, self.pu, self.pv = (pair(s) for s in ("t", "q", "u", "v"))
        # Vertical wind: terrain-following lifting of the low-level flow, and convective cells.
        self.w_orographic = self.u_bl * surface.dhdx + self.v_bl * surface.dhdy
        self.w_convective = 0.8 * cells  # updraughts in the rain cells
        # Surface pressure: a synoptic pattern (a trough to the north-west, drifting east) reduced to the
        # terrain through the free-troposphere temperature below it.
        p_sea = (101_300.0 - 900.0 * _blob(lat, lon, 50.5, -1.0 + 0.15 * lead, 3.0, 6.0)
                 + 250.0 * np.cos(0.3 * lon) * np.sin(0.5 * lat))
        t_mean = self.t_sea - 0.5 * _GAMMA * hsurf
        self.ps = p_sea * np.exp(-g * hsurf / (Rd * t_mean * (1.0 + rv_rd_minus_1 * 0.008)))
        self.t_standard_surface = self._t_standard(hsurf)

    # Profiles ----------------------------------------------------------------------------------------
    # Each method takes one level's heights z [m above sea] (an array like HSURF). Terms that vanish at
    # every point of a level (surface-layer terms aloft) are skipped: they would add < 0.001 K.

    def _t_standard(self, z):
        """Standard-atmosphere-like profile: 6.5 K/km to the tropopause, isothermal, +1 K/km above 20 km."""
        return (self.t_sea - _GAMMA * z + _GAMMA * _ramp(z - self.z_tropopause, 400.0)
                + 0.001 * _ramp(z - 20_000.0, 1000.0))

    def temperature_and_humidity(self, z):
        """Return temperature [K] and specific humidity [kg kg-1] at heights ``z`` [m]."""
        h = z - self.hs
        t_standard = self._t_standard(z)
        # Steeper lapse rate (up to +0.6 K/km) in the 4 km above the boundary layer where it is unstable,
        # compensated in the 4 km above that, so that the tropopause keeps its temperature.
        above = np.clip((h - self.h_bl) * (1.0 / 4000.0), 0.0, 2.0)
        t = t_standard - self.steepening * (1.0 - np.cos(np.pi * above))
        # Elsewhere warm, subsiding air in the middle troposphere stabilises the column.
        t += self.warm_middle * np.exp(-(((z - 5000.0) * (1.0 / 2500.0)) ** 2))
        # Elevated (subsidence) inversion: a few K over ~200 m, decaying above.
        dz = z - self.z_inversion
        t += self.inversion * _step(dz * (1.0 / 50.0)) * np.exp(_ramp(dz, 50.0) * (-1.0 / 1200.0))
        # The boundary layer's daily cycle: well mixed (dry adiabatic) by day, a residual layer over a
        # surface inversion by night. The air's moisture follows neither it nor the members' temperature
        # perturbation, so the relative humidity falls in the afternoon heat and rises in the night's cold.
        height_above_bl = h - self.h_bl
        if height_above_bl.min() < 6000.0:
            mixed = (_GAMMA_DRY - _GAMMA) * _ramp(-height_above_bl, 80.0)
            t_moisture = t + (0.35 - 0.2 * self.day) * mixed  # mixing entrains dry air by day
            t += self.mixing * mixed
        else:
            t_moisture = t.copy()
        cos, sin = self._phase(z, 8000.0) if self.pt is not None else (None, None)
        if self.pt is not None:
            t += self.pt[0] * cos + self.pt[1] * sin  # |T'| < 1 K
        if h.min() < 1500.0:
            t += self.day * np.exp(h * (-1.0 / 40.0))  # superadiabatic surface layer by day
            t -= self.night_inversion * np.exp(h * (-1.0 / 120.0))  # nocturnal surface inversion
        rh = self._relative_humidity(z, h, height_above_bl, cos, sin)
        # Pressure to convert RH to QV: an isothermal layer at the mean standard temperature between the
        # surface and z (the written P integrates the hydrostatic equation; they differ by < 1 %).
        p_approx = self.ps * np.exp(h * (-g / Rd) / (0.5 * (self.t_standard_surface + t_standard)))
        e = np.minimum(rh * _esat(t_moisture), _RH_MAX * _esat(t))
        return t, _specific_humidity(e, p_approx)

    def _relative_humidity(self, z, h, height_above_bl, cos, sin):
        """Return the target relative humidity [1]: the boundary layer's, decaying above it, clouds where it
        rains, dry above the elevated inversion and in the stratosphere."""
        in_bl = _step(height_above_bl * (-1.0 / 100.0))
        aloft = self.rh_aloft + (0.55 - self.rh_aloft) * np.exp(_ramp(height_above_bl, 100.0) * (-1.0 / 2000.0))
        rh = aloft + in_bl * (self.rh_bl - aloft)
        # Clouds from the boundary layer's top to 1 km below the tropopause.
        rh += (_RH_MAX - rh) * self.cloudy * (1.0 - in_bl) * _step((self.z_tropopause - 1000.0 - z) * (1.0 / 300.0))
        rh *= 1.0 - self.subsided_drying * _step((z - self.z_inversion) * (1.0 / 50.0))
        rh *= 1.0 - 0.95 * _step((z - self.z_tropopause) * (1.0 / 500.0))  # a few ppm in the stratosphere
        if self.pq is not None:
            rh *= 1.0 + 0.1 * (self.pq[0] * cos + self.pq[1] * sin)  # QV' < 10 %
        return np.minimum(rh, _RH_MAX)

    @staticmethod
    def _phase(z, scale):
        """Return cos and sin of pi z / scale: the vertical structure of the member perturbations."""
        phase = z * (np.pi / scale)
        return np.cos(phase), np.sin(phase)

    def wind(self, z):
        """Return the geographic wind (u, v) [m s-1] at heights ``z`` [m]."""
        h = z - self.hs
        u = self.u_bg + self.jet_excess * np.exp(-(((z - 10_000.0) * (1.0 / 3500.0)) ** 2))
        v = 1.5 + self.v_wave * np.exp(-(((z - 9000.0) * (1.0 / 4000.0)) ** 2))
        if (h < self.h_bl).any():
            # Logarithmic surface layer, blending into the free flow at the boundary layer's top.
            surface_layer = np.minimum(np.log1p(np.maximum(h, 0.0) * (1.0 / _Z0)) / self.log_bl, 1.0)
            s = np.minimum(h / self.h_bl, 1.0)
            s = s * s * (3.0 - 2.0 * s)
            # the boundary-layer wind backed towards the ground (counter-clockwise by `turn`)
            turn = self.backing * (1.0 - s)
            cos_turn, sin_turn = np.cos(turn), np.sin(turn)
            u_bl = self.u_bl * cos_turn - self.v_bl * sin_turn
            v_bl = self.u_bl * sin_turn + self.v_bl * cos_turn
            u = surface_layer * (u_bl + s * (u - u_bl))
            v = surface_layer * (v_bl + s * (v - v_bl))
            damping = surface_layer * (s + (1.0 - s) * self.calm)  # perturbations keep calm spots calm
        else:
            damping = None
        if (h < 2500.0).any():
            jet = self.llj * np.exp(-(((h - 600.0) * (1.0 / 350.0)) ** 2)) * np.minimum(np.maximum(h, 0.0) * 0.01, 1.0)
            u = u + jet * self.llj_u
            v = v + jet * self.llj_v
        if self.pu is not None:
            cos, sin = self._phase(z, 6000.0)
            du = 2.0 * (self.pu[0] * cos + self.pu[1] * sin)  # |u'| < 2 m/s
            dv = 2.0 * (self.pv[0] * cos + self.pv[1] * sin)
            if damping is not None:
                du *= damping
                dv *= damping
            u += du
            v += dv
        return u, v

    def clouds(self, z, t, qv, p):
        """Return cloud liquid water and ice [kg kg-1] and cloud cover [%] at heights ``z`` [m] with
        temperature ``t``, humidity ``qv`` and pressure ``p``.

        The cover rises linearly from 0 at 70 % relative humidity to 100 % at 88 % (a relative-humidity
        scheme after Sundqvist); the condensate is 6 % of the saturation humidity times that fraction,
        liquid above 0 degC, ice below -25 degC, mixed linearly in between.
        """
        rh = qv * p / (_EPS + (1.0 - _EPS) * qv) / _esat(t)
        fraction = np.clip((rh - 0.7) * (1.0 / 0.18), 0.0, 1.0)
        condensate = 0.06 * _specific_humidity(_esat(t), p) * fraction
        liquid = np.clip((t - 248.15) * (1.0 / 25.0), 0.0, 1.0)
        return liquid * condensate, (1.0 - liquid) * condensate, 100.0 * fraction

    def reflectivity(self, z):
        """Return the radar reflectivity [dBZ] at heights ``z`` [m]: Marshall-Palmer of the rain rate near
        the ground, falling off quadratically by 40 dB up to the echo's top and beyond; -30 dBZ without
        precipitation."""
        base = 10.0 * np.log10(200.0 * self.rain_rate**1.6 + 1.0e-3)
        above = np.maximum(z - self.hs - 1500.0, 0.0) / (self.echo_top - self.hs - 1500.0)
        return np.maximum(base - 40.0 * above * above, -30.0)

    def vertical_wind(self, z):
        """Return the vertical wind [m s-1] at half-level heights ``z`` [m]; 0 at the model top."""
        h = z - self.hs
        w = (self.w_orographic * np.exp(h * (-1.0 / 2500.0))
             + self.w_convective * np.sin(np.pi * np.clip(h * (1.0 / 9000.0), 0.0, 1.0)))
        return w * -np.expm1((z - Z_TOP) * (1.0 / 800.0))

    # Surface diagnostics -------------------------------------------------------------------------------

    def screen_level(self):
        """Return 2 m temperature and dew point, 10 m wind and the hour's maximum 10 m gust."""
        z2 = self.hs + 2.0
        t2, q2 = self.temperature_and_humidity(z2)
        p2 = self.ps * np.exp(-g * 2.0 / (Rd * t2))
        e2 = q2 * p2 / (_EPS + (1.0 - _EPS) * q2)
        td2 = np.minimum(_dewpoint(e2), t2)
        u10, v10 = self.wind(self.hs + 10.0)
        u_bl_top, v_bl_top = self.wind(self.hs + self.h_bl)
        gust = 1.0 + 1.35 * np.hypot(u10, v10) + 0.25 * (0.3 + 0.7 * self.day) * np.hypot(u_bl_top, v_bl_top)
        return {"T_2M": t2, "TD_2M": td2, "U_10M": u10, "V_10M": v10, "VMAX_10M": gust}


_TOT_PREC_STEP = 2.0**-7  # kg m-2: resolution of TOT_PREC


def _precipitation_rate(points: _Points, member: int, hour: int, seed: int) -> np.ndarray:
    """Return the precipitation [kg m-2] that falls in hour ``hour``..``hour``+1 of the run.

    Convective cells where the air is moist and unstable (more in the afternoon), light frontal rain
    ahead of the trough in the north-west, nothing elsewhere (exactly 0).
    """
    lat, lon = points.lat, points.lon
    local_hour = hour + 0.5 + lon / 15.0
    day = 0.5 * (1.0 + np.cos(2 * np.pi * (local_hour - 15.5) / 24.0))
    convective = 3.5 * (0.4 + 0.6 * day) * _convective_cells(lat, lon, seed, member, hour + 0.5) ** 1.5
    front = _member_field(lat, lon, seed, member, "front", nmodes=8, wavelengths=(100.0, 400.0), hours=hour + 0.5,
                          periods=(6.0, 24.0))
    frontal = 0.8 * _frontal_zone(lat, lon, hour + 0.5) * np.maximum(front - 0.3, 0.0)
    rate = convective + frontal
    return np.where(rate < 0.01, 0.0, rate)


def _total_precipitation(points: _Points, member: int, lead_times: Sequence[int], seed: int,
                         bits_per_value: int) -> dict[int, np.ndarray]:
    """Return TOT_PREC [kg m-2] accumulated from the start to each lead time.

    The totals are rounded down to multiples of a power-of-two step that the packing represents
    exactly, so that the decoded totals never decrease with lead time (packing each field to its own
    range could otherwise round a later, larger total below an earlier one). The step is 2**-7 kg m-2
    (exact with 16 bits up to 512 kg m-2), so the totals do not depend on which lead times are written;
    only where fewer bits or huge totals need it is it coarser, then chosen for the largest total.
    """
    total = np.zeros(points.lat.shape)
    totals = {}
    for hour in range(max(lead_times) + 1):
        if hour in lead_times:
            totals[hour] = total.copy()
        total += _precipitation_rate(points, member, hour, seed)
    largest = max(float(t.max()) for t in totals.values())
    step = max(_TOT_PREC_STEP, 2.0 ** np.ceil(np.log2(max(largest, 1e-300) / (2.0**bits_per_value - 1))))
    return {lead: np.floor(t / step) * step for lead, t in totals.items()}


# ----------------------------------------------------------------------------------------------------
# Level by level
# ----------------------------------------------------------------------------------------------------

def _full_level_height(a, b, k: int, hsurf: np.ndarray) -> np.ndarray:
    """Return the height [m] of full level ``k`` (1-based): the middle of half levels k and k+1."""
    return 0.5 * (a[k - 1] + a[k] + (b[k - 1] + b[k]) * hsurf)


def _hydrostatic_step(z_a, tv_a, z_b, tv_b):
    """Return ln(p_b / p_a) between heights ``z_a`` and ``z_b`` for a layer of mean virtual temperature
    (tv_a + tv_b) / 2: the integral of dp/dz = -p g / (Rd Tv)."""
    return -g * (z_b - z_a) / (Rd * 0.5 * (tv_a + tv_b))


def _virtual_temperature(t, qv):
    return t * (1.0 + rv_rd_minus_1 * qv)


