"""Stability products: bulk Richardson number."""

from __future__ import annotations

import numpy as np
import xarray as xr

from nwpflow import constants, kernels
from nwpflow.errors import InputError
from nwpflow.io.datamodel import FULL, HALF
from nwpflow.products._columns import as_field, at_mass_points, columns, lead_dims, outer_index
from nwpflow.io.grib2_codes import Grib2Parameter
from nwpflow.products.registry import Product, registry


def _brn(dataset: xr.Dataset, *, cache: dict) -> xr.DataArray:
    r"""Bulk Richardson number on model levels.

    .. math::

        \mathrm{BRN}_k = \frac{g \, (z_k - z_s)\,(\theta_{v,k} - \theta_{v,N})}
                              {\overline{\theta_v}_{k..N} \; (u_k^2 + v_k^2)}

    with :math:`z_k` the mean of the two half-level heights ``HHL``, :math:`z_s` = ``HSURF``,
    :math:`\theta_v = T (1 + (R_v/R_d - 1) q_v) (p_0/p)^{R_d/c_{pd}}` and :math:`\overline{\theta_v}_{k..N}`
    its mean from level k down to the lowest level N; COSMO winds are destaggered first. MeteoSwiss's
    definition (fieldextra; meteodata-lab ``operators/brn.py``), COSMO/ICON constants
    (:mod:`nwpflow.constants`).
    """
    fields = {name: dataset[name] for name in ("P", "T", "QV", "U", "V")}
    fields["U"] = at_mass_points(fields["U"])
    fields["V"] = at_mass_points(fields["V"])
    hhl, hsurf = dataset["HHL"], dataset["HSURF"]
    nlev = fields["T"].sizes[FULL]
    for name, data in fields.items():
        if data.sizes.get(FULL) != nlev:
            raise InputError(f"has {data.sizes.get(FULL)} full levels, T has {nlev}", field=name)
    if hhl.sizes.get(HALF) != nlev + 1:
        raise InputError(f"has {hhl.sizes.get(HALF)} half levels; {nlev + 1} are needed for {nlev} full levels",
                         field="HHL")
    leads = lead_dims(list(fields.values()))
    arrays = {name: columns(data, leads, FULL) for name, data in fields.items()}
    z_half = columns(hhl, leads, HALF)
    z_surface = columns(hsurf, leads, None)
    outer = max(a.shape[0] for a in arrays.values())
    out = np.empty((outer, nlev, arrays["T"].shape[-1]), dtype=np.float32)
    for i in range(outer):
        kernels.brn.bulk_richardson_number(
            *(outer_index(arrays[name], i) for name in ("P", "T", "QV", "U", "V")),
            outer_index(z_half, i), outer_index(z_surface, i), out[i],
            kappa=constants.kappa, rv_rd_minus_1=constants.rv_rd_minus_1, g=constants.g, p0=constants.p0,
        )
    sizes = dict(fields["T"].sizes)
    return as_field(out, fields["T"], leads, FULL, sizes)


registry.register(Product(
    name="BRN",
    description="bulk Richardson number",
    units="1",
    inputs=("P", "T", "QV", "U", "V", "HHL", "HSURF"),
    function=_brn,
    grib2=Grib2Parameter(7, 16, "BRN"),
    reference="MeteoSwiss fieldextra / meteodata-lab operators/brn.py",
    validation="meteodata-lab fbrn on the IFS L137 file (float64 inputs, its constants): rtol 1e-6",
))
