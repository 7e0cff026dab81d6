"""Physical constants, each with its units and source.

nwpflow follows COSMO/ICON (and so fieldextra and meteodata-lab's ``physical_constants``) where
implementations differ; the values of other libraries are given beside them so that a difference
between nwpflow and, e.g., earthkit-meteo or MetPy can be computed rather than hidden in a tolerance.
"""

g = 9.80665
"""Standard gravity [m s-2]. WMO; identical in COSMO, ICON, IFS, earthkit-meteo and MetPy."""

Rd = 287.05
"""Gas constant of dry air [J kg-1 K-1]. COSMO/ICON ``r_d`` (meteodata-lab ``physical_constants.r_d``).
earthkit-meteo uses 287.0597 (IFS), MetPy 287.04749 (from R/Md)."""

Rv = 461.51
"""Gas constant of water vapour [J kg-1 K-1]. COSMO/ICON ``r_v``; earthkit-meteo also 461.51."""

cpd = 1005.0
"""Specific heat of dry air at constant pressure [J kg-1 K-1]. COSMO/ICON ``cp_d``.
earthkit-meteo uses 1004.79 (IFS), MetPy 1004.6662."""

kappa = Rd / cpd
"""Poisson exponent R_d/c_pd [1] = 0.285622 (COSMO/ICON). earthkit-meteo: 0.285691; MetPy: 2/7."""

rv_rd_minus_1 = Rv / Rd - 1.0
"""Virtual-temperature coefficient R_v/R_d − 1 [1] = 0.607769 (COSMO/ICON ``rvd_o``).
earthkit-meteo: (1 − ε)/ε with ε = 0.621981, i.e. 0.607767."""

p0 = 1.0e5
"""Reference pressure of potential temperature [Pa]."""

epsilon = Rd / Rv
"""Ratio of the gas constants R_d/R_v [1] = 0.621982 (COSMO/ICON ``rdv``)."""

T0 = 273.15
"""Melting point of water [K] (0 °C)."""

Lv = 2.501e6
"""Latent heat of vaporisation at 0 °C [J kg-1]. COSMO ``lh_v``; MetPy uses 2.50084e6, earthkit
2.5008e6."""

Ls = 2.835e6
"""Latent heat of sublimation at 0 °C [J kg-1]. COSMO ``lh_s``."""

cpv = 1869.46
"""Specific heat of water vapour at constant pressure [J kg-1 K-1]. ICON ``cpv``."""

cl = 4218.0
"""Specific heat of liquid water [J kg-1 K-1] (ICON ``clw`` is 4192.6; MetPy ``Cp_l`` 4219.4)."""

tetens_water = (610.78, 17.2693882, 273.16, 35.86)
"""Magnus/Tetens saturation vapour pressure over water, ``b1 exp(b2 (T - b3) / (T - b4))`` [Pa]:
(b1 [Pa], b2w [1], b3 [K], b4w [K]) of COSMO (``b1``, ``b2w``, ``b3``, ``b4w`` of ``data_constants``)."""

tetens_ice = (610.78, 21.8745584, 273.16, 7.66)
"""The same over ice (COSMO ``b2i``, ``b4i``)."""

ifs_tetens_water = (611.21, 17.502, 273.16, 32.19)
"""IFS (and meteodata-lab ``physical_constants``) Tetens coefficients over water (IFS CY47R3, Part IV,
eq. 7.5, after Buck 1981)."""

ifs_tetens_ice = (611.21, 22.587, 273.16, -0.7)
"""IFS Tetens coefficients over ice (Alduchov and Eskridge 1996)."""

earth_radius = 6371229.0
"""Radius of the Earth [m] used by COSMO/ICON GRIB (``radius`` key, shape of earth 6) and
earthkit-meteo ``R_earth``; converts geopotential to geometric height."""

