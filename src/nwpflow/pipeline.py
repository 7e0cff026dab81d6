"""Compute products from input files to output files: the one code path of the CLI and the rules."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nwpflow.errors import NwpflowError
from nwpflow.io import open_run, write_netcdf
from nwpflow.products import compute, fields_needed, registry

log = logging.getLogger("nwpflow")


def set_threads(threads: int | None) -> int:
    """Use ``threads`` numba threads (capped at what numba was started with); return the number used."""
    import numba

    if threads is None:
        return numba.get_num_threads()
    used = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(used)
    return used


def history_of(name: str, inputs: Sequence[str | os.PathLike]) -> str:
    """The ``history`` line of a product file: the product and the names of its input files."""
    return f"{name} from {' '.join(os.path.basename(str(p)) for p in inputs)}"


def products_in_files(inputs: Sequence[str | os.PathLike]) -> set[str]:
    """Return the registered products that NetCDF files among ``inputs`` hold (nwpflow's own outputs).

    Only the variable names are read; GRIB files and other formats are skipped.
    """
    found: set[str] = set()
    for path in inputs:
        if not os.path.isfile(path):
            continue  # open_run reports it
        with open(path, "rb") as f:
            head = f.read(8)
        if head[:3] != b"CDF" and head != b"\x89HDF\r\n\x1a\n":
            continue
        import netCDF4

        with netCDF4.Dataset(path) as dataset:
            found |= {name for name in dataset.variables if name in registry}
    return found


def compute_products(
    products: Sequence[str],
    inputs: Sequence[str | os.PathLike],
    *,
    outputs: Mapping[str, str | os.PathLike] | None = None,
    output_dir: str | os.PathLike | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    threads: int | None = None,
) -> dict[str, Path]:
    """Read ``inputs`` once, compute ``products`` and write each to NetCDF.

    Parameters
    ----------
    products
        Product names (see ``nwpflow products``).
    inputs
        Files of the run (GRIB or NetCDF); only the fields the products need are decoded.
    outputs, output_dir
        Where each product goes: ``outputs[name]``, or ``output_dir/NAME.nc``.
    options
        Per-product options, ``{product: {option: value}}``.
    threads
        numba threads for the kernels and threads for GRIB decoding.

    Returns
    -------
    dict
        Product name -> path written.
    """
    products = list(dict.fromkeys(products))
    if not products:
        raise NwpflowError("no product requested")
    options = dict(options or {})
    for name in products:  # unknown names and bad options fail before any input is read
        registry[name].resolve_options(options.get(name, {}))
    for name in options:
        registry[name]
    if outputs is None:
        if output_dir is None:
            raise NwpflowError("give outputs or output_dir")
        outputs = {name: Path(output_dir) / f"{name}.nc" for name in products}
    missing = [name for name in products if name not in outputs]
    if missing:
        raise NwpflowError(f"no output path for {', '.join(missing)}")
    used = set_threads(threads)
    start = time.perf_counter()
    # Products of products: a required product whose file is among the inputs (e.g. BRN.nc for HPBL)
    # is read back instead of computed again.
    available = products_in_files(inputs) - set(products)
    dataset = open_run(inputs, fields_needed(products, available), threads=used)
    log.info("read %s fields from %d files in %.2f s", ", ".join(dataset.data_vars), len(inputs),
             time.perf_counter() - start)
    written = {}
    cache: dict = {}  # required products and shared intermediates, computed once for all products
    for name in products:
        start = time.perf_counter()
        result = compute(name, dataset, cache=cache, **options.get(name, {}))
        written[name] = write_netcdf(result, outputs[name], history=history_of(name, inputs))
        log.info("%s computed and written to %s in %.2f s (%d threads)", name, written[name],
                 time.perf_counter() - start, used)
    return written
