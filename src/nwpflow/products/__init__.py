"""Products: the registry and the xarray wrappers around the kernels.

Importing this package registers every product: each module below registers its own, then the products
of installed plugins (entry points of group ``nwpflow.products``, :func:`~nwpflow.products.registry.load_plugins`).
Product modules reach their kernels through :mod:`nwpflow.kernels`' lazy attributes, so that importing the
registry (Snakemake's parse, ``nwpflow products``) loads no numba.
"""

from nwpflow.products import (  # noqa: F401  (register)
    convection,
    indices,
    integrals,
    kinematics,
    levels,
    pv,
    stability,
    surfaces,
    thermo,
    wetbulb,
    wind,
)
from nwpflow.products.registry import (
    Option,
    check_inputs,
    Product,
    compute,
    fields_needed,
    load_plugins,
    registry,
    required_products,
)

load_plugins()

__all__ = ["Option", "Product", "check_inputs", "compute", "fields_needed", "registry", "required_products"]
