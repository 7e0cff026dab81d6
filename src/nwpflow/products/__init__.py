"""Products: the registry and the xarray wrappers around the kernels.

Importing this package registers every product; each module registers its own.
"""

from nwpflow.products import convection, levels, stability, thermo, wind  # noqa: F401  (register)
from nwpflow.products.registry import Option, Product, compute, fields_needed, registry

__all__ = ["Option", "Product", "compute", "fields_needed", "registry"]
