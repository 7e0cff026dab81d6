"""nwpflow: reproducible post-processing of ICON/COSMO-style NWP model output.

The public Python API::

    ds = nwpflow.open_run(["lfff00010000", "lfff00000000c"])
    brn = nwpflow.compute("BRN", ds)
"""

from nwpflow.errors import InputError, NwpflowError, OptionError, UnknownProductError
from nwpflow.io import open_run
from nwpflow.products import compute, registry

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "NwpflowError",
    "OptionError",
    "UnknownProductError",
    "__version__",
    "compute",
    "open_run",
    "registry",
]
