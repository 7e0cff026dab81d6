"""Products: the registry and the xarray wrappers around the kernels.

Importing this package registers every product: each module below registers its own, then the products
of installed plugins (entry points of group ``nwpflow.products``, :func:`~nwpflow.products.registry.load_plugins`).
Product modules reach their kernels through :mod:`nwpflow.kernels`' lazy attributes, so that importing the
registry (Snakemake's parse, ``nwpflow products``) loads no numba.
"""

from nwpflow.products import convection, levels, stability, thermo, wind  # noqa: F401  (register)
from nwpflow.products.registry import (
    Option,
    Product,
    compute,
    fields_needed,
    load_plugins,
    registry,
    required_products,
)

load_plugins()

__all__ = ["Option", "Product", "compute", "fields_needed", "registry", "required_products"]