ifs_Rd = 287.0597
"""Gas constant of dry air in the IFS [J kg-1 K-1] (IFS CY47R3 documentation, Part IV; earthkit-meteo
``Rd``). Used, with :data:`ifs_Rv`, where nwpflow reconstructs what the IFS itself computed: heights of
IFS hybrid model levels."""

ifs_Rv = 461.5250
"""Gas constant of water vapour in the IFS [J kg-1 K-1] (IFS CY47R3 documentation, Part IV)."""

mixed_phase_range = (250.16, 273.16)
"""Temperatures (T_ice, T_0) [K] between which the saturation vapour pressure of the mixed phase blends
from ice to water, e_s = α e_s,w + (1 − α) e_s,i with α = ((T − T_ice)/(T_0 − T_ice))^2 clipped to [0, 1]
(IFS CY47R3 documentation, Part IV, eq. 12.13; earthkit-meteo ``saturation_vapour_pressure(phase="mixed")``,
and so meteodata-lab's ``relhum(phase="water+ice")``)."""

_metpy_Rv = 8.314462618 / 18.015268e-3
_metpy_cpv = 1.33 * _metpy_Rv / (1.33 - 1.0)

ambaum_water = (611.2, 273.16, 2.50084e6, 4219.4 - _metpy_cpv, _metpy_Rv)
"""Ambaum (2020, eq. 13) saturation vapour pressure over water with MetPy's (>= 1.6) constants:
(e0 [Pa] at T0, T0 [K] (triple point), Lv [J kg-1] at T0, c_l − c_pv [J kg-1 K-1], Rv [J kg-1 K-1]), with
c_l = 4219.4, c_pv = 1.33 Rv / 0.33 = 1860.078 and Rv = R/M_w = 8.314462618/18.015268e-3 = 461.523 (MetPy
``constants.default``: ``sat_pressure_0c``, ``T0``, ``Lv``, ``Cp_l``, ``Cp_v``, ``Rv``). The option
``saturation="ambaum"`` of the humidity products, so that MetPy's values are matched exactly."""

ambaum_ice = (611.2, 273.16, 2.50084e6 + 3.337e5, 2090.0 - _metpy_cpv, _metpy_Rv)
"""Ambaum (2020, eq. 17) saturation vapour pressure over ice with MetPy's constants: (e0 [Pa], T0 [K],
Ls = Lv + Lf [J kg-1] at T0 (Lf = 3.337e5), c_i − c_pv [J kg-1 K-1] (c_i = 2090), Rv [J kg-1 K-1])."""

standard_lapse_rate = 0.0065
"""Standard-atmosphere temperature lapse rate Γ0 [K m-1] (ICAO standard atmosphere). Extrapolation of
temperature and geopotential below the model's lowest level: IFS FullPos (meteodata-lab
``operators/vertical_extrapolation.py::LAPSE_RATE``) and the surface temperature of Trenberth, Berry and
Buja (1993, NCAR/TN-396+STR)."""

fullpos_below_ground = (298.0, 2000.0, 2500.0)
"""IFS FullPos limits of the below-ground temperature extrapolation, as meteodata-lab implements them
(``operators/vertical_extrapolation.py``: ``T1``, ``H1``, ``H2``): (T_max [K], the highest sea-level
temperature the extrapolation may reach; h1 [m], the surface height below which Γ0 is used; h2 [m], the
surface height above which T_max caps the sea-level temperature fully)."""

bolton_water = (611.2, 17.67, 273.15, 29.65)
"""Magnus-Tetens coefficients of Bolton (1980, eq. 10) over water, ``b1 exp(b2 (T - b3) / (T - b4))``:
(b1 [Pa], b2 [1], b3 [K], b4 [K]) = (6.112 hPa, 17.67, 0 °C, 0 °C − 243.5 K). MetPy's ``dewpoint`` (all
versions) inverts this form, even where its saturation vapour pressure is Ambaum's (MetPy >= 1.6); the
CAPE/CIN option ``definition="metpy"`` reproduces that round trip for the mixed-layer parcel."""
