"""The code identity of each product and of the fan-in statistics (:mod:`nwpflow.identity`).

A product file is computed by the product's wrapper module (its registry entry's function), the kernels
and helpers that module imports, the wrappers of the products it requires (computed in the same job or
read back from their files), the reader that decoded its inputs (:mod:`nwpflow.io.reader`, with the GRIB
and NetCDF modules it imports) and the writer of each of its formats. :func:`product_identity` is the
digest of exactly those modules, found from the import graph; the other products' modules, which
``nwpflow.products`` imports only to register them, are not entered. Snakemake's parse puts it into each
rule's ``params`` (a change re-runs that product's jobs), and each job writes it into the files'
provenance (:mod:`nwpflow.provenance`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from nwpflow.identity import CodeIdentity, code_identity
from nwpflow.products.registry import registry

READER = "nwpflow.io.reader"
"""The module that decodes every input of a job (GRIB through ecCodes, NetCDF through netCDF4)."""

WRITERS = {"netcdf": "nwpflow.io.writer", "grib2": "nwpflow.io.grib_writer"}
"""The module that writes each output format."""

FANIN = "nwpflow.products.fanin"
"""The ensemble and time statistics (their kernels: ``nwpflow.kernels.stats``)."""

GRID = "nwpflow.io.grid"
"""The reader and writer of the run's grid file."""


def _writers(formats: Sequence[str]) -> list[str]:
    return [WRITERS[f] for f in dict.fromkeys(formats or ("netcdf",))]


def _wrappers(name: str) -> list[str]:
    """The wrapper module of ``name`` and of every product it requires, transitively."""
    product = registry[name]
    found = [product.function.__module__]
    for required in product.requires:
        found.extend(m for m in _wrappers(required) if m not in found)
    return found


@functools.lru_cache(maxsize=None)
def _product_identity(name: str, formats: tuple[str, ...]) -> CodeIdentity:
    own = _wrappers(name)
    others = {p.function.__module__ for p in registry.values()} - set(own)
    return code_identity([*own, READER, *_writers(formats)], exclude=others)


def product_identity(name: str, formats: Sequence[str] = ("netcdf",)) -> CodeIdentity:
    """Return the :class:`~nwpflow.identity.CodeIdentity` of product ``name`` written in ``formats``.

    Examples
    --------
    >>> theta = product_identity("THETA")
    >>> "nwpflow.kernels.thermo" in theta.modules, "nwpflow.kernels.brn" in theta.modules
    (True, False)
    >>> product_identity("THETA").digest == product_identity("THETA_E").digest  # one wrapper module
    True
    >>> "nwpflow.io.grib_writer" in product_identity("THETA", ["netcdf", "grib2"]).modules
    True
    """
    return _product_identity(name, tuple(dict.fromkeys(formats or ("netcdf",))))


@functools.lru_cache(maxsize=None)
def _fanin_identity(formats: tuple[str, ...]) -> CodeIdentity:
    others = {p.function.__module__ for p in registry.values()}
    return code_identity([FANIN, READER, *_writers(formats)], exclude=others)


def fanin_identity(formats: Sequence[str] = ("netcdf",)) -> CodeIdentity:
    """Return the :class:`~nwpflow.identity.CodeIdentity` of the ensemble and time statistics written in
    ``formats``."""
    return _fanin_identity(tuple(dict.fromkeys(formats or ("netcdf",))))


@functools.lru_cache(maxsize=None)
def grid_identity() -> CodeIdentity:
    """Return the :class:`~nwpflow.identity.CodeIdentity` of the run's grid file (:mod:`nwpflow.io.grid`)."""
    return code_identity([GRID])


__all__ = ["FANIN", "GRID", "READER", "WRITERS", "fanin_identity", "grid_identity", "product_identity"]
