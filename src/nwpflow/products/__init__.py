"""Products: the registry and the xarray wrappers around the kernels.

Importing this package registers every product.
"""

from nwpflow.products import stability  # noqa: F401  (registers BRN)
from nwpflow.products.registry import Option, Product, compute, fields_needed, registry

__all__ = ["Option", "Product", "compute", "fields_needed", "registry"]
